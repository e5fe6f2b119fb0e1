package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
)

func TestDashboardShowsFourPanesOnTheHealthySimulator(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 200, 50)
	txt := s.waitFor("DEMO", "Supabase (Idea Pool)", "Publer (Social Posting)", "Analytics (GA4)", "Chatwoot (Customer Support)",
		"IDEA_POOL_SUPABASE_ENABLED unset (off)", "PUBLER_LIVE unset (off)", "pending implementation", "none (always live)",
		"health ok, auth ok")
	if l := line(txt, "source"); !strings.Contains(l, "● mock as the flag says") {
		t.Errorf("supabase source line: %q", l)
	}
	if !strings.Contains(txt, "● live (chatwoot) ✓") {
		t.Error("chatwoot is live")
	}
	if !strings.Contains(txt, "machines ● iad started v1 · ● ord started v1") {
		t.Errorf("machines line missing:\n%s", txt)
	}
}

func TestPaneTurnsLiveWhenTheFlagIsApplied(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 200, 50)
	s.waitFor("IDEA_POOL_SUPABASE_ENABLED unset (off)")
	activate(t, st, sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	s.waitFor("IDEA_POOL_SUPABASE_ENABLED true", "● live (supabase) ✓", `source = "supabase"`)
}

func TestMismatchCarriesTheGuidesDiagnosis(t *testing.T) {
	st, rb := testStack(t, "missing-migration")
	s := newScreen(t, st, rb, 200, 50)
	activate(t, st, sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	txt := s.waitFor("● mock ✗ expected live", "Migration missing: the idea_pool table is not there (Step 1.1)")
	if !strings.Contains(txt, "app: idea_pool table missing (migration not applied)") {
		t.Errorf("the app's own warning is shown:\n%s", txt)
	}
}

func TestErrorRateTurnsRedAgainstItsLimit(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 200, 50)
	st.Sim.SetFaults(sim.Faults{ErrorRate: 1})
	// Chatwoot's own traffic now fails every call: its error rate over the
	// threshold's 5-minute window climbs far past its 1% limit.
	s.waitUntil("chatwoot's 5m error rate over 20%", func(txt string) bool {
		rows := strings.Split(paneLines(txt, 100, "errors"), "\n")
		var p int
		_, err := fmt.Sscanf(rows[len(rows)-1], "│ errors   5m %d%%", &p) // Chatwoot is bottom right
		return err == nil && p >= 20
	})
	// Over the limit the cell is drawn in the "bad" style; under it, plain.
	st2 := DefaultStyles()
	over := rateCell(&st2, "1m", integrations.Rate{Errors: 3, Total: 100}, 0.01)
	under := rateCell(&st2, "1m", integrations.Rate{Errors: 0, Total: 100}, 0.01)
	if !strings.Contains(over, st2.Bad.Render("3.0%")) || strings.Contains(under, st2.Bad.Render("0%")) {
		t.Errorf("rate cells: over %q under %q", over, under)
	}
}

// paneLines returns the lines of the right-hand column (x >= col) that
// contain s.
func paneLines(txt string, col int, s string) string {
	var out []string
	for _, l := range strings.Split(txt, "\n") {
		r := []rune(l)
		if len(r) > col {
			right := string(r[col:])
			if strings.Contains(right, s) {
				out = append(out, right)
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestCompactLayoutAt80x24(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 80, 24)
	txt := s.waitFor("Supabase (Idea Pool)", "Publer (Social", "Analytics (GA4)", "Chatwoot (Customer", "src  ● mock", "chk ")
	lines := strings.Split(strings.TrimRight(txt, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("%d lines on a 24-line terminal", len(lines))
	}
	if !strings.Contains(lines[len(lines)-1], "? help") {
		t.Errorf("footer: %q", lines[len(lines)-1])
	}
}

func TestZoomFilterFollowAndHelp(t *testing.T) {
	st, rb := testStack(t, "chatwoot-rate-limited")
	s := newScreen(t, st, rb, 200, 50)
	s.waitFor("Chatwoot (Customer Support)")
	s.press("4", "enter")
	s.waitFor("Chatwoot (Customer Support) · hotdash-app", "● FOLLOW", "─ log · chatwoot")

	s.press("/")
	s.typeText("rate LIMIT")
	s.press("enter")
	txt := s.waitFor("filter /rate LIMIT/:", "Rate limit reached")
	for _, l := range strings.Split(txt, "\n") {
		if strings.Contains(l, " chatwoot: ") && !strings.Contains(l, "Rate limit reached") {
			t.Fatalf("a line not matching the filter is shown: %q", l)
		}
	}

	// An invalid regex is refused with the reason, and the old filter stays.
	s.press("/")
	s.typeText("(")
	s.press("enter")
	s.waitFor(`invalid filter "rate LIMIT(": missing closing )`)
	s.press("esc")
	s.waitFor("filter /rate LIMIT/:")

	// Inverted: the rate-limit lines go away.
	s.press("/")
	for range len("rate LIMIT") {
		s.tm.Send(keyBackspace())
	}
	s.typeText("!rate limit")
	s.press("enter")
	s.waitFor("filter (inverted) /!rate limit/:")

	// The previous filter is remembered: up recalls it.
	s.press("/", "up", "enter")
	s.waitFor("filter /rate LIMIT/:")

	s.press("f")
	s.waitFor("❚❚ PAUSED")
	s.press("f")
	s.waitFor("● FOLLOW")

	s.press("esc", "?")
	s.waitFor("Rollback", "Log (the focused pane's, or full screen)", "next pane", "filter log (regex, !inverts)", "follow / pause", "inject faults (demo)")
	s.press("esc")
	s.waitFor("Supabase (Idea Pool)")
}

// activate sets a flag staged and deploys it, recording the digest the way
// the console does after its own writes.
func activate(t *testing.T, st *connect.Stack, app, flag string) {
	t.Helper()
	ctx := context.Background()
	if err := st.Platform.SetSecrets(ctx, app, map[string]string{flag: "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	secrets, err := st.Platform.Secrets(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets {
		if sec.Name == flag {
			st.Book.Record(app, flag, sec.Digest, "true")
		}
	}
	if err := st.Platform.Apply(ctx, app, integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
	for _, e := range st.Envs {
		e.Watcher.Refresh()
	}
}

func keyBackspace() tea.KeyPressMsg { return tea.KeyPressMsg{Code: tea.KeyBackspace} }

func TestLiveValueIsReadOnARunningMachine(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 200, 50)
	s.waitFor("IDEA_POOL_SUPABASE_ENABLED unset (off)")
	s.press("v")
	s.waitFor("IDEA_POOL_SUPABASE_ENABLED on hotdash-app (running machine): not set")
	activate(t, st, sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	s.press("v")
	s.waitFor("IDEA_POOL_SUPABASE_ENABLED on hotdash-app (running machine): true")
	s.press("4", "v")
	s.waitFor("Chatwoot (Customer Support) has no flag")
}

// While an apply runs, the panes follow it machine by machine.
func TestPaneShowsTheApplyMachineByMachine(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 200, 50)
	s.waitFor("IDEA_POOL_SUPABASE_ENABLED unset (off)")
	st.Sim.SetRestartTime(time.Hour) // the first machine stays updating
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Platform.Apply(ctx, sim.ProdApp, integrations.ApplyDeploy, nil) }()
	ms, err := st.Platform.Machines(context.Background(), sim.ProdApp)
	if err != nil {
		t.Fatal(err)
	}
	s.waitFor("apply    ◌ 0/2 machines good · " + ms[0].ID + " (" + ms[0].Region + ") updating")
	cancel()
	<-done
	s.waitUntil("the apply line gone", func(txt string) bool { return !strings.Contains(txt, "machines good") })
}
