package integrations

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CommandRunner runs a local command the guide runs by hand (`npm run
// test:ci`), streaming its output a line at a time.
type CommandRunner interface {
	// Run runs command in dir and returns its exit code. out receives each
	// line of stdout and stderr as it comes.
	Run(ctx context.Context, dir, command string, out func(line string)) (exitCode int, err error)
}

// MigrationChecker tells whether a table's migration is applied.
type MigrationChecker interface {
	// CheckMigration reports whether table exists, with a readable detail
	// of how that was established.
	CheckMigration(ctx context.Context, table string) (present bool, detail string, err error)
}

// ShellRunner runs commands with /bin/sh -c in their own process group, so
// a timeout stops the command and everything it started.
type ShellRunner struct{}

// ExpandHome turns a leading ~ into the home directory.
func ExpandHome(dir string) string {
	if dir == "~" || strings.HasPrefix(dir, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(dir, "~"))
		}
	}
	return dir
}

// waitDelay bounds how long a command's output is waited for once the
// command has exited or been stopped: a process it started in the
// background may keep stdout open long after.
var waitDelay = 3 * time.Second

// killGrace is how long a stopped process group has between SIGTERM and
// SIGKILL.
const killGrace = 3 * time.Second

// Group is a command running in a process group of its own, so stopping it
// stops everything it started: a wrapper script, `doppler run --`, the
// children they fork. Start one with StartGroup.
type Group struct {
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // how cmd.Wait ended
	stopped error // why ctx stopped it, when it did
}

// StartGroup starts cmd in its own process group. Its stdout (and its
// stderr, unless cmd.Stderr is set) comes out of the returned reader,
// which the caller reads to its end or closes. When ctx ends, the group
// gets SIGTERM, then SIGKILL after a grace period. The reader ends at most
// waitDelay after the command exits or is stopped, even when something it
// started keeps its output open.
func StartGroup(ctx context.Context, cmd *exec.Cmd) (*Group, io.ReadCloser, error) {
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if cmd.Stderr == nil {
		cmd.Stderr = pw
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, nil, err
	}
	g := &Group{cmd: cmd, done: make(chan struct{})}
	go g.watch(ctx, pr, pw)
	return g, pr, nil
}

// watch waits for the command, stopping its whole group when ctx ends,
// then ends the output. Once stopped, what the command still prints is
// dropped: nobody may be reading it any more.
func (g *Group) watch(ctx context.Context, pr *io.PipeReader, pw *io.PipeWriter) {
	exited := make(chan error, 1)
	go func() { exited <- g.cmd.Wait() }()
	select {
	case g.err = <-exited:
	case <-ctx.Done():
		g.stopped = ctx.Err()
		pgid := g.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		pr.CloseWithError(ctx.Err())
		select {
		case g.err = <-exited:
		case <-time.After(killGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			g.err = <-exited
		}
		// What ignored SIGTERM in the group goes too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	pw.Close()
	close(g.done)
}

// Wait waits for the command (bounded as StartGroup says) and returns nil
// when it exited 0, an *exec.ExitError when it exited otherwise, or why it
// could not be waited for. Stopped says whether ctx stopped it.
func (g *Group) Wait() error {
	<-g.done
	err := g.err
	if errors.Is(err, exec.ErrWaitDelay) {
		// It exited; what it left running is not waited for.
		if ps := g.cmd.ProcessState; ps != nil && !ps.Success() {
			return &exec.ExitError{ProcessState: ps}
		}
		return nil
	}
	return err
}

// Stopped is ctx's error when ctx ended before the command did, else nil.
func (g *Group) Stopped() error {
	<-g.done
	return g.stopped
}

// ExitCode is the exit code in err from Wait: 0 for nil, -1 when the
// command did not exit by itself.
func ExitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// Run implements CommandRunner.
func (ShellRunner) Run(ctx context.Context, dir, command string, out func(string)) (int, error) {
	dir = ExpandHome(dir)
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return -1, fmt.Errorf("directory %s does not exist", dir)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = dir
	g, pr, err := StartGroup(ctx, cmd)
	if err != nil {
		return -1, err
	}
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		out(Sanitize(sc.Bytes()))
	}
	_, _ = io.Copy(io.Discard, pr)
	err = g.Wait()
	if stopped := g.Stopped(); stopped != nil {
		return -1, fmt.Errorf("stopped: %w", stopped)
	}
	if code := ExitCode(err); code >= 0 {
		return code, nil
	}
	return -1, err
}
