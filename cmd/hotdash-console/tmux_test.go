package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations/testkit"
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
	testkit.Eventually(tm.t, 20*time.Second, func() error {
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
	// The pre-activation checklist is rehearsed elsewhere: skip it, with a reason.
	for _, id := range []string{"pre.1", "pre.2", "pre.3", "pre.4", "pre.5"} {
		tm.keys("s")
		tm.waitFor("Skip " + id)
		tm.keys("rehearsal in the demo", "Enter", "Enter")
		tm.waitFor("↷ " + id)
	}
	tm.keys("Enter") // 1.1 verify migration
	tm.waitFor("✓ 1.1")
	for _, id := range []string{"1.2", "1.3"} {
		tm.keys("Enter")
		tm.waitFor("Type hotdash-app to confirm")
		tm.keys("hotdash-app", "Enter", "Enter")
		tm.waitFor("✓ " + id)
	}
	tm.keys("Enter") // 1.4 verify activation
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
