// Package hotdash talks to the HotDash app's own endpoints: the calls the
// guide makes with curl to see which source each integration uses.
package hotdash

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// Client calls one HotDash app (https://hotdash-app.fly.dev).
type Client struct {
	http *resty.Client
}

// New returns a client for the app at baseURL.
func New(baseURL string, timeout time.Duration) *Client {
	return &Client{http: httpc.New(baseURL, timeout)}
}

// Answer is a decoded JSON answer from the app.
type Answer map[string]any

// Field reads a dotted path ("status.status") as a string; numbers and
// booleans are formatted, anything else is "".
func (a Answer) Field(path string) (string, bool) {
	var cur any = map[string]any(a)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[k]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case bool, float64:
		return fmt.Sprint(v), true
	}
	return "", false
}

// Warning collects the app's warning or warnings fields.
func (a Answer) Warning() string {
	if w, ok := a["warning"].(string); ok {
		return w
	}
	if ws, ok := a["warnings"].([]any); ok {
		var parts []string
		for _, w := range ws {
			if s, ok := w.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// Call makes one request and decodes the JSON object it answers.
func (c *Client) Call(ctx context.Context, method, path string, body any) (Answer, error) {
	req := c.http.R().SetContext(ctx).SetHeader("Accept", "application/json")
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	what := method + " " + path
	resp, err := httpc.Do(req, method, path)
	if err := httpc.Error(what, resp, err); err != nil {
		return nil, err
	}
	var a Answer
	if err := json.Unmarshal(resp.Body(), &a); err != nil {
		return nil, fmt.Errorf("%s: malformed answer (not a JSON object): %s", what, httpc.Snippet(resp.Body()))
	}
	return a, nil
}

// Source makes the call a source spec names and reads which source the
// app reports.
func (c *Client) Source(ctx context.Context, spec *integrations.SourceSpec) integrations.ProbeResult {
	start := time.Now()
	var body any
	if spec.Body != "" {
		body = json.RawMessage(spec.Body)
	}
	a, err := c.Call(ctx, spec.Method, spec.Path, body)
	res := integrations.ProbeResult{Latency: time.Since(start), AppStatus: http.StatusOK}
	if err != nil {
		// The app's own status, when it answered one: a 5xx is its error.
		res.Err, res.AppStatus = err, httpc.StatusCode(err)
		return res
	}
	res.Warning = integrations.Clip(a.Warning(), integrations.MaxText)
	if ok, present := a["success"].(bool); present && !ok {
		res.Err = fmt.Errorf("%s %s: success=false", spec.Method, spec.Path)
	}
	if ok, present := a["ok"].(bool); present && !ok {
		res.Err = fmt.Errorf("%s %s: ok=false", spec.Method, spec.Path)
	}
	v, ok := a.Field(spec.Field)
	if !ok {
		res.Err = fmt.Errorf("%s %s: the answer has no %q field", spec.Method, spec.Path, spec.Field)
		return res
	}
	res.Source = spec.Classify(v) // the answer as sent: sanitising must not make a match
	res.Answer = integrations.Clip(v, integrations.MaxText)
	res.Detail = fmt.Sprintf("%s = %q", spec.Field, res.Answer)
	if res.Source == integrations.SourceUnknown {
		res.Detail += " (neither live nor mock)"
	}
	res.Facts = factsFromWarning(res.Warning)
	return res
}

// factsFromWarning reads the app's fallback warning for facts the runbook
// can explain: the app says why it fell back. The console's own facts (its
// migration check, the secrets list) take precedence when it has them.
func factsFromWarning(w string) map[integrations.DiagnosisCondition]bool {
	if w == "" {
		return nil
	}
	l := strings.ToLower(w)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(l, w) {
				return true
			}
		}
		return false
	}
	f := map[integrations.DiagnosisCondition]bool{}
	if has("migration") || has("table") && has("missing", "does not exist") {
		f[integrations.WhenMigrationMissing] = true
	}
	switch {
	case has("rejected", "invalid api key", "unauthorized", "401"):
		f[integrations.WhenCredentialsRejected] = true
	case has("credential", "key") && has("missing", "not set"):
		f[integrations.WhenCredentialsMissing] = true
	}
	return f
}

// SourceProbe is the probe for an integration with an http source.
func (c *Client) SourceProbe(spec integrations.SourceSpec) integrations.Probe {
	return integrations.ProbeFunc(func(ctx context.Context) integrations.ProbeResult {
		return c.Source(ctx, &spec)
	})
}

// Post schedules a post the way the guide's curl does:
// POST /api/social/post {"text","accountIds"} -> {"ok":true,"jobId":"..."}.
func (c *Client) Post(ctx context.Context, text string, accountIDs []string) (string, Answer, error) {
	a, err := c.Call(ctx, "POST", "/api/social/post", map[string]any{"text": text, "accountIds": accountIDs})
	if err != nil {
		return "", nil, err
	}
	id, ok := a.Field("jobId")
	if !ok || id == "" {
		return "", a, fmt.Errorf("POST /api/social/post: the answer has no jobId")
	}
	return id, a, nil
}

// JobStatus reads GET /api/social/status/<jobId> -> {"ok":true,"status":{"status":"complete"}}.
// The job ID is the app's own answer: it is escaped into the path, and the
// status is sanitised.
func (c *Client) JobStatus(ctx context.Context, jobID string) (string, Answer, error) {
	path := "/api/social/status/" + url.PathEscape(jobID)
	a, err := c.Call(ctx, "GET", path, nil)
	if err != nil {
		return "", nil, err
	}
	st, ok := a.Field("status.status")
	if !ok {
		return "", a, fmt.Errorf("GET %s: the answer has no status.status", integrations.Clip(path, integrations.MaxText))
	}
	return integrations.Clip(st, integrations.MaxText), a, nil
}
