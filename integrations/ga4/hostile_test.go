package ga4

import (
	"context"
	"fmt"
	"net/http"
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
	testkit.InertErrors(t, cases, 4*600, func(url string) string {
		return client(url, nil).Probe().Check(context.Background()).Problem()
	})
}
