package chatwoot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/integrations/testkit"
)

func TestEscapesInChatwootsAnswersComeOutInert(t *testing.T) {
	healthy := func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/api":
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"version": testkit.Escapes, "queue_services": "ok", "data_services": "ok"})
		case "/health":
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"status": "woot"})
		default:
			return false
		}
		return true
	}
	cases := map[string]http.HandlerFunc{
		"failing services": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"queue_services": testkit.Escapes, "data_services": strings.Repeat(testkit.Escapes, 100)})
		},
		"malformed health": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api" {
				testkit.WriteJSON(w, http.StatusOK, map[string]any{"queue_services": "ok", "data_services": "ok"})
				return
			}
			fmt.Fprint(w, testkit.Escapes)
		},
		"401 error": func(w http.ResponseWriter, r *http.Request) {
			if !healthy(w, r) {
				testkit.WriteJSON(w, http.StatusUnauthorized, map[string]any{"error": testkit.Escapes})
			}
		},
		"500 page": func(w http.ResponseWriter, r *http.Request) {
			if !healthy(w, r) {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, testkit.Escapes)
			}
		},
	}
	testkit.InertErrors(t, cases, 4*600, func(url string) string {
		return client(url, nil).Probe().Check(context.Background()).Problem()
	})
}
