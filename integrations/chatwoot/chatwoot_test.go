package chatwoot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

const (
	testToken   = "cw_tok_9f8e7d6c5b4a39281706"
	testAccount = "7"
)

// fakeChatwoot answers as Chatwoot does: GET /api always 200 with the
// services' state in the body, /health (404 on older versions), the
// api_access_token header, and 429 "Retry later" with no Retry-After.
type fakeChatwoot struct {
	mu        sync.Mutex
	queue     string // queue_services: "ok" or "failing"
	data      string // data_services
	apiBody   string // replaces the GET /api answer when set
	noHealth  bool   // an older version: GET /health is 404
	healthRaw string // replaces the GET /health answer when set
	convCode  int    // replaces the conversations answer's status when set
	convBody  string // and its body
	tooMany   int    // answer this many requests with 429 first; -1 always
	requests  int
	paths     []string
	headers   []http.Header
	queries   []string
}

func newFake() *fakeChatwoot { return &fakeChatwoot{queue: "ok", data: "ok"} }

func (f *fakeChatwoot) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fakeChatwoot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.paths = append(f.paths, r.URL.Path)
	f.headers = append(f.headers, r.Header.Clone())
	f.queries = append(f.queries, r.URL.RawQuery)
	if f.tooMany != 0 {
		if f.tooMany > 0 {
			f.tooMany--
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, "Retry later")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api":
		if f.apiBody != "" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, f.apiBody)
			return
		}
		testkit.WriteJSON(w, http.StatusOK, map[string]string{
			"version": "3.13.0", "timestamp": "2025-10-19 09:30:00",
			"queue_services": f.queue, "data_services": f.data,
		})
	case r.Method == http.MethodGet && r.URL.Path == "/health":
		switch {
		case f.noHealth:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<html><body>The page you were looking for doesn't exist.</body></html>")
		case f.healthRaw != "":
			fmt.Fprint(w, f.healthRaw)
		default:
			testkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "woot"})
		}
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/accounts/") && strings.HasSuffix(r.URL.Path, "/conversations"):
		account := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/accounts/"), "/conversations")
		switch {
		case r.Header.Get("api_access_token") != testToken:
			testkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "Invalid Access Token"})
		case account != testAccount:
			testkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "You are not authorized to access this account"})
		case f.convCode != 0:
			w.WriteHeader(f.convCode)
			fmt.Fprint(w, f.convBody)
		case f.convBody != "":
			fmt.Fprint(w, f.convBody)
		default:
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
				"meta": map[string]int{"mine_count": 1, "assigned_count": 2, "unassigned_count": 3, "all_count": 5},
				"payload": []map[string]any{
					{"id": 11, "status": "open", "messages": []map[string]any{{"id": 1, "content": "hi"}}},
					{"id": 12, "status": "open", "messages": []map[string]any{}},
				},
			}})
		}
	default:
		testkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	}
}

func (f *fakeChatwoot) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// client returns a client for the fake with tiny backoffs.
func client(url string, mod func(*Options)) *Client {
	o := Options{BaseURL: url, Token: testToken, AccountID: testAccount, Timeout: 5 * time.Second, BaseBackoff: time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	return New(o)
}

func TestAPI(t *testing.T) {
	tests := []struct {
		name    string
		queue   string
		data    string
		body    string
		wantErr string
	}{
		{name: "both ok", queue: "ok", data: "ok"},
		{name: "queue failing", queue: "failing", data: "ok", wantErr: "GET /api: queue_services=failing, data_services=ok"},
		{name: "data failing", queue: "ok", data: "failing", wantErr: "GET /api: queue_services=ok, data_services=failing"},
		{name: "both failing", queue: "failing", data: "failing", wantErr: "queue_services=failing, data_services=failing"},
		{name: "not JSON", body: "<html>maintenance</html>", wantErr: "GET /api: malformed answer: <html>maintenance</html>"},
		{name: "no services", body: `{"version":"3.13.0"}`, wantErr: "GET /api: malformed answer"},
		{name: "truncated", body: `{"queue_services":"ok",`, wantErr: "GET /api: malformed answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.queue, f.data, f.apiBody = tt.queue, tt.data, tt.body
			c := client(f.start(t), nil)
			st, err := c.API(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("API: %v", err)
				}
				if !st.Healthy() || st.Version != "3.13.0" {
					t.Errorf("status %+v", st)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("API error = %v, want %q", err, tt.wantErr)
			}
			if h := f.headers[0]; h.Get("api_access_token") != "" {
				t.Errorf("GET /api sent the token; it needs none")
			}
		})
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name        string
		noHealth    bool
		raw         string
		wantPresent bool
		wantErr     string
	}{
		{name: "woot", wantPresent: true},
		{name: "older version 404", noHealth: true, wantPresent: false},
		{name: "malformed", raw: "<html>", wantPresent: true, wantErr: "GET /health: malformed answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.noHealth, f.healthRaw = tt.noHealth, tt.raw
			present, err := client(f.start(t), nil).Health(context.Background())
			if present != tt.wantPresent {
				t.Errorf("present = %v, want %v", present, tt.wantPresent)
			}
			if tt.wantErr == "" && err != nil {
				t.Errorf("Health: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Health error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenConversations(t *testing.T) {
	f := newFake()
	c := client(f.start(t), nil)
	conv, err := c.OpenConversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Conversations{Mine: 1, Assigned: 2, Unassigned: 3, All: 5, Fetched: 2}
	if conv != want {
		t.Errorf("conversations = %+v, want %+v", conv, want)
	}
	if got := f.paths[0]; got != "/api/v1/accounts/7/conversations" {
		t.Errorf("path = %s", got)
	}
	if got := f.queries[0]; got != "status=open&page=1" {
		t.Errorf("query = %s", got)
	}
	h := f.headers[0]
	if h.Get("api_access_token") != testToken {
		t.Errorf("api_access_token header = %q", h.Get("api_access_token"))
	}
	if h.Get("Authorization") != "" {
		t.Errorf("Authorization header sent: Chatwoot reads api_access_token")
	}
}

func TestOpenConversationsErrors(t *testing.T) {
	tests := []struct {
		name      string
		mod       func(*Options)
		code      int
		body      string
		wantErr   string
		wantCalls int
	}{
		{name: "invalid token", mod: func(o *Options) { o.Token = "cw_tok_wrong_wrong_wrong" },
			wantErr: "authentication failed (401): Invalid Access Token", wantCalls: 1},
		{name: "wrong account", mod: func(o *Options) { o.AccountID = "8" },
			wantErr: "authentication failed (401): You are not authorized to access this account", wantCalls: 1},
		{name: "no token", mod: func(o *Options) { o.Token = "" }, wantErr: "no Chatwoot token or account ID configured"},
		{name: "no account", mod: func(o *Options) { o.AccountID = "" }, wantErr: "no Chatwoot token or account ID configured"},
		{name: "malformed", body: "<html>", wantErr: "GET conversations: malformed answer: <html>", wantCalls: 1},
		{name: "server error", code: http.StatusBadGateway, body: "bad gateway", wantErr: "HTTP 502 Bad Gateway: bad gateway", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.convCode, f.convBody = tt.code, tt.body
			_, err := client(f.start(t), tt.mod).OpenConversations(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the token is in the error: %v", err)
			}
			if got := f.count(); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name       string
		fake       func(*fakeChatwoot)
		mod        func(*Options)
		wantDetail string
		wantErr    string
		wantCreds  bool // rejected: Chatwoot answered 401
	}{
		{name: "healthy", wantDetail: "health ok, auth ok, 5 open conversations, v3.13.0"},
		{name: "older version", fake: func(f *fakeChatwoot) { f.noHealth = true },
			wantDetail: "health ok (/api; no /health), auth ok, 5 open conversations, v3.13.0"},
		{name: "no token", mod: func(o *Options) { o.Token = "" },
			wantErr: "CHATWOOT_API_KEY is not set (health ok; authentication not checked)"},
		{name: "no account", mod: func(o *Options) { o.AccountID = "" },
			wantErr: "CHATWOOT_ACCOUNT_ID is not set (health ok; conversations not checked)"},
		{name: "services failing", fake: func(f *fakeChatwoot) { f.data = "failing" },
			wantErr: "data_services=failing"},
		{name: "invalid token", mod: func(o *Options) { o.Token = "cw_tok_revoked_0000000" },
			wantErr: "Invalid Access Token", wantCreds: true},
		{name: "wrong account", mod: func(o *Options) { o.AccountID = "1401" },
			wantErr: "You are not authorized to access this account", wantCreds: true},
		// A 401 only in the account ID or the body is not an auth failure.
		{name: "server error naming 401", fake: func(f *fakeChatwoot) { f.convCode, f.convBody = 500, "worker 401 crashed" },
			wantErr: "HTTP 500", wantCreds: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.fake != nil {
				tt.fake(f)
			}
			res := client(f.start(t), tt.mod).Probe().Check(context.Background())
			if res.Source != integrations.SourceLive || res.Answer != "chatwoot" {
				t.Errorf("source %v answer %q", res.Source, res.Answer)
			}
			if tt.wantErr == "" {
				if res.Err != nil {
					t.Fatalf("Err = %v", res.Err)
				}
				if res.Detail != tt.wantDetail {
					t.Errorf("Detail = %q, want %q", res.Detail, tt.wantDetail)
				}
			} else if res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
				t.Fatalf("Err = %v, want %q", res.Err, tt.wantErr)
			}
			if res.Facts[integrations.WhenCredentialsMissing] {
				t.Error("the console's own variables are not the app's credentials")
			}
			if got := res.Facts[integrations.WhenCredentialsRejected]; got != tt.wantCreds {
				t.Errorf("credentials_rejected = %v, want %v", got, tt.wantCreds)
			}
			if res.Latency <= 0 {
				t.Errorf("Latency not measured")
			}
			if all := fmt.Sprint(res.Answer, res.Warning, res.Detail, res.Problem()); strings.Contains(all, testToken) {
				t.Errorf("the token is in the probe result: %s", all)
			}
		})
	}
}

func TestRateLimitRetries(t *testing.T) {
	tests := []struct {
		name        string
		tooMany     int // 429 answers before success; -1 always
		retries     int
		wantErr     bool
		wantTries   int
		wantLimited int64
	}{
		{name: "one 429", tooMany: 1, wantTries: 2, wantLimited: 1},
		{name: "four 429s, default retries", tooMany: 4, wantTries: 5, wantLimited: 4},
		{name: "always 429, default retries", tooMany: -1, wantErr: true, wantTries: 5, wantLimited: 5},
		{name: "always 429, one retry", tooMany: -1, retries: 1, wantErr: true, wantTries: 2, wantLimited: 2},
		{name: "two 429s, one retry", tooMany: 2, retries: 1, wantErr: true, wantTries: 2, wantLimited: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.tooMany = tt.tooMany
			c := client(f.start(t), func(o *Options) { o.Retries = tt.retries })
			_, err := c.API(context.Background())
			if !tt.wantErr && err != nil {
				t.Fatalf("API: %v", err)
			}
			if tt.wantErr {
				var rl ErrRateLimited
				if !errors.As(err, &rl) {
					t.Fatalf("error = %v, want ErrRateLimited", err)
				}
				if rl.Tries != tt.wantTries {
					t.Errorf("Tries = %d, want %d", rl.Tries, tt.wantTries)
				}
				if want := fmt.Sprintf("GET /api: rate limited (429 Retry later) after %d tries", tt.wantTries); err.Error() != want {
					t.Errorf("error = %q, want %q", err, want)
				}
			}
			requests, limited := c.Stats()
			if requests != int64(tt.wantTries) || limited != tt.wantLimited {
				t.Errorf("Stats = %d requests, %d rate limited; want %d, %d", requests, limited, tt.wantTries, tt.wantLimited)
			}
			if got := f.count(); got != tt.wantTries {
				t.Errorf("the fake saw %d requests, want %d", got, tt.wantTries)
			}
		})
	}
}

func TestRateLimitBackoffHonoursContext(t *testing.T) {
	f := newFake()
	f.tooMany = -1
	c := client(f.start(t), func(o *Options) { o.BaseBackoff = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.API(ctx)
	if err == nil || !strings.Contains(err.Error(), "timed out while backing off from 429") {
		t.Fatalf("error = %v", err)
	}
	if got := f.count(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

// TestBudget checks the token bucket by what it lets through: once the
// burst is spent, a call whose deadline comes before the next token fails
// without reaching Chatwoot.
func TestBudget(t *testing.T) {
	tests := []struct {
		rps   float64
		burst int
	}{
		{rps: 0.01, burst: 1},
		{rps: 0.5, burst: 1},
		{rps: 2, burst: 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rps), func(t *testing.T) {
			f := newFake()
			c := client(f.start(t), func(o *Options) { o.RPS = tt.rps })
			for i := range tt.burst {
				if _, err := c.API(context.Background()); err != nil {
					t.Fatalf("call %d within the burst: %v", i+1, err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := c.API(ctx)
			want := fmt.Sprintf("GET /api: timed out waiting for the request budget (%g/s)", tt.rps)
			if err == nil || err.Error() != want {
				t.Fatalf("call past the burst: error = %v, want %q", err, want)
			}
			if got := f.count(); got != tt.burst {
				t.Errorf("the fake saw %d requests, want %d", got, tt.burst)
			}
			if requests, _ := c.Stats(); requests != int64(tt.burst) {
				t.Errorf("Stats requests = %d, want %d", requests, tt.burst)
			}
		})
	}
}

// TestBudgetRetriesSpendTokens: a retried 429 waits for a token like any
// request.
func TestBudgetRetriesSpendTokens(t *testing.T) {
	f := newFake()
	f.tooMany = -1
	c := client(f.start(t), func(o *Options) { o.RPS = 0.01 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.API(ctx)
	if err == nil || !strings.Contains(err.Error(), "waiting for the request budget") {
		t.Fatalf("error = %v", err)
	}
	if requests, limited := c.Stats(); requests != 1 || limited != 1 {
		t.Errorf("Stats = %d, %d; want 1, 1", requests, limited)
	}
}

// TestDefaultBudget: 10 requests a second with a burst of 10, so 25
// requests take 1.5s of token time. Reservations at a fixed instant show
// it without waiting.
func TestDefaultBudget(t *testing.T) {
	c := New(Options{BaseURL: "http://127.0.0.1:1"})
	if got := float64(c.limiter.Limit()); got != 10 {
		t.Errorf("limit = %g/s, want 10", got)
	}
	if got := c.limiter.Burst(); got != 10 {
		t.Errorf("burst = %d, want 10", got)
	}
	now := time.Now()
	var last time.Duration
	for range 25 {
		last = c.limiter.ReserveN(now, 1).DelayFrom(now)
	}
	if last < 1400*time.Millisecond {
		t.Errorf("the 25th request may go after %v, want at least 1.4s", last)
	}
}

func TestDefaults(t *testing.T) {
	c := New(Options{BaseURL: "http://127.0.0.1:1"})
	if c.o.Retries != 4 || c.o.BaseBackoff != 250*time.Millisecond || c.o.Timeout != 10*time.Second || c.o.RPS != 10 {
		t.Errorf("defaults: %+v", c.o)
	}
}
