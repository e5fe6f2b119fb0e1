package tui

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/runbook/runbooktest"
)

// walker drives a console model synchronously, without a terminal: every
// key goes through Update and the runner's changes are taken at once.
type walker struct {
	t    *testing.T
	m    *Model
	r    *runbook.Runner
	seat *runbook.Seat
	path string
}

// newWalker is a console on the healthy simulator with the pre-activation
// passed, 1.1 passed, 4.2 skipped (so 4.3 is held by a gate), and a
// proposed rollback of Supabase waiting.
func newWalker(t *testing.T) *walker {
	t.Helper()
	st, rb := testStack(t, "healthy")
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _, err := runbook.OpenJournal(path, runbook.Holder{Operator: "alice", PID: os.Getpid()}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r := runbook.NewRunner(runbook.Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice"})
	t.Cleanup(r.Close)
	seat := r.Join("alice")
	runbooktest.Pass(t, r, seat, nil, append(runbooktest.Pre, "1.1")...)
	if err := r.Skip("4.2", seat, "checked with the script instead"); err != nil {
		t.Fatal(err)
	}
	m := New(Options{Stack: st, Runbook: rb, Runner: r, Seat: seat, Scenario: "healthy"})
	t.Cleanup(m.Close)
	w := &walker{t: t, m: m, r: r, seat: seat, path: path}
	w.size(200, 50)
	return w
}

func (w *walker) size(width, height int) { w.m.Update(tea.WindowSizeMsg{Width: width, Height: height}) }

func (w *walker) press(keys ...string) {
	for _, k := range keys {
		w.m.Update(keyMsg(k))
		w.m.Update(runnerMsg{})
	}
}

// reset closes whatever is open and goes back to the dashboard.
func (w *walker) reset() {
	for range 4 {
		w.press("esc")
	}
	if p := w.r.State().Prompt; p != nil {
		w.r.CancelPrompt(p.ID, w.seat, "test")
	}
	w.m.dlg, w.m.flash, w.m.filtering = nil, "", false
	w.m.showHelp, w.m.showHealth, w.m.showFaults = false, false, false
	w.m.mode = modeDashboard
	w.m.Update(runnerMsg{})
}

// selectStep selects a step (or, past the steps, a success criterion) in
// the checklist.
func (w *walker) selectStep(id string) {
	w.press("c")
	w.m.sel = w.m.stepIndex(id)
}

// longPrompt is a production confirmation whose lines cannot fit a small
// screen: they wrap, then scroll.
func longPrompt() *runbook.Prompt {
	var lines []string
	for i := range 30 {
		lines = append(lines, fmt.Sprintf("fly secrets set PUBLER_API_KEY=•••••• PUBLER_WORKSPACE_ID=•••••• PUBLER_LIVE=true -a hotdash-app --stage   (line %d)", i))
	}
	return &runbook.Prompt{ID: 999, Kind: runbook.KindSetSecrets, Title: "2.6 Activate production on hotdash-app (production)", Lines: lines,
		TypeToConfirm: "hotdash-app", Proceed: "Set", Warning: "ONLY after dev testing succeeds", Fields: []runbook.Field{{Key: "PUBLER_API_KEY", Label: "PUBLER_API_KEY", Masked: true, Required: true}}}
}

// states puts the console in each of its views, rows and dialogs.
func (w *walker) states() map[string]func() {
	m := w.m
	st := func(kind dialogKind, title string, lines ...string) func() {
		return func() { m.dlg = newDialog(kind, title, lines, choices("Cancel", "Go")...) }
	}
	return map[string]func(){
		"dashboard":           func() {},
		"dashboard, pane 4":   func() { w.press("4") },
		"log":                 func() { w.press("2", "enter") },
		"log, paused":         func() { w.press("enter", "f", "pgup") },
		"filtering":           func() { w.press("/") },
		"help":                func() { w.press("?") },
		"monitoring":          func() { w.press("H") },
		"faults":              func() { w.press("F") },
		"checklist, passed":   func() { w.selectStep("pre.1") },
		"checklist, next":     func() { w.selectStep("1.2") },
		"checklist, waiting":  func() { w.selectStep("2.6") },
		"checklist, gated":    func() { w.selectStep("4.3") },
		"checklist, skipped":  func() { w.selectStep("4.2") },
		"checklist, notready": func() { w.selectStep("3.1") },
		"checklist, criterion": func() {
			w.press("c")
			m.sel = len(m.run.Steps) + 4
		},
		"run prompt":      func() { w.selectStep("1.2"); w.press("enter") },
		"skip dialog":     func() { w.selectStep("1.2"); w.press("s") },
		"override prompt": func() { w.selectStep("4.3"); w.press("o") },
		"long prompt":     func() { m.dlg = promptDialog(longPrompt()) },
		"awaiting":        func() { m.dlg = promptDialog(longPrompt()); m.dlg.awaiting = true },
		"approval":        func() { m.dlg = m.approvalDialog(longPrompt()) },
		"suggestion": func() {
			m.dlg = newDialog(dialogSuggest, "Roll back Supabase (Idea Pool) on hotdash-app?", []string{"Supabase (Idea Pool): error rate 3.2% > 1% for 15m"},
				button{"Later", dialogCancelled}, button{"Dismiss", dialogAlt}, button{"Roll back…", dialogProceeded})
		},
		"decision":    func() { w.press("d") },
		"decided":     func() { w.press("d", "n", "n", "y") },
		"stop":        func() { m.dlg = m.stopDialog() },
		"monitor":     func() { m.dlg = m.monitorDialog("production") },
		"watch":       st(dialogWatch, "bob is confirming: 1.3 Restart app on hotdash-app (production)", "fly secrets deploy -a hotdash-app"),
		"control":     func() { m.dlg = m.controlDialog() },
		"quit dialog": st(dialogQuit, "Quit while step 1.4 Verify activation is running?", "The running step is stopped and the journal keeps it as in flight:"),
	}
}

// check renders at w x h and fails unless the frame is exactly h lines
// of at most w cells, or the one-line "too small" screen below the minimum.
func (w *walker) check(name string, width, height int) {
	w.t.Helper()
	defer func() {
		if p := recover(); p != nil {
			w.t.Fatalf("%s at %dx%d: panic: %v", name, width, height, p)
		}
	}()
	w.size(width, height)
	frame := w.m.View().Content
	lines := strings.Split(frame, "\n")
	if len(lines) != height {
		w.t.Fatalf("%s at %dx%d: %d lines:\n%s", name, width, height, len(lines), frame)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > width {
			w.t.Fatalf("%s at %dx%d: line %d is %d cells:\n%s", name, width, height, i, n, frame)
		}
	}
	small := width < minWidth || height < minHeight
	if got := frame == tooSmall(width, height); got != small {
		w.t.Fatalf("%s at %dx%d: the too-small screen %v:\n%s", name, width, height, got, frame)
	}
	if small && width >= 30 && !strings.Contains(frame, "window too small (need 60x15)") {
		w.t.Fatalf("%s at %dx%d: %q", name, width, height, lines[0])
	}
}

// sizes are the sizes walked: every width at a few heights, every height
// at a few widths, and random ones, from 1x1 to 300x100.
func sizes() [][2]int {
	var out [][2]int
	for w := 1; w <= 300; w++ {
		h := []int{15, 24}[w%2]
		out = append(out, [2]int{w, h})
	}
	for h := 1; h <= 100; h++ {
		w := []int{60, 80, 200}[h%3]
		out = append(out, [2]int{w, h})
	}
	// The edges: just under, at and just over the minimum, and the largest.
	for _, w := range []int{1, 59, 60, 61, 159, 160, 300} {
		for _, h := range []int{1, 14, 15, 16, 100} {
			out = append(out, [2]int{w, h})
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		out = append(out, [2]int{1 + rng.IntN(300), 1 + rng.IntN(100)})
	}
	return out
}

// TestEveryViewRendersAtEverySize walks every view, row kind and dialog
// through sizes from 1x1 to 300x100: no panic, never more than the
// screen, and below 60x15 the one line that says so.
func TestEveryViewRendersAtEverySize(t *testing.T) {
	w := newWalker(t)
	all := sizes()
	if testing.Short() {
		all = all[:0]
		for i, s := range sizes() {
			if i%7 == 0 {
				all = append(all, s)
			}
		}
	}
	for name, enter := range w.states() {
		w.reset()
		w.size(200, 50)
		enter()
		for _, s := range all {
			w.check(name, s[0], s[1])
		}
	}
}

// TestShrinkingMidRollbackTestDoesNotPanic is the crash an operator hit:
// the rollback test selected in the checklist at 80x24 with its result
// shown, then the terminal shrunk.
func TestShrinkingMidRollbackTestDoesNotPanic(t *testing.T) {
	w := newWalker(t)
	w.size(80, 24)
	w.press("c")
	for i, c := range w.m.run.Criteria {
		if c.Criterion.Check == "rollback_test" {
			w.m.sel = len(w.m.run.Steps) + i
		}
	}
	// A long rollback in the criterion's detail.
	rb := runbook.RollbackStatus{IDs: []string{"supabase"}, Phase: "failed", Result: "test failed", Ended: time.Now()}
	for i := range 40 {
		rb.Lines = append(rb.Lines, fmt.Sprintf("machine %d restarting", i))
	}
	w.m.run.Rollbacks = append(w.m.run.Rollbacks, rb)
	for _, s := range [][2]int{{70, 14}, {60, 15}, {61, 16}, {80, 24}, {200, 50}, {60, 15}} {
		w.check("rollback test", s[0], s[1])
	}
}

// keysToTry are every key a hurried operator might hit outside a dialog.
func keysToTry() []string {
	keys := []string{"enter", "esc", "tab", "shift+tab", "up", "down", "left", "right", "space"}
	for c := '!'; c <= '~'; c++ {
		if c == 'q' { // quits the program: asked about separately
			continue
		}
		keys = append(keys, string(c))
	}
	return keys
}

// TestNoSingleKeyWrites presses every key once, alone, in every view and
// on every kind of checklist row: nothing reaches the platform or the
// journal, whatever opened.
func TestNoSingleKeyWrites(t *testing.T) {
	w := newWalker(t)
	st := w.m.o.Stack
	activate(t, st, "hotdash-app", "IDEA_POOL_SUPABASE_ENABLED") // r and R have something to roll back
	testkitWaitActive(t, w)
	views := map[string]func(){
		"dashboard":      func() {},
		"log":            func() { w.press("enter") },
		"checklist next": func() { w.selectStep("1.2") },
		"checklist held": func() { w.selectStep("4.3") },
		"criterion": func() {
			w.press("c")
			w.m.sel = len(w.m.run.Steps) + 4
		},
	}
	before, writes := len(w.r.Records()), len(st.Sim.Writes())
	for name, enter := range views {
		for _, k := range keysToTry() {
			w.reset()
			enter()
			w.press(k)
			// Whatever it opened, the default (enter) does nothing either.
			w.press("enter")
			if n := len(w.r.Records()); n != before {
				t.Fatalf("%s: %q then enter wrote to the journal: %+v", name, k, w.r.Records()[before:])
			}
			if n := len(st.Sim.Writes()); n != writes {
				t.Fatalf("%s: %q then enter wrote to the platform", name, k)
			}
		}
	}
}

// testkitWaitActive waits until the console sees Supabase activated.
func testkitWaitActive(t *testing.T, w *walker) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() error {
		if s := w.m.o.Stack.Env("production").Watcher.Latest().Integration("supabase"); s.Flag.State != integrations.FlagTrue {
			return fmt.Errorf("supabase flag %s", s.Flag.State)
		}
		return nil
	})
}
