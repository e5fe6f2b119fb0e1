package fly

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// MachinesOptions configure a Machines platform. A zero field takes the
// default its comment gives.
type MachinesOptions struct {
	// BaseURL is the Machines API, default "https://api.machines.dev/v1".
	BaseURL string
	// LogsURL serves the app's logs, default "https://api.fly.io".
	LogsURL string
	// Token is the Fly access token. One starting "FlyV1 " is sent as
	// is, any other as a Bearer token. It never appears in an error.
	Token string
	// Timeout bounds each request, default 15s.
	Timeout time.Duration
	// Retries is how often a 429, a 5xx or a connection failure is
	// retried: default 4, negative for never. The waits grow
	// exponentially from BaseBackoff (default 500ms), with jitter.
	Retries     int
	BaseBackoff time.Duration
	// PerMachineInterval is the rate budget: at most one request per
	// interval for each action on each machine, default 1s (the API
	// allows about one a second). It also paces the state polls while a
	// machine is updated or restarted.
	PerMachineInterval time.Duration
	// MachineWait is how long one machine may take to settle during an
	// apply, default 2m.
	MachineWait time.Duration
	// PollInterval is the wait between two log polls, default 1s.
	PollInterval time.Duration
	// Now is the clock of the rate budget and of the machine deadline,
	// default time.Now.
	Now func() time.Time
}

// withDefaults fills every zero field.
func (o MachinesOptions) withDefaults() MachinesOptions {
	if o.BaseURL == "" {
		o.BaseURL = "https://api.machines.dev/v1"
	}
	if o.LogsURL == "" {
		o.LogsURL = "https://api.fly.io"
	}
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	dur(&o.Timeout, 15*time.Second)
	dur(&o.BaseBackoff, 500*time.Millisecond)
	dur(&o.PerMachineInterval, time.Second)
	dur(&o.MachineWait, 2*time.Minute)
	dur(&o.PollInterval, time.Second)
	switch {
	case o.Retries == 0:
		o.Retries = 4
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Machines is Fly.io through its Machines API: secrets are written with
// one call, then reach the machines when each is updated with the new
// secrets version (deploy) or restarted. It is safe for concurrent use.
type Machines struct {
	o      MachinesOptions
	api    *resty.Client
	logs   *resty.Client
	prefix string // the path of BaseURL ("/v1"), shown in calls
	budget *callBudget

	mu       sync.Mutex
	versions map[string]int64 // app -> secrets version of the last write
}

var _ integrations.Platform = (*Machines)(nil)

// NewMachines returns the Machines API platform.
func NewMachines(o MachinesOptions) *Machines {
	o = o.withDefaults()
	prefix := ""
	if u, err := url.Parse(o.BaseURL); err == nil {
		prefix = strings.TrimRight(u.Path, "/")
	}
	return &Machines{
		o:        o,
		api:      httpc.New(o.BaseURL, o.Timeout),
		logs:     httpc.New(o.LogsURL, o.Timeout),
		prefix:   prefix,
		budget:   &callBudget{interval: o.PerMachineInterval, now: o.Now, next: map[string]time.Time{}},
		versions: map[string]int64{},
	}
}

// Name is "machines".
func (m *Machines) Name() string { return "machines" }

// machinesAuthHeader is the Authorization value for token: macaroon
// tokens ("FlyV1 ...") as they are, anything else as a Bearer token.
func machinesAuthHeader(token string) string {
	if strings.HasPrefix(token, "FlyV1 ") {
		return token
	}
	return "Bearer " + token
}

// Secrets lists the app's secrets. The API says nothing about whether a
// secret is on the machines yet, so Status is always SecretNoStatus.
func (m *Machines) Secrets(ctx context.Context, app string) ([]integrations.Secret, error) {
	var answer apiSecrets
	c := apiCall{method: http.MethodGet, path: machinesPath(app, "secrets"), app: app}
	if err := m.call(ctx, c, &answer); err != nil {
		return nil, err
	}
	return answer.model(), nil
}

// SetSecrets writes values in one call. Without stage it then deploys
// them to every machine, as `fly secrets set` does.
func (m *Machines) SetSecrets(ctx context.Context, app string, values map[string]string, stage bool, progress integrations.Progress) error {
	body := make(map[string]*string, len(values))
	for name, v := range values {
		body[name] = &v
	}
	return m.writeSecrets(ctx, app, body, stage, progress)
}

// UnsetSecrets deletes names (a null value deletes); a missing name is not
// an error. Without stage it then deploys, as `fly secrets unset` does.
func (m *Machines) UnsetSecrets(ctx context.Context, app string, names []string, stage bool, progress integrations.Progress) error {
	body := make(map[string]*string, len(names))
	for _, name := range names {
		body[name] = nil
	}
	return m.writeSecrets(ctx, app, body, stage, progress)
}

// writeSecrets posts values (nil deletes) and remembers the secrets
// version the API answers with: a deploy asks the machines for it.
func (m *Machines) writeSecrets(ctx context.Context, app string, values map[string]*string, stage bool, progress integrations.Progress) error {
	var answer apiSecrets
	c := apiCall{
		method: http.MethodPost, path: machinesPath(app, "secrets"), app: app,
		body: map[string]any{"values": values},
	}
	if err := m.call(ctx, c, &answer); err != nil {
		return err
	}
	m.rememberVersion(app, answer.Version)
	if stage {
		return nil
	}
	return m.Apply(ctx, app, integrations.ApplyDeploy, progress)
}

// rememberVersion keeps the secrets version of app's last write; an
// answer without one forgets the older one, which would be stale.
func (m *Machines) rememberVersion(app string, version *int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if version == nil {
		delete(m.versions, app)
		return
	}
	m.versions[app] = *version
}

// secretsVersion is the version remembered for app, if any.
func (m *Machines) secretsVersion(app string) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.versions[app]
	return v, ok
}

// Apply takes the machines one at a time. A deploy updates each with its
// current config and the secrets version of the last write; a restart
// restarts each started machine. It waits for each machine to settle and
// stops at the first one that does not.
func (m *Machines) Apply(ctx context.Context, app string, mode integrations.ApplyMode, progress integrations.Progress) error {
	if progress == nil {
		progress = func(integrations.MachineEvent) {}
	}
	list, err := m.listMachines(ctx, app)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("%s: app %q has no machines: the secrets are stored, but nothing runs them", mode, app)
	}
	version, known := m.secretsVersion(app)
	for i, mc := range list {
		var step machineStep
		if mode == integrations.ApplyRestart {
			step = restartStep(app, mc)
		} else {
			step = updateStep(app, mc, version, known)
		}
		if err := m.runStep(ctx, app, mc, step, progress); err != nil {
			return fmt.Errorf("%s stopped at machine %d of %d: %w", mode, i+1, len(list), err)
		}
	}
	return nil
}

// machineStep is what an apply does to one machine.
type machineStep struct {
	skip        string // why the machine is left alone, when it is
	state       string // the state reported when the step begins
	begin       string // "Updating machine 3d8d"
	done        string // "Machine 3d8d updated successfully!"
	call        apiCall
	expectStart bool // the machine must end started
}

// updateStep updates the machine with its own config and the secrets
// version. A machine that is not running is updated without being started
// (skip_launch): it takes the new secrets when it next starts.
func updateStep(app string, mc apiMachine, version int64, known bool) machineStep {
	body := apiUpdate{Config: mc.Config}
	begin := "Updating machine " + mc.ID
	if known {
		body.MinSecretsVersion = &version
	} else {
		begin += " (secrets version unknown to the console: updating without min_secrets_version)"
	}
	done := "Machine " + mc.ID + " updated successfully!"
	idle := mc.idle()
	if idle {
		body.SkipLaunch = true
		done = fmt.Sprintf("Machine %s updated successfully! (%s: it takes the new secrets when it next starts)", mc.ID, mc.State)
	}
	return machineStep{
		state: "updating", begin: begin, done: done, expectStart: !idle,
		call: apiCall{
			method: http.MethodPost, path: machinesPath(app, "machines", mc.ID), app: app,
			action: "update", machine: mc.ID, body: body,
		},
	}
}

// restartStep restarts a started machine; the others are left alone, as
// `fly apps restart` does.
func restartStep(app string, mc apiMachine) machineStep {
	s := machineStep{
		state: "restarting", begin: "Restarting machine " + mc.ID,
		done: "Machine " + mc.ID + " restarted successfully!", expectStart: true,
		call: apiCall{
			method: http.MethodPost, path: machinesPath(app, "machines", mc.ID, "restart"), app: app,
			action: "restart", machine: mc.ID,
		},
	}
	if mc.State != "started" {
		s.skip = fmt.Sprintf("Machine %s is %s: not restarted", mc.ID, mc.State)
	}
	return s
}

// runStep makes the step's call, then waits for the machine to settle,
// reporting the beginning and the end.
func (m *Machines) runStep(ctx context.Context, app string, mc apiMachine, s machineStep, progress integrations.Progress) error {
	if s.skip != "" {
		progress(integrations.MachineEvent{Machine: mc.ID, State: mc.State, Message: s.skip, Done: true})
		return nil
	}
	progress(integrations.MachineEvent{Machine: mc.ID, State: s.state, Message: s.begin})
	state, err := s.state, m.call(ctx, s.call, nil)
	if err != nil {
		err = fmt.Errorf("machine %s: %w", mc.label(), err)
	} else {
		state, err = m.waitSettled(ctx, app, mc, s.state, s.expectStart)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("machine %s was left %s: the console stopped watching (%w); Fly finishes what it started", mc.label(), state, ctx.Err())
		}
		progress(integrations.MachineEvent{Machine: mc.ID, State: state, Message: err.Error(), Err: err, Done: true})
		return err
	}
	progress(integrations.MachineEvent{Machine: mc.ID, State: state, Message: s.done, Done: true})
	return nil
}

// waitSettled polls the machine, within the rate budget, until it is
// started (or, when it need not start, stopped or suspended), failed, or
// past MachineWait. It returns the last state seen, state until a poll
// answers.
func (m *Machines) waitSettled(ctx context.Context, app string, mc apiMachine, state string, expectStart bool) (string, error) {
	deadline := m.o.Now().Add(m.o.MachineWait)
	c := apiCall{method: http.MethodGet, path: machinesPath(app, "machines", mc.ID), app: app, action: "get", machine: mc.ID}
	for {
		var cur apiMachine
		if err := m.call(ctx, c, &cur); err != nil {
			return state, fmt.Errorf("machine %s: %w", mc.label(), err)
		}
		state = cur.State
		switch {
		case state == "started":
			return state, nil
		case state == "failed" || state == "destroying" || state == "destroyed":
			return state, fmt.Errorf("machine %s %s%s", mc.label(), state, cur.checkTrouble())
		case cur.idle() && !expectStart:
			return state, nil
		case state == "stopped" || state == "suspended":
			return state, fmt.Errorf("machine %s is %s, not started%s", mc.label(), state, cur.checkTrouble())
		}
		if !m.o.Now().Before(deadline) {
			return state, fmt.Errorf("machine %s is still %s after %s", mc.label(), state, m.o.MachineWait)
		}
	}
}

// Machines lists the app's machines.
func (m *Machines) Machines(ctx context.Context, app string) ([]integrations.Machine, error) {
	list, err := m.listMachines(ctx, app)
	if err != nil {
		return nil, err
	}
	out := make([]integrations.Machine, len(list))
	for i, mc := range list {
		out[i] = mc.model()
	}
	return out, nil
}

// listMachines reads the machines with their configs as the API sent them.
func (m *Machines) listMachines(ctx context.Context, app string) ([]apiMachine, error) {
	var list []apiMachine
	c := apiCall{method: http.MethodGet, path: machinesPath(app, "machines"), app: app}
	if err := m.call(ctx, c, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// StreamLogs polls the logs API every PollInterval, following next_token,
// and hands each non-empty batch to sink. It returns nil when ctx ends
// and the error when a poll still fails after its retries.
func (m *Machines) StreamLogs(ctx context.Context, app string, sink func([]integrations.LogLine)) error {
	var token string
	var lines []integrations.LogLine
	for {
		c := apiCall{method: http.MethodGet, path: "/api/v1" + machinesPath(app, "logs"), app: app, logs: true}
		if token != "" {
			c.query = url.Values{"next_token": {token}}
		}
		var page apiLogPage
		err := m.call(ctx, c, &page)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if lines = page.appendLines(lines[:0]); len(lines) > 0 {
			sink(lines)
		}
		if page.Meta.NextToken != "" {
			token = page.Meta.NextToken
		}
		if httpc.Sleep(ctx, m.o.PollInterval) != nil {
			return nil
		}
	}
}

// Describe renders a write as the API calls it makes, secret values
// masked unless op.Plain names them.
func (m *Machines) Describe(op integrations.Op) []string {
	switch op.Kind {
	case integrations.OpSet:
		values := make(map[string]*string, len(op.Values))
		for name, v := range op.Values {
			if !op.Plain[name] {
				v = integrations.Mask
			}
			values[name] = &v
		}
		return m.describeWrite(op, values)
	case integrations.OpUnset:
		values := make(map[string]*string, len(op.Names))
		for _, name := range op.Names {
			values[name] = nil
		}
		return m.describeWrite(op, values)
	case integrations.OpApply:
		version := ""
		if v, ok := m.secretsVersion(op.App); ok {
			version = fmt.Sprint(v)
		}
		return []string{m.describeApply(op.App, op.Mode, version)}
	}
	return nil
}

// describeWrite is the secrets call, then the deploy unless staged.
func (m *Machines) describeWrite(op integrations.Op, values map[string]*string) []string {
	body, _ := encodeBody(map[string]any{"values": values})
	out := []string{fmt.Sprintf("POST %s%s %s", m.prefix, machinesPath(op.App, "secrets"), body)}
	if !op.Stage {
		out = append(out, m.describeApply(op.App, integrations.ApplyDeploy, "N"))
	}
	return out
}

// describeApply is the per-machine call; version is the secrets version
// the update asks for ("" when the console does not know it).
func (m *Machines) describeApply(app string, mode integrations.ApplyMode, version string) string {
	path := m.prefix + machinesPath(app, "machines") + "/{id}"
	if mode == integrations.ApplyRestart {
		return "POST " + path + "/restart (each machine in turn)"
	}
	body := `{"config":…}`
	if version != "" {
		body = `{"config":…,"min_secrets_version":` + version + `}`
	}
	return "POST " + path + " " + body + " (each machine in turn)"
}

// machinesPath is /apps/{app}/parts..., each segment escaped.
func machinesPath(app string, parts ...string) string {
	var b strings.Builder
	b.WriteString("/apps/")
	b.WriteString(url.PathEscape(app))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

// apiCall is one request to the Machines API or the logs API.
type apiCall struct {
	method string
	path   string // under BaseURL, or LogsURL when logs is set
	query  url.Values
	body   any
	logs   bool
	app    string // named when it is not found
	// action and machine key the rate budget: "restart" on machine 3d8d.
	action  string
	machine string
}

// what is the call as an operator reads it: "GET /v1/apps/hotdash-app/secrets".
func (c apiCall) what(prefix string) string {
	if c.logs {
		return c.method + " " + c.path
	}
	return c.method + " " + prefix + c.path
}

// budgetKey is the rate-budget key, "" for calls outside the budget.
func (c apiCall) budgetKey() string {
	if c.machine == "" {
		return ""
	}
	return c.action + " " + c.app + "/" + c.machine
}

// call makes c within the rate budget, retrying 429, 5xx and connection
// failures with backoff, and decodes a successful answer into out.
func (m *Machines) call(ctx context.Context, c apiCall, out any) error {
	body, err := encodeBody(c.body)
	if err != nil {
		return m.apiError(c, 0, "cannot encode the request: "+err.Error(), err, 1)
	}
	backoff := m.o.BaseBackoff
	for try := 1; ; try++ {
		if err := httpc.Sleep(ctx, m.budget.reserve(c.budgetKey())); err != nil {
			return m.apiError(c, 0, httpc.Reason(err), err, try-1)
		}
		resp, err := m.send(ctx, c, body)
		if fail := m.check(c, resp, err, try); fail != nil {
			if !fail.retryable() || try > m.o.Retries || ctx.Err() != nil {
				return fail
			}
			if httpc.Sleep(ctx, httpc.Jitter(backoff)) != nil {
				return fail
			}
			backoff *= 2
			continue
		}
		if out != nil {
			if err := json.Unmarshal(resp.Body(), out); err != nil {
				return m.apiError(c, 0, "malformed answer: "+httpc.Snippet(resp.Body()), err, try)
			}
		}
		return nil
	}
}

// send makes one request.
func (m *Machines) send(ctx context.Context, c apiCall, body []byte) (*resty.Response, error) {
	client := m.api
	if c.logs {
		client = m.logs
	}
	req := client.R().SetContext(ctx).SetHeader("Accept", "application/json")
	if m.o.Token != "" {
		req.SetHeader("Authorization", machinesAuthHeader(m.o.Token))
	}
	if c.query != nil {
		req.SetQueryParamsFromValues(c.query)
	}
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	return req.Execute(c.method, c.path)
}

// check turns a failed request or a non-2xx answer into an apiError.
func (m *Machines) check(c apiCall, resp *resty.Response, err error, try int) *apiError {
	switch {
	case err != nil:
		return m.apiError(c, 0, httpc.Reason(err), err, try)
	case resp == nil:
		return m.apiError(c, 0, "no answer", nil, try)
	case resp.IsSuccess():
		return nil
	}
	return m.apiError(c, resp.StatusCode(), apiErrorText(resp.Body()), nil, try)
}

// apiError builds the error for c, the token scrubbed from its text.
func (m *Machines) apiError(c apiCall, code int, message string, cause error, tries int) *apiError {
	service := "Fly Machines API"
	if c.logs {
		service = "Fly logs API"
	}
	return &apiError{
		service: service, call: c.what(m.prefix), app: c.app, machine: c.machine,
		code: code, message: m.redact(message), cause: cause, tries: tries,
	}
}

// redact masks the token wherever it appears in s.
func (m *Machines) redact(s string) string {
	return httpc.Redact(s, m.o.Token, strings.TrimPrefix(m.o.Token, "FlyV1 "))
}

// apiErrorText is the API's {"error":"..."}, or the start of the body.
func apiErrorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return integrations.Sanitize([]byte(e.Error))
	}
	return httpc.Snippet([]byte(integrations.Sanitize(body)))
}

// apiError is a call that failed, in words an operator can act on.
type apiError struct {
	service string // "Fly Machines API"
	call    string // "GET /v1/apps/hotdash-app/secrets"
	app     string
	machine string
	code    int    // the HTTP status; 0 when no usable answer came
	message string // the API's error text, or why no answer came
	cause   error
	tries   int
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.service + ": ")
	switch {
	case e.code == http.StatusUnauthorized:
		b.WriteString("401 unauthorized")
		if e.message != "" && !strings.EqualFold(e.message, "unauthorized") {
			b.WriteString(": " + e.message)
		}
		b.WriteString(": check FLY_ACCESS_TOKEN")
		return b.String()
	case e.appNotFound():
		fmt.Fprintf(&b, "app %q not found: check the app name", e.app)
		return b.String()
	}
	b.WriteString(e.call + ": ")
	if e.code != 0 {
		fmt.Fprintf(&b, "%d %s", e.code, strings.ToLower(http.StatusText(e.code)))
		if e.message != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.message)
	if e.tries > 1 {
		fmt.Fprintf(&b, " (after %d tries)", e.tries)
	}
	return b.String()
}

// Unwrap is integrations.ErrNotFound for an unknown app, else the cause.
func (e *apiError) Unwrap() error {
	if e.appNotFound() {
		return integrations.ErrNotFound
	}
	return e.cause
}

// appNotFound reports a 404 about the app rather than one of its machines.
func (e *apiError) appNotFound() bool {
	return e.code == http.StatusNotFound &&
		(e.machine == "" || strings.Contains(strings.ToLower(e.message), "app not found"))
}

// retryable reports whether trying again may help: 429, 5xx, or no answer.
func (e *apiError) retryable() bool {
	if e.code == 0 {
		return e.cause != nil
	}
	return e.code == http.StatusTooManyRequests || e.code >= 500
}

// encodeBody is v as compact JSON, HTML characters left alone so a
// config passes through as it came; nil for no body.
func encodeBody(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// callBudget spaces the calls for each (action, machine) pair: the API
// allows about one a second and answers 429 beyond a small burst.
type callBudget struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	next map[string]time.Time // key -> when its next call may go
}

// reserve books key's next slot and returns how long to wait for it.
func (b *callBudget) reserve(key string) time.Duration {
	if key == "" {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.next) > 256 {
		for k, at := range b.next {
			if at.Before(now) {
				delete(b.next, k)
			}
		}
	}
	at := b.next[key]
	if at.Before(now) {
		at = now
	}
	b.next[key] = at.Add(b.interval)
	return at.Sub(now)
}

// apiSecrets is the answer of GET and POST /apps/{app}/secrets.
type apiSecrets struct {
	Secrets []apiSecret `json:"secrets"`
	Version *int64      `json:"version"` // only on writes
}

// apiSecret is one listed secret: never its value.
type apiSecret struct {
	Name      string `json:"name"`
	Digest    string `json:"digest"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// model is the secrets sorted by name, without a status.
func (a apiSecrets) model() []integrations.Secret {
	out := make([]integrations.Secret, 0, len(a.Secrets))
	for _, s := range a.Secrets {
		created, _ := time.Parse(time.RFC3339Nano, s.CreatedAt)
		out = append(out, integrations.Secret{
			Name: s.Name, Digest: s.Digest, Status: integrations.SecretNoStatus, Created: created,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// apiUpdate is the body of POST /apps/{app}/machines/{id}.
type apiUpdate struct {
	Config            json.RawMessage `json:"config"`
	MinSecretsVersion *int64          `json:"min_secrets_version,omitempty"`
	SkipLaunch        bool            `json:"skip_launch,omitempty"`
}

// apiMachine is a machine as the API lists it; Config is kept as sent, to
// be passed back unchanged on update.
type apiMachine struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	State  string          `json:"state"`
	Region string          `json:"region"`
	Config json.RawMessage `json:"config"`
	Checks []apiCheck      `json:"checks"`
}

// apiCheck is one health check's last result.
type apiCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "passing", "warning", "critical"
	Output string `json:"output"`
}

// idle reports whether the machine is not running and not about to.
func (mc apiMachine) idle() bool {
	switch mc.State {
	case "stopped", "suspended", "created":
		return true
	}
	return false
}

// model is the machine as the console shows it.
func (mc apiMachine) model() integrations.Machine {
	return integrations.Machine{
		ID: mc.ID, Name: mc.Name, State: mc.State, Region: mc.Region,
		Version: mc.releaseVersion(), Checks: mc.checksSummary(),
	}
}

// releaseVersion is config.metadata.fly_release_version as "v12", or "".
func (mc apiMachine) releaseVersion() string {
	var cfg struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	if json.Unmarshal(mc.Config, &cfg) != nil {
		return ""
	}
	raw, ok := cfg.Metadata["fly_release_version"]
	if !ok {
		return ""
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return ""
		}
		v = n.String()
	}
	if v == "" || strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

// checksSummary is "1/2 passing", or "" for a machine without checks.
func (mc apiMachine) checksSummary() string {
	if len(mc.Checks) == 0 {
		return ""
	}
	passing := 0
	for _, c := range mc.Checks {
		if c.Status == "passing" {
			passing++
		}
	}
	return fmt.Sprintf("%d/%d passing", passing, len(mc.Checks))
}

// checkTrouble is ": health check NAME STATUS: OUTPUT" for the first check
// that is not passing, or "".
func (mc apiMachine) checkTrouble() string {
	for _, c := range mc.Checks {
		if c.Status == "passing" {
			continue
		}
		s := fmt.Sprintf(": health check %s %s", c.Name, c.Status)
		if out := httpc.Snippet([]byte(integrations.Sanitize([]byte(c.Output)))); out != "" {
			s += ": " + out
		}
		return s
	}
	return ""
}

// label is the machine as errors name it: "3d8d (iad)".
func (mc apiMachine) label() string {
	if mc.Region == "" {
		return mc.ID
	}
	return mc.ID + " (" + mc.Region + ")"
}

// apiLogPage is one answer of GET /api/v1/apps/{app}/logs.
type apiLogPage struct {
	Data []struct {
		ID         string `json:"id"`
		Attributes struct {
			Timestamp string          `json:"timestamp"`
			Message   string          `json:"message"`
			Level     string          `json:"level"`
			Instance  string          `json:"instance"`
			Region    string          `json:"region"`
			Meta      json.RawMessage `json:"meta"`
		} `json:"attributes"`
	} `json:"data"`
	Meta struct {
		NextToken string `json:"next_token"`
	} `json:"meta"`
}

// appendLines appends the page's entries to dst as log lines.
func (p *apiLogPage) appendLines(dst []integrations.LogLine) []integrations.LogLine {
	for _, d := range p.Data {
		a := d.Attributes
		t, _ := time.Parse(time.RFC3339Nano, a.Timestamp)
		dst = append(dst, integrations.LogLine{
			Time:     t,
			Level:    integrations.ParseLevel(a.Level),
			Instance: a.Instance,
			Region:   a.Region,
			Message:  integrations.Sanitize([]byte(a.Message)),
		})
	}
	return dst
}
