package fly

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/fly/flyfake"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// The test binary is the fake fly: invoked through a link named "fly", it
// runs flyfake instead of the tests.
func init() {
	if os.Getenv(flyfake.StateEnv) != "" && filepath.Base(os.Args[0]) == "fly" {
		os.Exit(flyfake.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

// fakeFly installs a fake fly in a temporary PATH directory with a fresh
// state, and returns the platform over it and the state file.
func fakeFly(t *testing.T, edit func(*flyfake.State)) (*Flyctl, string) {
	t.Helper()
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, "fly")); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state.json")
	s := flyfake.NewState()
	if edit != nil {
		edit(s)
	}
	if err := flyfake.Save(state, s); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), flyfake.StateEnv+"="+state, "FLY_ACCESS_TOKEN=fo1_test")
	f, err := NewFlyctl(FlyctlOptions{Binary: filepath.Join(dir, "fly"), Env: env, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f, state
}

func load(t *testing.T, path string) *flyfake.State {
	t.Helper()
	s, err := flyfake.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMissingFlyIsSaidPlainly(t *testing.T) {
	_, err := NewFlyctl(FlyctlOptions{Binary: "fly-that-does-not-exist"})
	if err == nil || !strings.Contains(err.Error(), `flyctl not found ("fly-that-does-not-exist" is not on PATH)`) {
		t.Errorf("err = %v", err)
	}
}

func TestNoTokenIsSaidPlainly(t *testing.T) {
	f, _ := fakeFly(t, func(s *flyfake.State) { s.RequireToken = true })
	var env []string
	for _, e := range f.o.Env {
		if !strings.HasPrefix(e, "FLY_ACCESS_TOKEN=") {
			env = append(env, e)
		}
	}
	f.o.Env = env
	err := f.CheckAuth(context.Background())
	if err == nil || !strings.Contains(err.Error(), "set FLY_ACCESS_TOKEN (or FLY_API_TOKEN) or run `fly auth login`") ||
		!strings.Contains(err.Error(), "no access token available. Please login with 'flyctl auth login'") {
		t.Errorf("err = %v", err)
	}
}

func TestSecretsListReadsEveryOutputShape(t *testing.T) {
	for _, shape := range []string{"current", "old", "pascal"} {
		t.Run(shape, func(t *testing.T) {
			f, _ := fakeFly(t, func(s *flyfake.State) { s.Shape = shape })
			secrets, err := f.Secrets(context.Background(), "hotdash-app")
			if err != nil {
				t.Fatal(err)
			}
			if len(secrets) != 6 || secrets[0].Name != "CHATWOOT_ACCOUNT_ID" || len(secrets[0].Digest) != 16 {
				t.Fatalf("secrets: %+v", secrets)
			}
			want := map[string]integrations.SecretStatus{"current": integrations.SecretDeployed, "old": "", "pascal": ""}[shape]
			if secrets[0].Status != want {
				t.Errorf("status %q, want %q", secrets[0].Status, want)
			}
			if shape == "pascal" && secrets[0].Created.IsZero() {
				t.Error("CreatedAt not read")
			}
		})
	}
}

func TestSetStagesWithValuesOnStdinThenDeploy(t *testing.T) {
	f, state := fakeFly(t, nil)
	ctx := context.Background()
	secret := "pub_live_very_secret_value"
	if err := f.SetSecrets(ctx, "hotdash-app", map[string]string{"PUBLER_API_KEY": secret, "PUBLER_LIVE": "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	s := load(t, state)
	for _, call := range s.Calls {
		if strings.Contains(strings.Join(call, " "), secret) || strings.Contains(strings.Join(call, " "), "=true") {
			t.Fatalf("a value on the command line: %q", call)
		}
	}
	if s.Stdin["PUBLER_API_KEY"] != secret || s.Stdin["PUBLER_LIVE"] != "true" {
		t.Errorf("stdin: %+v", s.Stdin)
	}
	secrets, _ := f.Secrets(ctx, "hotdash-app")
	for _, sec := range secrets {
		if sec.Name == "PUBLER_LIVE" && sec.Status != integrations.SecretStaged {
			t.Errorf("PUBLER_LIVE is %q before the deploy", sec.Status)
		}
	}
	if v, _ := f.ReadEnv(ctx, "hotdash-app", "PUBLER_LIVE"); v != "" {
		t.Errorf("the machine runs PUBLER_LIVE=%q before the deploy", v)
	}
	var done []integrations.MachineEvent
	if err := f.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, func(ev integrations.MachineEvent) {
		if ev.Done {
			done = append(done, ev)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[0].State != "started" || done[0].Of != 2 || done[0].Machine == done[1].Machine {
		t.Errorf("machines done: %+v", done)
	}
	if v, _ := f.ReadEnv(ctx, "hotdash-app", "PUBLER_LIVE"); v != "true" {
		t.Errorf("printenv after deploy = %q", v)
	}
	if got := load(t, state).Calls; strings.Join(got[len(got)-2], " ") != "secrets deploy -a hotdash-app" {
		t.Errorf("the apply ran %q", got[len(got)-2])
	}
}

func TestUnsetAMissingNameIsNoError(t *testing.T) {
	f, state := fakeFly(t, nil)
	if err := f.UnsetSecrets(context.Background(), "hotdash-app", []string{"NOT_THERE", "SUPABASE_URL"}, true, nil); err != nil {
		t.Fatalf("unsetting a missing name is not an error: %v", err)
	}
	calls := load(t, state).Calls
	if strings.Join(calls[0], " ") != "secrets unset NOT_THERE SUPABASE_URL -a hotdash-app --stage" {
		t.Errorf("calls: %q", calls)
	}
}

func TestErrorsCarryFlyctlsErrorLine(t *testing.T) {
	f, _ := fakeFly(t, func(s *flyfake.State) {
		s.Fail["secrets deploy"] = "failed to update machine 38d9e1f2b7a480: timeout reached waiting for health checks"
	})
	ctx := context.Background()
	_, err := f.Secrets(ctx, "hotdash-api")
	if err == nil || err.Error() != `fly secrets list -a hotdash-api --json: failed to list app secrets: app not found` || !errors.Is(err, integrations.ErrNotFound) {
		t.Errorf("unknown app, through the Machines API: %v", err)
	}
	_, err = f.Machines(ctx, "hotdash-api")
	if err == nil || err.Error() != `fly status -a hotdash-api --json: failed to get app: Could not find App` || !errors.Is(err, integrations.ErrNotFound) {
		t.Errorf("unknown app, wrapped: %v", err)
	}
	err = f.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, nil)
	var ce *CmdError
	if !errors.As(err, &ce) || ce.Code != 1 || ce.Msg != "failed to update machine 38d9e1f2b7a480: timeout reached waiting for health checks" {
		t.Errorf("deploy failure: %v", err)
	}
}

func TestMachinesFromStatus(t *testing.T) {
	f, _ := fakeFly(t, nil)
	ms, err := f.Machines(context.Background(), "hotdash-app")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].State != "started" || ms[0].Region != "iad" || ms[0].Checks != "1/1 passing" || ms[0].Version != "v1" ||
		ms[0].Passing != 1 || ms[0].Total != 1 || ms[0].Current != integrations.Current {
		t.Errorf("machines: %+v", ms)
	}
}

func TestLogsStreamDecodesConcatenatedObjects(t *testing.T) {
	f, state := fakeFly(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []integrations.LogLine
	done := make(chan error, 1)
	go func() {
		done <- f.StreamLogs(ctx, "hotdash-app", func(ls []integrations.LogLine) {
			mu.Lock()
			got = append(got, ls...)
			mu.Unlock()
		})
	}()
	testkit.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if n := len(got); n < 6 {
			return fmt.Errorf("only %d lines", n)
		}
		return nil
	})
	mu.Lock()
	l := got[0]
	mu.Unlock()
	if l.Instance == "" || l.Region == "" || l.Time.IsZero() || !strings.Contains(l.Message, "publer-adapter") {
		t.Errorf("line: %+v", l)
	}
	// The stream dies: the reason comes back for the watcher to reopen it.
	s := load(t, state)
	s.Fail["logs"] = "websocket: close 1006 (abnormal closure)"
	if err := flyfake.Save(state, s); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "websocket: close 1006") {
			t.Errorf("stream end: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
}

func TestDescribeShowsStdinNotValues(t *testing.T) {
	f, _ := fakeFly(t, nil)
	lines := f.Describe(integrations.Op{Kind: integrations.OpSet, App: "hotdash-app", Stage: true,
		Values: map[string]string{"PUBLER_API_KEY": "pub_secret", "PUBLER_LIVE": "true"}, Plain: map[string]bool{"PUBLER_LIVE": true}})
	want := []string{
		"fly secrets set PUBLER_API_KEY=- -a hotdash-app --stage   (stdin: ••••••)",
		"fly secrets set PUBLER_LIVE=- -a hotdash-app --stage   (stdin: true)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("Describe:\n%s", strings.Join(lines, "\n"))
	}
}

func TestLogsStreamEndsOnOutputThatIsNotJSON(t *testing.T) {
	f, _ := fakeFly(t, func(s *flyfake.State) { s.LogNoise = "WARN the log stream reconnected" })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.StreamLogs(ctx, "hotdash-app", func([]integrations.LogLine) {}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "fly logs: unreadable log stream") {
			t.Errorf("stream end: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end: fly logs went on with nobody reading")
	}
}

func TestApplyOutlivesALineTooLongToScan(t *testing.T) {
	f, state := fakeFly(t, func(s *flyfake.State) {
		s.LongLine = 300_000
		s.Apps["hotdash-app"].Version = 2 // a staged change to deploy
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, nil); err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, m := range load(t, state).Apps["hotdash-app"].Machines {
		if m.Version != 2 || m.State != "started" {
			t.Errorf("machine %s: version %d, %s", m.ID, m.Version, m.State)
		}
	}
}

// Today's flyctl and the older one report each machine their own way;
// both become per-machine progress, with the region fly status showed.
func TestDeployProgressInBothFormats(t *testing.T) {
	for _, format := range []string{"", "old"} {
		t.Run("format "+format, func(t *testing.T) {
			f, _ := fakeFly(t, func(s *flyfake.State) { s.Progress = format })
			ctx := context.Background()
			if _, err := f.Machines(ctx, "hotdash-app"); err != nil {
				t.Fatal(err)
			}
			var done []string
			err := f.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, func(ev integrations.MachineEvent) {
				if ev.Done {
					done = append(done, fmt.Sprintf("%s %s %s of %d", ev.Machine, ev.Region, ev.State, ev.Of))
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"38d9e1f2b7a480 iad started of 2", "38d9e1f2b7a481 ord started of 2"}
			if strings.Join(done, "\n") != strings.Join(want, "\n") {
				t.Errorf("done:\n%s\nwant:\n%s", strings.Join(done, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestDeployReaderReadsFlyctlsLines(t *testing.T) {
	d := newDeployReader(map[string]string{"148ed193b95689": "iad"})
	tests := []struct {
		line string
		want string // "" when the line is about no machine
	}{
		{"Updating existing machines in 'hotdash-app' with rolling strategy", ""},
		{"> [01/12] Acquiring lease for 148ed193b95689", "148ed193b95689 iad updating"},
		{"✔ [01/12] Cleared lease for 148ed193b95689", ""},
		{"\x1b[32m✔\x1b[0m [01/12] Machine \x1b[1m148ed193b95689\x1b[0m is now in a good state", "148ed193b95689 iad started done"},
		{"  [2/12] Machine 6e82933c2d2e87 [app] update finished: success", "6e82933c2d2e87  started done"},
		{"> [03/12] Waiting for machine 9080e6d2a93548 to reach a good state", "9080e6d2a93548  updating"},
		{"✖ [03/12] Failed: timeout reached waiting for health checks to pass", "9080e6d2a93548  failed done err"},
		{"✖ [04/12] skipping machine update due to earlier failure", ""},
	}
	for _, tt := range tests {
		ev, ok := d.read([]byte(tt.line))
		got := ""
		if ok {
			got = fmt.Sprintf("%s %s %s", ev.Machine, ev.Region, ev.State)
			if ev.Done {
				got += " done"
			}
			if ev.Err != nil {
				got += " err"
			}
			if ev.Of != 12 {
				t.Errorf("%q: of %d, want 12", tt.line, ev.Of)
			}
		}
		if got != tt.want {
			t.Errorf("%q: %q, want %q", tt.line, got, tt.want)
		}
	}
}

// A machine whose health check stays critical stops the deploy: the error
// names it, the machine before it is done, the one after untouched.
func TestDeployStopsAtAMachineWhoseHealthCheckStaysCritical(t *testing.T) {
	f, state := fakeFly(t, func(s *flyfake.State) {
		a := s.Apps["hotdash-app"]
		a.Machines = append(a.Machines, &flyfake.Machine{ID: "38d9e1f2b7a482", Region: "syd", State: "started", Version: 1, Release: 1, Group: "app"})
		s.Critical = map[string]bool{"38d9e1f2b7a481": true}
	})
	ctx := context.Background()
	if err := f.SetSecrets(ctx, "hotdash-app", map[string]string{"PUBLER_LIVE": "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	err := f.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, nil)
	var ae *integrations.ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want an *ApplyError", err)
	}
	var got []string
	for _, m := range ae.Machines {
		got = append(got, m.Machine+" "+m.Stand.String())
	}
	want := []string{"38d9e1f2b7a480 done", "38d9e1f2b7a481 failed", "38d9e1f2b7a482 untouched"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("standings %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), "failed to update machine 38d9e1f2b7a481: timeout reached waiting for health checks") {
		t.Errorf("error %q does not carry flyctl's reason", err)
	}
	if m := load(t, state).Apps["hotdash-app"].Machines[2]; m.Version != 1 {
		t.Errorf("the machine after the failure was updated: %+v", m)
	}
}

// A `fly console` machine is not one of the app's: not listed, not
// counted, and the deploy is done without it.
func TestConsoleMachinesAreNotTheApps(t *testing.T) {
	f, _ := fakeFly(t, func(s *flyfake.State) {
		a := s.Apps["hotdash-app"]
		a.Machines = append(a.Machines, &flyfake.Machine{ID: "e2865013d74178", Region: "iad", State: "started", Version: 1, Release: 1, Group: "fly_app_console"})
	})
	ctx := context.Background()
	ms, err := f.Machines(ctx, "hotdash-app")
	if err != nil || len(ms) != 2 {
		t.Fatalf("machines %+v (%v): want the app's two", ms, err)
	}
	if err := f.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
	secrets, _ := f.Secrets(ctx, "hotdash-app")
	if secrets[0].Status != integrations.SecretDeployed {
		t.Errorf("status %q: the console machine was counted", secrets[0].Status)
	}
}

func TestFlyctlErrorsAreReadThroughColourAndExitCodes(t *testing.T) {
	tests := []struct {
		name string
		edit func(*flyfake.State)
		env  string
		want string
	}{
		{"CLICOLOR_FORCE colours Error:", func(s *flyfake.State) { s.Fail["secrets list"] = "unauthorized" }, "CLICOLOR_FORCE=1",
			"fly secrets list -a hotdash-app --json: unauthorized"},
		{"126 is flyctl's own deadline", func(s *flyfake.State) { s.Exit = map[string]int{"secrets list": 126} }, "",
			"fly secrets list -a hotdash-app --json: fly timed out"},
		{"127 is an interrupt", func(s *flyfake.State) { s.Exit = map[string]int{"secrets list": 127} }, "",
			"fly secrets list -a hotdash-app --json: fly was interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := fakeFly(t, tt.edit)
			if tt.env != "" {
				f.o.Env = append(f.o.Env, tt.env)
			}
			_, err := f.Secrets(context.Background(), "hotdash-app")
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// `fly logs --no-tail` waits for a first line: on a quiet app its
// deadline passing is the answer "no lines".
func TestRecentLogsOnAQuietAppAreNoLines(t *testing.T) {
	f, _ := fakeFly(t, func(s *flyfake.State) { s.Quiet = true })
	f.o.Timeout = 500 * time.Millisecond
	lines, err := f.RecentLogs(context.Background(), "hotdash-app")
	if err != nil || len(lines) != 0 {
		t.Errorf("lines %v, err %v: want no lines and no error", lines, err)
	}
}

// wrapper installs a fly that is a shell script.
func wrapper(t *testing.T, script string, tune func(*FlyctlOptions)) *Flyctl {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fly")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := FlyctlOptions{Binary: path, Timeout: 20 * time.Second}
	if tune != nil {
		tune(&o)
	}
	f, err := NewFlyctl(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A fly that is a wrapper forking a sleeping child (doppler run --, op
// run --) is stopped whole when its time is up, the child included.
func TestAFlyWrapperThatForksASleepingChildIsStoppedWhole(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	f := wrapper(t, `trap '' TERM; sleep 300 & echo $! > `+pidFile+`; wait`, func(o *FlyctlOptions) { o.Timeout = 300 * time.Millisecond })
	start := time.Now()
	_, err := f.Secrets(context.Background(), "hotdash-app")
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("returned after %s: the wrapper's child held it", took)
	}
	if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("error %v, want the deadline that applied named", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	testkit.Eventually(t, 10*time.Second, func() error {
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(stat), ") Z ") {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("the sleeping child %d is alive", pid)
			}
		}
		return nil
	})
}

// A wrapper that answers and exits, leaving a child that holds its
// output, is not waited for past a short grace.
func TestAFlyWrapperThatLeavesAChildRunningIsNotWaitedFor(t *testing.T) {
	f := wrapper(t, `sleep 300 & echo '[]'`, nil)
	start := time.Now()
	secrets, err := f.Secrets(context.Background(), "hotdash-app")
	if err != nil || len(secrets) != 0 {
		t.Errorf("secrets %v, err %v", secrets, err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("returned after %s", took)
	}
}

// The deadline named is the one that ended the command: the caller's,
// when it comes before the platform's own.
func TestTimeoutMessageNamesTheDeadlineThatApplied(t *testing.T) {
	f := wrapper(t, `exec sleep 300`, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err := f.Secrets(ctx, "hotdash-app")
	var named time.Duration
	if err != nil {
		if _, after, ok := strings.Cut(err.Error(), "timed out after "); ok {
			named, _ = time.ParseDuration(after)
		}
	}
	// What is left of the deadline when fly starts: 400ms, a little less
	// on a loaded machine; never the platform's own 20s.
	if named < 100*time.Millisecond || named > 400*time.Millisecond {
		t.Errorf("error %v, want the caller's 400ms deadline named", err)
	}
}

func TestAnAnswerTooLargeIsRefused(t *testing.T) {
	f := wrapper(t, `head -c 3000000 /dev/zero | tr '\0' 'x'`, func(o *FlyctlOptions) { o.MaxOutput = 1 << 20 })
	_, err := f.Secrets(context.Background(), "hotdash-app")
	if err == nil || !strings.Contains(err.Error(), "answer too large (over 1 MB)") {
		t.Errorf("error %v, want the answer refused", err)
	}
}

// Every field fly status gives comes out inert.
func TestStatusFieldsComeOutSanitised(t *testing.T) {
	f, _ := fakeFly(t, func(s *flyfake.State) {
		s.Apps["hotdash-app"].Machines[0].Region = "\x1b]0;owned\x07iad\x1b[2J"
		s.Fail["secrets deploy"] = "\x1b[31mmachine \x1b[2Jexploded\x07"
	})
	ms, err := f.Machines(context.Background(), "hotdash-app")
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Region != "iad" {
		t.Errorf("region %q", ms[0].Region)
	}
	err = f.Apply(context.Background(), "hotdash-app", integrations.ApplyDeploy, nil)
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\x07") || !strings.Contains(err.Error(), "machine exploded") {
		t.Errorf("error %q", err)
	}
}
