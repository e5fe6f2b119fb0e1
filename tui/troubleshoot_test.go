package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/integrations/sim"
)

// fits reports the first line of a frame wider than w, or that it is not
// h lines.
func fits(frame string, w, h int) error {
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		return fmt.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			return fmt.Errorf("line %d is %d wide: %q", i+1, ansi.StringWidth(l), l)
		}
	}
	return nil
}

// At 80x24, t opens the focused integration's troubleshooting from the
// runbook on the app shown, wrapped to the width: the guide's symptoms,
// checks and fixes with its commands, scrolled with the log keys, esc back.
func TestTroubleshootingOfTheFocusedIntegrationAt80x24(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 80, 24)
	s.waitFor("Supabase (Idea Pool)", "Chatwoot (Customer Support)")
	s.press("t")
	txt := s.waitFor("Troubleshooting · Supabase (Idea Pool) · hotdash-app (production)", "The idea pool answers mock",
		"Symptoms", "fly logs -a hotdash-app | grep idea-pool", "lines 1-", "more below (↓ pgdn)", "esc back")
	if err := fits(txt, 80, 24); err != nil {
		t.Errorf("%v:\n%s", err, txt)
	}
	s.press("pgdown")
	s.waitFor("lines 21-")
	s.press("G")
	txt = s.waitFor("the end", "Network timeouts", "Integrations fall back to mock gracefully")
	if err := fits(txt, 80, 24); err != nil {
		t.Errorf("%v:\n%s", err, txt)
	}
	s.press("home")
	s.waitFor("lines 1-", "The idea pool answers mock")
	s.press("esc")
	s.waitUntil("the dashboard back", func(txt string) bool {
		return !strings.Contains(txt, "Troubleshooting") && strings.Contains(txt, "Publer (Social Posting)")
	})

	// Chatwoot's own: the guide's Issues first.
	s.press("4", "t")
	s.waitFor("Troubleshooting · Chatwoot (Customer Support)", "Chatwoot: 401 Unauthorized",
		"fly secrets list -a hotdash-app | grep CHATWOOT")
	s.press("t")
	s.waitUntil("t closes it", func(txt string) bool { return !strings.Contains(txt, "Troubleshooting") })

	// The commands name the app of the environment on screen.
	s.press("2", "e", "t")
	s.waitFor("Troubleshooting · Publer (Social Posting) · hotdash-app-dev (dev)", "fly secrets list -a hotdash-app-dev should show PUBLER_LIVE")
}

// The text is wrapped again when the terminal narrows: nothing is cut.
func TestTroubleshootingWrapsToANarrowerTerminal(t *testing.T) {
	st, rb := testStack(t, "healthy")
	s := newScreen(t, st, rb, 80, 24)
	s.press("t")
	s.waitFor("The idea pool answers mock")
	s.tm.Send(tea.WindowSizeMsg{Width: 60, Height: 24})
	txt := s.waitUntil("the view at 60 columns", func(txt string) bool {
		return strings.Contains(txt, "Troubleshooting") && len(strings.Split(txt, "\n")[0]) <= 60 && fits(txt, 60, 24) == nil
	})
	if !strings.Contains(txt, "fly logs -a hotdash-app |") {
		t.Errorf("the command is not all there:\n%s", txt)
	}
}

// A diagnosis in a pane points to the troubleshooting, which opens with
// what the pane says now.
func TestADiagnosisPointsToTheTroubleshooting(t *testing.T) {
	st, rb := testStack(t, "missing-migration")
	s := newScreen(t, st, rb, 80, 24)
	activate(t, st, sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	s.waitFor("✗ expected live", troubleHint)
	s.press("t")
	s.waitFor("The pane says now", "Migration missing: the idea_pool table is not there", "The idea pool answers mock")
}

// r on Chatwoot, which has no flag, says where to look instead of
// pointing to troubleshooting nobody can see; from the troubleshooting, r
// means what it means everywhere.
func TestRollingBackChatwootPointsToItsTroubleshooting(t *testing.T) {
	s, _, _ := checklistStack(t)
	s.waitFor("Chatwoot (Customer Support)")
	s.press("4", "r")
	s.waitFor("Chatwoot (Customer Support) has no flag to roll back: t for what to try")
	s.press("t")
	s.waitFor("Chatwoot: the health check fails, and it cannot be rolled back", "no mock to fall back to")
	s.press("r")
	s.waitUntil("the view closed and r answered", func(txt string) bool {
		return !strings.Contains(txt, "Troubleshooting ·") && strings.Contains(txt, "has no flag to roll back")
	})
}
