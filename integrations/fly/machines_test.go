package fly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/fly/machinesfake"
	"github.com/hotdash/hotdash-console/integrations/httpc"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// machinesFor is a Machines platform on the fake, with tiny waits.
func machinesFor(t *testing.T, f *machinesfake.API, tune ...func(*MachinesOptions)) *Machines {
	t.Helper()
	o := MachinesOptions{
		BaseURL:            f.URL() + "/v1",
		LogsURL:            f.URL(),
		Token:              f.Token,
		Timeout:            2 * time.Second,
		BaseBackoff:        time.Millisecond,
		PerMachineInterval: f.Every,
		MachineWait:        2 * time.Second,
		PollInterval:       5 * time.Millisecond,
	}
	for _, fn := range tune {
		fn(&o)
	}
	return NewMachines(o)
}

// machinesEvents records apply progress.
type machinesEvents struct {
	mu   sync.Mutex
	list []integrations.MachineEvent
}

func (e *machinesEvents) progress(ev integrations.MachineEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

// lines renders the events as "<machine> <state>[ done][ err]: <message>".
func (e *machinesEvents) lines() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, len(e.list))
	for i, ev := range e.list {
		s := ev.Machine + " " + ev.State
		if ev.Done {
			s += " done"
		}
		if ev.Err != nil {
			s += " err"
		}
		out[i] = s + ": " + ev.Message
	}
	return out
}

// updateBody is what the fake received on a machine update.
type updateBody struct {
	Config            json.RawMessage `json:"config"`
	MinSecretsVersion *int64          `json:"min_secrets_version"`
	SkipLaunch        bool            `json:"skip_launch"`
}

// machineUpdates decodes the update requests the fake received, in order.
func machineUpdates(t *testing.T, f *machinesfake.API) map[string][]updateBody {
	t.Helper()
	out := map[string][]updateBody{}
	for _, r := range f.All() {
		parts := strings.Split(r.Path, "/")
		if r.Method != http.MethodPost || len(parts) != 6 || parts[4] != "machines" {
			continue
		}
		var b updateBody
		if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
			t.Fatalf("update body %q: %v", r.Body, err)
		}
		out[parts[5]] = append(out[parts[5]], b)
	}
	return out
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestMachinesName(t *testing.T) {
	if got := NewMachines(MachinesOptions{}).Name(); got != "machines" {
		t.Errorf("Name() = %q, want machines", got)
	}
}

func TestMachinesAuthHeader(t *testing.T) {
	tests := []struct{ token, want string }{
		{"FlyV1 fm2_lJPECAAAAAAAAMZN,fm2_lJPEMNVqf", "FlyV1 fm2_lJPECAAAAAAAAMZN,fm2_lJPEMNVqf"},
		{"fo1_personal_token", "Bearer fo1_personal_token"},
		{"FlyV1fm2_no_space", "Bearer FlyV1fm2_no_space"},
	}
	for _, tt := range tests {
		if got := machinesAuthHeader(tt.token); got != tt.want {
			t.Errorf("machinesAuthHeader(%q) = %q, want %q", tt.token, got, tt.want)
		}
	}
}

func TestMachinesSendsTheTokenItsWay(t *testing.T) {
	tests := []struct{ name, token, wantHeader string }{
		{"a macaroon token goes as is", "FlyV1 fm2_macaroon,fm2_discharge", "FlyV1 fm2_macaroon,fm2_discharge"},
		{"any other token goes as Bearer", "fo1_personal_token", "Bearer fo1_personal_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := machinesfake.New(t, func(f *machinesfake.API) { f.Token = tt.token })
			if _, err := machinesFor(t, f).Secrets(t.Context(), machinesfake.AppName); err != nil {
				t.Fatal(err)
			}
			if got := f.All()[0].Auth; got != tt.wantHeader {
				t.Errorf("Authorization = %q, want %q", got, tt.wantHeader)
			}
		})
	}
}

func TestMachinesSecretsListsNamesAndDigests(t *testing.T) {
	f := machinesfake.New(t)
	got, err := machinesFor(t, f).Secrets(t.Context(), machinesfake.AppName)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for _, s := range got {
		names = append(names, s.Name)
		if !hex16.MatchString(s.Digest) {
			t.Errorf("%s: digest %q is not 16 hex", s.Name, s.Digest)
		}
		if s.Status != integrations.SecretNoStatus {
			t.Errorf("%s: status %q: the Machines API says nothing about deployment", s.Name, s.Status)
		}
		if age := time.Since(s.Created); age < 71*time.Hour || age > 73*time.Hour {
			t.Errorf("%s: created %s ago, want about 72h (created_at parsed)", s.Name, age)
		}
	}
	if want := []string{"IDEA_POOL_SUPABASE_ENABLED", "SUPABASE_URL"}; !slices.Equal(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
}

func TestMachinesSecretWritesRememberTheVersionForTheDeploy(t *testing.T) {
	tests := []struct {
		name     string
		write    func(context.Context, *Machines) error
		wantBody string
		check    func(t *testing.T, f *machinesfake.API)
	}{
		{
			name: "set a flag",
			write: func(ctx context.Context, m *Machines) error {
				return m.SetSecrets(ctx, machinesfake.AppName, map[string]string{"IDEA_POOL_SUPABASE_ENABLED": "true"}, true, nil)
			},
			wantBody: `{"values":{"IDEA_POOL_SUPABASE_ENABLED":"true"}}`,
			check: func(t *testing.T, f *machinesfake.API) {
				d, ok := f.HasSecret(machinesfake.AppName, "IDEA_POOL_SUPABASE_ENABLED")
				if want := machinesfake.Digest("IDEA_POOL_SUPABASE_ENABLED", "true"); !ok || d != want {
					t.Errorf("flag digest = %q (present %v), want %q", d, ok, want)
				}
			},
		},
		{
			name: "unset with a name that was never set",
			write: func(ctx context.Context, m *Machines) error {
				return m.UnsetSecrets(ctx, machinesfake.AppName, []string{"SUPABASE_URL", "NEVER_SET"}, true, nil)
			},
			wantBody: `{"values":{"NEVER_SET":null,"SUPABASE_URL":null}}`,
			check: func(t *testing.T, f *machinesfake.API) {
				if _, ok := f.HasSecret(machinesfake.AppName, "SUPABASE_URL"); ok {
					t.Error("SUPABASE_URL is still set")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := machinesfake.New(t)
			m := machinesFor(t, f)
			if err := tt.write(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			writes := f.Recorded(http.MethodPost, "/secrets")
			if len(writes) != 1 || writes[0].Body != tt.wantBody {
				t.Fatalf("secrets writes = %+v, want one with body %s", writes, tt.wantBody)
			}
			tt.check(t, f)
			if n := len(machineUpdates(t, f)); n != 0 {
				t.Fatalf("a staged write updated %d machines", n)
			}

			if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil); err != nil {
				t.Fatal(err)
			}
			want := f.Version(machinesfake.AppName) // 4: the write's version
			for _, id := range []string{machinesfake.MachineIAD, machinesfake.MachineORD} {
				ups := machineUpdates(t, f)[id]
				if len(ups) != 1 || ups[0].MinSecretsVersion == nil || *ups[0].MinSecretsVersion != want {
					t.Errorf("machine %s updates = %+v, want one with min_secrets_version %d", id, ups, want)
				}
			}
		})
	}
}

func TestMachinesReleaseVersion(t *testing.T) {
	tests := []struct{ config, want string }{
		{`{"metadata":{"fly_release_version":"12"}}`, "v12"},
		{`{"metadata":{"fly_release_version":12}}`, "v12"},
		{`{"metadata":{"fly_release_version":"v3"}}`, "v3"},
		{`{"metadata":{"fly_process_group":"app"}}`, ""},
		{`{"metadata":{"fly_release_version":null}}`, ""},
		{`{}`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := (apiMachine{Config: json.RawMessage(tt.config)}).releaseVersion(); got != tt.want {
			t.Errorf("releaseVersion(%s) = %q, want %q", tt.config, got, tt.want)
		}
	}
}

func TestMachinesErrorsTellTheOperatorWhatToDo(t *testing.T) {
	calls := []struct {
		name string
		do   func(context.Context, *Machines, string) error
	}{
		{"secrets", func(ctx context.Context, m *Machines, app string) error { _, err := m.Secrets(ctx, app); return err }},
		{"machines", func(ctx context.Context, m *Machines, app string) error { _, err := m.Machines(ctx, app); return err }},
		{"set", func(ctx context.Context, m *Machines, app string) error {
			return m.SetSecrets(ctx, app, map[string]string{"PUBLER_LIVE": "true"}, true, nil)
		}},
		{"apply", func(ctx context.Context, m *Machines, app string) error {
			return m.Apply(ctx, app, integrations.ApplyDeploy, nil)
		}},
	}
	tests := []struct {
		name         string
		token        string // "" keeps the fake's
		app          string
		want         string
		wantNotFound bool
	}{
		{
			name:  "bad token",
			token: "fo1_expired_token_abcdef",
			app:   machinesfake.AppName,
			want:  "Fly Machines API: 401 unauthorized: check FLY_ACCESS_TOKEN",
		},
		{
			name:         "unknown app",
			app:          "hotdash-app-typo",
			want:         `Fly Machines API: app "hotdash-app-typo" not found: check the app name`,
			wantNotFound: true,
		},
	}
	for _, tt := range tests {
		for _, c := range calls {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				f := machinesfake.New(t)
				m := machinesFor(t, f, func(o *MachinesOptions) {
					if tt.token != "" {
						o.Token = tt.token
					}
				})
				err := c.do(t.Context(), m, tt.app)
				if err == nil || err.Error() != tt.want {
					t.Fatalf("error = %v, want %q", err, tt.want)
				}
				if got := errors.Is(err, integrations.ErrNotFound); got != tt.wantNotFound {
					t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tt.wantNotFound)
				}
				if n := len(f.All()); n != 1 {
					t.Errorf("%d requests: a %s is not worth retrying", n, tt.name)
				}
			})
		}
	}
}

func TestMachinesNeverShowTheToken(t *testing.T) {
	echo := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			machinesfake.WriteError(w, code, "bad credentials: "+r.Header.Get("Authorization"))
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: nothing listens
		token   string
	}{
		{"401 echoing the header", echo(http.StatusUnauthorized), "fo1_personal_token_0123456789"},
		{"403 echoing a macaroon", echo(http.StatusForbidden), "FlyV1 fm2_lJPECAAAAAAAAMZN,fm2_lJPEMNVqf"},
		{"500 echoing the header", echo(http.StatusInternalServerError), "fo1_personal_token_0123456789"},
		{"connection refused", nil, "fo1_personal_token_0123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := testkit.Refused(t)
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				base = srv.URL
			}
			m := NewMachines(MachinesOptions{BaseURL: base + "/v1", LogsURL: base, Token: tt.token, Retries: -1})
			_, err := m.Secrets(t.Context(), machinesfake.AppName)
			if err == nil {
				t.Fatal("no error")
			}
			bare := strings.TrimPrefix(tt.token, "FlyV1 ")
			if strings.Contains(err.Error(), bare) {
				t.Errorf("the token is in the error: %q", err)
			}
			logErr := m.StreamLogs(t.Context(), machinesfake.AppName, func([]integrations.LogLine) {})
			if logErr == nil || strings.Contains(logErr.Error(), bare) {
				t.Errorf("log stream error %v: want one without the token", logErr)
			}
		})
	}
}

func TestMachinesRetries(t *testing.T) {
	tests := []struct {
		name       string
		faults     []int
		retries    int
		call       func(context.Context, *Machines) error
		path       string
		wantErr    string // "" for success
		wantStatus []int  // what the fake answered, in order
	}{
		{
			name:   "429 then 503, then success",
			faults: []int{http.StatusTooManyRequests, http.StatusServiceUnavailable},
			call: func(ctx context.Context, m *Machines) error {
				_, err := m.Secrets(ctx, machinesfake.AppName)
				return err
			},
			path:       "/secrets",
			wantStatus: []int{429, 503, 200},
		},
		{
			name:   "a dropped connection, then success",
			faults: []int{machinesfake.Drop},
			call: func(ctx context.Context, m *Machines) error {
				return m.SetSecrets(ctx, machinesfake.AppName, map[string]string{"PUBLER_LIVE": "true"}, true, nil)
			},
			path:       "/secrets",
			wantStatus: []int{0, 200},
		},
		{
			name:    "503 until the retries run out",
			faults:  []int{503, 503, 503, 503, 503},
			retries: 2,
			call: func(ctx context.Context, m *Machines) error {
				_, err := m.Machines(ctx, machinesfake.AppName)
				return err
			},
			path:       "/machines",
			wantErr:    "Fly Machines API: GET /v1/apps/hotdash-app/machines: 503 service unavailable: service unavailable (after 3 tries)",
			wantStatus: []int{503, 503, 503},
		},
		{
			name:   "a 400 is not retried",
			faults: []int{http.StatusBadRequest},
			call: func(ctx context.Context, m *Machines) error {
				return m.UnsetSecrets(ctx, machinesfake.AppName, []string{"PUBLER_LIVE"}, true, nil)
			},
			path:       "/secrets",
			wantErr:    "Fly Machines API: POST /v1/apps/hotdash-app/secrets: 400 bad request: bad request",
			wantStatus: []int{400},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := machinesfake.New(t)
			f.Inject(tt.faults...)
			m := machinesFor(t, f, func(o *MachinesOptions) { o.Retries = tt.retries })
			err := tt.call(t.Context(), m)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v, want success after retries", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var got []int
			for _, r := range f.All() {
				if strings.HasSuffix(r.Path, tt.path) {
					got = append(got, r.Status)
				}
			}
			if !slices.Equal(got, tt.wantStatus) {
				t.Errorf("answers = %v, want %v", got, tt.wantStatus)
			}
		})
	}
}

func TestMachinesBackoffGrowsAndStopsOnCancel(t *testing.T) {
	t.Run("exponential", func(t *testing.T) {
		f := machinesfake.New(t)
		f.Inject(503, 503)
		m := machinesFor(t, f, func(o *MachinesOptions) { o.BaseBackoff = 20 * time.Millisecond })
		start := time.Now()
		if _, err := m.Secrets(t.Context(), machinesfake.AppName); err != nil {
			t.Fatal(err)
		}
		// At least half of 20ms, then half of 40ms.
		if took := time.Since(start); took < 30*time.Millisecond {
			t.Errorf("two retries took %s: no backoff", took)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		f := machinesfake.New(t)
		f.Inject(503)
		m := machinesFor(t, f, func(o *MachinesOptions) { o.BaseBackoff = time.Hour })
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := m.Secrets(ctx, machinesfake.AppName)
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("error = %v, want the 503", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("returned after %s: the backoff ignored the cancellation", took)
		}
	})
	t.Run("jitter", func(t *testing.T) {
		for range 1000 {
			if d := httpc.Jitter(100 * time.Millisecond); d < 50*time.Millisecond || d >= 150*time.Millisecond {
				t.Fatalf("Jitter(100ms) = %s, want within [50ms, 150ms)", d)
			}
		}
	})
}

func TestMachinesRateBudget(t *testing.T) {
	t.Run("respected, the API never says 429", func(t *testing.T) {
		f := machinesfake.New(t)
		m := machinesFor(t, f, func(o *MachinesOptions) { o.Retries = -1 }) // a 429 would fail the apply
		for i := range 4 {
			if err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil); err != nil {
				t.Fatalf("apply %d: %v", i+1, err)
			}
		}
		if n := f.RateLimited(); n != 0 {
			t.Errorf("the fake answered 429 %d times", n)
		}
		if polls := len(f.Recorded(http.MethodGet, "/machines/"+machinesfake.MachineIAD)); polls <= f.Burst {
			t.Errorf("only %d reads of one machine: the budget was not exercised", polls)
		}
	})
	t.Run("ignored, the API says 429", func(t *testing.T) {
		// One call a second past the burst of 3, and a health check that
		// stays critical: the fourth read of the machine within a second
		// is over the limit.
		f := machinesfake.New(t, func(f *machinesfake.API) {
			f.Every = time.Second
			f.StayCritical(machinesfake.MachineIAD)
		})
		m := machinesFor(t, f, func(o *MachinesOptions) {
			o.Retries = -1
			o.PerMachineInterval = time.Nanosecond
		})
		err := m.Apply(t.Context(), machinesfake.AppName, integrations.ApplyDeploy, nil)
		if err == nil || !strings.Contains(err.Error(), "429 too many requests: rate limit exceeded") {
			t.Errorf("error = %v, want the fake's 429", err)
		}
	})
	t.Run("one slot per interval per key", func(t *testing.T) {
		now := time.Date(2025, 10, 20, 9, 0, 0, 0, time.UTC)
		b := &callBudget{interval: time.Second, now: func() time.Time { return now }, next: map[string]time.Time{}}
		steps := []struct {
			key     string
			advance time.Duration
			want    time.Duration
		}{
			{"restart hotdash-app/a", 0, 0},
			{"restart hotdash-app/a", 0, time.Second},
			{"restart hotdash-app/a", 0, 2 * time.Second},
			{"restart hotdash-app/b", 0, 0},
			{"get hotdash-app/a", 0, 0},
			{"restart hotdash-app/a", 5 * time.Second, 0},
			{"restart hotdash-app/a", 400 * time.Millisecond, 600 * time.Millisecond},
			{"", 0, 0},
			{"", 0, 0},
		}
		for i, s := range steps {
			now = now.Add(s.advance)
			if got := b.reserve(s.key); got != s.want {
				t.Errorf("step %d: reserve(%q) = %s, want %s", i+1, s.key, got, s.want)
			}
		}
	})
}

func TestMachinesStreamLogsFollowsNextToken(t *testing.T) {
	f := machinesfake.New(t)
	at := time.Date(2025, 10, 20, 9, 0, 0, 123456789, time.UTC)
	f.AddLog(machinesfake.AppName, at, "info", machinesfake.MachineIAD, "[idea-pool] source=supabase")
	f.AddLog(machinesfake.AppName, at.Add(time.Second), "error", machinesfake.MachineIAD, "\x1b[31m[publer] Rate limit reached\x1b[0m")
	f.AddLog(machinesfake.AppName, at.Add(2*time.Second), "warn", machinesfake.MachineORD, "[publer-adapter] slow answer")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	batches := make(chan []integrations.LogLine, 10)
	done := make(chan error, 1)
	m := machinesFor(t, f)
	go func() {
		done <- m.StreamLogs(ctx, machinesfake.AppName, func(b []integrations.LogLine) { batches <- slices.Clone(b) })
	}()
	var got [][]integrations.LogLine
	receive := func(n int) {
		t.Helper()
		for range n {
			select {
			case b := <-batches:
				got = append(got, b)
			case <-time.After(2 * time.Second):
				t.Fatalf("no batch after %d", len(got))
			}
		}
	}
	receive(2)
	f.AddLog(machinesfake.AppName, at.Add(3*time.Second), "info", machinesfake.MachineIAD, "[publer-adapter] Using real Publer API (production mode)")
	receive(1)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("StreamLogs returned %v on cancel, want nil", err)
	}

	var sizes []int
	for _, b := range got {
		sizes = append(sizes, len(b))
	}
	if want := []int{2, 1, 1}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes = %v, want %v (pages of 2)", sizes, want)
	}
	second := got[0][1]
	want := integrations.LogLine{Time: at.Add(time.Second), Level: integrations.LevelError, Instance: machinesfake.MachineIAD, Region: "iad", Message: "[publer] Rate limit reached"}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("second line = %+v, want %+v (escapes removed, level and time parsed)", second, want)
	}
	if last := got[2][0].Message; last != "[publer-adapter] Using real Publer API (production mode)" {
		t.Errorf("last line = %q", last)
	}
	var tokens []string
	for _, r := range f.Recorded(http.MethodGet, "/api/v1/apps/hotdash-app/logs") {
		tokens = append(tokens, r.Query)
	}
	if len(tokens) < 3 || tokens[0] != "" || tokens[1] != "next_token=tok-2" || !slices.Contains(tokens, "next_token=tok-3") {
		t.Errorf("queries = %v, want none, then next_token=tok-2, then tok-3", tokens)
	}
}

func TestMachinesStreamLogsReturnsPersistentErrors(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		faults  []int
		wantErr string
	}{
		{"bad token", "fo1_expired_token_abcdef", nil, "Fly logs API: 401 unauthorized: check FLY_ACCESS_TOKEN"},
		{"503 after the retries", "", []int{503, 503}, "Fly logs API: GET /api/v1/apps/hotdash-app/logs: 503 service unavailable: service unavailable (after 2 tries)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := machinesfake.New(t)
			f.Inject(tt.faults...)
			m := machinesFor(t, f, func(o *MachinesOptions) {
				o.Retries = 1
				if tt.token != "" {
					o.Token = tt.token
				}
			})
			err := m.StreamLogs(t.Context(), machinesfake.AppName, func([]integrations.LogLine) { t.Error("lines delivered") })
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMachinesDescribe(t *testing.T) {
	const key = "eyJhbGciOiJIUzI1NiJ9.service-role-key"
	tests := []struct {
		name string
		op   integrations.Op
		want []string
	}{
		{
			name: "staged set: the flag shown, the credential masked",
			op: integrations.Op{
				Kind: integrations.OpSet, App: machinesfake.AppName, Stage: true,
				Values: map[string]string{"IDEA_POOL_SUPABASE_ENABLED": "true", "SUPABASE_SERVICE_KEY": key},
				Plain:  map[string]bool{"IDEA_POOL_SUPABASE_ENABLED": true},
			},
			want: []string{`POST /v1/apps/hotdash-app/secrets {"values":{"IDEA_POOL_SUPABASE_ENABLED":"true","SUPABASE_SERVICE_KEY":"••••••"}}`},
		},
		{
			name: "set and deploy",
			op: integrations.Op{
				Kind: integrations.OpSet, App: machinesfake.AppName,
				Values: map[string]string{"IDEA_POOL_SUPABASE_ENABLED": "false"},
				Plain:  map[string]bool{"IDEA_POOL_SUPABASE_ENABLED": true},
			},
			want: []string{
				`POST /v1/apps/hotdash-app/secrets {"values":{"IDEA_POOL_SUPABASE_ENABLED":"false"}}`,
				`POST /v1/apps/hotdash-app/machines/{id} {"config":…,"min_secrets_version":N} (each machine in turn, under a lease, until started with every health check passing)`,
			},
		},
		{
			name: "a flag not marked plain is masked",
			op: integrations.Op{
				Kind: integrations.OpSet, App: machinesfake.AppName, Stage: true,
				Values: map[string]string{"PUBLER_API_KEY": key},
			},
			want: []string{`POST /v1/apps/hotdash-app/secrets {"values":{"PUBLER_API_KEY":"••••••"}}`},
		},
		{
			name: "staged unset: null deletes",
			op:   integrations.Op{Kind: integrations.OpUnset, App: machinesfake.AppName, Stage: true, Names: []string{"PUBLER_LIVE"}},
			want: []string{`POST /v1/apps/hotdash-app/secrets {"values":{"PUBLER_LIVE":null}}`},
		},
		{
			name: "deploy with no secrets version known: it is learned first, as fly secrets sync does",
			op:   integrations.Op{Kind: integrations.OpApply, App: machinesfake.AppName, Mode: integrations.ApplyDeploy},
			want: []string{
				`POST /v1/apps/hotdash-app/secrets {"values":{"HOTDASH_CONSOLE_SYNC_…":null}} (learns the secrets version, as fly secrets sync does)`,
				`POST /v1/apps/hotdash-app/machines/{id} {"config":…,"min_secrets_version":N} (each machine in turn, under a lease, until started with every health check passing)`,
			},
		},
	}
	m := NewMachines(MachinesOptions{Token: "fo1_unused"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Describe(tt.op)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Describe:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if strings.Contains(strings.Join(got, "\n"), key) {
				t.Error("the secret value is shown")
			}
		})
	}
}

func TestMachinesDescribeTheDeployWithTheVersionOfTheLastWrite(t *testing.T) {
	f := machinesfake.New(t)
	m := machinesFor(t, f)
	if err := m.SetSecrets(t.Context(), machinesfake.AppName, map[string]string{"PUBLER_LIVE": "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	got := m.Describe(integrations.Op{Kind: integrations.OpApply, App: machinesfake.AppName, Mode: integrations.ApplyDeploy})
	want := fmt.Sprintf(`POST /v1/apps/hotdash-app/machines/{id} {"config":…,"min_secrets_version":%d} (each machine in turn, under a lease, until started with every health check passing)`, f.Version(machinesfake.AppName))
	if len(got) != 1 || got[0] != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestMachinesDefaults(t *testing.T) {
	o := MachinesOptions{}.withDefaults()
	want := MachinesOptions{
		BaseURL: "https://api.machines.dev/v1", LogsURL: "https://api.fly.io",
		Timeout: 15 * time.Second, Retries: 4, BaseBackoff: 500 * time.Millisecond,
		PerMachineInterval: time.Second, MachineWait: 2 * time.Minute, PollInterval: time.Second,
	}
	if o.Book == nil {
		t.Error("no book for the secrets version")
	}
	o.Now, o.Book = nil, nil
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults:\n%+v\nwant:\n%+v", o, want)
	}
	if got := (MachinesOptions{Retries: -1}).withDefaults().Retries; got != 0 {
		t.Errorf("Retries -1 became %d, want 0 (never retry)", got)
	}
	if got := NewMachines(MachinesOptions{}).prefix; got != "/v1" {
		t.Errorf("prefix = %q, want /v1", got)
	}
}
