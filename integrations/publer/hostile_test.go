package publer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/integrations/testkit"
)

func TestEscapesInPublersAnswersComeOutInert(t *testing.T) {
	many := make([]string, 50)
	for i := range many {
		many[i] = testkit.Escapes + strings.Repeat("x", 1000)
	}
	cases := map[string]http.HandlerFunc{
		"401 errors list": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusUnauthorized, map[string]any{"errors": many})
		},
		"403 one error": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusForbidden, map[string]any{"errors": testkit.Escapes})
		},
		"429 error": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusTooManyRequests, map[string]any{"error": testkit.Escapes})
		},
		"502 page": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, testkit.Escapes)
		},
		"malformed": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, testkit.Escapes)
		},
	}
	testkit.InertErrors(t, cases, 4*600, func(url string) string {
		return client(url, nil).Probe().Check(context.Background()).Problem()
	})
}

func TestAJobStatusWithEscapesIsReadAsSentAndShownInert(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "\x1b[32mcomplete\x1b[0m"})
	}))
	defer srv.Close()
	st, err := client(srv.URL, nil).JobStatus(context.Background(), testJob)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != InProgress || st.Raw != "complete" {
		t.Errorf("got %v %q: a status word with escapes is not the word", st.State, st.Raw)
	}
}
