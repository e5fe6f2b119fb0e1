package integrations

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// A process left running in the background keeps the command's output
// open; Run returns anyway, soon after the command itself ends.
func TestShellRunnerDoesNotWaitForWhatTheCommandLeftRunning(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid not available")
	}
	defer func(d time.Duration) { waitDelay = d }(waitDelay)
	waitDelay = 200 * time.Millisecond

	var mu sync.Mutex
	var out []string
	collect := func(l string) { mu.Lock(); out = append(out, l); mu.Unlock() }

	start := time.Now()
	code, err := ShellRunner{}.Run(context.Background(), "", "sleep 3 & echo started", collect)
	if code != 0 || err != nil || time.Since(start) > 2*time.Second {
		t.Errorf("finished command: code %d err %v after %s", code, err, time.Since(start))
	}

	// Stopped: the process group is killed, but one that left the group
	// still holds the output.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	code, err = ShellRunner{}.Run(ctx, "", "setsid sleep 3 & sleep 30", collect)
	if code != -1 || err == nil || !strings.HasPrefix(err.Error(), "stopped:") || time.Since(start) > 2*time.Second {
		t.Errorf("stopped command: code %d err %v after %s", code, err, time.Since(start))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(out) != 1 || out[0] != "started" {
		t.Errorf("output %q", out)
	}
}
