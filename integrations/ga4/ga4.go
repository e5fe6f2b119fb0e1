// Package ga4 checks the Google Analytics 4 Data API behind the HotDash
// app's traffic analytics: that the property can be read with the token,
// through the same 7-day sessions report the app runs.
//
// Access tokens last about an hour, so a token that comes from a file or a
// command is read again when the API answers 401; and the property's quota
// is shared with the app, so the probe runs every 5 minutes by default.
package ga4

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// DefaultBaseURL is the Data API root.
const DefaultBaseURL = "https://analyticsdata.googleapis.com/v1beta"

// ProbeInterval is how often the probe runs by default: the property's
// quota (tokens per hour, concurrent requests) is shared with the app.
const ProbeInterval = 5 * time.Minute

// TokenSource reads an access token afresh: a token file that a refresher
// keeps current, or a command such as `gcloud auth print-access-token`.
type TokenSource func(ctx context.Context) (string, error)

// Options configure a Client.
type Options struct {
	BaseURL    string // default DefaultBaseURL
	PropertyID string // the numeric GA4 property ID ("123456789")
	Token      string // OAuth access token, sent as "Authorization: Bearer <token>"
	// Source reads the token when Token is empty, and again whenever the
	// API answers 401: an expired token is replaced, never held all day.
	Source  TokenSource
	Timeout time.Duration
	// TokenEnv names the variable the token comes from (default
	// GA4_ACCESS_TOKEN), so that errors say what the operator must set.
	TokenEnv string
}

// Client is a GA4 Data API client. It is safe for concurrent use.
type Client struct {
	o    Options
	http *resty.Client

	mu    sync.Mutex
	token string // the token in use; read from Source when empty
}

// New returns a client.
func New(o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.TokenEnv == "" {
		o.TokenEnv = "GA4_ACCESS_TOKEN"
	}
	o.Token = strings.TrimSpace(o.Token)
	o.PropertyID = strings.TrimSpace(o.PropertyID)
	return &Client{o: o, http: httpc.New(o.BaseURL, o.Timeout), token: o.Token}
}

// currentToken is the token to send: the one in use, or a fresh one from
// the source.
func (c *Client) currentToken(ctx context.Context, fresh bool) (string, error) {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if c.o.Source == nil || (tok != "" && !fresh) {
		return tok, nil
	}
	tok, err := c.o.Source(ctx)
	if err != nil {
		return "", fmt.Errorf("GA4 token: %w", err)
	}
	tok = strings.TrimSpace(tok)
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return tok, nil
}

// Error is the Data API's error answer:
// {"error":{"code":N,"message":"...","status":"PERMISSION_DENIED"}}.
type Error struct {
	Code    int    // HTTP status, as the body repeats it
	Status  string // PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED, ...
	Message string // Google's explanation
	// Hint says what to check, when the status suggests it.
	Hint string
}

func (e *Error) Error() string { return integrations.Clip(e.text(), integrations.MaxText) }

func (e *Error) text() string {
	status := e.Status
	if status == "" {
		status = fmt.Sprintf("HTTP %d", e.Code)
	}
	msg := "GA4 Data API: " + status
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// CredentialsRejected reports whether the token is invalid or has no
// access to the property.
func (e *Error) CredentialsRejected() bool {
	return e.Status == "UNAUTHENTICATED" || e.Status == "PERMISSION_DENIED" ||
		e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden
}

// report is the request: sessions per day over the last 7 full days.
var report = map[string]any{
	"dateRanges": []map[string]string{{"startDate": "7daysAgo", "endDate": "yesterday"}},
	"dimensions": []map[string]string{{"name": "date"}},
	"metrics":    []map[string]string{{"name": "sessions"}},
}

// RunReport runs the 7-day sessions report (7daysAgo to yesterday, by
// date) and returns the sessions summed over its rows.
//
// A 401 with a token from a Source reads the token again and tries once
// more: tokens expire after about an hour.
func (c *Client) RunReport(ctx context.Context) (sessions int64, rows int, err error) {
	if err := c.configured(); err != nil {
		return 0, 0, err
	}
	token, err := c.currentToken(ctx, false)
	if err != nil {
		return 0, 0, err
	}
	if token == "" {
		return 0, 0, fmt.Errorf("%s is not set", c.o.TokenEnv)
	}
	path := "/properties/" + c.o.PropertyID + ":runReport"
	resp, err := c.post(ctx, path, token)
	if err == nil && resp.StatusCode() == http.StatusUnauthorized && c.o.Source != nil {
		fresh, ferr := c.currentToken(ctx, true)
		if ferr != nil {
			return 0, 0, ferr
		}
		if fresh != token {
			token = fresh
			resp, err = c.post(ctx, path, token)
		}
	}
	if err != nil || resp == nil {
		return 0, 0, httpc.Error("POST "+path, resp, err)
	}
	if !resp.IsSuccess() {
		return 0, 0, c.errorFrom(path, resp)
	}
	malformed := func(why string) error {
		return fmt.Errorf("GA4 runReport: malformed answer (%s): %s", why, c.redact(httpc.Snippet(resp.Body())))
	}
	var body struct {
		MetricHeaders []struct {
			Name string `json:"name"`
		} `json:"metricHeaders"`
		Rows []struct {
			MetricValues []struct {
				Value string `json:"value"`
			} `json:"metricValues"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(resp.Body(), &body); err != nil {
		return 0, 0, malformed("not a report")
	}
	col := 0 // the only metric asked for; the headers say where, when sent
	for i, h := range body.MetricHeaders {
		if h.Name == "sessions" {
			col = i
		}
	}
	for i, r := range body.Rows {
		if col >= len(r.MetricValues) {
			return 0, 0, malformed(fmt.Sprintf("row %d has no sessions value", i+1))
		}
		n, err := strconv.ParseInt(r.MetricValues[col].Value, 10, 64)
		if err != nil {
			return 0, 0, malformed(fmt.Sprintf("row %d sessions %q", i+1, integrations.Clip(r.MetricValues[col].Value, 40)))
		}
		sessions += n
	}
	// A property with no data in the range answers without "rows".
	return sessions, len(body.Rows), nil
}

// post sends the report request with token.
func (c *Client) post(ctx context.Context, path, token string) (*resty.Response, error) {
	req := c.http.R().SetContext(ctx).
		SetHeader("Authorization", "Bearer "+token).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json").
		SetBody(report)
	return httpc.Do(req, "POST", path)
}

// configured checks the options before any call.
func (c *Client) configured() error {
	id := c.o.PropertyID
	switch {
	case id == "":
		return errors.New("no GA4 property ID configured: set property_id under [ga4] in the console configuration (the numeric ID from Admin > Property settings)")
	case strings.HasPrefix(strings.ToUpper(id), "G-"):
		return fmt.Errorf("GA4 property ID %q is a measurement ID: use the numeric property ID from Admin > Property settings", id)
	case strings.Trim(id, "0123456789") != "":
		return fmt.Errorf("GA4 property ID %q is not numeric: use the numeric property ID from Admin > Property settings", id)
	case c.o.Token == "" && c.o.Source == nil:
		return fmt.Errorf("%s is not set", c.o.TokenEnv)
	}
	return nil
}

// errorFrom reads an error answer; a body that is not the API's error
// shape (a proxy's page) is quoted.
func (c *Client) errorFrom(path string, resp *resty.Response) error {
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.Body(), &body) != nil || (body.Error.Status == "" && body.Error.Message == "") {
		return &httpc.StatusError{What: "POST " + path, Code: resp.StatusCode(), Body: c.redact(httpc.Snippet(resp.Body()))}
	}
	e := &Error{Code: body.Error.Code, Status: body.Error.Status, Message: c.redact(integrations.Clip(body.Error.Message, 300))}
	if e.Code == 0 {
		e.Code = resp.StatusCode()
	}
	switch {
	case e.Status == "UNAUTHENTICATED" || e.Code == http.StatusUnauthorized:
		e.Hint = "check " + c.o.TokenEnv + ": access tokens expire after an hour"
		if c.o.Source != nil {
			e.Hint = "the token was read again and is still refused: check its source (token_file or token_command)"
		}
	case e.Status == "PERMISSION_DENIED" || e.Code == http.StatusForbidden:
		e.Hint = "check that the token's account can read property " + c.o.PropertyID
	case e.Status == "RESOURCE_EXHAUSTED" || e.Code == http.StatusTooManyRequests:
		e.Hint = "the property's quota is spent for now: try again later"
	}
	return e
}

// redact hides the tokens should an answer ever echo one.
func (c *Client) redact(s string) string {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	return httpc.Redact(s, tok, c.o.Token)
}

// Probe checks that the Data API answers the app's report for the
// property, every ProbeInterval by default. It leaves Source unknown:
// which source the app serves is what the app's own /api/analytics/traffic
// says.
func (c *Client) Probe() integrations.Paced {
	return integrations.WithInterval(integrations.ProbeFunc(func(ctx context.Context) (res integrations.ProbeResult) {
		start := time.Now()
		defer func() { res.Latency = time.Since(start) }()
		sessions, _, err := c.RunReport(ctx)
		if err != nil {
			res.Err = err
			var e *Error
			if errors.As(err, &e) && e.CredentialsRejected() {
				res.Facts = map[integrations.DiagnosisCondition]bool{integrations.WhenCredentialsRejected: true}
			}
			return res
		}
		res.Detail = fmt.Sprintf("runReport ok: %d sessions over 7 days", sessions)
		return res
	}), ProbeInterval)
}
