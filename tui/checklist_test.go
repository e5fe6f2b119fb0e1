package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/runbook/runbooktest"
)

// checklistScreen is a console with a runner on a fresh journal, with the
// pre-activation steps skipped and 1.1 passed, at 200x50.
func checklistScreen(t *testing.T) (*screen, *runbook.Runner, func() int) {
	s, r, st := checklistStack(t)
	return s, r, func() int { return len(st.Sim.Writes()) }
}

func checklistStack(t *testing.T) (*screen, *runbook.Runner, *connect.Stack) {
	t.Helper()
	st, rb := testStack(t, "healthy")
	r, _ := newRunner(t, st, rb)
	seat := r.Join("alice")
	runbooktest.Pass(t, r, seat, nil, append(runbooktest.Pre, "1.1")...)
	m := New(Options{Stack: st, Runbook: rb, Runner: r, Seat: seat, Tick: 50 * time.Millisecond})
	s := &screen{t: t, m: m}
	s.tm = teatest.NewTestModel(t, recorder{m, s}, teatest.WithInitialTermSize(200, 50))
	t.Cleanup(func() {
		_ = s.tm.Quit()
		s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		m.Close()
	})
	return s, r, st
}

// newRunner is a runner on a fresh journal, and the journal's path.
func newRunner(t *testing.T, st *connect.Stack, rb *runbook.Runbook) (*runbook.Runner, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, loaded, err := runbook.OpenJournal(path, runbook.Holder{Operator: "alice", PID: os.Getpid()}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h, _ := runbook.Replay(rb, path, loaded, false, st.Book)
	r := runbook.NewRunner(runbook.Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice", History: h})
	t.Cleanup(r.Close)
	return r, path
}

func TestTypedConfirmation(t *testing.T) {
	s, _, writes := checklistScreen(t)
	s.press("c")
	s.waitFor("Production Integration Activation Guide", "✓ 1.1", "1.2   Set feature flag")
	s.press("n", "enter")
	s.waitFor("1.2 Set feature flag on hotdash-app (production)", "This will do exactly:",
		"fly secrets set IDEA_POOL_SUPABASE_ENABLED=true -a hotdash-app --stage", "Type hotdash-app to confirm", "[ Cancel ]")

	// Wrong text does nothing: Proceed refuses and says why.
	s.typeText("hotdash-app-dev")
	s.press("enter", "right", "enter")
	s.waitFor("type hotdash-app exactly to confirm")
	if n := writes(); n != 0 {
		t.Fatalf("%d writes after wrong text", n)
	}

	// esc cancels; nothing is written.
	s.press("esc")
	s.waitFor("cancelled: nothing was done")
	if n := writes(); n != 0 {
		t.Fatalf("%d writes after esc", n)
	}

	// Enter on Cancel (the default when there is nothing to type) cancels too.
	s.press("enter")
	s.waitFor("Type hotdash-app to confirm")
	s.press("tab", "enter")
	s.waitFor("cancelled: nothing was done")

	// The right text proceeds.
	s.press("enter")
	s.waitFor("Type hotdash-app to confirm")
	s.typeText("hotdash-app")
	s.press("enter", "enter")
	s.waitUntil("1.2 passed", func(txt string) bool { return strings.Contains(line(txt, "1.2   Set feature flag"), "passed") })
	if n := writes(); n != 1 {
		t.Errorf("%d writes, want 1", n)
	}
	// Stepping through: the selection moved on to 1.3.
	s.waitFor("1.3 Restart app · apply · hotdash-app (production)")
}

func TestHeldStepSaysWhatHoldsIt(t *testing.T) {
	s, _, _ := checklistScreen(t)
	s.press("c")
	s.waitFor("✓ 1.1")
	for range 10 { // from 1.2 down to 2.6
		s.press("down")
	}
	s.waitFor("2.6 Activate production · set secrets", "⚠ ONLY after dev testing succeeds", "waits for 2.5 Test real API (dev workspace) (pending)")
	s.press("enter")
	s.waitFor("2.6 waits for 2.5 Test real API (dev workspace) (pending); waits for 2.5b Verify in Publer UI (pending)")
}

func TestSkipNeedsAReason(t *testing.T) {
	s, r, _ := checklistScreen(t)
	s.press("c", "n", "s")
	s.waitFor("Skip 1.2 Set feature flag", "A reason is required")
	s.press("enter", "enter") // an empty reason: enter goes on to Skip, which refuses
	s.waitFor("a reason is required to skip a step")
	s.press("shift+tab", "shift+tab")
	s.typeText("flag set by hand already")
	s.press("enter", "enter")
	s.waitUntil("1.2 skipped", func(txt string) bool { return strings.Contains(line(txt, "1.2   Set feature flag"), "skipped") })
	if st := r.State().Step("1.2"); st.Note != "flag set by hand already" {
		t.Errorf("note = %q", st.Note)
	}
}

func TestDecisionTreePaths(t *testing.T) {
	s, r, st := checklistStack(t)
	s.waitFor("Supabase (Idea Pool)")
	decisions := func() int {
		n := 0
		for _, rec := range r.Records() {
			if rec.Action == runbook.ActDecision {
				n++
			}
		}
		return n
	}
	// The outcome is asked for once more; the default records nothing.
	s.press("d")
	s.waitFor("Issue detected: Affecting a single integration?", "Yes → Roll back that integration only")
	s.press("y")
	s.waitFor("Issue detected: roll back that integration only", "[ Cancel ]   [ Record ]")
	s.press("enter")
	s.waitFor("nothing was done")
	if n := decisions(); n != 0 {
		t.Fatalf("%d decisions journaled without Record", n)
	}
	// Nothing activated: the single-integration path says so plainly.
	s.press("d", "y")
	s.waitFor("[ Record ]")
	s.press("right", "enter")
	s.waitFor("Supabase (Idea Pool) is not activated on hotdash-app")

	activate(t, st, sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	s.waitFor("IDEA_POOL_SUPABASE_ENABLED true")
	tests := []struct {
		keys []string
		want string
	}{
		{[]string{"y"}, "Roll back Supabase (Idea Pool) on hotdash-app (production)"},
		{[]string{"n", "y"}, "EMERGENCY ROLLBACK of Supabase (Idea Pool) on hotdash-app (production)"},
		{[]string{"n", "n", "y"}, "Data loss risk: make no further change. Contact the Manager immediately."},
		{[]string{"n", "n", "n", "y"}, "Roll back Supabase (Idea Pool) on hotdash-app (production)"},
		{[]string{"n", "n", "n", "n"}, "Monitor; the console proposes a rollback when a threshold stays breached for 15m0s."},
	}
	for i, tt := range tests {
		s.press("d")
		s.waitFor("Affecting a single integration?")
		s.press(tt.keys...)
		s.waitFor("[ Record ]")
		s.press("right", "enter")
		txt := s.waitFor(tt.want)
		if strings.Contains(tt.want, "Data loss") && !strings.Contains(txt, "Data Agent: Supabase migrations, schema issues") {
			t.Errorf("STOP without the contacts:\n%s", txt)
		}
		if n := decisions(); n != i+2 {
			t.Errorf("%d decisions journaled, want %d", n, i+2)
		}
		s.press("esc")
		s.waitUntil("the dialog closed", func(txt string) bool { return !strings.Contains(txt, tt.want) })
	}
	if n := len(st.Sim.Writes()); n != 2 { // the activation's set and apply; the tree wrote nothing
		t.Errorf("%d writes", n)
	}
}
