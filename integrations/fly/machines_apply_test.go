package fly

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/fly/machinesfake"
)

// stage sets PUBLER_LIVE staged and returns the secrets version it made.
func stage(t *testing.T, f *machinesfake.API, m *Machines) int64 {
	t.Helper()
	if err := m.SetSecrets(t.Context(), machinesfake.AppName, map[string]string{"PUBLER_LIVE": "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	return f.Version(machinesfake.AppName)
}

// standings is an apply error's machines as "id stand".
func standings(t *testing.T, err error) []string {
	t.Helper()
	var ae *integrations.ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *ApplyError", err)
	}
	var out []string
	for _, m := range ae.Machines {
		out = append(out, m.Machine+" "+m.Stand.String())
	}
	return out
}

// Each machine, in turn: its lease, the update with the lease's nonce and
// the secrets version, /wait for started at the update's instance, its
// health checks read, the lease given back.
func TestMachinesDeployIsFlyctlsWay(t *testing.T) {
	f := machinesfake.New(t)
	m := machinesFor(t, f)
	version := stage(t, f, m)
	var ev machinesEvents
	if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, ev.progress); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{machinesfake.MachineIAD, machinesfake.MachineORD} {
		var calls []string
		var lease, updateNonce, releaseNonce, waitQuery string
		for _, r := range f.All() {
			part, ok := strings.CutPrefix(r.Path, "/v1/apps/hotdash-app/machines/"+id)
			if !ok {
				continue
			}
			calls = append(calls, r.Method+" "+part)
			switch r.Method + " " + part {
			case "POST /lease":
				lease = r.Query
			case "POST ":
				updateNonce = r.Nonce
			case "GET /wait":
				waitQuery = r.Query
			case "DELETE /lease":
				releaseNonce = r.Nonce
			}
		}
		want := []string{"POST /lease", "POST ", "GET /wait", "GET ", "GET ", "DELETE /lease"}
		if !slices.Equal(calls, want) {
			t.Errorf("machine %s: calls %q, want %q", id, calls, want)
		}
		if !strings.HasPrefix(lease, "ttl=") || updateNonce == "" || updateNonce != releaseNonce {
			t.Errorf("machine %s: lease %q, update nonce %q, release nonce %q", id, lease, updateNonce, releaseNonce)
		}
		q, _ := url.ParseQuery(waitQuery)
		if q.Get("state") != "started" || !strings.HasPrefix(q.Get("version"), "01JINSTANCE") {
			t.Errorf("machine %s: wait %q, want state=started at the update's instance", id, waitQuery)
		}
		if got := f.MinSecretsVersion(machinesfake.AppName, id); got != version {
			t.Errorf("machine %s updated with min_secrets_version %d, want %d", id, got, version)
		}
		if f.LeaseHeld(machinesfake.AppName, id) {
			t.Errorf("machine %s: the lease is still held", id)
		}
	}
	for id, ups := range machineUpdates(t, f) {
		if !sameJSON(t, ups[0].Config, []byte(machinesfake.Config)) {
			t.Errorf("machine %s: config changed on the way:\n%s", id, ups[0].Config)
		}
	}
	want := []string{
		"148ed193b95689 updating: Updating machine 148ed193b95689 with secrets version 4",
		"148ed193b95689 started: Checking health of machine 148ed193b95689",
		"148ed193b95689 started done: Machine 148ed193b95689 is now in a good state",
		"6e82933c2d2e87 updating: Updating machine 6e82933c2d2e87 with secrets version 4",
		"6e82933c2d2e87 started: Checking health of machine 6e82933c2d2e87",
		"6e82933c2d2e87 started done: Machine 6e82933c2d2e87 is now in a good state",
	}
	if got := ev.lines(); !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ev.list[0].Region != "iad" || ev.list[0].Of != 2 {
		t.Errorf("first event %+v: want region iad, of 2", ev.list[0])
	}
	ms, err := m.Machines(t.Context(), machinesfake.AppName)
	if err != nil {
		t.Fatal(err)
	}
	if err := integrations.VerifyMachines(machinesfake.AppName, ms); err != nil {
		t.Errorf("after the apply: %v", err)
	}
}

func TestMachinesApplyStopsAtTheFirstMachineThatIsNotDone(t *testing.T) {
	const syd = "9080e6d2a93548"
	tests := []struct {
		name      string
		fake      func(*machinesfake.API)
		opts      func(*MachinesOptions)
		cancelOn  string // cancel the apply when an event contains this
		wantErr   []string
		wantStand []string
	}{
		{
			name: "a health check stays critical",
			fake: func(f *machinesfake.API) { f.StayCritical(machinesfake.MachineORD) },
			opts: func(o *MachinesOptions) { o.MachineWait = 300 * time.Millisecond },
			wantErr: []string{"stopped at machine 2 of 3", "machine 6e82933c2d2e87 (ord) started, but its health checks do not pass after 300ms",
				"health check servicecheck-00-http-3000 critical: dial tcp 172.19.0.2:3000: connect: connection refused"},
			wantStand: []string{"148ed193b95689 done", "6e82933c2d2e87 failed", "9080e6d2a93548 untouched"},
		},
		{
			name:      "the update fails the machine",
			fake:      func(f *machinesfake.API) { f.FailNext(machinesfake.MachineORD, "failed") },
			wantErr:   []string{"stopped at machine 2 of 3", "machine 6e82933c2d2e87 (ord) failed: health check servicecheck-00-http-3000 critical"},
			wantStand: []string{"148ed193b95689 done", "6e82933c2d2e87 failed", "9080e6d2a93548 untouched"},
		},
		{
			name:      "launch_failed is final",
			fake:      func(f *machinesfake.API) { f.FailNext(machinesfake.MachineIAD, "launch_failed") },
			wantErr:   []string{"stopped at machine 1 of 3", "machine 148ed193b95689 (iad) launch_failed"},
			wantStand: []string{"148ed193b95689 failed", "6e82933c2d2e87 untouched", "9080e6d2a93548 untouched"},
		},
		{
			name:      "a machine slower than MachineWait",
			fake:      func(f *machinesfake.API) { f.Settle = time.Hour },
			opts:      func(o *MachinesOptions) { o.MachineWait = 50 * time.Millisecond },
			wantErr:   []string{"stopped at machine 1 of 3", "machine 148ed193b95689 (iad) is still"},
			wantStand: []string{"148ed193b95689 failed", "6e82933c2d2e87 untouched", "9080e6d2a93548 untouched"},
		},
		{
			name:      "someone else holds the lease",
			fake:      func(f *machinesfake.API) { f.Lease(machinesfake.AppName, machinesfake.MachineIAD, time.Hour) },
			opts:      func(o *MachinesOptions) { o.Retries = 1 },
			wantErr:   []string{"stopped at machine 1 of 3", "its lease is held by someone else", "is currently leased by another deploy"},
			wantStand: []string{"148ed193b95689 untouched", "6e82933c2d2e87 untouched", "9080e6d2a93548 untouched"},
		},
		{
			name:      "the operator cancels",
			fake:      func(f *machinesfake.API) { f.Settle = time.Hour },
			cancelOn:  "Updating machine 148ed193b95689",
			wantErr:   []string{"stopped at machine 1 of 3", "the console stopped watching", "Fly finishes what it started"},
			wantStand: []string{"148ed193b95689 failed", "6e82933c2d2e87 untouched", "9080e6d2a93548 untouched"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := machinesfake.New(t, func(f *machinesfake.API) {
				f.AddMachine(machinesfake.AppName, syd, "syd", "started")
				tt.fake(f)
			})
			var opts []func(*MachinesOptions)
			if tt.opts != nil {
				opts = append(opts, tt.opts)
			}
			m := machinesFor(t, f, opts...)
			stage(t, f, m)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			progress := func(e integrations.MachineEvent) {
				if tt.cancelOn != "" && strings.Contains(e.Message, tt.cancelOn) {
					go func() { time.Sleep(20 * time.Millisecond); cancel() }()
				}
			}
			err := m.Apply(ctx, machinesfake.AppName, integrations.ApplyDeploy, progress)
			if err == nil {
				t.Fatal("the apply succeeded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if got := standings(t, err); !slices.Equal(got, tt.wantStand) {
				t.Errorf("standings %q, want %q", got, tt.wantStand)
			}
			if calls := f.Recorded(http.MethodPost, syd); len(calls) != 0 {
				t.Errorf("the apply went on to machine %s after the failure: %+v", syd, calls)
			}
			for _, id := range []string{machinesfake.MachineIAD, machinesfake.MachineORD} {
				if f.LeaseHeld(machinesfake.AppName, id) && tt.name != "someone else holds the lease" {
					t.Errorf("machine %s: the console left its lease held", id)
				}
			}
		})
	}
}

// Only the app's own machines are the apply's: a `fly console` machine
// and one being destroyed are neither touched nor listed; one whose host
// is down is not touched, and keeps the apply from being done.
func TestMachinesApplyTouchesOnlyTheAppsOwnMachines(t *testing.T) {
	const console, gone, down = "e2865013d74178", "d8d9e1f2a3b4c5", "5683d1e4f29801"
	t.Run("console and destroying machines are skipped", func(t *testing.T) {
		f := machinesfake.New(t, func(f *machinesfake.API) {
			f.AddConsoleMachine(machinesfake.AppName, console, "iad")
			f.AddMachine(machinesfake.AppName, gone, "ord", "destroying")
		})
		m := machinesFor(t, f)
		stage(t, f, m)
		if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{console, gone} {
			if calls := append(f.Recorded(http.MethodPost, id), f.Recorded(http.MethodDelete, id)...); len(calls) != 0 {
				t.Errorf("machine %s was touched: %+v", id, calls)
			}
		}
		ms, _ := m.Machines(t.Context(), machinesfake.AppName)
		if len(ms) != 2 {
			t.Errorf("listed %+v, want the app's two own machines", ms)
		}
	})
	t.Run("a machine whose host is down is not updated, and the apply is not done", func(t *testing.T) {
		f := machinesfake.New(t, func(f *machinesfake.API) { f.AddUnreachableMachine(machinesfake.AppName, down, "syd") })
		m := machinesFor(t, f)
		stage(t, f, m)
		err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil)
		if err == nil || !strings.Contains(err.Error(), down+" (syd) not verified: its host cannot be reached") {
			t.Fatalf("error = %v, want the unreachable machine named", err)
		}
		if got, want := standings(t, err), []string{"148ed193b95689 done", "6e82933c2d2e87 done", down + " not verified"}; !slices.Equal(got, want) {
			t.Errorf("standings %q, want %q", got, want)
		}
		if calls := f.Recorded(http.MethodPost, down); len(calls) != 0 {
			t.Errorf("the unreachable machine was touched: %+v", calls)
		}
	})
}

// An update whose answer is lost was made all the same: the machine is
// read before the update is sent again, so it restarts once.
func TestMachinesARetriedUpdateRestartsTheMachineOnce(t *testing.T) {
	f := machinesfake.New(t)
	m := machinesFor(t, f)
	stage(t, f, m)
	f.LoseNextAnswer(http.MethodPost, "/v1/apps/hotdash-app/machines/"+machinesfake.MachineIAD)
	if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.Updates(machinesfake.MachineIAD); n != 1 {
		t.Errorf("machine %s went through %d updates, want 1", machinesfake.MachineIAD, n)
	}
}

func TestMachinesApplyLeavesStoppedMachinesStopped(t *testing.T) {
	const ams = "3d8d9e1f2a3b4c"
	f := machinesfake.New(t, func(f *machinesfake.API) { f.AddMachine(machinesfake.AppName, ams, "ams", "stopped") })
	m := machinesFor(t, f)
	stage(t, f, m)
	var ev machinesEvents
	if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, ev.progress); err != nil {
		t.Fatal(err)
	}
	got := ev.lines()
	if want := "3d8d9e1f2a3b4c stopped done: Machine 3d8d9e1f2a3b4c is stopped: updated, it takes secrets version 4 when it next starts"; got[len(got)-1] != want {
		t.Errorf("last event %q, want %q", got[len(got)-1], want)
	}
	ups := machineUpdates(t, f)
	if len(ups[ams]) != 1 || !ups[ams][0].SkipLaunch || ups[machinesfake.MachineIAD][0].SkipLaunch {
		t.Errorf("updates %+v: want skip_launch on the stopped machine only", ups)
	}
	ms, _ := m.Machines(t.Context(), machinesfake.AppName)
	if ms[2].State != "stopped" || ms[2].Current != integrations.Current {
		t.Errorf("the stopped machine after the apply: %+v", ms[2])
	}
}

// Without the version of the last write, a read can be stale: reads pass
// it, so the digest read right after a write is the new one.
func TestMachinesReadsPassTheVersionOfTheLastWrite(t *testing.T) {
	f := machinesfake.New(t)
	m := machinesFor(t, f)
	version := stage(t, f, m)
	newDigest := machinesfake.Digest("PUBLER_LIVE", "true")
	digest := func(m *Machines) string {
		t.Helper()
		secrets, err := m.Secrets(t.Context(), machinesfake.AppName)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if s.Name == "PUBLER_LIVE" {
				return s.Digest
			}
		}
		return "(absent)"
	}
	if got := digest(m); got != newDigest {
		t.Errorf("read after the write: %s, want the new digest %s", got, newDigest)
	}
	gets := f.Recorded(http.MethodGet, "/secrets")
	if q := gets[len(gets)-1].Query; q != "version="+strconv.FormatInt(version, 10) {
		t.Errorf("the read asked %q, want version=%d", q, version)
	}
	// A console that lost the version reads what stood before the write:
	// the stale answer the version is there to avoid.
	if got := digest(machinesFor(t, f)); got != "(absent)" {
		t.Errorf("a read without the version gave %s: the fake is not stale", got)
	}
	// Given the version back (from the journal), it reads the new one.
	book := integrations.NewDigestBook()
	book.RecordSecretsVersion(machinesfake.AppName, version)
	if got := digest(machinesFor(t, f, func(o *MachinesOptions) { o.Book = book })); got != newDigest {
		t.Errorf("a read at the restored version: %s, want %s", got, newDigest)
	}
}

// A deploy with no known version learns the current one first (what `fly
// secrets sync` does) instead of updating the machines without one.
func TestMachinesDeployWithoutAKnownVersionLearnsIt(t *testing.T) {
	f := machinesfake.New(t)
	if err := machinesFor(t, f).Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
	writes := f.Recorded(http.MethodPost, "/secrets")
	if len(writes) != 1 || !strings.Contains(writes[0].Body, `"HOTDASH_CONSOLE_SYNC_`) || !strings.Contains(writes[0].Body, `":null}`) {
		t.Fatalf("secrets writes %+v, want one unset of a name nobody set", writes)
	}
	for id, ups := range machineUpdates(t, f) {
		if ups[0].MinSecretsVersion == nil || *ups[0].MinSecretsVersion != f.Version(machinesfake.AppName) {
			t.Errorf("machine %s: updated with %v, want the learned version %d", id, ups[0].MinSecretsVersion, f.Version(machinesfake.AppName))
		}
	}
}

// A secret the console wrote is Staged until the machines carry its
// version, Partial while some do, Deployed when all do.
func TestMachinesSecretStatusComparesTheMachinesVersionWithTheApps(t *testing.T) {
	f := machinesfake.New(t, func(f *machinesfake.API) { f.Lease(machinesfake.AppName, machinesfake.MachineORD, time.Hour) })
	m := machinesFor(t, f, func(o *MachinesOptions) { o.Retries = 1 })
	status := func() (publer, other integrations.SecretStatus) {
		t.Helper()
		secrets, err := m.Secrets(t.Context(), machinesfake.AppName)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			switch s.Name {
			case "PUBLER_LIVE":
				publer = s.Status
			case "SUPABASE_URL":
				other = s.Status
			}
		}
		return publer, other
	}
	stage(t, f, m)
	if p, o := status(); p != integrations.SecretStaged || o != integrations.SecretNoStatus {
		t.Errorf("staged: PUBLER_LIVE %q, SUPABASE_URL %q; want Staged and no status (not the console's write)", p, o)
	}
	if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil); err == nil {
		t.Fatal("the machine leased elsewhere went unnoticed")
	}
	if p, _ := status(); p != integrations.SecretPartial {
		t.Errorf("one machine of two updated: %q, want Partial", p)
	}
	f2 := machinesfake.New(t)
	m = machinesFor(t, f2)
	stage(t, f2, m)
	if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := status(); p != integrations.SecretDeployed {
		t.Errorf("deployed: %q, want Deployed", p)
	}
}

func TestMachinesPreferTheMessageField(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"error":"invalid_config","message":"guest.memory_mb: too small"}`, "guest.memory_mb: too small"},
		{`{"error":"app not found"}`, "app not found"},
		{`{"message":"\u001b[2Jboom"}`, "boom"},
		{"<html>\x1b]0;owned\x07 bad gateway</html>", "<html> bad gateway</html>"},
	}
	for _, tt := range tests {
		if got := apiErrorText([]byte(tt.body)); got != tt.want {
			t.Errorf("apiErrorText(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestMachinesSetWithoutStageDeploysAtOnce(t *testing.T) {
	f := machinesfake.New(t)
	var ev machinesEvents
	err := machinesFor(t, f).SetSecrets(t.Context(), machinesfake.AppName, map[string]string{"PUBLER_LIVE": "true"}, false, ev.progress)
	if err != nil {
		t.Fatal(err)
	}
	ups := machineUpdates(t, f)
	for _, id := range []string{machinesfake.MachineIAD, machinesfake.MachineORD} {
		if len(ups[id]) != 1 || *ups[id][0].MinSecretsVersion != 4 {
			t.Errorf("machine %s updates = %+v, want one with min_secrets_version 4", id, ups[id])
		}
	}
	if n := len(ev.lines()); n != 6 {
		t.Errorf("%d progress events, want 6 (three per machine):\n%s", n, strings.Join(ev.lines(), "\n"))
	}
}

func TestMachinesListsMachines(t *testing.T) {
	f := machinesfake.New(t, func(f *machinesfake.API) { f.AddMachine(machinesfake.AppName, "3d8d9e1f2a3b4c", "ams", "stopped") })
	got, err := machinesFor(t, f).Machines(t.Context(), machinesfake.AppName)
	if err != nil {
		t.Fatal(err)
	}
	want := []integrations.Machine{
		{ID: machinesfake.MachineIAD, Name: "hotdash-app-iad-1", State: "started", Region: "iad", Version: "v7", Checks: "1/1 passing", Passing: 1, Total: 1},
		{ID: machinesfake.MachineORD, Name: "hotdash-app-ord-2", State: "started", Region: "ord", Version: "v7", Checks: "1/1 passing", Passing: 1, Total: 1},
		{ID: "3d8d9e1f2a3b4c", Name: "hotdash-app-ams-3", State: "stopped", Region: "ams", Version: "v7", Checks: "0/1 passing", Total: 1,
			Trouble: "servicecheck-00-http-3000 critical: machine is stopped"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("machines:\n%+v\nwant:\n%+v", got, want)
	}
}

func TestMachinesRefuseAnAnswerTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"id":"`))
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 100 { // 6.4 MB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	m := NewMachines(MachinesOptions{BaseURL: srv.URL + "/v1", LogsURL: srv.URL, Token: "fo1_t", Retries: -1})
	_, err := m.Machines(t.Context(), machinesfake.AppName)
	if err == nil || !strings.Contains(err.Error(), "answer too large (over 4 MB)") {
		t.Errorf("error %v, want the answer refused", err)
	}
}
