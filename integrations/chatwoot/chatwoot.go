// Package chatwoot checks the Chatwoot API the HotDash app uses for
// customer support: health, authentication and conversations, within the
// console's own budget of 10 requests a second.
package chatwoot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/time/rate"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// Options configure a Client.
type Options struct {
	BaseURL   string
	Token     string // api_access_token; "" skips the authenticated checks
	AccountID string
	Timeout   time.Duration
	// RPS is the request budget (default 10/s); Retries how often a 429 is
	// retried (default 4) with exponential backoff from BaseBackoff
	// (default 250ms) and jitter.
	RPS         float64
	Retries     int
	BaseBackoff time.Duration
	// TokenEnv and AccountEnv name the variables the token and account
	// come from, so a missing one is named (default CHATWOOT_API_KEY,
	// CHATWOOT_ACCOUNT_ID).
	TokenEnv, AccountEnv string
}

// Client is a Chatwoot API client.
type Client struct {
	o       Options
	http    *resty.Client
	limiter *rate.Limiter

	requests    atomic.Int64
	rateLimited atomic.Int64
}

// New returns a client.
func New(o Options) *Client {
	if o.RPS <= 0 {
		o.RPS = 10
	}
	if o.Retries <= 0 {
		o.Retries = 4
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 250 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.TokenEnv == "" {
		o.TokenEnv = "CHATWOOT_API_KEY"
	}
	if o.AccountEnv == "" {
		o.AccountEnv = "CHATWOOT_ACCOUNT_ID"
	}
	return &Client{
		o:       o,
		http:    httpc.New(o.BaseURL, o.Timeout),
		limiter: rate.NewLimiter(rate.Limit(o.RPS), int(max(1, o.RPS))),
	}
}

// Stats are the requests made and how many were answered 429.
func (c *Client) Stats() (requests, rateLimited int64) {
	return c.requests.Load(), c.rateLimited.Load()
}

// ErrRateLimited is returned when Chatwoot still answers 429 after retries.
type ErrRateLimited struct{ Tries int }

func (e ErrRateLimited) Error() string {
	return fmt.Sprintf("rate limited (429 Retry later) after %d tries", e.Tries)
}

// get makes one GET within the budget, retrying 429 answers (Chatwoot
// sends no Retry-After) with exponential backoff and jitter.
func (c *Client) get(ctx context.Context, path string, auth bool) (*resty.Response, error) {
	backoff := c.o.BaseBackoff
	for try := 1; ; try++ {
		if err := c.limiter.Wait(ctx); err != nil {
			if ctx.Err() == nil {
				// The limiter refuses at once when the next token would
				// come after ctx's deadline.
				return nil, fmt.Errorf("GET %s: timed out waiting for the request budget (%g/s)", path, c.o.RPS)
			}
			return nil, fmt.Errorf("GET %s: %s", path, httpc.Reason(err))
		}
		req := c.http.R().SetContext(ctx)
		if auth {
			req.SetHeader("api_access_token", c.o.Token)
		}
		c.requests.Add(1)
		resp, err := httpc.Do(req, "GET", path)
		if err == nil && resp.StatusCode() == http.StatusTooManyRequests {
			c.rateLimited.Add(1)
			if try > c.o.Retries {
				return nil, fmt.Errorf("GET %s: %w", path, ErrRateLimited{Tries: try})
			}
			if err := httpc.Sleep(ctx, httpc.Jitter(backoff)); err != nil {
				return nil, fmt.Errorf("GET %s: %s while backing off from 429", path, httpc.Reason(err))
			}
			backoff *= 2
			continue
		}
		return resp, httpc.Error("GET "+path, resp, err)
	}
}

// APIStatus is Chatwoot's GET /api answer.
type APIStatus struct {
	Version       string `json:"version"`
	Timestamp     string `json:"timestamp"`
	QueueServices string `json:"queue_services"`
	DataServices  string `json:"data_services"`
}

// Healthy reports whether both services say ok.
func (s APIStatus) Healthy() bool { return s.QueueServices == "ok" && s.DataServices == "ok" }

// API reads GET /api. It is always 200, so the body is what tells.
func (c *Client) API(ctx context.Context) (APIStatus, error) {
	var s APIStatus
	resp, err := c.get(ctx, "/api", false)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(resp.Body(), &s); err != nil || (s.QueueServices == "" && s.DataServices == "") {
		return s, fmt.Errorf("GET /api: malformed answer: %s", httpc.Snippet(resp.Body()))
	}
	s.Version = integrations.Clip(s.Version, 40)
	if !s.Healthy() {
		return s, fmt.Errorf("GET /api: queue_services=%s, data_services=%s", integrations.Clip(s.QueueServices, 100), integrations.Clip(s.DataServices, 100))
	}
	return s, nil
}

// Health reads GET /health ({"status":"woot"}); older versions answer 404,
// reported as present=false with no error.
func (c *Client) Health(ctx context.Context) (present bool, err error) {
	resp, err := c.get(ctx, "/health", false)
	if httpc.StatusCode(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var h struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(resp.Body(), &h) != nil || h.Status == "" {
		return true, fmt.Errorf("GET /health: malformed answer: %s", httpc.Snippet(resp.Body()))
	}
	return true, nil
}

// Conversations is the meta of GET .../conversations?status=open.
type Conversations struct {
	Mine, Assigned, Unassigned, All int
	Fetched                         int
}

// OpenConversations fetches the first page of open conversations; it
// needs the token and account ID.
func (c *Client) OpenConversations(ctx context.Context) (Conversations, error) {
	var out Conversations
	if c.o.Token == "" || c.o.AccountID == "" {
		return out, fmt.Errorf("no Chatwoot token or account ID configured")
	}
	path := "/api/v1/accounts/" + c.o.AccountID + "/conversations?status=open&page=1"
	resp, err := c.get(ctx, path, true)
	if err != nil {
		if code := httpc.StatusCode(err); code == http.StatusUnauthorized {
			return out, authError{reason: authReason(resp)}
		}
		return out, err
	}
	var body struct {
		Data struct {
			Meta struct {
				Mine       int `json:"mine_count"`
				Assigned   int `json:"assigned_count"`
				Unassigned int `json:"unassigned_count"`
				All        int `json:"all_count"`
			} `json:"meta"`
			Payload []json.RawMessage `json:"payload"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body(), &body); err != nil {
		return out, fmt.Errorf("GET conversations: malformed answer: %s", httpc.Snippet(resp.Body()))
	}
	m := body.Data.Meta
	return Conversations{Mine: m.Mine, Assigned: m.Assigned, Unassigned: m.Unassigned, All: m.All, Fetched: len(body.Data.Payload)}, nil
}

// authError is a 401 answer: the token, or its access to the account, was
// rejected.
type authError struct{ reason string }

func (e authError) Error() string {
	return "authentication failed (401): " + integrations.Clip(e.reason, 300)
}

func authReason(resp *resty.Response) string {
	if resp == nil {
		return "unauthorized"
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(resp.Body(), &e) == nil && e.Error != "" {
		return e.Error
	}
	return httpc.Snippet(resp.Body())
}

// Probe checks what the guide's check-chatwoot-health.sh checks: the health
// endpoint, authentication, and that conversations can be fetched.
func (c *Client) Probe() integrations.Probe {
	return integrations.ProbeFunc(func(ctx context.Context) (res integrations.ProbeResult) {
		start := time.Now()
		res = integrations.ProbeResult{Source: integrations.SourceLive, Answer: "chatwoot"}
		defer func() { res.Latency = time.Since(start) }()
		// The three checks of the health script, at once: /api, /health and
		// an authenticated conversations fetch.
		var (
			st           APIStatus
			apiErr, hErr error
			present      bool
			conv         Conversations
			convErr      error
			wg           sync.WaitGroup
			authed       = c.o.Token != "" && c.o.AccountID != ""
		)
		wg.Go(func() { st, apiErr = c.API(ctx) })
		wg.Go(func() { present, hErr = c.Health(ctx) })
		if authed {
			wg.Go(func() { conv, convErr = c.OpenConversations(ctx) })
		}
		wg.Wait()
		switch {
		case apiErr != nil:
			res.Err = apiErr
			return res
		case hErr != nil:
			res.Err = hErr
			return res
		case c.o.Token == "":
			// The console's own variable: the app's secrets are another matter.
			res.Err = fmt.Errorf("%s is not set (health ok; authentication not checked)", c.o.TokenEnv)
			return res
		case c.o.AccountID == "":
			res.Err = fmt.Errorf("%s is not set (health ok; conversations not checked)", c.o.AccountEnv)
			return res
		case convErr != nil:
			res.Err = convErr
			if errors.As(convErr, new(authError)) {
				res.Facts = map[integrations.DiagnosisCondition]bool{integrations.WhenCredentialsRejected: true}
			}
			return res
		}
		parts := []string{"health ok"}
		if !present {
			parts[0] = "health ok (/api; no /health)"
		}
		parts = append(parts, "auth ok", fmt.Sprintf("%d open conversations", conv.All))
		if st.Version != "" {
			parts = append(parts, "v"+st.Version)
		}
		res.Detail = strings.Join(parts, ", ")
		return res
	})
}
