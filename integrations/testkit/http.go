// Package testkit holds what the tests share: HTTP doubles (a JSON answer
// for fakes, a server that never answers, an address nothing listens on)
// and waiting for what goroutines and terminals do in their own time.
package testkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
