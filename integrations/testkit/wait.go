package testkit

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Eventually polls cond until it returns nil; when it has not within the
// limit, the test fails with the last error cond gave.
func Eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Missing returns the first of want that text does not contain, or ""
// when it contains them all.
func Missing(text string, want ...string) string {
	for _, w := range want {
		if !strings.Contains(text, w) {
			return w
		}
	}
	return ""
}

// TimedOut fails the test unless msg is prefix followed by "timed out
// after D", D the deadline that applied: at most limit, and more than
// half of it (the call starts a moment after its deadline is set).
func TimedOut(t testing.TB, msg, prefix string, limit time.Duration) {
	t.Helper()
	took, ok := strings.CutPrefix(msg, prefix+"timed out after ")
	d, err := time.ParseDuration(took)
	if !ok || err != nil || d > limit+limit/10 || d <= limit/2 {
		t.Errorf("got %q, want %q", msg, fmt.Sprintf("%stimed out after %s", prefix, limit))
	}
}
