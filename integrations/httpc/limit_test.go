package httpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// get makes one GET through Do and returns its error as an adapter
// would say it.
func get(ctx context.Context, url string) (string, error) {
	resp, err := Do(New(url, time.Minute).R().SetContext(ctx), "GET", "/")
	if err := Error("GET /", resp, err); err != nil {
		return "", err
	}
	return string(resp.Body()), nil
}

func TestAHugeAnswerIsRefusedWithinBoundedMemory(t *testing.T) {
	const hundredMB = 100 << 20
	cases := []struct {
		name     string
		n        int64
		announce bool
	}{
		{"100 MB announced", hundredMB, true},
		{"100 MB chunked", hundredMB, false},
		{"endless", -1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := testkit.Flood(t, c.n, c.announce)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := get(t.Context(), url)
			runtime.ReadMemStats(&after)
			if want := "GET /: answer too large (over 4 MB)"; err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
			// Everything allocated meanwhile, garbage included, by the
			// client and the test server: a bound on how far memory rose.
			grew := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: refused after allocating %.2f MB", c.name, float64(grew)/(1<<20))
			if grew > 10<<20 {
				t.Errorf("reading the answer allocated %.1f MB, want under 10 MB", float64(grew)/(1<<20))
			}
		})
	}
}

func TestAnAnswerUpToTheLimitIsRead(t *testing.T) {
	for _, announce := range []bool{true, false} {
		t.Run(fmt.Sprintf("announced %v", announce), func(t *testing.T) {
			const limit = integrations.AnswerLimit
			body, err := get(t.Context(), testkit.Flood(t, limit, announce))
			if err != nil || len(body) != limit {
				t.Fatalf("got %d bytes, %v", len(body), err)
			}
			_, err = get(t.Context(), testkit.Flood(t, limit+1, announce))
			if !errors.As(err, new(*integrations.TooLargeError)) || err.Error() != "GET /: answer too large (over 4 MB)" {
				t.Fatalf("one byte over: %v", err)
			}
		})
	}
	body, err := get(t.Context(), testkit.Flood(t, 0, true))
	if err != nil || body != "" {
		t.Fatalf("empty answer: %q %v", body, err)
	}
}

func TestResponseBodyLimitBacksUpRestyReads(t *testing.T) {
	// A call made with resty directly (not through Do) is bounded too.
	resp, err := New(testkit.Flood(t, -1, false), time.Minute).R().SetContext(t.Context()).Get("/")
	if err := Error("GET /", resp, err); err == nil || err.Error() != "GET /: answer too large (over 4 MB)" {
		t.Fatalf("got %v", err)
	}
}

func TestATimeoutNamesTheDeadlineThatApplied(t *testing.T) {
	url := testkit.Hanging(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := get(ctx, url) // the client's own timeout is a minute
	if err == nil {
		t.Fatal("no timeout")
	}
	testkit.TimedOut(t, err.Error(), "GET /: ", 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not say it is a deadline", err)
	}

	// Without a deadline of the caller's, the client's own applies.
	resp, err := Do(New(url, 200*time.Millisecond).R().SetContext(t.Context()), "GET", "/")
	if err := Error("GET /", resp, err); err == nil || err.Error() != "GET /: timed out after 200ms" {
		t.Fatalf("the client's timeout: %v", err)
	}
}

func TestErrorTextsFromAServiceAreInert(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, testkit.Escapes+"\n\n<html>"+strings.Repeat("x", 10000))
	}))
	defer srv.Close()
	_, err := get(t.Context(), srv.URL)
	if err == nil {
		t.Fatal("a 500 is an error")
	}
	testkit.AssertInert(t, "error", err.Error())
	if msg := err.Error(); !strings.HasPrefix(msg, "GET /: HTTP 500 Internal Server Error: OK all good <html>xxx") || len(msg) > 300 {
		t.Errorf("got %q", msg)
	}
	if got := Snippet([]byte(strings.Repeat("é", 10000))); got != strings.Repeat("é", 160)+"…" {
		t.Errorf("snippet of a large body: %q", got)
	}
}
