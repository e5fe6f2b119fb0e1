// Package httpc builds the HTTP clients every adapter uses: resty with a
// timeout, no logging of its own (it would write over the console and could
// print headers), answers read up to a bound, and errors an operator can
// read, with whatever the service said sanitised.
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
	"unicode/utf8"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
)

// UserAgent identifies the console to the services it checks.
const UserAgent = "hotdash-console"

// New returns a client for baseURL with the given per-request timeout.
// Its answers are bounded by integrations.AnswerLimit (4 MB) even when
// resty reads them itself; Do reads them with less memory.
func New(baseURL string, timeout time.Duration) *resty.Client {
	c := resty.New().
		SetBaseURL(strings.TrimRight(baseURL, "/")).
		SetTimeout(timeout).
		SetResponseBodyLimit(integrations.AnswerLimit).
		SetLogger(quiet{}).
		SetDebug(false).
		SetDisableWarn(true).
		SetHeader("User-Agent", UserAgent)
	// A request carries its client's timeout, so a timeout can be said.
	c.OnBeforeRequest(func(c *resty.Client, r *resty.Request) error {
		r.SetContext(context.WithValue(r.Context(), clientTimeout{}, c.GetClient().Timeout))
		return nil
	})
	return c
}

// clientTimeout keys the client's timeout in a request's context.
type clientTimeout struct{}

// Do makes req (method and path) and reads its answer's body, up to
// integrations.AnswerLimit: an announced length over it is refused before
// reading, an unannounced one (chunked, endless) when it passes it, so
// memory stays near the bound whatever the service sends (resty's own
// limit reads 512 bytes at a time into a slice grown by append, allocating
// about five times the limit to refuse an answer). A call that times out
// says after how long: the deadline that applied, the caller's or the
// client's.
func Do(req *resty.Request, method, path string) (*resty.Response, error) {
	start := time.Now()
	ctx := req.Context()
	resp, err := req.SetDoNotParseResponse(true).Execute(method, path)
	if err != nil {
		return resp, timedOut(ctx, req.Context(), start, err)
	}
	raw := resp.RawBody()
	defer raw.Close()
	limit := int64(integrations.AnswerLimit)
	if resp.RawResponse.ContentLength > limit {
		return resp, &integrations.TooLargeError{Limit: limit}
	}
	body, err := integrations.ReadLimited(raw, limit)
	if err != nil {
		return resp, timedOut(ctx, req.Context(), start, err)
	}
	resp.SetBody(body)
	return resp, nil
}

// TimeoutError is a call that ran out of time, with the time it had.
type TimeoutError struct {
	After time.Duration
	Err   error
}

func (e *TimeoutError) Error() string { return "timed out after " + e.After.String() }
func (e *TimeoutError) Unwrap() error { return e.Err }

// timedOut wraps err in a TimeoutError when it is a timeout of a call
// that started at start under the caller's ctx; sent is the context the
// request went with, which holds the client's timeout.
func timedOut(ctx, sent context.Context, start time.Time, err error) error {
	if r, ok := NetReason(err); !ok || r != "timed out" {
		return err
	}
	after, ok := Allowed(ctx, start)
	if !ok || ctx.Err() == nil {
		// The client's own timeout ended it, not the caller's deadline.
		own, _ := sent.Value(clientTimeout{}).(time.Duration)
		after = own
		if own <= 0 {
			after = roundDeadline(time.Since(start))
		}
	}
	return &TimeoutError{After: after, Err: err}
}

// Allowed is how long ctx gave a call that started at start: the deadline
// that applied to it, whichever of the caller's and the call's own came
// first. ok is false when ctx has no deadline.
func Allowed(ctx context.Context, start time.Time) (d time.Duration, ok bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return roundDeadline(dl.Sub(start)), true
}

// roundDeadline rounds a measured deadline to what a person configured:
// tenths of a second from a second up, hundredths below.
func roundDeadline(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return max(d.Round(10*time.Millisecond), 0)
}

type quiet struct{}

func (quiet) Errorf(string, ...any) {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Debugf(string, ...any) {}

// Error turns a failed call into one readable line: what was asked, and
// what went wrong ("GET /api: connection refused", "HTTP 502: bad gateway").
// It returns nil for a 2xx answer.
func Error(what string, resp *resty.Response, err error) error {
	what = integrations.Clip(what, integrations.MaxText) // a path can hold an answer's ID
	if err != nil {
		return &callError{what: what, reason: Reason(err), err: err}
	}
	if resp == nil {
		return fmt.Errorf("%s: no answer", what)
	}
	if resp.IsSuccess() {
		return nil
	}
	return &StatusError{What: what, Code: resp.StatusCode(), Body: Snippet(resp.Body())}
}

// callError is a call that got no answer: what was asked and why, in
// words; errors.Is still sees the cause (a deadline, a cancel).
type callError struct {
	what, reason string
	err          error
}

func (e *callError) Error() string { return e.what + ": " + e.reason }
func (e *callError) Unwrap() error { return e.err }

// StatusError is a non-2xx answer. Body is a Snippet: sanitised and short.
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

// Reason says why a request failed, without the URL noise net/http adds,
// sanitised (a malformed answer's bytes can be in it) and bounded.
func Reason(err error) string {
	if errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return "cancelled"
	}
	var tl *integrations.TooLargeError
	if errors.As(err, &tl) {
		return tl.Error()
	}
	if errors.Is(err, resty.ErrResponseBodyTooLarge) {
		return (&integrations.TooLargeError{Limit: integrations.AnswerLimit}).Error()
	}
	if r, ok := NetReason(err); ok {
		return r
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return integrations.Clip(err.Error(), integrations.MaxText)
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

// NetReason names the usual ways a connection fails: "timed out" (with
// the time it had, when known), "connection refused", "connection reset",
// "cannot resolve HOST". ok is false for any other error.
func NetReason(err error) (reason string, ok bool) {
	var ne net.Error
	var dns *net.DNSError
	var te *TimeoutError
	switch {
	case errors.As(err, &te):
		return te.Error(), true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset", true
	case errors.As(err, &dns):
		return "cannot resolve " + integrations.Clip(dns.Name, 100), true
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

// snippetRunes is how much of a body an error message quotes.
const snippetRunes = 160

// Snippet is the start of a body, sanitised, on one line, for an error
// message. Only the start of a large body is looked at.
func Snippet(b []byte) string {
	look := 16 * snippetRunes
	cut := len(b) > look
	if cut {
		for look > 0 && !utf8.RuneStart(b[look]) {
			look--
		}
		b = b[:look]
	}
	s := integrations.Clip(string(b), snippetRunes)
	if cut && !strings.HasSuffix(s, "…") {
		s += "…"
	}
	return s
}

// Clip is integrations.Clip: s sanitised, on one line, cut to n runes.
func Clip(s string, n int) string { return integrations.Clip(s, n) }
