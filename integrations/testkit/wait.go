package testkit

import (
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
