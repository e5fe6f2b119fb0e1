// Package ga4 checks the Google Analytics 4 Data API behind the HotDash
// app's traffic analytics: that the property can be read with the token,
// through the same 7-day sessions report the app runs.
package ga4

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// DefaultBaseURL is the Data API root.
const DefaultBaseURL = "https://analyticsdata.googleapis.com/v1beta"

// Options configure a Client.
type Options struct {
	BaseURL    string // default DefaultBaseURL
	PropertyID string // the numeric GA4 property ID ("123456789")
	Token      string // OAuth access token, sent as "Authorization: Bearer <token>"
	Timeout    time.Duration
	// TokenEnv names the variable the token comes from (default
	// GA4_ACCESS_TOKEN), so that errors say what the operator must set.
	TokenEnv string
}

// Client is a GA4 Data API client. It is safe for concurrent use.
type Client struct {
	o    Options
	http *resty.Client
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
	return &Client{o: o, http: httpc.New(o.BaseURL, o.Timeout)}
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
func (c *Client) RunReport(ctx context.Context) (sessions int64, rows int, err error) {
	if err := c.configured(); err != nil {
		return 0, 0, err
	}
	path := "/properties/" + c.o.PropertyID + ":runReport"
	req := c.http.R().SetContext(ctx).
		SetHeader("Authorization", "Bearer "+c.o.Token).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json").
		SetBody(report)
	resp, err := httpc.Do(req, "POST", path)
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
	case c.o.Token == "":
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
	case e.Status == "PERMISSION_DENIED" || e.Code == http.StatusForbidden:
		e.Hint = "check that the token's account can read property " + c.o.PropertyID
	case e.Status == "RESOURCE_EXHAUSTED" || e.Code == http.StatusTooManyRequests:
		e.Hint = "the property's quota is spent for now: try again later"
	}
	return e
}

// redact hides the token should an answer ever echo it.
func (c *Client) redact(s string) string { return httpc.Redact(s, c.o.Token) }

// Probe checks that the Data API answers the app's report for the
// property. It leaves Source unknown: which source the app serves is what
// the app's own /api/analytics/traffic says.
func (c *Client) Probe() integrations.Probe {
	return integrations.ProbeFunc(func(ctx context.Context) (res integrations.ProbeResult) {
		start := time.Now()
		defer func() { res.Latency = time.Since(start) }()
		sessions, _, err := c.RunReport(ctx)
		if err != nil {
			res.Err = err
			var e *Error
			if errors.As(err, &e) && e.CredentialsRejected() {
				res.Facts = map[integrations.DiagnosisCondition]bool{integrations.WhenCredentialsMissing: true}
			}
			return res
		}
		res.Detail = fmt.Sprintf("runReport ok: %d sessions over 7 days", sessions)
		return res
	})
}
