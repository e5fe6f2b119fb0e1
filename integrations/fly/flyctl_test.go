package fly

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	var mu sync.Mutex
	var events []integrations.MachineEvent
	if err := f.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, func(ev integrations.MachineEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 || !events[1].Done || events[1].State != "started" || events[0].Machine != events[1].Machine {
		t.Errorf("progress: %+v", events)
	}
	if v, _ := f.ReadEnv(ctx, "hotdash-app", "PUBLER_LIVE"); v != "true" {
		t.Errorf("printenv after deploy = %q", v)
	}
	if got := load(t, state).Calls; strings.Join(got[len(got)-2], " ") != "secrets deploy -a hotdash-app" {
		t.Errorf("the apply ran %q", got[len(got)-2])
	}
}

func TestRestartAndUnset(t *testing.T) {
	f, state := fakeFly(t, nil)
	ctx := context.Background()
	var restarted []string
	if err := f.Apply(ctx, "hotdash-app-dev", integrations.ApplyRestart, func(ev integrations.MachineEvent) {
		if ev.Done {
			restarted = append(restarted, ev.Machine)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(restarted) != 2 {
		t.Errorf("restarted %v", restarted)
	}
	if err := f.UnsetSecrets(ctx, "hotdash-app", []string{"NOT_THERE", "SUPABASE_URL"}, true, nil); err != nil {
		t.Fatalf("unsetting a missing name is not an error: %v", err)
	}
	calls := load(t, state).Calls
	if strings.Join(calls[0], " ") != "apps restart hotdash-app-dev" || strings.Join(calls[1], " ") != "secrets unset NOT_THERE SUPABASE_URL -a hotdash-app --stage" {
		t.Errorf("calls: %q", calls)
	}
}

func TestErrorsCarryFlyctlsErrorLine(t *testing.T) {
	f, _ := fakeFly(t, func(s *flyfake.State) {
		s.Fail["secrets deploy"] = "failed to update machine 38d9e1f2b7a480: timeout reached waiting for health checks"
	})
	ctx := context.Background()
	_, err := f.Secrets(ctx, "hotdash-api")
	if err == nil || err.Error() != `fly secrets list -a hotdash-api --json: Could not find App "hotdash-api"` || !errors.Is(err, integrations.ErrNotFound) {
		t.Errorf("unknown app: %v", err)
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
	if len(ms) != 2 || ms[0].State != "started" || ms[0].Region != "iad" || ms[0].Checks != "1/1 passing" || ms[0].Version != "v1" {
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
