package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
)

// screen drives a console model with teatest and reads the frames it
// draws. The renderer sends a terminal only what changed, so the raw output
// is not the screen; the frame the program hands the renderer is. (The
// end-to-end test reads a real terminal, in tmux.)
type screen struct {
	t  *testing.T
	tm *teatest.TestModel
	m  *Model

	mu    sync.Mutex
	frame string
}

// recorder wraps the model and keeps the last frame it drew.
type recorder struct {
	*Model
	s *screen
}

func (r recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := r.Model.Update(msg)
	return r, cmd
}

func (r recorder) View() tea.View {
	v := r.Model.View()
	r.s.mu.Lock()
	r.s.frame = ansi.Strip(v.Content)
	r.s.mu.Unlock()
	return v
}

// testStack is a started simulator with fast polling.
func testStack(t *testing.T, scenario string) (*connect.Stack, *runbook.Runbook) {
	t.Helper()
	cfg := config.Default()
	cfg.Watch.ProbeInterval.Duration = 50 * time.Millisecond
	cfg.Watch.SecretsInterval.Duration = 50 * time.Millisecond
	cfg.Watch.MachinesInterval.Duration = 50 * time.Millisecond
	cfg.Watch.CallTimeout.Duration = 2 * time.Second
	rb := runbook.Default()
	for _, s := range rb.Steps { // the guide's waits, shortened for tests
		if s.Kind == runbook.KindObserve {
			s.Window = 300 * time.Millisecond
		}
		if s.Timeout > 10*time.Second {
			s.Timeout = 10 * time.Second
		}
	}
	st, err := connect.Build(connect.Options{
		Config: cfg, Defs: rb.Integrations,
		Sim: sim.Options{Scenario: scenario, Seed: 3, RestartTime: 20 * time.Millisecond, JobTime: 50 * time.Millisecond, LogRate: 40},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); st.Close() })
	return st, rb
}

func newScreen(t *testing.T, st *connect.Stack, rb *runbook.Runbook, w, h int) *screen {
	t.Helper()
	m := New(Options{Stack: st, Runbook: rb, Scenario: "test", Tick: 50 * time.Millisecond})
	s := &screen{t: t, m: m}
	s.tm = teatest.NewTestModel(t, recorder{m, s}, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() {
		_ = s.tm.Quit()
		s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		m.Close()
	})
	return s
}

// text is the last frame as plain text.
func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frame
}

// waitFor waits until every want is on the screen, and returns it.
func (s *screen) waitFor(want ...string) string {
	s.t.Helper()
	var txt string
	testkit.Eventually(s.t, 10*time.Second, func() error {
		txt = s.text()
		if m := testkit.Missing(txt, want...); m != "" {
			return fmt.Errorf("screen never showed %q:\n%s", m, txt)
		}
		return nil
	})
	return txt
}

// waitUntil waits until cond holds on the screen.
func (s *screen) waitUntil(what string, cond func(string) bool) string {
	s.t.Helper()
	var txt string
	testkit.Eventually(s.t, 10*time.Second, func() error {
		if txt = s.text(); !cond(txt) {
			return fmt.Errorf("screen never showed %s:\n%s", what, txt)
		}
		return nil
	})
	return txt
}

func (s *screen) press(keys ...string) {
	for _, k := range keys {
		s.tm.Send(keyMsg(k))
	}
}

func (s *screen) typeText(text string) { s.tm.Type(text) }

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "ctrl+t":
		return tea.KeyPressMsg{Code: 't', Mod: tea.ModCtrl}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// line returns the screen line containing s, or "".
func line(screen, s string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
