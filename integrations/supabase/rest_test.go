package supabase

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations/httpc"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// The fake PostgREST answers as contracts.md ("Supabase") says the real one
// does.

const serviceKey = "sb_secret_Zk3v9QeT7yLmW2pX8aRc"

// Bodies PostgREST sends.
const (
	missingPGRST205 = `{"code":"PGRST205","message":"Could not find the table 'public.idea_pool' in the schema cache","details":null,"hint":null}`
	missing42P01    = `{"hint":null,"details":null,"code":"42P01","message":"relation \"public.idea_pool\" does not exist"}`
	invalidKey      = `{"message":"Invalid API key","hint":"Double check your Supabase ` + "`anon`" + ` or ` + "`service_role`" + ` API key."}`
)

// fakePostgREST answers every request with one status and body, and keeps
// the last request.
type fakePostgREST struct {
	*httptest.Server
	mu   sync.Mutex
	last *http.Request
}

func newFakePostgREST(t *testing.T, status int, body string) *fakePostgREST {
	t.Helper()
	f := &fakePostgREST{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.last = r.Clone(r.Context())
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePostgREST) request() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func TestRESTContract(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		present bool
		detail  string // when the check succeeds
		err     string // a part of the error, when it fails
		code    int    // the HTTP status the error carries, if any
	}{
		{name: "table with rows", status: 200, body: `[{"id":1,"title":"Bundle offer"}]`,
			present: true, detail: "table idea_pool exists (PostgREST answered 200)"},
		{name: "empty table", status: 200, body: `[]`,
			present: true, detail: "table idea_pool exists (PostgREST answered 200)"},
		{name: "missing table", status: 404, body: missingPGRST205,
			detail: "table idea_pool is missing (PostgREST PGRST205: Could not find the table 'public.idea_pool' in the schema cache)"},
		{name: "missing table, older PostgREST", status: 404, body: missing42P01,
			detail: `table idea_pool is missing (PostgREST 42P01: relation "public.idea_pool" does not exist)`},
		{name: "bad key", status: 401, body: invalidKey,
			err: "the Supabase key was rejected (401 Invalid API key): check SUPABASE_SERVICE_KEY"},
		{name: "server error", status: 500, body: `{"message":"upstream failure"}`,
			err: "GET /rest/v1/idea_pool: HTTP 500 Internal Server Error", code: 500},
		{name: "not PostgREST", status: 404, body: `<html>Not Found</html>`,
			err: "GET /rest/v1/idea_pool: HTTP 404 Not Found", code: 404},
		{name: "200 that is not PostgREST", status: 200, body: `<!doctype html><title>HotDash</title>`,
			err: "HTTP 200 but not a PostgREST answer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := newFakePostgREST(t, c.status, c.body)
			present, detail, err := NewREST(RESTOptions{URL: fake.URL, Key: serviceKey, Timeout: 5 * time.Second}).CheckMigration(t.Context(), "idea_pool")

			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if present != c.present || detail != c.detail {
					t.Errorf("got %v %q\nwant %v %q", present, detail, c.present, c.detail)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v %q %v, want an error with %q", present, detail, err, c.err)
				}
				if present {
					t.Error("present with an error")
				}
				if got := httpc.StatusCode(err); got != c.code {
					t.Errorf("error status %d, want %d", got, c.code)
				}
				assertNoSecret(t, err, serviceKey)
			}

			r := fake.request()
			if r == nil {
				t.Fatal("no request reached PostgREST")
			}
			if r.Method != http.MethodGet || r.URL.Path != "/rest/v1/idea_pool" {
				t.Errorf("request %s %s, want GET /rest/v1/idea_pool", r.Method, r.URL.Path)
			}
			if q := r.URL.Query(); len(q) != 2 || q.Get("select") != "*" || q.Get("limit") != "1" {
				t.Errorf("query %q, want select=*&limit=1", r.URL.RawQuery)
			}
			if got := r.Header.Get("apikey"); got != serviceKey {
				t.Errorf("apikey header %q", got)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+serviceKey {
				t.Errorf("Authorization header %q", got)
			}
		})
	}
}

func TestRESTTrailingSlashInURL(t *testing.T) {
	fake := newFakePostgREST(t, 200, `[]`)
	if _, _, err := NewREST(RESTOptions{URL: fake.URL + "/", Key: serviceKey, Timeout: 5 * time.Second}).CheckMigration(t.Context(), "idea_pool"); err != nil {
		t.Fatal(err)
	}
	if got := fake.request().URL.Path; got != "/rest/v1/idea_pool" {
		t.Errorf("path %s", got)
	}
}

func TestRESTUnreachable(t *testing.T) {
	_, _, err := NewREST(RESTOptions{URL: testkit.Refused(t), Key: serviceKey, Timeout: 5 * time.Second}).CheckMigration(t.Context(), "idea_pool")
	if err == nil || err.Error() != "GET /rest/v1/idea_pool: connection refused" {
		t.Fatalf("got %v", err)
	}
	assertNoSecret(t, err, serviceKey)
}

func TestRESTTimeout(t *testing.T) {
	_, _, err := NewREST(RESTOptions{URL: testkit.Hanging(t), Key: serviceKey, Timeout: 100 * time.Millisecond}).CheckMigration(t.Context(), "idea_pool")
	if err == nil || err.Error() != "GET /rest/v1/idea_pool: timed out after 100ms" {
		t.Fatalf("got %v", err)
	}
	assertNoSecret(t, err, serviceKey)
}

func TestRESTErrorsNameTheConfiguredVariables(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   string
	}{
		{401, invalidKey, "check SUPABASE_DEV_SERVICE_KEY"},
		{200, `<!doctype html><title>HotDash</title>`, "check SUPABASE_DEV_URL"},
	} {
		fake := newFakePostgREST(t, c.status, c.body)
		r := NewREST(RESTOptions{URL: fake.URL, Key: serviceKey, Timeout: 5 * time.Second,
			URLEnv: "SUPABASE_DEV_URL", KeyEnv: "SUPABASE_DEV_SERVICE_KEY"})
		_, _, err := r.CheckMigration(t.Context(), "idea_pool")
		if err == nil || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("HTTP %d: err = %v, want it to end %q", c.status, err, c.want)
		}
	}
}

func TestRESTEscapesInAnswersComeOutInert(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"missing table": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusNotFound, map[string]any{"code": "PGRST205", "message": testkit.Escapes})
		},
		"bad key": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusUnauthorized, map[string]any{"message": testkit.Escapes})
		},
		"not PostgREST": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, testkit.Escapes)
		},
		"a code with escapes is not the code": func(w http.ResponseWriter, r *http.Request) {
			testkit.WriteJSON(w, http.StatusNotFound, map[string]any{"code": "PGRST\x1b[0m205", "message": "x"})
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			present, detail, err := NewREST(RESTOptions{URL: srv.URL, Key: serviceKey, Timeout: 5 * time.Second}).CheckMigration(t.Context(), "idea_pool")
			if present {
				t.Error("present")
			}
			msg := detail
			if err != nil {
				msg = err.Error()
			}
			testkit.AssertInert(t, name, msg)
			if name == "a code with escapes is not the code" && err == nil {
				t.Errorf("read as a missing table: %q", detail)
			}
		})
	}
}
