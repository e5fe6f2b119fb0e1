// Package machinesfake is the Fly Machines API (under /v1) and the logs
// API (under /api/v1) on loopback, for tests, as contracts.md describes
// them: secrets with digests and a version counter, reads that are stale
// without the version of the last write, machines that pass through
// transient states, leases with nonces, /wait for a state at an instance,
// health checks that can stay critical, console and release-command
// machines beside the app's own, a per-machine rate limit, {"error":...}
// bodies, 401 on a bad token and 404 on an unknown app. Faults are
// injected per test.
package machinesfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Machine IDs of the default app, in the API's order.
const (
	MachineIAD = "148ed193b95689"
	MachineORD = "6e82933c2d2e87"
	AppName    = "hotdash-app"
)

// Drop as an injected fault closes the connection without an answer;
// DropAfter makes the call, then closes the connection without answering
// (the answer is lost, the change is made).
const (
	Drop      = -1
	DropAfter = -2
)

// Config is a machine config as Fly returns it; it must come back
// unchanged on update.
const Config = `{"image":"registry.fly.io/hotdash-app:deployment-01J9Z","env":{"NODE_ENV":"production","PORT":"3000","BANNER":"a<b & c>d"},` +
	`"guest":{"cpu_kind":"shared","cpus":1,"memory_mb":512},` +
	`"metadata":{"fly_platform_version":"v2","fly_process_group":"app","fly_release_version":"7"},` +
	`"services":[{"protocol":"tcp","internal_port":3000,"ports":[{"port":443,"handlers":["tls","http"]}]}],` +
	`"checks":{"servicecheck-00-http-3000":{"type":"http","port":3000,"path":"/api/health"}}}`

// API is the fake. Its exported fields may be changed before it serves
// (in New's tune functions).
type API struct {
	srv *httptest.Server
	// Token is what the Authorization header must carry.
	Token string
	// Settle is how long a machine stays updating/replacing/restarting.
	Settle time.Duration
	// Every and Burst are the rate limit of each (action, machine) pair.
	Every time.Duration
	Burst int
	// PageSize is how many log entries one logs answer holds at most.
	PageSize int

	mu        sync.Mutex
	apps      map[string]*app
	limiters  map[string]*rate.Limiter
	faults    []fault // for the next requests, in order
	failing   map[string]string
	critical  map[string]bool
	requests  []Request
	throttled int
	updates   map[string]int // machine -> updates made
	instances int
}

// fault is an injected answer: a status, Drop, or DropAfter; for DropAfter
// only on the request with method and path match ("POST /v1/...").
type fault struct {
	code  int
	match string
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  string
	Auth   string
	Nonce  string // fly-machine-lease-nonce
	Body   string
	Status int
}

type app struct {
	version  int64
	secrets  map[string]*secret
	previous map[string]*secret // the secrets before the last write
	machines []*machine
	logs     []logEntry
}

type secret struct {
	digest           string
	created, updated time.Time
}

type machine struct {
	id, name, region string
	config           json.RawMessage
	unreachable      bool // its host is down: incomplete_config only
	instance         string

	state    string    // the settled state
	phases   []string  // transient states, in order, from busyFrom
	busyFrom time.Time // when the transient states began
	then     string    // the state once they are over
	// minSecretsVersion is what the last update asked for.
	minSecretsVersion int64
	lease             string // the nonce of the lease held, "" for none
	leaseUntil        time.Time
}

type logEntry struct {
	at                               time.Time
	message, level, instance, region string
}

// New serves hotdash-app with two started machines (iad, ord) and two
// secrets at version 3. Machines settle in 30ms; each (action, machine)
// pair may make a call every 10ms, burst 3. tune changes the fake before
// it serves.
func New(t testing.TB, tune ...func(*API)) *API {
	t.Helper()
	f := &API{
		Token:    "fm2_hotdash_test_token_0123456789",
		Settle:   30 * time.Millisecond,
		Every:    10 * time.Millisecond,
		Burst:    3,
		PageSize: 2,
		apps:     map[string]*app{},
		limiters: map[string]*rate.Limiter{},
		failing:  map[string]string{},
		critical: map[string]bool{},
		updates:  map[string]int{},
	}
	created := time.Now().Add(-72 * time.Hour).UTC()
	f.apps[AppName] = &app{
		version: 3,
		secrets: map[string]*secret{
			"SUPABASE_URL":               {digest: Digest("SUPABASE_URL", "https://db.example.supabase.co"), created: created, updated: created},
			"IDEA_POOL_SUPABASE_ENABLED": {digest: Digest("IDEA_POOL_SUPABASE_ENABLED", "false"), created: created, updated: created},
		},
	}
	f.AddMachine(AppName, MachineIAD, "iad", "started")
	f.AddMachine(AppName, MachineORD, "ord", "started")
	for _, fn := range tune {
		fn(f)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/apps/{app}/secrets", f.listSecrets)
	mux.HandleFunc("POST /v1/apps/{app}/secrets", f.writeSecrets)
	mux.HandleFunc("GET /v1/apps/{app}/machines", f.listMachines)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}", f.getMachine)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}", f.updateMachine)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/restart", f.restartMachine)
	mux.HandleFunc("POST /v1/apps/{app}/machines/{id}/lease", f.acquireLease)
	mux.HandleFunc("DELETE /v1/apps/{app}/machines/{id}/lease", f.releaseLease)
	mux.HandleFunc("GET /v1/apps/{app}/machines/{id}/wait", f.wait)
	mux.HandleFunc("GET /api/v1/apps/{app}/logs", f.listLogs)
	f.srv = httptest.NewServer(f.middleware(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is where the fake listens: the Machines API is under URL()+"/v1".
func (f *API) URL() string { return f.srv.URL }

// Digest stands in for Fly's digest: 16 hex characters of a hash.
func Digest(name, value string) string {
	sum := sha256.Sum256([]byte(name + "=" + value))
	return hex.EncodeToString(sum[:])[:16]
}

// AddMachine adds one of app's own machines in state.
func (f *API) AddMachine(app, id, region, state string) {
	f.addMachine(app, id, region, state, json.RawMessage(Config), false)
}

// AddConsoleMachine adds a `fly console` machine (process group
// fly_app_console), which is not one of the app's own.
func (f *API) AddConsoleMachine(app, id, region string) {
	cfg := strings.Replace(Config, `"fly_process_group":"app"`, `"fly_process_group":"fly_app_console"`, 1)
	f.addMachine(app, id, region, "started", json.RawMessage(cfg), false)
}

// AddUnreachableMachine adds one of app's machines whose host cannot be
// reached: the API sends incomplete_config instead of its config.
func (f *API) AddUnreachableMachine(app, id, region string) {
	f.addMachine(app, id, region, "started", json.RawMessage(Config), true)
}

func (f *API) addMachine(app, id, region, state string, config json.RawMessage, unreachable bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	n := len(a.machines) + 1
	f.instances++
	a.machines = append(a.machines, &machine{
		id: id, name: fmt.Sprintf("%s-%s-%d", app, region, n), region: region,
		config: config, state: state, unreachable: unreachable, instance: fmt.Sprintf("01JINSTANCE%06d", f.instances),
	})
}

// Inject makes the next requests answer these statuses (or Drop).
func (f *API) Inject(codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range codes {
		f.faults = append(f.faults, fault{code: c})
	}
}

// LoseNextAnswer makes the next request with this method and path be
// made, its answer lost (the connection closes).
func (f *API) LoseNextAnswer(method, path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fault{code: DropAfter, match: method + " " + path})
}

// FailNext makes machine id end its next update or restart in state
// ("failed", "launch_failed").
func (f *API) FailNext(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[id] = state
}

// StayCritical makes machine id's health check critical from its next
// update on: it starts, but never passes.
func (f *API) StayCritical(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.critical[id] = true
}

// Lease makes someone else hold machine id's lease for d.
func (f *API) Lease(app, id string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.apps[app].machines {
		if m.id == id {
			m.lease, m.leaseUntil = "someone-elses-nonce", time.Now().Add(d)
		}
	}
}

// AddLog appends a log entry for app.
func (f *API) AddLog(app string, at time.Time, level, instance, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	a.logs = append(a.logs, logEntry{at: at, level: level, instance: instance, region: "iad", message: message})
}

// Recorded returns the requests received whose path contains part.
func (f *API) Recorded(method, part string) []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Request
	for _, r := range f.requests {
		if r.Method == method && strings.Contains(r.Path, part) {
			out = append(out, r)
		}
	}
	return out
}

// All returns every request received.
func (f *API) All() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// RateLimited is how many 429s the rate limit answered.
func (f *API) RateLimited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.throttled
}

// Updates is how many updates machine id went through (each one a
// restart of the machine).
func (f *API) Updates(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updates[id]
}

// MinSecretsVersion is what machine id's last update asked for.
func (f *API) MinSecretsVersion(app, id string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.apps[app].machines {
		if m.id == id {
			return m.minSecretsVersion
		}
	}
	return 0
}

// LeaseHeld reports whether machine id's lease is held now.
func (f *API) LeaseHeld(app, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.apps[app].machines {
		if m.id == id {
			return m.lease != "" && time.Now().Before(m.leaseUntil)
		}
	}
	return false
}

// Version is app's secrets version.
func (f *API) Version(app string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apps[app].version
}

// HasSecret reports whether app has the secret, and its digest.
func (f *API) HasSecret(app, name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.apps[app].secrets[name]
	if !ok {
		return "", false
	}
	return s.digest, true
}

// middleware records every request, then answers injected faults and
// checks the token before the routes see it.
func (f *API) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		f.mu.Lock()
		f.requests = append(f.requests, Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), Nonce: r.Header.Get("fly-machine-lease-nonce"), Body: string(body),
		})
		i := len(f.requests) - 1
		var ft fault
		for k, q := range f.faults {
			if q.code == DropAfter && q.match != r.Method+" "+r.URL.Path {
				continue // it waits for its own request
			}
			ft = q
			f.faults = append(f.faults[:k:k], f.faults[k+1:]...)
			break
		}
		authorized := f.authorized(r.Header.Get("Authorization"))
		f.mu.Unlock()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			f.mu.Lock()
			f.requests[i].Status = rec.status
			f.mu.Unlock()
		}()
		switch {
		case ft.code == Drop:
			rec.status = 0
			hangUp(w)
			return
		case ft.code == DropAfter:
			next.ServeHTTP(httptest.NewRecorder(), r)
			rec.status = 0
			hangUp(w)
			return
		case ft.code != 0:
			WriteError(rec, ft.code, strings.ToLower(http.StatusText(ft.code)))
			return
		case !authorized:
			WriteError(rec, http.StatusUnauthorized, "unauthorized")
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// authorized accepts "FlyV1 <token>" as is and "Bearer <token>". The
// caller holds f.mu.
func (f *API) authorized(h string) bool {
	if strings.HasPrefix(f.Token, "FlyV1 ") {
		return h == f.Token
	}
	return h == "Bearer "+f.Token
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// WriteError answers {"error": msg}, as the API does.
func WriteError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// app finds the request's app, answering 404 when there is none. The
// caller holds f.mu.
func (f *API) app(w http.ResponseWriter, r *http.Request) *app {
	a := f.apps[r.PathValue("app")]
	if a == nil {
		WriteError(w, http.StatusNotFound, "app not found")
	}
	return a
}

// machine finds the request's machine, rate-limited per action: 404 or
// 429 are answered when it returns nil. The caller holds f.mu.
func (f *API) machine(w http.ResponseWriter, r *http.Request, action string) *machine {
	a := f.app(w, r)
	if a == nil {
		return nil
	}
	id := r.PathValue("id")
	key := action + " " + id
	l := f.limiters[key]
	if l == nil {
		l = rate.NewLimiter(rate.Every(f.Every), f.Burst)
		f.limiters[key] = l
	}
	if !l.Allow() {
		f.throttled++
		WriteError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return nil
	}
	for _, m := range a.machines {
		if m.id == id {
			return m
		}
	}
	WriteError(w, http.StatusNotFound, "machine not found")
	return nil
}

// listSecrets answers the secrets at ?version=N. Without it the answer can
// be stale: it is what the app held before its last write.
func (f *API) listSecrets(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.app(w, r)
	if a == nil {
		return
	}
	secrets := a.secrets
	if r.URL.Query().Get("version") == "" && a.previous != nil {
		secrets = a.previous
	}
	writeJSON(w, http.StatusOK, map[string]any{"secrets": secretList(secrets)})
}

// writeSecrets sets values; a null value deletes, and a missing name is
// fine. Each write bumps the version.
func (f *API) writeSecrets(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Values map[string]*string `json:"values"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Values == nil {
		WriteError(w, http.StatusBadRequest, "values are required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.app(w, r)
	if a == nil {
		return
	}
	a.previous = map[string]*secret{}
	for k, v := range a.secrets {
		c := *v
		a.previous[k] = &c
	}
	now := time.Now().UTC()
	for name, v := range body.Values {
		switch old := a.secrets[name]; {
		case v == nil:
			delete(a.secrets, name)
		case old != nil:
			old.digest, old.updated = Digest(name, *v), now
		default:
			a.secrets[name] = &secret{digest: Digest(name, *v), created: now, updated: now}
		}
	}
	a.version++
	writeJSON(w, http.StatusOK, map[string]any{"secrets": secretList(a.secrets), "version": a.version})
}

func secretList(secrets map[string]*secret) []map[string]string {
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]map[string]string, 0, len(names))
	for _, n := range names {
		s := secrets[n]
		out = append(out, map[string]string{
			"name": n, "digest": s.digest,
			"created_at": s.created.Format(time.RFC3339), "updated_at": s.updated.Format(time.RFC3339),
		})
	}
	return out
}

func (f *API) listMachines(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.app(w, r)
	if a == nil {
		return
	}
	now := time.Now()
	out := make([]map[string]any, len(a.machines))
	for i, m := range a.machines {
		out[i] = f.view(m, now)
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *API) getMachine(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.machine(w, r, "get"); m != nil {
		writeJSON(w, http.StatusOK, f.view(m, time.Now()))
	}
}

// acquireLease answers {"status":"success","data":{"nonce",...}}, or 409
// while another lease is held.
func (f *API) acquireLease(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machine(w, r, "lease")
	if m == nil {
		return
	}
	now := time.Now()
	if m.lease != "" && now.Before(m.leaseUntil) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "lease_conflict", "message": "machine " + m.id + " is currently leased by another deploy"})
		return
	}
	ttl, err := strconv.Atoi(r.URL.Query().Get("ttl"))
	if err != nil || ttl <= 0 {
		ttl = 30
	}
	f.instances++
	m.lease, m.leaseUntil = fmt.Sprintf("nonce-%d", f.instances), now.Add(time.Duration(ttl)*time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{
		"nonce": m.lease, "expires_at": m.leaseUntil.Unix(), "owner": "ops@hotdash.example",
	}})
}

// releaseLease ends the lease whose nonce the header carries.
func (f *API) releaseLease(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machine(w, r, "release")
	if m == nil {
		return
	}
	if m.lease == "" || r.Header.Get("fly-machine-lease-nonce") != m.lease {
		WriteError(w, http.StatusConflict, "lease nonce does not match")
		return
	}
	m.lease = ""
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// leaseHeldElsewhere answers 412 when the machine is leased and the
// request does not carry that lease's nonce. The caller holds f.mu.
func leaseHeldElsewhere(w http.ResponseWriter, r *http.Request, m *machine) bool {
	if m.lease == "" || time.Now().After(m.leaseUntil) || r.Header.Get("fly-machine-lease-nonce") == m.lease {
		return false
	}
	writeJSON(w, http.StatusPreconditionFailed, map[string]string{"error": "machine is leased: the request must carry its lease nonce"})
	return true
}

// updateMachine takes {"config":...,"min_secrets_version":N}: the machine
// gets a new instance and goes updating, then replacing, then started (or
// stays stopped with skip_launch), or the state FailNext named.
func (f *API) updateMachine(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Config            json.RawMessage `json:"config"`
		MinSecretsVersion *int64          `json:"min_secrets_version"`
		SkipLaunch        bool            `json:"skip_launch"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Config) == 0 || body.Config[0] != '{' {
		WriteError(w, http.StatusBadRequest, "config is required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machine(w, r, "update")
	if m == nil || leaseHeldElsewhere(w, r, m) {
		return
	}
	now := time.Now()
	m.settleAt(now, f.Settle)
	m.config = body.Config
	if body.MinSecretsVersion != nil {
		m.minSecretsVersion = *body.MinSecretsVersion
	}
	f.instances++
	m.instance = fmt.Sprintf("01JINSTANCE%06d", f.instances)
	f.updates[m.id]++
	then := "started"
	if body.SkipLaunch && m.state != "started" {
		then = m.state
	}
	f.busy(m, now, then, "updating", "replacing")
	writeJSON(w, http.StatusOK, f.view(m, now))
}

// restartMachine restarts a machine: restarting, then started.
func (f *API) restartMachine(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machine(w, r, "restart")
	if m == nil || leaseHeldElsewhere(w, r, m) {
		return
	}
	now := time.Now()
	m.settleAt(now, f.Settle)
	f.busy(m, now, "started", "restarting")
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// wait answers 200 once the machine is in ?state= at the instance
// ?version= names (any instance without it), 408 after ?timeout= seconds.
// A machine in a state it cannot leave by itself (failed, launch_failed,
// destroyed) is answered 408 at once.
func (f *API) wait(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want, version := q.Get("state"), q.Get("version")
	timeout, err := strconv.Atoi(q.Get("timeout"))
	if err != nil || timeout < 1 || timeout > 60 {
		WriteError(w, http.StatusBadRequest, "timeout must be 1 to 60 seconds")
		return
	}
	f.mu.Lock()
	m := f.machine(w, r, "wait")
	f.mu.Unlock()
	if m == nil {
		return
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for {
		f.mu.Lock()
		state, instance := m.current(time.Now(), f.Settle), m.instance
		f.mu.Unlock()
		switch {
		case state == want && (version == "" || version == instance):
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
			return
		case state == "failed" || state == "launch_failed" || state == "destroyed" || time.Now().After(deadline):
			WriteError(w, http.StatusRequestTimeout, "deadline_exceeded: machine did not reach state "+want)
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// busy starts the machine's transient states; it ends in the state
// FailNext named, when it did. The caller holds f.mu.
func (f *API) busy(m *machine, now time.Time, then string, phases ...string) {
	if s, ok := f.failing[m.id]; ok {
		delete(f.failing, m.id)
		then = s
	}
	m.phases, m.busyFrom, m.then = phases, now, then
}

// settleAt ends the machine's transient states once settle has passed.
func (m *machine) settleAt(now time.Time, settle time.Duration) {
	if len(m.phases) > 0 && now.Sub(m.busyFrom) >= settle {
		m.state, m.phases = m.then, nil
	}
}

// current is the machine's state at now.
func (m *machine) current(now time.Time, settle time.Duration) string {
	m.settleAt(now, settle)
	if len(m.phases) == 0 {
		return m.state
	}
	i := int(now.Sub(m.busyFrom) * time.Duration(len(m.phases)) / settle)
	return m.phases[min(i, len(m.phases)-1)]
}

// view is the machine as the API shows it, with its health check. The
// caller holds f.mu.
func (f *API) view(m *machine, now time.Time) map[string]any {
	state := m.current(now, f.Settle)
	check := map[string]string{"name": "servicecheck-00-http-3000", "status": "passing", "output": "HTTP GET http://172.19.0.2:3000/api/health: 200 OK"}
	switch {
	case state == "started" && f.critical[m.id] && f.updates[m.id] > 0:
		check["status"], check["output"] = "critical", "dial tcp 172.19.0.2:3000: connect: connection refused"
	case state == "started":
	case state == "failed" || state == "launch_failed":
		check["status"], check["output"] = "critical", "dial tcp 172.19.0.2:3000: connect: connection refused"
	default:
		check["status"], check["output"] = "critical", "machine is "+state
	}
	v := map[string]any{
		"id": m.id, "name": m.name, "state": state, "region": m.region, "instance_id": m.instance,
		"config": m.config, "checks": []map[string]string{check},
	}
	if m.unreachable {
		v["config"], v["incomplete_config"], v["host_status"] = nil, m.config, "unreachable"
		delete(v, "checks")
	}
	return v
}

// listLogs answers a page of at most PageSize entries after next_token.
func (f *API) listLogs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.app(w, r)
	if a == nil {
		return
	}
	from := 0
	if tok := r.URL.Query().Get("next_token"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "tok-"))
		if err != nil || !strings.HasPrefix(tok, "tok-") || n > len(a.logs) {
			WriteError(w, http.StatusBadRequest, "invalid next_token")
			return
		}
		from = n
	}
	to := min(from+f.PageSize, len(a.logs))
	data := make([]map[string]any, 0, to-from)
	for i, l := range a.logs[from:to] {
		data = append(data, map[string]any{
			"id": fmt.Sprintf("log-%d", from+i),
			"attributes": map[string]any{
				"timestamp": l.at.UTC().Format(time.RFC3339Nano), "message": l.message, "level": l.level,
				"instance": l.instance, "region": l.region,
				"meta": map[string]any{"event": map[string]string{"provider": "app"}},
			},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]string{"next_token": fmt.Sprintf("tok-%d", to)}})
}
