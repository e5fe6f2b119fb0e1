package runbook

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
)

// preparedStack is a simulator whose watchers are not running: a check
// polls them once.
func preparedStack(t *testing.T, scenario string, o sim.Options) *connect.Stack {
	t.Helper()
	o.Scenario, o.Seed, o.RestartTime = scenario, 9, 10*time.Millisecond
	if o.LogRate == 0 {
		o.LogRate = 20
	}
	cfg := config.Default()
	cfg.Watch.CallTimeout.Duration = 3 * time.Second
	st, err := connect.Build(connect.Options{Config: cfg, Defs: Default().Integrations, Sim: o})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestCheckHealthyOnTheSimulator(t *testing.T) {
	st := preparedStack(t, "healthy", sim.Options{})
	r := RunCheck(context.Background(), st.Env("production"), time.Now)
	if !r.OK || len(r.Integrations) != 4 || r.App != "hotdash-app" {
		t.Fatalf("check: %+v", r)
	}
	for _, ic := range r.Integrations {
		if !ic.Healthy || ic.Problems == nil {
			t.Errorf("%s: %+v", ic.Name, ic)
		}
	}
}

func TestCheckNamesABreach(t *testing.T) {
	st := preparedStack(t, "chatwoot-rate-limited", sim.Options{})
	r := RunCheck(context.Background(), st.Env("production"), time.Now)
	cw := r.Integrations[3]
	if r.OK || cw.Healthy || len(cw.Problems) != 1 || !strings.HasPrefix(cw.Problems[0], "rate limited ") || !strings.HasSuffix(cw.Problems[0], "> 10% over 5m") {
		t.Fatalf("chatwoot: %+v", cw)
	}
}

func TestCheckOnMockWhenLiveCarriesTheDiagnosis(t *testing.T) {
	st := preparedStack(t, "missing-migration", sim.Options{})
	ctx := context.Background()
	p := st.Platform
	_ = p.SetSecrets(ctx, "hotdash-app", map[string]string{"IDEA_POOL_SUPABASE_ENABLED": "true"}, true, nil)
	secrets, _ := p.Secrets(ctx, "hotdash-app")
	for _, s := range secrets {
		if s.Name == "IDEA_POOL_SUPABASE_ENABLED" {
			st.Book.Record("hotdash-app", s.Name, s.Digest, "true")
		}
	}
	_ = p.Apply(ctx, "hotdash-app", 0, nil)
	r := RunCheck(ctx, st.Env("production"), time.Now)
	sb := r.Integrations[0]
	if r.OK || sb.Healthy || sb.Source != "mock" || sb.ExpectedSource != "live" {
		t.Fatalf("supabase: %+v", sb)
	}
	joined := strings.Join(sb.Problems, " | ")
	if !strings.Contains(joined, "on mock while IDEA_POOL_SUPABASE_ENABLED (true) says live") || !strings.Contains(joined, "Migration missing") {
		t.Errorf("problems: %q", sb.Problems)
	}
}

func TestCheckIsConcurrent(t *testing.T) {
	// The four probes each wait 200ms: together they take about as long as
	// one, not four. (Measured properly by BenchmarkCheck; here only that
	// nothing serialises them behind each other.)
	st := preparedStack(t, "healthy", sim.Options{})
	st.Sim.SetFaults(sim.Faults{Latency: 200 * time.Millisecond})
	r := RunCheck(context.Background(), st.Env("production"), time.Now)
	if !r.OK {
		t.Fatalf("%+v", r)
	}
}

func TestHistoryAppendsAndToleratesBadLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	r := CheckResult{Env: "production", App: "hotdash-app", CheckedAt: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), OK: true}
	if err := AppendHistory(path, r); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("{not json\n")
	f.Close()
	r.CheckedAt = r.CheckedAt.Add(time.Hour)
	_ = AppendHistory(path, r)
	h, err := ReadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Checks) != 2 || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "history.jsonl:2: not a check result; skipped") {
		t.Errorf("history: %d checks, %q", len(h.Checks), h.Warnings)
	}
	if h, err := ReadHistory(filepath.Join(t.TempDir(), "none.jsonl")); err != nil || len(h.Checks) != 0 {
		t.Errorf("a missing history is empty: %v", err)
	}
	if err := os.Chmod(path, 0); err == nil && os.Getuid() != 0 {
		if _, err := ReadHistory(path); err == nil {
			t.Error("an unreadable history file must say so")
		}
	}
}

func TestAnOverlongHistoryLineIsSkippedWithItsLineNumber(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "history.jsonl")
	check := `{"env":"production","checked_at":"2026-11-27T09:00:00Z","ok":true,"integrations":[{"name":"supabase","problems":["check failed: \u001b]0;x\u0007OK"]}]}` + "\n"
	long := `{"env":"` + strings.Repeat("x", MaxRecord+1) + `"}` + "\n"
	if err := os.WriteFile(hist, []byte(check+long+check), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHistory(hist)
	if err != nil || len(h.Checks) != 2 || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "history.jsonl:2: a line of 16.0 MB") {
		t.Fatalf("history: %d checks, %q, %v", len(h.Checks), h.Warnings, err)
	}
	if p := h.Checks[0].Integrations[0].Problems[0]; p != "check failed: OK" {
		t.Errorf("a problem read back: %q", p)
	}
}

// activateOn turns a flag on in the simulator outside any runner, and
// records its digest unless unrecorded: a flag set outside the console.
func activateOn(t *testing.T, st *connect.Stack, flag string, recorded bool) {
	t.Helper()
	ctx := context.Background()
	p := st.Platform
	if err := p.SetSecrets(ctx, "hotdash-app", map[string]string{flag: "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	secrets, _ := p.Secrets(ctx, "hotdash-app")
	for _, s := range secrets {
		if s.Name == flag && recorded {
			st.Book.Record("hotdash-app", s.Name, s.Digest, "true")
		}
	}
	if err := p.Apply(ctx, "hotdash-app", integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
}

// lateSecrets answers fly secrets list only after the caller's deadline,
// as a slow fly that does not stop in time would.
type lateSecrets struct{ integrations.Platform }

func (p lateSecrets) Secrets(ctx context.Context, app string) ([]integrations.Secret, error) {
	<-ctx.Done()
	return p.Platform.Secrets(context.Background(), app)
}

// What the check cannot verify is a problem with its reason, never
// healthy: a flag set outside the console, an answer after the deadline,
// a check that timed out, a migration it cannot look at.
func TestCheckCannotVerifyIsAProblem(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, st *connect.Stack, env *connect.Env)
		id    string
		want  string
	}{
		{"a flag set outside the console", func(t *testing.T, st *connect.Stack, env *connect.Env) {
			activateOn(t, st, "IDEA_POOL_SUPABASE_ENABLED", false)
		}, "supabase", "cannot verify: IDEA_POOL_SUPABASE_ENABLED is unknown (changed outside the console"},
		{"fly secrets list answering after the deadline", func(t *testing.T, st *connect.Stack, env *connect.Env) {
			activateOn(t, st, "IDEA_POOL_SUPABASE_ENABLED", true)
			env.Watcher = integrations.NewWatcher(integrations.WatcherOptions{Env: env.Config.Name, App: env.App, Platform: lateSecrets{st.Platform},
				Defs: Default().Integrations, Probes: env.Probes, Migrations: env.Migrations, Book: st.Book, CallTimeout: 300 * time.Millisecond})
		}, "supabase", "cannot verify in time: fly secrets list answered after the 300ms limit (its answer is shown)"},
		{"the app's answer timing out", func(t *testing.T, st *connect.Stack, env *connect.Env) {
			st.Sim.SetFaults(sim.Faults{Timeouts: true})
		}, "supabase", "cannot verify: the console's check failed: GET /api/analytics/idea-pool: timed out"},
		{"a migration check that is refused", func(t *testing.T, st *connect.Stack, env *connect.Env) {
			st.Sim.SetFaults(sim.Faults{CredentialsRevoked: true})
		}, "supabase", "cannot verify the idea_pool migration: the Supabase key was rejected (401 Invalid API key)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := preparedStack(t, "healthy", sim.Options{})
			env := st.Env("production")
			tt.setup(t, st, env)
			r := RunCheck(context.Background(), env, time.Now)
			var ic *IntegrationCheck
			for i := range r.Integrations {
				if r.Integrations[i].Name == tt.id {
					ic = &r.Integrations[i]
				}
			}
			if r.OK || ic.Healthy || !slices.ContainsFunc(ic.Problems, func(p string) bool { return strings.HasPrefix(p, tt.want) }) {
				t.Errorf("ok %v; %s problems %q\nwant one starting %q", r.OK, tt.id, ic.Problems, tt.want)
			}
		})
	}
}

// After activation the idea_pool table goes: the check's problems carry
// the runbook's diagnosis for that cause, from the console's own look at
// the table, in the JSON that cron mails.
func TestCheckAfterActivationNamesTheMissingTable(t *testing.T) {
	st := preparedStack(t, "healthy", sim.Options{})
	activateOn(t, st, "IDEA_POOL_SUPABASE_ENABLED", true)
	if _, err := st.Sim.ToggleFault("migration"); err != nil {
		t.Fatal(err)
	}
	r := RunCheck(context.Background(), st.Env("production"), time.Now)
	b, _ := json.Marshal(r)
	var back CheckResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	sb := back.Integrations[0]
	joined := strings.Join(sb.Problems, " | ")
	if back.OK || sb.Source != "mock" || !strings.Contains(joined, "Migration missing: the idea_pool table is not there (Step 1.1)") {
		t.Errorf("problems: %q", sb.Problems)
	}
	if strings.Contains(joined, "creds missing") {
		t.Errorf("a cause the console ruled out: %q", sb.Problems)
	}
}

// A check records the span of the log it read and the errors in it.
func TestCheckRecordsItsLogWindow(t *testing.T) {
	st := preparedStack(t, "healthy", sim.Options{})
	r := RunCheck(context.Background(), st.Env("production"), time.Now)
	lw := r.Logs
	if !r.OK || lw.Lines == 0 || lw.Errors != 0 || !lw.From.Before(lw.To) || lw.To != r.CheckedAt || lw.Unread != "" {
		t.Errorf("log window %+v (check at %v)", lw, r.CheckedAt)
	}
}
