package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/runbook/runbooktest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real hotdash-console once for the end-to-end tests.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hotdash-console-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hotdash-console")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// tmux is a terminal of a given size running one command, read with
// capture-pane as an operator would see it.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, w, h int, env []string, args ...string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed: .ci/run installs it")
		}
		t.Skip("tmux is not installed")
	}
	tm := &tmux{t: t, socket: fmt.Sprintf("hdc-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	cmd := strings.Join(append([]string{"env"}, append(env, args...)...), " ")
	tm.run("-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmd)
	tm.run("set-option", "-g", "remain-on-exit", "on")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (tm *tmux) screen() string { return tm.run("capture-pane", "-p") }

func (tm *tmux) keys(keys ...string) { tm.run(append([]string{"send-keys"}, keys...)...) }

// waitFor waits until every want is on the screen.
func (tm *tmux) waitFor(want ...string) string {
	tm.t.Helper()
	var s string
	testkit.Eventually(tm.t, 60*time.Second, func() error {
		s = tm.screen()
		if m := testkit.Missing(s, want...); m != "" {
			return fmt.Errorf("the screen never showed %q:\n%s", m, s)
		}
		return nil
	})
	return s
}

func TestEndToEndDemoShowsFourLivePanes(t *testing.T) {
	bin := binary(t)
	tm := newTmux(t, 200, 50, []string{"TERM=xterm-256color", "XDG_STATE_HOME=" + t.TempDir()}, bin, "demo")
	s := tm.waitFor("DEMO", "Supabase (Idea Pool)", "Publer (Social Posting)", "Analytics (GA4)", "Chatwoot (Customer Support)",
		"IDEA_POOL_SUPABASE_ENABLED unset (off)", "● live (chatwoot) ✓", "machines ● iad started")
	if n := strings.Count(s, "● mock as the flag says"); n != 3 {
		t.Errorf("%d panes on mock as the flag says, want 3:\n%s", n, s)
	}
	// Zoom the Supabase pane and filter its log.
	tm.keys("Enter")
	tm.waitFor("Supabase (Idea Pool) · hotdash-app", "● FOLLOW")
	tm.keys("/", "served", "Enter")
	s = tm.waitFor("filter /served/:")
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "idea-pool:") && !strings.Contains(l, "served") {
			t.Errorf("filtered view shows %q", l)
		}
	}
	tm.keys("q")
	testkit.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(tm.run("list-panes", "-F", "#{pane_dead}"), "1") {
			return errors.New("q did not quit")
		}
		return nil
	})
}

func TestEndToEndCompactAt80x24(t *testing.T) {
	bin := binary(t)
	tm := newTmux(t, 80, 24, []string{"TERM=xterm-256color", "XDG_STATE_HOME=" + t.TempDir()}, bin)
	s := tm.waitFor("DEMO", "Supabase (Idea Pool)", "Publer (Social", "Analytics (GA4)", "Chatwoot (Customer", "src  ● mock", "? help")
	for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("line %d is %d wide: %q", i, w, l)
		}
	}
}

// At 80x24, r on Chatwoot points to its troubleshooting, and t shows it:
// the guide's commands whole, wrapped, scrolled to the end and back.
func TestEndToEndTroubleshootingAt80x24(t *testing.T) {
	bin := binary(t)
	tm := newTmux(t, 80, 24, []string{"TERM=xterm-256color", "XDG_STATE_HOME=" + t.TempDir()}, bin)
	tm.waitFor("Chatwoot (Customer", "? help")
	tm.keys("4", "r")
	tm.waitFor("Chatwoot (Customer Support) has no flag to roll back: t for what to try")
	tm.keys("t")
	s := tm.waitFor("Troubleshooting · Chatwoot (Customer Support) · hotdash-app (production)",
		"Chatwoot: 401 Unauthorized", "fly secrets list -a hotdash-app | grep CHATWOOT", "more below", "esc back")
	tm.keys("End")
	s += tm.waitFor("the end", "Network timeouts")
	for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("line %d is %d wide: %q", i, w, l)
		}
	}
	tm.keys("Escape")
	tm.waitFor("Supabase (Idea Pool)", "Chatwoot (Customer")
}

func TestEndToEndActivateSupabaseThenRollBack(t *testing.T) {
	bin := binary(t)
	tm := newTmux(t, 200, 50, []string{"TERM=xterm-256color", "USER=alice", "XDG_STATE_HOME=" + t.TempDir()}, bin, "demo")
	tm.waitFor("Supabase (Idea Pool)", "IDEA_POOL_SUPABASE_ENABLED unset (off)")
	tm.keys("c")
	tm.waitFor("Production Integration Activation Guide", "pre.1 All contract tests passing")
	// The pre-activation checklist was done elsewhere: skipped, with a
	// reason, and 1.1 goes on past it by an override.
	for _, id := range []string{"pre.1", "pre.2", "pre.3", "pre.4", "pre.5"} {
		tm.keys("s")
		tm.waitFor("Skip " + id)
		tm.keys("rehearsal in the demo", "Enter", "Enter")
		tm.waitFor("↷ " + id)
	}
	tm.waitFor("held: pre.1 was skipped (reason: rehearsal in the demo)", "o override")
	tm.keys("o")
	tm.waitFor("Override: go on with 1.1 Verify migration", "Type override hotdash-app to confirm")
	tm.keys("checked with the manager on the call", "Enter", "override hotdash-app", "Enter", "Enter")
	tm.waitFor("⤳ overridden")
	tm.keys("Enter") // 1.1 verify migration: confirmed, then run
	tm.waitFor("1.1 Verify migration on hotdash-app (production): run the checks", "[ Cancel ]")
	tm.keys("Right", "Enter")
	tm.waitFor("✓ 1.1")
	for _, id := range []string{"1.2", "1.3"} {
		tm.keys("Enter")
		tm.waitFor("Type hotdash-app to confirm")
		tm.keys("hotdash-app", "Enter", "Enter")
		tm.waitFor("✓ " + id)
	}
	tm.keys("Enter", "Right", "Enter") // 1.4 verify activation
	tm.waitFor("✓ 1.4")
	tm.keys("c") // back to the dashboard
	tm.keys("1")
	tm.waitFor("IDEA_POOL_SUPABASE_ENABLED true", "● live (supabase) ✓")

	// The rollback key: confirm with the app's name, watch it verify mock.
	tm.keys("r")
	tm.waitFor("Roll back Supabase (Idea Pool) on hotdash-app (production)", "fly secrets set IDEA_POOL_SUPABASE_ENABLED=false -a hotdash-app --stage")
	tm.keys("hotdash-app", "Enter", "Enter")
	tm.waitFor("rollback ◌")
	s := tm.waitFor("rollback ✓ verified mock in", "IDEA_POOL_SUPABASE_ENABLED false")
	src := ""
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "source") && strings.Contains(l, "│ source") {
			src = l
			break
		}
	}
	if !strings.Contains(src, "● mock as the flag says") {
		t.Errorf("Supabase's source after the rollback: %q\n%s", src, s)
	}
}

// journalThroughDevMode writes a demo journal in which an earlier session
// passed everything up to Publer's dev activation (2.4), and returns its
// path: the console resumes from it.
func journalThroughDevMode(t *testing.T, more ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	cfg := config.Default()
	rb := runbook.Default()
	for _, s := range rb.Steps { // the same runbook, its waits shortened
		if s.Kind == runbook.KindObserve {
			s.Window = 200 * time.Millisecond
		}
	}
	st, err := connect.Build(connect.Options{Config: cfg, Defs: rb.Integrations, Sim: sim.Options{RestartTime: 10 * time.Millisecond, JobTime: 30 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, _, err := runbook.OpenJournal(path, runbook.Holder{Operator: "alice", PID: os.Getpid()}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	r := runbook.NewRunner(runbook.Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice"})
	seat := r.Join("alice")
	steps := append(runbooktest.Pre, "1.1", "1.2", "1.3", "1.4", "1.5", "2.1", "2.2", "2.3", "2.4")
	runbooktest.Pass(t, r, seat, nil, append(steps, more...)...)
	r.Close()
	j.Close()
	return path
}

// The gate of the guide's "ONLY after dev testing succeeds", in the real
// binary at 200x50: skipping the dev tests holds 2.6 with the guide's
// words; going on is an override with a reason and the app's name typed
// with the word override; it is journaled and leads the report.
func TestEndToEndSkippedDevTestsHoldProductionUntilOverridden(t *testing.T) {
	bin := binary(t)
	journal := journalThroughDevMode(t)
	tm := newTmux(t, 200, 50, []string{"TERM=xterm-256color", "USER=alice", "XDG_STATE_HOME=" + t.TempDir()}, bin, "demo", "--journal", journal)
	tm.waitFor("Resumed from the journal", "✓ 2.4", "2.5 Test real API (dev workspace) · verify")
	tm.keys("s")
	tm.waitFor("Skip 2.5 Test real API (dev workspace)", "A skip is not a pass")
	tm.keys("dev workspace is down", "Enter", "Enter")
	tm.waitFor("↷ 2.5", "2.5b Verify in Publer UI · manual")
	tm.keys("s")
	tm.waitFor("Skip 2.5b Verify in Publer UI")
	tm.keys("nothing to verify", "Enter", "Enter")
	tm.waitFor("↷ 2.5b", "2.6 Activate production · set secrets",
		"held: 2.5 was skipped (reason: dev workspace is down); the guide says ONLY after dev testing succeeds", "o override")
	tm.keys("Enter")
	tm.waitFor("2.6 is held: 2.5, 2.5b did not pass (see below) · o goes on anyway (override)")

	tm.keys("o")
	tm.waitFor("Override: go on with 2.6 Activate production on hotdash-app (production)", "Why go on anyway", "Type override hotdash-app to confirm")
	tm.keys("dev tested on staging with the manager", "Enter", "override hotdash-app", "Enter", "Enter")
	tm.waitFor("⤳ overridden", "alice overrode 2.5, 2.5b on 2.6: dev tested on staging with the manager")
	tm.keys("Enter")
	tm.waitFor("2.6 Activate production on hotdash-app (production)", "Type hotdash-app to confirm")
	tm.keys("hotdash-app", "Enter", "Enter")
	tm.waitFor("✓ 2.6")
	tm.keys("q")
	testkit.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(tm.run("list-panes", "-F", "#{pane_dead}"), "1") {
			return errors.New("q did not quit")
		}
		return nil
	})

	out, err := exec.Command(bin, "report", "--journal", journal).CombinedOutput()
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	report := string(out)
	gi, si := strings.Index(report, "## Gates overridden"), strings.Index(report, "## Steps")
	if gi < 0 || gi > si || !strings.Contains(report, "dev tested on staging with the manager") || !strings.Contains(report, "| 2.6 |") {
		t.Errorf("report:\n%s", report)
	}
}

// dialogText is the text inside the dialog drawn over the screen: its
// rows between the borders, joined with spaces, so wrapped lines read on.
func dialogText(screen string) string {
	rows := strings.Split(screen, "\n")
	var out []string
	left, right := -1, -1
	for _, row := range rows {
		r := []rune(row)
		if left < 0 {
			l := strings.IndexRune(row, '╭')
			if l < 0 {
				continue
			}
			left = len([]rune(row[:l]))
			for i := left; i < len(r); i++ {
				if r[i] == '╮' {
					right = i
					break
				}
			}
			continue
		}
		if left < len(r) && r[left] == '╰' {
			break
		}
		if right <= len(r) && left < right {
			out = append(out, strings.TrimSpace(string(r[left+1:right])))
		}
	}
	return strings.Join(strings.Fields(strings.Join(out, " ")), " ")
}

// At 80x24 nothing important is cut: ? lists every key, the footers lead
// with the rollback keys and help, and a production confirmation shows
// its whole command, wrapped.
func TestEndToEndEveryScreenFits80x24(t *testing.T) {
	bin := binary(t)
	journal := journalThroughDevMode(t, "2.5", "2.5b")
	tm := newTmux(t, 80, 24, []string{"TERM=xterm-256color", "USER=alice", "XDG_STATE_HOME=" + t.TempDir()}, bin, "demo", "--journal", journal)
	fits := func(s string) {
		t.Helper()
		for i, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			if w := len([]rune(l)); w > 80 {
				t.Errorf("line %d is %d wide: %q", i, w, l)
			}
		}
	}
	s := tm.waitFor("Resumed from the journal", "2.6 Activate production · set secrets", "r roll back  R emergency  ? help  enter run")
	fits(s)

	tm.keys("?")
	s = tm.waitFor("Rollback", "Panes", "Log (pane or full)", "Checklist (c)", "General")
	fits(s)
	for _, k := range []string{"r ", "R ", "d ", "tab", "shift+tab", "←/h", "→/l", "1-9", "enter", "e ", "v ", "t ", "/ ", "x ", "f/space",
		"pgup", "pgdn", "home/g", "end/G", "c ", "s ", "o ", "n ", "↑/k", "↓/j", "H ", "ctrl+t", "a ", "esc", "? ", "q ", "F "} {
		if !strings.Contains(s, "│ "+k) && !strings.Contains(s, "   "+k) {
			t.Errorf("? at 80x24 does not show %q:\n%s", k, s)
		}
	}
	tm.keys("Escape")
	tm.waitFor("2.6 Activate production · set secrets") // ? closed

	tm.keys("Enter")
	s = tm.waitFor("2.6 Activate production on hotdash-app (production)", "Type hotdash-app to confirm")
	fits(s)
	d := dialogText(s)
	for _, cmd := range []string{
		"fly secrets set PUBLER_API_KEY=•••••• PUBLER_LIVE=true PUBLER_WORKSPACE_ID=•••••• -a hotdash-app --stage",
		"fly secrets deploy -a hotdash-app",
	} {
		if !strings.Contains(d, cmd) {
			t.Errorf("the confirmation does not show %q whole:\n%s\n%s", cmd, d, s)
		}
	}
	tm.keys("Escape")
	tm.waitFor("cancelled: nothing was done")
	tm.keys("Escape") // the dashboard
	s = tm.waitFor("Supabase (Idea Pool)", "r roll back  R emergency  ? help")
	fits(s)
	// Compact panes keep each error rate's limit and its window.
	if n := strings.Count(s, "err  5m "); n != 4 || strings.Count(s, "1.0%") < 4 {
		t.Errorf("compact panes without the error rate's window or limit:\n%s", s)
	}
}
