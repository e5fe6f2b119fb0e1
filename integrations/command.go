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
	"sync"
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

// waitDelay bounds how long Run waits for the output once the command has
// exited or been stopped: a process it started in the background may keep
// stdout open long after.
var waitDelay = 3 * time.Second

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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return -1, err
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			out(Sanitize(sc.Bytes()))
		}
		_, _ = io.Copy(io.Discard, pr)
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		pw.Close()
		wg.Wait()
		return -1, fmt.Errorf("stopped: %w", ctx.Err())
	}
	pw.Close()
	wg.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		return cmd.ProcessState.ExitCode(), nil // it exited; what it left running is not waited for
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
