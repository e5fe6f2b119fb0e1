package httpc

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotdash/hotdash-console/integrations"
)

func TestSnippetKeepsRunesWhole(t *testing.T) {
	long := strings.Repeat("é", 200)
	if got := Snippet([]byte(long)); !utf8.ValidString(got) || got != strings.Repeat("é", 160)+"…" {
		t.Errorf("Snippet split a rune: %q", got)
	}
}

func TestRedact(t *testing.T) {
	got := Redact("postgres://u:pw123@h/db failed for pw123", "postgres://u:pw123@h/db", "", "pw123")
	if want := integrations.Mask + " failed for " + integrations.Mask; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Sleep = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Sleep took %s after the context ended", took)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}
