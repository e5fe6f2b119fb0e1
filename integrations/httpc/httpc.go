// Package httpc builds the HTTP clients every adapter uses: resty with a
// timeout, no logging of its own (it would write over the console and could
// print headers), and errors an operator can read.
package httpc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
)

// UserAgent identifies the console to the services it checks.
const UserAgent = "hotdash-console"

// New returns a client for baseURL with the given per-request timeout.
func New(baseURL string, timeout time.Duration) *resty.Client {
	c := resty.New().
		SetBaseURL(strings.TrimRight(baseURL, "/")).
		SetTimeout(timeout).
		SetLogger(quiet{}).
		SetDebug(false).
		SetDisableWarn(true).
		SetHeader("User-Agent", UserAgent)
	return c
}

type quiet struct{}

func (quiet) Errorf(string, ...any) {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Debugf(string, ...any) {}

// Error turns a failed call into one readable line: what was asked, and
// what went wrong ("GET /api: connection refused", "HTTP 502: bad gateway").
// It returns nil for a 2xx answer.
func Error(what string, resp *resty.Response, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %s", what, Reason(err))
	}
	if resp == nil {
		return fmt.Errorf("%s: no answer", what)
	}
	if resp.IsSuccess() {
		return nil
	}
	return &StatusError{What: what, Code: resp.StatusCode(), Body: Snippet(resp.Body())}
}

// StatusError is a non-2xx answer.
type StatusError struct {
	What string
	Code int
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d %s", e.What, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// StatusCode returns the HTTP status of err, or 0.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// Reason says why a request failed, without the URL noise net/http adds.
func Reason(err error) string {
	if errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return "cancelled"
	}
	if r, ok := NetReason(err); ok {
		return r
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// Redact replaces each non-empty secret in s with integrations.Mask, in
// the order given: a value that contains another goes first.
func Redact(s string, secrets ...string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, integrations.Mask)
		}
	}
	return s
}

// NetReason names the usual ways a connection fails: "timed out",
// "connection refused", "connection reset", "cannot resolve HOST". ok is
// false for any other error.
func NetReason(err error) (reason string, ok bool) {
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset", true
	case errors.As(err, &dns):
		return "cannot resolve " + dns.Name, true
	}
	return "", false
}

// Jitter is a backoff d scaled by a random factor in [0.5, 1.5), so
// clients that failed together do not retry together.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d)
}

// Sleep waits d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Snippet is the start of a body, on one line, for an error message.
func Snippet(b []byte) string { return Clip(string(b), 160) }

// Clip is s on one line, its white space collapsed, cut to n runes with
// "…" marking the cut. It never splits a UTF-8 sequence.
func Clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	runes := 0
	for i := range s {
		if runes == n {
			return s[:i] + "…"
		}
		runes++
	}
	return s
}
