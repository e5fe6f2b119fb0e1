package hotdash

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

func TestEscapesInTheAppsAnswerComeOutInert(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/analytics/idea-pool":
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "source": "\x1b[32msupabase", "warning": testkit.Escapes})
		case strings.HasPrefix(r.URL.Path, "/api/social/status/"):
			if r.URL.RawPath != "" && !strings.Contains(r.URL.RawPath, "%1B") {
				t.Errorf("the job ID reached the path unescaped: %q", r.URL.RawPath)
			}
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "status": map[string]any{"status": testkit.Escapes}})
		default:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(testkit.Escapes))
		}
	}))
	defer srv.Close()
	c := New(srv.URL, 5*time.Second)
	spec := integrations.SourceSpec{Kind: "http", Method: "GET", Path: "/api/analytics/idea-pool", Field: "source", Live: []string{"supabase"}, Mock: []string{"mock"}}
	res := c.Source(context.Background(), &spec)
	if res.Source != integrations.SourceUnknown {
		t.Errorf("a source with escapes read as %s", res.Source)
	}
	for what, s := range map[string]string{"answer": res.Answer, "warning": res.Warning, "detail": res.Detail} {
		testkit.AssertInert(t, what, s)
	}
	st, _, err := c.JobStatus(context.Background(), "real-job-\x1b[2J1")
	if err != nil {
		t.Fatal(err)
	}
	testkit.AssertInert(t, "job status", st)
	_, err = c.Call(context.Background(), "GET", "/broken", nil)
	if err == nil {
		t.Fatal("a 500 is an error")
	}
	testkit.AssertInert(t, "error", err.Error())
}
