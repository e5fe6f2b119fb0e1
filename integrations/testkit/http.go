// Package testkit holds what the tests share: HTTP doubles (a JSON answer
// for fakes, a server that never answers, an address nothing listens on)
// and waiting for what goroutines and terminals do in their own time.
package testkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// WriteJSON answers with code and v encoded as JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Hanging returns the URL of a server that holds every request until the
// client gives up; it is closed when the test ends.
func Hanging(t testing.TB) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv.URL
}

// Refused returns a loopback URL that refuses connections.
func Refused(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// Escapes is what a hostile or broken service can send in any text field:
// a window title change, a screen clear, a cursor move, and a fake green
// verdict. Sanitised, only "OK all good" is left, as plain text.
const Escapes = "\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[32mOK all good\x1b[0m"

// AssertInert fails the test when s holds anything a terminal would act
// on: an escape, a control character (tabs and newlines aside), a C1
// control or a bidirectional override.
func AssertInert(t testing.TB, what, s string) {
	t.Helper()
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			t.Errorf("%s: control character %U at byte %d: %q", what, r, i, s)
			return
		}
	}
}

// Flood returns the URL of a server that answers every request 200 with n
// bytes, announcing the length when announce is true (else the body is
// chunked); n < 0 is an endless body, sent until the client gives up.
func Flood(t testing.TB, n int64, announce bool) string {
	chunk := make([]byte, 32<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if announce && n >= 0 {
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		}
		w.WriteHeader(http.StatusOK)
		for sent := int64(0); n < 0 || sent < n; {
			c := chunk
			if n >= 0 && n-sent < int64(len(c)) {
				c = c[:n-sent]
			}
			if _, err := w.Write(c); err != nil {
				return
			}
			sent += int64(len(c))
		}
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}

// InertErrors serves each handler in turn and calls check with the
// server's URL: check makes a call and returns its error text ("" for
// none). Every answer must be an error, inert and at most limit bytes.
func InertErrors(t *testing.T, handlers map[string]http.HandlerFunc, limit int, check func(url string) string) {
	t.Helper()
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			msg := check(srv.URL)
			if msg == "" {
				t.Fatal("no error")
			}
			AssertInert(t, "error", msg)
			if len(msg) > limit {
				t.Errorf("an error of %d bytes: %.200q", len(msg), msg)
			}
		})
	}
}
