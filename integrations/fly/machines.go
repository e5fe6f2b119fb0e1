package fly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
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
	// allows about one a second). It also paces the polls of a machine's
	// health checks during an apply.
	PerMachineInterval time.Duration
	// MachineWait is how long one machine may take, during an apply, to
	// be started with every health check passing, default 2m.
	MachineWait time.Duration
	// PollInterval is the wait between two log polls, default 1s.
	PollInterval time.Duration
	// Book keeps the secrets version of the console's last write on each
	// app (it is journaled with the write, and restored from the journal
	// on resume). Default: a book of the platform's own.
	Book *integrations.DigestBook
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
	if o.Book == nil {
		o.Book = integrations.NewDigestBook()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Machines is Fly.io through its Machines API, the way flyctl uses it:
// secrets are written with one call that answers a new secrets version;
// reads pass the version of the console's last write (a read without it
// can be stale); an apply updates the app's machines one at a time under a
// lease, with that version, and waits for each to be started with every
// health check passing. It is safe for concurrent use.
type Machines struct {
	o      MachinesOptions
	api    *resty.Client
	logs   *resty.Client
	prefix string // the path of BaseURL ("/v1"), shown in calls
	budget *callBudget
	board  integrations.ApplyBoard

	mu sync.Mutex
	// unversioned marks apps whose last write answered no version: the
	// version in the book is older than what Fly holds.
	unversioned map[string]bool
	// written is, by app and secret name, the version of the console's
	// last write of that secret.
	written map[string]map[string]int64
	// applied is, by app and machine, the secrets version the console
	// last updated the machine with, and the instance that made.
	applied map[string]map[string]appliedVersion
	// machines are the app's own machines, as last listed.
	machines map[string][]string
}

// appliedVersion is a machine update the console made.
type appliedVersion struct {
	instance string
	version  int64
}

var _ integrations.Platform = (*Machines)(nil)
var _ integrations.ApplyReporter = (*Machines)(nil)

// NewMachines returns the Machines API platform.
func NewMachines(o MachinesOptions) *Machines {
	o = o.withDefaults()
	prefix := ""
	if u, err := url.Parse(o.BaseURL); err == nil {
		prefix = strings.TrimRight(u.Path, "/")
	}
	return &Machines{
		o:           o,
		api:         httpc.New(o.BaseURL, o.Timeout).SetResponseBodyLimit(integrations.AnswerLimit),
		logs:        httpc.New(o.LogsURL, o.Timeout),
		prefix:      prefix,
		budget:      &callBudget{interval: o.PerMachineInterval, now: o.Now, next: map[string]time.Time{}},
		unversioned: map[string]bool{},
		written:     map[string]map[string]int64{},
		applied:     map[string]map[string]appliedVersion{},
		machines:    map[string][]string{},
	}
}

// Name is "machines".
func (m *Machines) Name() string { return "machines" }

// ApplyProgress is the apply running on app, if one is.
func (m *Machines) ApplyProgress(app string) (integrations.ApplyProgress, bool) {
	return m.board.ApplyProgress(app)
}

// machinesAuthHeader is the Authorization value for token: macaroon
// tokens ("FlyV1 ...") as they are, anything else as a Bearer token.
func machinesAuthHeader(token string) string {
	if strings.HasPrefix(token, "FlyV1 ") {
		return token
	}
	return "Bearer " + token
}

// Secrets lists the app's secrets at the version of the console's last
// write, so a read right after a write is never stale. A secret the
// console wrote is Deployed when every machine was updated with its
// version since, Staged when none was, Partial in between; the API says
// nothing of the others (SecretNoStatus).
func (m *Machines) Secrets(ctx context.Context, app string) ([]integrations.Secret, error) {
	var answer apiSecrets
	c := apiCall{method: http.MethodGet, path: machinesPath(app, "secrets"), app: app}
	if v, ok := m.secretsVersion(app); ok {
		c.query = url.Values{"version": {strconv.FormatInt(v, 10)}}
	}
	if err := m.call(ctx, c, &answer); err != nil {
		return nil, err
	}
	secrets := answer.model()
	if m.anyWritten(app) {
		ids, err := m.ownMachineIDs(ctx, app)
		if err != nil {
			return secrets, nil // the statuses stay unknown
		}
		m.mu.Lock()
		for i := range secrets {
			secrets[i].Status = m.statusLocked(app, secrets[i].Name, ids)
		}
		m.mu.Unlock()
	}
	return secrets, nil
}

// anyWritten reports whether the console wrote a secret on app.
func (m *Machines) anyWritten(app string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.written[app]) > 0
}

// ownMachineIDs are the app's own machines as last listed, listed now if
// they never were.
func (m *Machines) ownMachineIDs(ctx context.Context, app string) ([]string, error) {
	m.mu.Lock()
	ids, ok := m.machines[app]
	m.mu.Unlock()
	if ok {
		return ids, nil
	}
	if _, err := m.Machines(ctx, app); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.machines[app], nil
}

// statusLocked compares the version of the console's write of name with
// the versions the machines were updated with. The caller holds m.mu.
func (m *Machines) statusLocked(app, name string, ids []string) integrations.SecretStatus {
	v, ok := m.written[app][name]
	if !ok {
		return integrations.SecretNoStatus
	}
	have := 0
	for _, id := range ids {
		if a, ok := m.applied[app][id]; ok && a.version >= v {
			have++
		}
	}
	switch {
	case have == 0:
		return integrations.SecretStaged
	case have < len(ids):
		return integrations.SecretPartial
	}
	return integrations.SecretDeployed
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
// version the API answers with: reads and deploys ask for it.
func (m *Machines) writeSecrets(ctx context.Context, app string, values map[string]*string, stage bool, progress integrations.Progress) error {
	version, err := m.postSecrets(ctx, app, values)
	if err != nil {
		return err
	}
	if version != nil {
		m.mu.Lock()
		if m.written[app] == nil {
			m.written[app] = map[string]int64{}
		}
		for name := range values {
			m.written[app][name] = *version
		}
		m.mu.Unlock()
	}
	if stage {
		return nil
	}
	return m.Apply(ctx, app, integrations.ApplyDeploy, progress)
}

// postSecrets makes the write and records the version it answers.
func (m *Machines) postSecrets(ctx context.Context, app string, values map[string]*string) (*int64, error) {
	var answer apiSecrets
	c := apiCall{
		method: http.MethodPost, path: machinesPath(app, "secrets"), app: app,
		body: map[string]any{"values": values},
	}
	if err := m.call(ctx, c, &answer); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.unversioned[app] = answer.Version == nil
	m.mu.Unlock()
	if answer.Version != nil {
		m.o.Book.RecordSecretsVersion(app, *answer.Version)
	}
	return answer.Version, nil
}

// secretsVersion is the version of the console's last write on app, if
// it is known (in this run, or from the journal).
func (m *Machines) secretsVersion(app string) (int64, bool) {
	m.mu.Lock()
	unversioned := m.unversioned[app]
	m.mu.Unlock()
	if unversioned {
		return 0, false
	}
	return m.o.Book.SecretsVersion(app)
}

// Machines lists the app's own machines: console and release-command
// machines, and those being destroyed, are left out. A machine carries
// the current secrets when the console updated it with the version of its
// last write and nobody replaced that instance since.
func (m *Machines) Machines(ctx context.Context, app string) ([]integrations.Machine, error) {
	list, err := m.listMachines(ctx, app)
	if err != nil {
		return nil, err
	}
	version, known := m.secretsVersion(app)
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]integrations.Machine, len(list))
	for i, mc := range list {
		out[i] = mc.model()
		a, ok := m.applied[app][mc.ID]
		switch {
		case !known || !ok || a.instance != mc.InstanceID:
			out[i].Current = integrations.CurrencyUnknown
		case a.version >= version:
			out[i].Current = integrations.Current
		default:
			out[i].Current = integrations.Behind
		}
	}
	return out, nil
}

// listMachines reads the app's own machines, their configs as the API
// sent them, and remembers which they are.
func (m *Machines) listMachines(ctx context.Context, app string) ([]apiMachine, error) {
	var all []apiMachine
	c := apiCall{method: http.MethodGet, path: machinesPath(app, "machines"), app: app}
	if err := m.call(ctx, c, &all); err != nil {
		return nil, err
	}
	var own []apiMachine
	var ids []string
	for _, mc := range all {
		if mc.own() {
			own = append(own, mc)
			ids = append(ids, mc.ID)
		}
	}
	m.mu.Lock()
	m.machines[app] = ids
	m.mu.Unlock()
	return own, nil
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
		if v, ok := m.secretsVersion(op.App); ok {
			return []string{m.describeApply(op.App, strconv.FormatInt(v, 10))}
		}
		return []string{
			fmt.Sprintf(`POST %s%s {"values":{"%s…":null}} (learns the secrets version, as fly secrets sync does)`, m.prefix, machinesPath(op.App, "secrets"), syncName),
			m.describeApply(op.App, "N"),
		}
	}
	return nil
}

// describeWrite is the secrets call, then the deploy unless staged.
func (m *Machines) describeWrite(op integrations.Op, values map[string]*string) []string {
	body, _ := encodeBody(map[string]any{"values": values})
	out := []string{fmt.Sprintf("POST %s%s %s", m.prefix, machinesPath(op.App, "secrets"), body)}
	if !op.Stage {
		out = append(out, m.describeApply(op.App, "N"))
	}
	return out
}

// describeApply is the per-machine update at secrets version version.
func (m *Machines) describeApply(app, version string) string {
	path := m.prefix + machinesPath(app, "machines") + "/{id}"
	return "POST " + path + ` {"config":…,"min_secrets_version":` + version + `} (each machine in turn, under a lease, until started with every health check passing)`
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
	// action and machine key the rate budget: "update" on machine 3d8d.
	action  string
	machine string
	// nonce is the machine's lease, sent as fly-machine-lease-nonce.
	nonce string
	// retry409 retries a 409 (a lease someone else holds) like a 429.
	retry409 bool
	// once makes the call a single try: a write that may have been made
	// is checked before it is made again.
	once bool
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
			retry := fail.retryable() || (c.retry409 && fail.code == http.StatusConflict)
			if !retry || c.once || try > m.o.Retries || ctx.Err() != nil {
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
				return m.apiError(c, 0, "malformed answer: "+httpc.Snippet([]byte(integrations.Sanitize(resp.Body()))), err, try)
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
	if c.nonce != "" {
		req.SetHeader("fly-machine-lease-nonce", c.nonce)
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
	case errors.Is(err, resty.ErrResponseBodyTooLarge):
		return m.apiError(c, 0, (&integrations.TooLargeError{Limit: integrations.AnswerLimit}).Error(), nil, try)
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

// apiErrorText is the API's {"message":"..."} (preferred) or
// {"error":"..."}, or else the start of the body, sanitised and bounded.
func apiErrorText(body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Message != "" {
			return clean(e.Message, 300)
		}
		if e.Error != "" {
			return clean(e.Error, 300)
		}
	}
	return httpc.Snippet([]byte(integrations.Sanitize(body[:min(len(body), 4096)])))
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
			Name: clean(s.Name, 128), Digest: clean(s.Digest, 64), Status: integrations.SecretNoStatus, Created: created,
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
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	State      string          `json:"state"`
	Region     string          `json:"region"`
	InstanceID string          `json:"instance_id"`
	Config     json.RawMessage `json:"config"`
	// IncompleteConfig replaces Config when the machine's host cannot be
	// reached: not a config to update the machine with.
	IncompleteConfig json.RawMessage `json:"incomplete_config"`
	Checks           []apiCheck      `json:"checks"`
}

// apiCheck is one health check's last result.
type apiCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "passing", "warning", "critical"
	Output string `json:"output"`
}

// metadata is config.metadata (or incomplete_config's), values as text.
func (mc apiMachine) metadata() map[string]string {
	raw := mc.Config
	if len(raw) == 0 || string(raw) == "null" {
		raw = mc.IncompleteConfig
	}
	var cfg struct {
		Metadata map[string]any `json:"metadata"`
	}
	if json.Unmarshal(raw, &cfg) != nil {
		return nil
	}
	out := make(map[string]string, len(cfg.Metadata))
	for k, v := range cfg.Metadata {
		out[k] = metaString(v)
	}
	return out
}

// own reports whether the machine is one of the app's own, the ones an
// apply updates: not a console or release-command machine, not being
// destroyed (flyctl's ListFlyAppsMachines).
func (mc apiMachine) own() bool {
	meta := mc.metadata()
	return ownMachine(mc.State, meta["fly_process_group"], meta["process_group"])
}

// unreachable reports whether the machine's host cannot be reached: the
// API sends incomplete_config instead of its config.
func (mc apiMachine) unreachable() bool {
	return (len(mc.Config) == 0 || string(mc.Config) == "null") && len(mc.IncompleteConfig) > 0
}

// idle reports whether the machine is not running and not about to.
func (mc apiMachine) idle() bool {
	switch mc.State {
	case "stopped", "suspended", "created":
		return true
	}
	return false
}

// model is the machine as the console shows it, every field sanitised
// and bounded.
func (mc apiMachine) model() integrations.Machine {
	out := newMachine(mc.ID, mc.Name, mc.State, mc.Region, mc.Checks)
	out.Version = mc.releaseVersion()
	return out
}

// newMachine is a machine as Fly describes it (`fly status`, the Machines
// API), every field sanitised and bounded, its checks counted.
func newMachine(id, name, state, region string, checks []apiCheck) integrations.Machine {
	out := integrations.Machine{ID: clean(id, 32), Name: clean(name, 64), State: clean(state, 32), Region: clean(region, 16)}
	for _, c := range checks {
		out.Total++
		if c.Status == "passing" {
			out.Passing++
		} else if out.Trouble == "" {
			out.Trouble = checkTrouble(c.Name, c.Status, c.Output)
		}
	}
	if out.Total > 0 {
		out.Checks = fmt.Sprintf("%d/%d passing", out.Passing, out.Total)
	}
	return out
}

// releaseVersion is config.metadata.fly_release_version as "v12", or "".
func (mc apiMachine) releaseVersion() string {
	v := clean(mc.metadata()["fly_release_version"], 16)
	if v == "" || strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

// healthy reports whether every health check passes.
func (mc apiMachine) healthy() bool {
	for _, c := range mc.Checks {
		if c.Status != "passing" {
			return false
		}
	}
	return true
}

// checkTrouble is ": health check NAME STATUS: OUTPUT" for the first check
// that is not passing, or "".
func (mc apiMachine) checkTrouble() string {
	for _, c := range mc.Checks {
		if c.Status != "passing" {
			return ": health check " + checkTrouble(c.Name, c.Status, c.Output)
		}
	}
	return ""
}

// label is the machine as errors name it: "3d8d (iad)".
func (mc apiMachine) label() string {
	return mc.model().Label()
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
