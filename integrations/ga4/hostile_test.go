package ga4

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/integrations/testkit"
)

func TestEscapesInGA4sAnswersComeOutInert(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"api error": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
				"code": 403, "status": testkit.Escapes, "message": testkit.Escapes + strings.Repeat("y", 5000)}})
		},
		"proxy page": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, testkit.Escapes)
		},
		"malformed report": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, testkit.Escapes)
		},
		"bad value": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"rows": []any{map[string]any{"metricValues": []any{map[string]any{"value": testkit.Escapes}}}}})
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			res := client(srv.URL, nil).Probe().Check(context.Background())
			if res.Err == nil {
				t.Fatal("no error")
			}
			testkit.AssertInert(t, "error", res.Problem())
			if len(res.Problem()) > 4*600 {
				t.Errorf("error of %d bytes", len(res.Problem()))
			}
		})
	}
}
