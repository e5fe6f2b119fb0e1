// Package publer checks the Publer API the HotDash app posts to social
// media through: that the API key and workspace are accepted together
// (GET /accounts), and how a scheduled job is doing.
//
// Publer allows 100 requests per 2-minute window per user, shared with the
// app itself, so the client never retries on its own (a 429 is reported at
// once, with when the window resets) and the probe runs every 2 minutes
// unless configured otherwise.
package publer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// DefaultBaseURL is Publer's API root.
const DefaultBaseURL = "https://app.publer.com/api/v1"

// ProbeInterval is how often the probe runs by default: one request per 2
// minutes is 1% of the window the key's user shares with the app.
const ProbeInterval = 2 * time.Minute

// Options configure a Client.
type Options struct {
	BaseURL     string // default DefaultBaseURL
	APIKey      string // sent as "Authorization: Bearer-API <key>"
	WorkspaceID string // sent as "Publer-Workspace-Id"
	Timeout     time.Duration
	// KeyEnv and WorkspaceEnv name the variables the key and workspace
	// come from (default PUBLER_API_KEY and PUBLER_WORKSPACE_ID), so that
	// errors say what the operator must set or check.
	KeyEnv       string
	WorkspaceEnv string
}

// Client is a Publer API client. It is safe for concurrent use.
type Client struct {
	o    Options
	http *resty.Client
}

// New returns a client. Surrounding white space is removed from the key
// and workspace ID: a pasted trailing newline would otherwise be rejected.
func New(o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.KeyEnv == "" {
		o.KeyEnv = "PUBLER_API_KEY"
	}
	if o.WorkspaceEnv == "" {
		o.WorkspaceEnv = "PUBLER_WORKSPACE_ID"
	}
	o.APIKey = strings.TrimSpace(o.APIKey)
	o.WorkspaceID = strings.TrimSpace(o.WorkspaceID)
	return &Client{o: o, http: httpc.New(o.BaseURL, o.Timeout)}
}

// Errors that an *Error matches with errors.Is.
var (
	ErrUnauthorized = errors.New("unauthorized") // 401: the API key was rejected
	ErrForbidden    = errors.New("forbidden")    // 403: a scope the key lacks, or a workspace it cannot use
	ErrRateLimited  = errors.New("rate limited") // 429: the 2-minute budget is spent
)

// Error is an error answer from Publer, readable by an operator.
type Error struct {
	Op       string   // the call: "GET /accounts"
	Status   int      // HTTP status
	Messages []string // Publer's own words: its "errors" list, or its "error"
	// Limit, Remaining and Reset are the rate-limit window from the
	// X-RateLimit-* headers; -1 and the zero time when not sent.
	Limit, Remaining int
	Reset            time.Time
	// Env is the variable the operator should check (the key's on 401 and
	// on a missing scope, the workspace's on a refused workspace), or "".
	Env string
}

// Why a 403 was given, as Publer's answer says it.
const (
	MissingScope   = "missing scope"
	WrongWorkspace = "wrong workspace"
)

// Forbidden says why a 403 was given: MissingScope when Publer names a
// scope the key lacks, WrongWorkspace when it names the workspace, "" when
// it says neither (or the answer was not a 403).
func (e *Error) Forbidden() string {
	if e.Status != http.StatusForbidden {
		return ""
	}
	said := strings.ToLower(strings.Join(e.Messages, " "))
	switch {
	case strings.Contains(said, "scope"):
		return MissingScope
	case strings.Contains(said, "workspace"):
		return WrongWorkspace
	}
	return ""
}

func (e *Error) Error() string { return integrations.Clip(e.text(), integrations.MaxText) }

func (e *Error) text() string {
	reason := strings.Join(e.Messages, "; ")
	if reason == "" {
		reason = http.StatusText(e.Status)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("Publer rejected the API key (401 %s): check %s", reason, e.Env)
	case http.StatusForbidden:
		switch e.Forbidden() {
		case MissingScope:
			return fmt.Sprintf("403 missing scope (%s): give the key in %s the scope in Publer's API settings", reason, e.Env)
		case WrongWorkspace:
			return fmt.Sprintf("403 wrong workspace (%s): check %s, and that the API key belongs to a member of that workspace", reason, e.Env)
		}
		return fmt.Sprintf("%s: 403 forbidden (%s): check %s and the key's scopes", e.Op, reason, e.Env)
	case http.StatusTooManyRequests:
		var window []string
		if e.Limit >= 0 && e.Remaining >= 0 {
			window = append(window, fmt.Sprintf("%d of %d left", e.Remaining, e.Limit))
		} else if e.Remaining >= 0 {
			window = append(window, fmt.Sprintf("%d left", e.Remaining))
		}
		if !e.Reset.IsZero() {
			window = append(window, "resets at "+e.Reset.Local().Format("15:04:05"))
		}
		if len(window) == 0 {
			window = append(window, reason+" (Publer allows 100 requests per 2 minutes)")
		}
		return fmt.Sprintf("%s: rate limited: %s", e.Op, strings.Join(window, ", "))
	}
	return fmt.Sprintf("%s: HTTP %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), reason)
}

// Is makes errors.Is(err, ErrUnauthorized), ErrForbidden and ErrRateLimited
// work on an *Error.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// get makes one authenticated GET. A 429 is not retried: the window is the
// whole budget, and the app shares it.
func (c *Client) get(ctx context.Context, path string) (*resty.Response, error) {
	switch {
	case c.o.APIKey == "":
		return nil, fmt.Errorf("%s is not set", c.o.KeyEnv)
	case c.o.WorkspaceID == "":
		return nil, fmt.Errorf("%s is not set", c.o.WorkspaceEnv)
	}
	op := "GET " + path
	req := c.http.R().SetContext(ctx).
		SetHeader("Authorization", "Bearer-API "+c.o.APIKey).
		SetHeader("Publer-Workspace-Id", c.o.WorkspaceID).
		SetHeader("Accept", "application/json")
	resp, err := httpc.Do(req, "GET", path)
	if err != nil || resp == nil {
		return nil, httpc.Error(op, resp, err)
	}
	if resp.IsSuccess() {
		return resp, nil
	}
	return nil, c.errorFrom(op, resp)
}

// maxMessages is how many of Publer's error messages an error quotes.
const maxMessages = 5

// errorFrom reads an error answer: {"errors":["..."]}, or {"error":"..."}
// on 429, or whatever else came (a proxy's page).
func (c *Client) errorFrom(op string, resp *resty.Response) *Error {
	e := &Error{Op: op, Status: resp.StatusCode(), Limit: -1, Remaining: -1}
	var body struct {
		Errors json.RawMessage `json:"errors"`
		Error  string          `json:"error"`
	}
	if json.Unmarshal(resp.Body(), &body) == nil {
		var list []string
		var one string
		switch {
		case json.Unmarshal(body.Errors, &list) == nil && len(list) > 0:
			e.Messages = list
		case json.Unmarshal(body.Errors, &one) == nil && one != "":
			e.Messages = []string{one}
		case body.Error != "":
			e.Messages = []string{body.Error}
		}
	}
	if e.Messages == nil {
		if s := httpc.Snippet(resp.Body()); s != "" {
			e.Messages = []string{s}
		}
	}
	if len(e.Messages) > maxMessages {
		e.Messages = append(e.Messages[:maxMessages], fmt.Sprintf("%d more", len(e.Messages)-maxMessages))
	}
	for i, m := range e.Messages {
		e.Messages[i] = c.redact(integrations.Clip(m, 300))
	}
	h := resp.Header()
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil {
		e.Limit = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining"))); err == nil {
		e.Remaining = n
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && n > 0 {
		e.Reset = time.Unix(n, 0)
	}
	switch {
	case e.Status == http.StatusUnauthorized, e.Forbidden() == MissingScope:
		e.Env = c.o.KeyEnv
	case e.Status == http.StatusForbidden:
		e.Env = c.o.WorkspaceEnv
	}
	return e
}

// redact hides the API key should an answer ever echo it.
func (c *Client) redact(s string) string { return httpc.Redact(s, c.o.APIKey) }

// Accounts reads GET /accounts: the social accounts of the workspace. It
// needs the key and the workspace to work together, which makes it the
// check of both; it returns how many accounts the workspace has.
func (c *Client) Accounts(ctx context.Context) (int, error) {
	resp, err := c.get(ctx, "/accounts")
	if err != nil {
		return 0, err
	}
	var accounts []json.RawMessage
	if err := json.Unmarshal(resp.Body(), &accounts); err != nil || accounts == nil {
		return 0, fmt.Errorf("GET /accounts: malformed answer: %s", c.redact(httpc.Snippet(resp.Body())))
	}
	return len(accounts), nil
}

// JobState is where a scheduled job stands.
type JobState int

// The job states. Publer's status words are not documented with certainty:
// "complete" and "completed" mean Done, "failed" means Failed, anything
// else means InProgress, and a non-empty failures map means Failed
// whatever the word.
const (
	InProgress JobState = iota
	Done
	Failed
)

func (s JobState) String() string {
	switch s {
	case Done:
		return "done"
	case Failed:
		return "failed"
	}
	return "in progress"
}

// JobStatus is GET /job_status/{job_id} read.
type JobStatus struct {
	Raw      string         // the status word as Publer sent it
	State    JobState       // what it means
	Failures map[string]any // payload.failures, when not empty
}

// JobStatus reads the status of the job Publer returned when a post was
// scheduled.
func (c *Client) JobStatus(ctx context.Context, jobID string) (JobStatus, error) {
	jobID = strings.TrimSpace(jobID)
	if jobID == "" {
		return JobStatus{}, errors.New("no Publer job ID given")
	}
	path := "/job_status/" + url.PathEscape(jobID)
	resp, err := c.get(ctx, path)
	if err != nil {
		return JobStatus{}, err
	}
	malformed := func() error {
		return fmt.Errorf("GET %s: malformed answer: %s", path, c.redact(httpc.Snippet(resp.Body())))
	}
	var body struct {
		Status  json.RawMessage `json:"status"`
		Payload struct {
			Failures json.RawMessage `json:"failures"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(resp.Body(), &body); err != nil {
		return JobStatus{}, malformed()
	}
	var st JobStatus
	if json.Unmarshal(body.Status, &st.Raw) != nil {
		return JobStatus{}, malformed() // no status, or not a word
	}
	failures, ok := readFailures(body.Payload.Failures)
	if !ok {
		return JobStatus{}, malformed()
	}
	switch strings.ToLower(strings.TrimSpace(st.Raw)) {
	case "complete", "completed":
		st.State = Done
	case "failed":
		st.State = Failed
	default:
		st.State = InProgress
	}
	st.Raw = integrations.Clip(st.Raw, 100) // read as sent, shown sanitised
	if len(failures) > 0 {
		st.State, st.Failures = Failed, failures
	}
	return st, nil
}

// readFailures reads payload.failures: a map (by account or network), and
// also an empty list or null, which mean none; a non-empty list is keyed
// by position.
func readFailures(raw json.RawMessage) (map[string]any, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		return m, true
	}
	var list []any
	if json.Unmarshal(raw, &list) == nil {
		if len(list) == 0 {
			return nil, true
		}
		m = make(map[string]any, len(list))
		for i, v := range list {
			m[strconv.Itoa(i)] = v
		}
		return m, true
	}
	return nil, false
}

// Probe checks that Publer accepts the API key with the workspace (GET
// /accounts), every ProbeInterval by default. It says nothing of which
// source the app uses: that is the app's job ID. A 401 is a rejected key;
// a 403 says whether a scope is missing or the workspace is refused.
func (c *Client) Probe() integrations.Paced {
	return integrations.WithInterval(integrations.ProbeFunc(func(ctx context.Context) (res integrations.ProbeResult) {
		start := time.Now()
		defer func() { res.Latency = time.Since(start) }()
		n, err := c.Accounts(ctx)
		if err != nil {
			res.Err = err
			if errors.Is(err, ErrUnauthorized) {
				res.Facts = map[integrations.DiagnosisCondition]bool{integrations.WhenCredentialsRejected: true}
			}
			return res
		}
		res.Detail = fmt.Sprintf("key and workspace ok (%s, %d accounts)", abbrev(c.o.WorkspaceID), n)
		return res
	}), ProbeInterval)
}

// abbrev is the first four characters of an identifier and an ellipsis.
func abbrev(s string) string {
	r := []rune(s)
	if len(r) > 4 {
		r = r[:4]
	}
	return string(r) + "…"
}
