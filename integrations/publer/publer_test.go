package publer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

const (
	testKey       = "pub_3f9a7c1e5b2d4f6a8c0e9b7d"
	testWorkspace = "5f1b2c3d4e5f6a7b8c9d0e1f"
	testJob       = "65a1b2c3d4e5f60718293a4b"
)

// fakePubler answers as Publer does: the Bearer-API key and the workspace
// header on every call, {"errors":[...]} bodies, and 100 requests per
// 2-minute window.
type fakePubler struct {
	mu        sync.Mutex
	remaining int       // requests left in the window
	reset     time.Time // when the window resets
	noHeaders bool      // 429 without the X-RateLimit headers
	accounts  string    // replaces the /accounts answer when set
	noScope   bool      // the key lacks the accounts scope
	job       string    // the /job_status answer
	jobCode   int       // replaces its status when set
	errorBody string    // replaces a 401 body when set
	requests  int
	seen      []*http.Request
}

func newFake() *fakePubler {
	return &fakePubler{
		remaining: 100,
		reset:     time.Unix(1760866020, 0), // 2025-10-19 09:27:00 UTC
		job:       `{"status":"complete","payload":{"failures":{}}}`,
	}
}

// start serves the fake and returns its API root, as the real one has a
// path (/api/v1).
func (f *fakePubler) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1"
}

func (f *fakePubler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.seen = append(f.seen, r.Clone(context.Background()))
	if f.remaining <= 0 {
		if !f.noHeaders {
			f.rateHeaders(w)
		}
		testkit.WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Rate limit exceeded. Retry later."})
		return
	}
	f.remaining--
	f.rateHeaders(w)
	ws := r.Header.Get("Publer-Workspace-Id")
	switch {
	case ws == "":
		testkit.WriteJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Workspace not selected"}})
		return
	case r.Header.Get("Authorization") != "Bearer-API "+testKey:
		if f.errorBody != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, f.errorBody)
			return
		}
		testkit.WriteJSON(w, http.StatusUnauthorized, map[string]any{"errors": []string{"Unauthorized"}})
		return
	case ws != testWorkspace:
		// Assumed: a workspace the key cannot use is refused like a
		// missing one.
		testkit.WriteJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Workspace not found"}})
		return
	case f.noScope && r.URL.Path == "/api/v1/accounts":
		testkit.WriteJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Missing required scope: accounts"}})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/workspaces":
		testkit.WriteJSON(w, http.StatusOK, []map[string]string{{"id": testWorkspace, "name": "HotDash"}})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/accounts":
		if f.accounts != "" {
			fmt.Fprint(w, f.accounts)
			return
		}
		testkit.WriteJSON(w, http.StatusOK, []map[string]string{
			{"id": "a1", "provider": "twitter", "name": "HotDash", "type": "profile"},
			{"id": "a2", "provider": "facebook", "name": "HotDash", "type": "page"},
		})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/job_status/"+testJob:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if f.jobCode != 0 {
			w.WriteHeader(f.jobCode)
		}
		fmt.Fprint(w, f.job)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/job_status/forbidden":
		testkit.WriteJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Forbidden"}})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/job_status/"):
		testkit.WriteJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"Job not found"}})
	default:
		testkit.WriteJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"Not found"}})
	}
}

func (f *fakePubler) rateHeaders(w http.ResponseWriter) {
	w.Header().Set("X-RateLimit-Limit", "100")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(0, f.remaining)))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(f.reset.Unix(), 10))
}

func (f *fakePubler) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func client(url string, mod func(*Options)) *Client {
	o := Options{BaseURL: url, APIKey: testKey, WorkspaceID: testWorkspace, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	return New(o)
}

func TestHeaders(t *testing.T) {
	f := newFake()
	c := client(f.start(t), func(o *Options) { o.APIKey = " " + testKey + "\n" })
	if _, err := c.Accounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := f.seen[0]
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/accounts" {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer-API "+testKey {
		t.Errorf("Authorization = %q, want Bearer-API <key>", got)
	}
	if got := r.Header.Values("Publer-Workspace-Id"); len(got) != 1 || got[0] != testWorkspace {
		t.Errorf("Publer-Workspace-Id = %q", got)
	}
}

func TestAccounts(t *testing.T) {
	tests := []struct {
		name     string
		accounts string
		want     int
		wantErr  string
	}{
		{name: "two accounts", want: 2},
		{name: "none yet", accounts: `[]`, want: 0},
		{name: "not JSON", accounts: "<html>login</html>", wantErr: "GET /accounts: malformed answer: <html>login</html>"},
		{name: "an object", accounts: `{"id":"a1"}`, wantErr: `GET /accounts: malformed answer: {"id":"a1"}`},
		{name: "null", accounts: `null`, wantErr: "GET /accounts: malformed answer: null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.accounts = tt.accounts
			got, err := client(f.start(t), nil).Accounts(context.Background())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Accounts = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	reset := time.Unix(1760866020, 0).Format("15:04:05")
	tests := []struct {
		name    string
		fake    func(*fakePubler)
		mod     func(*Options)
		call    func(*Client) error
		want    string
		is      error
		calls   int
		isNot   []error
		wantEnv string
	}{
		{
			name:  "bad key",
			mod:   func(o *Options) { o.APIKey = "pub_wrong_wrong_wrong_wrong" },
			want:  "Publer rejected the API key (401 Unauthorized): check PUBLER_API_KEY",
			is:    ErrUnauthorized,
			isNot: []error{ErrForbidden, ErrRateLimited},
			calls: 1, wantEnv: "PUBLER_API_KEY",
		},
		{
			name:  "bad key, dev variable",
			mod:   func(o *Options) { o.APIKey = "pub_wrong_wrong_wrong_wrong"; o.KeyEnv = "PUBLER_DEV_API_KEY" },
			want:  "Publer rejected the API key (401 Unauthorized): check PUBLER_DEV_API_KEY",
			is:    ErrUnauthorized,
			calls: 1, wantEnv: "PUBLER_DEV_API_KEY",
		},
		{
			name:  "401 with several errors",
			fake:  func(f *fakePubler) { f.errorBody = `{"errors":["Unauthorized","Token revoked"]}` },
			mod:   func(o *Options) { o.APIKey = "pub_revoked_revoked_revoked" },
			want:  "Publer rejected the API key (401 Unauthorized; Token revoked): check PUBLER_API_KEY",
			is:    ErrUnauthorized,
			calls: 1, wantEnv: "PUBLER_API_KEY",
		},
		{
			name:  "401 without a body",
			fake:  func(f *fakePubler) { f.errorBody = " " },
			mod:   func(o *Options) { o.APIKey = "pub_revoked_revoked_revoked" },
			want:  "Publer rejected the API key (401 Unauthorized): check PUBLER_API_KEY",
			is:    ErrUnauthorized,
			calls: 1, wantEnv: "PUBLER_API_KEY",
		},
		{
			name:  "unknown workspace",
			mod:   func(o *Options) { o.WorkspaceID = "000000000000" },
			want:  "403 wrong workspace (Workspace not found): check PUBLER_WORKSPACE_ID, and that the API key belongs to a member of that workspace",
			is:    ErrForbidden,
			isNot: []error{ErrUnauthorized, ErrRateLimited},
			calls: 1, wantEnv: "PUBLER_WORKSPACE_ID",
		},
		{
			name:  "missing scope",
			fake:  func(f *fakePubler) { f.noScope = true },
			want:  "403 missing scope (Missing required scope: accounts): give the key in PUBLER_API_KEY the scope in Publer's API settings",
			is:    ErrForbidden,
			isNot: []error{ErrUnauthorized, ErrRateLimited},
			calls: 1, wantEnv: "PUBLER_API_KEY",
		},
		{
			name:  "403 saying neither",
			call:  func(c *Client) error { _, err := c.JobStatus(context.Background(), "forbidden"); return err },
			want:  "GET /job_status/forbidden: 403 forbidden (Forbidden): check PUBLER_WORKSPACE_ID and the key's scopes",
			is:    ErrForbidden,
			calls: 1, wantEnv: "PUBLER_WORKSPACE_ID",
		},
		{
			name:  "rate limited",
			fake:  func(f *fakePubler) { f.remaining = 0 },
			want:  "GET /accounts: rate limited: 0 of 100 left, resets at " + reset,
			is:    ErrRateLimited,
			isNot: []error{ErrUnauthorized, ErrForbidden},
			calls: 1,
		},
		{
			name:  "rate limited without headers",
			fake:  func(f *fakePubler) { f.remaining, f.noHeaders = 0, true },
			want:  "GET /accounts: rate limited: Rate limit exceeded. Retry later. (Publer allows 100 requests per 2 minutes)",
			is:    ErrRateLimited,
			calls: 1,
		},
		{
			name: "job not found",
			call: func(c *Client) error {
				_, err := c.JobStatus(context.Background(), "65a1b2c3d4e5f60718290000")
				return err
			},
			want:  "GET /job_status/65a1b2c3d4e5f60718290000: HTTP 404 Not Found: Job not found",
			isNot: []error{ErrUnauthorized, ErrForbidden, ErrRateLimited},
			calls: 1,
		},
		{
			name:  "server error page",
			fake:  func(f *fakePubler) { f.jobCode, f.job = http.StatusBadGateway, "<html>\n<h1>502</h1>\n</html>" },
			call:  func(c *Client) error { _, err := c.JobStatus(context.Background(), testJob); return err },
			want:  "GET /job_status/" + testJob + ": HTTP 502 Bad Gateway: <html> <h1>502</h1> </html>",
			calls: 1,
		},
		{
			name:  "errors as one string",
			fake:  func(f *fakePubler) { f.jobCode, f.job = http.StatusUnprocessableEntity, `{"errors":"Invalid job"}` },
			call:  func(c *Client) error { _, err := c.JobStatus(context.Background(), testJob); return err },
			want:  "GET /job_status/" + testJob + ": HTTP 422 Unprocessable Entity: Invalid job",
			calls: 1,
		},
		{
			name:  "no key",
			mod:   func(o *Options) { o.APIKey = "" },
			want:  "PUBLER_API_KEY is not set",
			isNot: []error{ErrUnauthorized},
		},
		{
			name: "no key, dev variable",
			mod:  func(o *Options) { o.APIKey = "  "; o.KeyEnv = "PUBLER_DEV_API_KEY" },
			want: "PUBLER_DEV_API_KEY is not set",
		},
		{
			name: "no workspace",
			mod:  func(o *Options) { o.WorkspaceID = "" },
			want: "PUBLER_WORKSPACE_ID is not set",
		},
		{
			name: "no workspace, dev variable",
			mod:  func(o *Options) { o.WorkspaceID = ""; o.WorkspaceEnv = "PUBLER_DEV_WORKSPACE_ID" },
			want: "PUBLER_DEV_WORKSPACE_ID is not set",
		},
		{
			name: "no job ID",
			call: func(c *Client) error { _, err := c.JobStatus(context.Background(), " "); return err },
			want: "no Publer job ID given",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.fake != nil {
				tt.fake(f)
			}
			c := client(f.start(t), tt.mod)
			call := tt.call
			if call == nil {
				call = func(c *Client) error { _, err := c.Accounts(context.Background()); return err }
			}
			err := call(c)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v\nwant    %s", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v) = false", tt.is)
			}
			for _, e := range tt.isNot {
				if errors.Is(err, e) {
					t.Errorf("errors.Is(%v) = true", e)
				}
			}
			var pe *Error
			if errors.As(err, &pe) && pe.Env != tt.wantEnv {
				t.Errorf("Env = %q, want %q", pe.Env, tt.wantEnv)
			}
			// A 429 is reported, never retried: the window is the budget.
			if got := f.count(); got != tt.calls {
				t.Errorf("requests = %d, want %d", got, tt.calls)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the key is in the error: %v", err)
			}
		})
	}
}

// TestMissingWorkspaceHeader reads the answer Publer gives a request
// without the workspace header, which the client itself never sends.
func TestMissingWorkspaceHeader(t *testing.T) {
	f := newFake()
	c := client(f.start(t), nil)
	resp, err := c.http.R().SetHeader("Authorization", "Bearer-API "+testKey).Get("/accounts")
	if err != nil {
		t.Fatal(err)
	}
	e := c.errorFrom("GET /accounts", resp)
	want := "403 wrong workspace (Workspace not selected): check PUBLER_WORKSPACE_ID, and that the API key belongs to a member of that workspace"
	if e.Error() != want || !errors.Is(e, ErrForbidden) {
		t.Errorf("error = %q, want %q", e, want)
	}
}

func TestRateLimitWindow(t *testing.T) {
	f := newFake()
	f.remaining = 2
	c := client(f.start(t), nil)
	ctx := context.Background()
	for i := range 2 {
		if _, err := c.Accounts(ctx); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := c.Accounts(ctx)
	var pe *Error
	if !errors.As(err, &pe) || pe.Status != http.StatusTooManyRequests {
		t.Fatalf("third call: %v, want a 429", err)
	}
	if pe.Limit != 100 || pe.Remaining != 0 || !pe.Reset.Equal(time.Unix(1760866020, 0)) {
		t.Errorf("window: limit %d remaining %d reset %v", pe.Limit, pe.Remaining, pe.Reset)
	}
	if len(pe.Messages) != 1 || pe.Messages[0] != "Rate limit exceeded. Retry later." {
		t.Errorf("messages %q", pe.Messages)
	}
	if got := f.count(); got != 3 {
		t.Errorf("requests = %d, want 3 (no retry)", got)
	}
}

func TestJobStatus(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		want         JobState
		wantRaw      string
		wantFailures map[string]any
		wantErr      string
	}{
		{name: "complete", body: `{"status":"complete","payload":{"failures":{}}}`, want: Done, wantRaw: "complete"},
		{name: "completed", body: `{"status":"completed","payload":{"failures":{}}}`, want: Done, wantRaw: "completed"},
		{name: "Completed, capitalised", body: `{"status":"Completed","payload":{}}`, want: Done, wantRaw: "Completed"},
		{name: "failed", body: `{"status":"failed","payload":{"failures":{}}}`, want: Failed, wantRaw: "failed"},
		{name: "working", body: `{"status":"working","payload":{"failures":{}}}`, want: InProgress, wantRaw: "working"},
		{name: "unknown word", body: `{"status":"queued_for_retry","payload":{"failures":{}}}`, want: InProgress, wantRaw: "queued_for_retry"},
		{name: "empty word", body: `{"status":"","payload":{"failures":{}}}`, want: InProgress},
		{
			name: "complete with failures", body: `{"status":"complete","payload":{"failures":{"twitter":"Token expired"}}}`,
			want: Failed, wantRaw: "complete", wantFailures: map[string]any{"twitter": "Token expired"},
		},
		{
			name: "working with failures", body: `{"status":"working","payload":{"failures":{"a1":{"message":"Duplicate post"}}}}`,
			want: Failed, wantRaw: "working", wantFailures: map[string]any{"a1": map[string]any{"message": "Duplicate post"}},
		},
		{
			name: "failed with failures", body: `{"status":"failed","payload":{"failures":{"twitter":"Token expired"}}}`,
			want: Failed, wantRaw: "failed", wantFailures: map[string]any{"twitter": "Token expired"},
		},
		{name: "failures an empty list", body: `{"status":"complete","payload":{"failures":[]}}`, want: Done, wantRaw: "complete"},
		{name: "failures null", body: `{"status":"complete","payload":{"failures":null}}`, want: Done, wantRaw: "complete"},
		{name: "no payload", body: `{"status":"complete"}`, want: Done, wantRaw: "complete"},
		{
			name: "failures a list", body: `{"status":"complete","payload":{"failures":["Token expired"]}}`,
			want: Failed, wantRaw: "complete", wantFailures: map[string]any{"0": "Token expired"},
		},
		{name: "no status", body: `{"payload":{"failures":{}}}`, wantErr: "malformed answer"},
		{name: "status a number", body: `{"status":3}`, wantErr: "malformed answer"},
		{name: "failures a string", body: `{"status":"complete","payload":{"failures":"none"}}`, wantErr: "malformed answer"},
		{name: "not JSON", body: `<html>`, wantErr: "GET /job_status/" + testJob + ": malformed answer: <html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.job = tt.body
			st, err := client(f.start(t), nil).JobStatus(context.Background(), testJob)
			if r := f.seen[0]; r.URL.Path != "/api/v1/job_status/"+testJob {
				t.Errorf("path %s", r.URL.Path)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.want || st.Raw != tt.wantRaw {
				t.Errorf("state %v raw %q, want %v %q", st.State, st.Raw, tt.want, tt.wantRaw)
			}
			if fmt.Sprint(st.Failures) != fmt.Sprint(tt.wantFailures) || (len(tt.wantFailures) == 0) != (st.Failures == nil) {
				t.Errorf("failures %v, want %v", st.Failures, tt.wantFailures)
			}
		})
	}
}

func TestJobStateString(t *testing.T) {
	for s, want := range map[JobState]string{Done: "done", Failed: "failed", InProgress: "in progress"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name       string
		fake       func(*fakePubler)
		mod        func(*Options)
		down       bool
		wantDetail string
		wantErr    string
		// wantRejected: the key was turned away (401), not missing.
		wantRejected bool
		wantCalls    int
	}{
		{name: "ok", wantDetail: "key and workspace ok (5f1b…, 2 accounts)", wantCalls: 1},
		{name: "short workspace", mod: func(o *Options) { o.WorkspaceID = "ab" }, wantErr: "403 wrong workspace", wantCalls: 1},
		{name: "bad key", mod: func(o *Options) { o.APIKey = "pub_wrong_wrong_wrong_wrong" },
			wantErr: "Publer rejected the API key (401 Unauthorized): check PUBLER_API_KEY", wantRejected: true, wantCalls: 1},
		{name: "unknown workspace", mod: func(o *Options) { o.WorkspaceID = "000000000000" },
			wantErr: "403 wrong workspace (Workspace not found): check PUBLER_WORKSPACE_ID", wantCalls: 1},
		{name: "key without the accounts scope", fake: func(f *fakePubler) { f.noScope = true },
			wantErr: "403 missing scope (Missing required scope: accounts)", wantCalls: 1},
		{name: "rate limited", fake: func(f *fakePubler) { f.remaining = 0 }, wantErr: "rate limited: 0 of 100 left", wantCalls: 1},
		{name: "no key", mod: func(o *Options) { o.APIKey = "" }, wantErr: "PUBLER_API_KEY is not set"},
		{name: "no workspace", mod: func(o *Options) { o.WorkspaceID = "" }, wantErr: "PUBLER_WORKSPACE_ID is not set"},
		{name: "no key, named variable", mod: func(o *Options) { o.APIKey, o.KeyEnv = "", "PUBLER_DEV_API_KEY" },
			wantErr: "PUBLER_DEV_API_KEY is not set"},
		{name: "no workspace, named variable", mod: func(o *Options) { o.WorkspaceID, o.WorkspaceEnv = "", "PUBLER_DEV_WORKSPACE_ID" },
			wantErr: "PUBLER_DEV_WORKSPACE_ID is not set"},
		{name: "key echoed back", fake: func(f *fakePubler) { f.errorBody = `{"errors":["Unknown key pub_wrong_wrong_wrong_wrong"]}` },
			mod:     func(o *Options) { o.APIKey = "pub_wrong_wrong_wrong_wrong" },
			wantErr: "Publer rejected the API key (401 Unknown key " + integrations.Mask + "): check PUBLER_API_KEY", wantRejected: true, wantCalls: 1},
		{name: "unreachable", down: true, wantErr: "GET /accounts: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.fake != nil {
				tt.fake(f)
			}
			url := f.start(t)
			if tt.down {
				url = testkit.Refused(t)
			}
			c := client(url, tt.mod)
			res := c.Probe().Check(context.Background())
			if tt.wantErr == "" {
				if res.Err != nil {
					t.Fatalf("Err = %v", res.Err)
				}
				if res.Detail != tt.wantDetail {
					t.Errorf("Detail = %q, want %q", res.Detail, tt.wantDetail)
				}
			} else {
				if res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
					t.Fatalf("Err = %v, want %q", res.Err, tt.wantErr)
				}
				if res.Detail != "" {
					t.Errorf("Detail = %q on failure", res.Detail)
				}
			}
			if res.Source != integrations.SourceUnknown {
				t.Errorf("Source = %v: the auth check does not say which source the app uses", res.Source)
			}
			if got := res.Facts[integrations.WhenCredentialsRejected]; got != tt.wantRejected {
				t.Errorf("credentials_rejected = %v, want %v", got, tt.wantRejected)
			}
			if res.Facts[integrations.WhenCredentialsMissing] {
				t.Error("the console's probe never says the app's credentials are missing")
			}
			if got := f.count(); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d", got, tt.wantCalls)
			}
			key := c.o.APIKey
			if key == "" {
				key = testKey
			}
			all := fmt.Sprint(res.Answer, "|", res.Warning, "|", res.Detail, "|", res.Problem())
			if strings.Contains(all, key) || strings.Contains(all, testKey) {
				t.Errorf("the API key is in the probe result: %s", all)
			}
			if strings.Contains(all, testWorkspace) {
				t.Errorf("the whole workspace ID is in the probe result: %s", all)
			}
		})
	}
}

func TestProbeHonoursContext(t *testing.T) {
	probe := client(testkit.Hanging(t), nil).Probe()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res := probe.Check(ctx)
	testkit.TimedOut(t, res.Problem(), "GET /accounts: ", 200*time.Millisecond)
	if res.Latency <= 0 {
		t.Errorf("Latency not measured")
	}
}

// The probe spends one request of the 100 per 2 minutes that the key's
// user shares with the app: every 2 minutes unless configured otherwise.
func TestProbeRunsEveryTwoMinutes(t *testing.T) {
	if got := New(Options{}).Probe().Interval(); got != 2*time.Minute {
		t.Errorf("Interval = %s, want 2m", got)
	}
}

func TestDefaults(t *testing.T) {
	c := New(Options{})
	if c.o.BaseURL != DefaultBaseURL || DefaultBaseURL != "https://app.publer.com/api/v1" {
		t.Errorf("BaseURL = %q", c.o.BaseURL)
	}
	if c.o.KeyEnv != "PUBLER_API_KEY" || c.o.WorkspaceEnv != "PUBLER_WORKSPACE_ID" || c.o.Timeout != 10*time.Second {
		t.Errorf("defaults: %+v", c.o)
	}
}

func TestAbbrev(t *testing.T) {
	for in, want := range map[string]string{"5f1b2c3d": "5f1b…", "5f1b": "5f1b…", "ab": "ab…", "éàüöx": "éàüö…"} {
		if got := abbrev(in); got != want {
			t.Errorf("abbrev(%q) = %q, want %q", in, got, want)
		}
	}
}
