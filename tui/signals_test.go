package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/runbook"
)

// The console's own check failing is its own row, in amber, saying how
// many checks failed in a row and why; the app's error rate beside it
// stays the app's.
func TestAFailingCheckIsAmberAndNotTheAppsErrorRate(t *testing.T) {
	st := DefaultStyles()
	rb := runbook.Default()
	now := time.Date(2026, 11, 27, 9, 10, 0, 0, time.UTC)
	s := &integrations.Status{Def: rb.Integration("publer"), Source: integrations.SourceLive, Expected: integrations.SourceLive,
		CheckErr: "403 missing scope (Missing required scope: accounts)", CheckFails: 3,
		Checked: now.Add(-10 * time.Second), CheckSince: now.Add(-4 * time.Minute),
		Measures: []integrations.Measure{{Threshold: rb.Integration("publer").Thresholds[0], Count: 0, Of: 240, Sampled: true}}}
	got := checkText(&st, s, now, false)
	if !strings.Contains(got, st.Warn.Render("✗ 3 failed in a row: 403 missing scope (Missing required scope: accounts)")) {
		t.Errorf("check row %q: want the failures in amber", got)
	}
	if plain := ansi.Strip(got); !strings.Contains(plain, "unknown for 4m0s") {
		t.Errorf("check row %q: want it said unknown, and for how long", plain)
	}
	if e := ansi.Strip(errorsText(&st, s, false)); !strings.HasPrefix(e, "5m 0% (0 of 240)  1h 0%  limit 1.0% over 5m") {
		t.Errorf("errors row %q", e)
	}
	// An http integration's source is unknown while its check fails, in
	// amber too.
	sb := &integrations.Status{Def: rb.Integration("supabase"), CheckErr: "GET /api/analytics/idea-pool: timed out", CheckFails: 1}
	if got := sourceText(&st, sb); !strings.Contains(got, st.Warn.Render("○ unknown")) {
		t.Errorf("source %q", got)
	}
}

// The guide's other criteria have their row, each over its window.
func TestLimitsRowShowsEachCriterionOverItsWindow(t *testing.T) {
	st := DefaultStyles()
	rb := runbook.Default()
	d := rb.Integration("publer")
	s := &integrations.Status{Def: d, Measures: []integrations.Measure{
		{Threshold: d.Thresholds[0], Of: 100, Sampled: true},
		{Threshold: d.Thresholds[1], Count: 1, Of: 40, Value: 0.025, Sampled: true},
		{Threshold: d.Thresholds[2], Value: 4, Sampled: true},
		{Threshold: d.Thresholds[3], Count: 1, Value: 1, Sampled: true, Over: true},
	}}
	got := ansi.Strip(limitsText(&st, s))
	want := "5m jobs failing 2.5% (1 of 40) ≤ 5% · 5m job pending 4s ≤ 5m · 5m 401/403 from Publer 1 > 0"
	if got != want {
		t.Errorf("limits\n got %q\nwant %q", got, want)
	}
}

// The rollback proposal quotes the breach as it stands now: its figure
// and its age move while the dialog is open.
func TestRollbackProposalFiguresUpdateLive(t *testing.T) {
	stack, rb := testStack(t, "healthy")
	m := New(Options{Stack: stack, Runbook: rb, Scenario: "test"})
	t.Cleanup(m.Close)
	d := rb.Integration("supabase")
	since := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	snap := func(errs int64) *integrations.Snapshot {
		b := integrations.Measure{Threshold: d.Thresholds[0], Count: errs, Of: 400, Value: float64(errs) / 400, Sampled: true, Over: true, Since: since}
		return &integrations.Snapshot{App: sim.ProdApp, Integrations: []integrations.Status{{Def: d, Breaches: []integrations.Breach{b}, Measures: []integrations.Measure{b}}}}
	}
	m.envs[0].snap = snap(12)
	m.now = since.Add(16 * time.Minute)
	s := runbook.Suggestion{Env: "production", App: sim.ProdApp, Integration: "supabase", Since: since, Reason: "frozen"}
	dlg := newDialog(dialogSuggest, "Roll back?", []string{s.Reason}, button{"Later", dialogCancelled}, button{"Roll back…", dialogProceeded})
	dlg.live = func() []string { return m.suggestionLines(s) }
	st := DefaultStyles()
	first := ansi.Strip(dlg.view(&st, 120, 40))
	if !strings.Contains(first, "error rate 3% (12 of 400) > 1% over 5m, for 16m") {
		t.Fatalf("dialog:\n%s", first)
	}
	m.envs[0].snap = snap(20)
	m.now = since.Add(18 * time.Minute)
	if again := ansi.Strip(dlg.view(&st, 120, 40)); !strings.Contains(again, "error rate 5% (20 of 400) > 1% over 5m, for 18m") {
		t.Errorf("the figures did not move:\n%s", again)
	}
	m.envs[0].snap = &integrations.Snapshot{App: sim.ProdApp, Integrations: []integrations.Status{{Def: d}}}
	if cleared := ansi.Strip(dlg.view(&st, 120, 40)); !strings.Contains(cleared, "The breach has cleared") {
		t.Errorf("a cleared breach:\n%s", cleared)
	}
}

// After activation the idea_pool table goes: the pane gives the runbook's
// diagnosis for that cause, established by the console itself.
func TestMissingTableAfterActivationIsDiagnosedInThePane(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 200, 50)
	activate(t, st, sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	s.waitFor("● live (supabase) ✓")
	if _, err := st.Sim.ToggleFault("migration"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("● mock ✗ expected live", "Migration missing: the idea_pool table is not there (Step 1.1)")
}
