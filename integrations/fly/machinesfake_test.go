package fly

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

// fakeMachinesAPI is the Fly Machines API (under /v1) and the logs API
// (under /api/v1) on loopback, as contracts.md describes them: secrets
// with digests and a version counter, machines that pass through
// transient states, a per-machine rate limit, {"error":...} bodies, 401 on
// a bad token and 404 on an unknown app. Faults are injected per test.
type fakeMachinesAPI struct {
	srv   *httptest.Server
	token string // the Authorization header must carry it
	// settle is how long a machine stays updating/replacing/restarting.
	settle time.Duration
	// every and burst are the rate limit of each (action, machine) pair.
	every time.Duration
	burst int
	// pageSize is how many log entries one logs answer holds at most.
	pageSize int

	mu        sync.Mutex
	apps      map[string]*fakeAPIApp
	limiters  map[string]*rate.Limiter
	faults    []int           // statuses for the next requests, in order
	failing   map[string]bool // machines that fail on their next update or restart
	requests  []fakeAPIRequest
	throttled int // 429s answered by the rate limit
}

// fakeAPIDrop as an injected fault closes the connection without an answer.
const fakeAPIDrop = -1

// fakeAPIRequest is one request the fake received.
type fakeAPIRequest struct {
	Method string
	Path   string
	Query  string
	Auth   string
	Body   string
	Status int
}

type fakeAPIApp struct {
	version  int64
	secrets  map[string]*fakeAPISecret
	machines []*fakeAPIMachine
	logs     []fakeAPILog
}

type fakeAPISecret struct {
	digest           string
	created, updated time.Time
}

type fakeAPIMachine struct {
	id, name, region string
	config           json.RawMessage

	state    string    // the settled state
	phases   []string  // transient states, in order, from busyFrom
	busyFrom time.Time // when the transient states began
	then     string    // the state once they are over
	// minSecretsVersion is what the last update asked for.
	minSecretsVersion int64
}

type fakeAPILog struct {
	at                               time.Time
	message, level, instance, region string
}

// Machine IDs of the default app, in the API's order.
const (
	fakeMachineIAD = "148ed193b95689"
	fakeMachineORD = "6e82933c2d2e87"
	fakeAppName    = "hotdash-app"
)

// fakeAPIConfig is a machine config as Fly returns it; it must come back
// unchanged on update.
const fakeAPIConfig = `{"image":"registry.fly.io/hotdash-app:deployment-01J9Z","env":{"NODE_ENV":"production","PORT":"3000","BANNER":"a<b & c>d"},` +
	`"guest":{"cpu_kind":"shared","cpus":1,"memory_mb":512},` +
	`"metadata":{"fly_platform_version":"v2","fly_process_group":"app","fly_release_version":"7"},` +
	`"services":[{"protocol":"tcp","internal_port":3000,"ports":[{"port":443,"handlers":["tls","http"]}]}],` +
	`"checks":{"servicecheck-00-http-3000":{"type":"http","port":3000,"path":"/api/health"}}}`

// newFakeMachinesAPI serves hotdash-app with two started machines (iad,
// ord) and two secrets at version 3. Machines settle in 30ms; each
// (action, machine) pair may make a call every 10ms, burst 3. tune
// changes the fake before it serves.
func newFakeMachinesAPI(t *testing.T, tune ...func(*fakeMachinesAPI)) *fakeMachinesAPI {
	t.Helper()
	f := &fakeMachinesAPI{
		token:    "fm2_hotdash_test_token_0123456789",
		settle:   30 * time.Millisecond,
		every:    10 * time.Millisecond,
		burst:    3,
		pageSize: 2,
		apps:     map[string]*fakeAPIApp{},
		limiters: map[string]*rate.Limiter{},
		failing:  map[string]bool{},
	}
	created := time.Now().Add(-72 * time.Hour).UTC()
	f.apps[fakeAppName] = &fakeAPIApp{
		version: 3,
		secrets: map[string]*fakeAPISecret{
			"SUPABASE_URL":               {digest: fakeAPIDigest("SUPABASE_URL", "https://db.example.supabase.co"), created: created, updated: created},
			"IDEA_POOL_SUPABASE_ENABLED": {digest: fakeAPIDigest("IDEA_POOL_SUPABASE_ENABLED", "false"), created: created, updated: created},
		},
	}
	f.addMachine(fakeAppName, fakeMachineIAD, "iad", "started")
	f.addMachine(fakeAppName, fakeMachineORD, "ord", "started")
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
	mux.HandleFunc("GET /api/v1/apps/{app}/logs", f.listLogs)
	f.srv = httptest.NewServer(f.middleware(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// fakeAPIDigest stands in for Fly's digest: 16 hex characters of a hash.
func fakeAPIDigest(name, value string) string {
	sum := sha256.Sum256([]byte(name + "=" + value))
	return hex.EncodeToString(sum[:])[:16]
}

// addMachine adds a machine in state to app.
func (f *fakeMachinesAPI) addMachine(app, id, region, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	n := len(a.machines) + 1
	a.machines = append(a.machines, &fakeAPIMachine{
		id: id, name: fmt.Sprintf("%s-%s-%d", app, region, n), region: region,
		config: json.RawMessage(fakeAPIConfig), state: state,
	})
}

// inject makes the next requests answer these statuses (or fakeAPIDrop).
func (f *fakeMachinesAPI) inject(codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, codes...)
}

// failNext makes machine id fail on its next update or restart.
func (f *fakeMachinesAPI) failNext(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[id] = true
}

// addLog appends a log entry for app.
func (f *fakeMachinesAPI) addLog(app string, at time.Time, level, instance, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[app]
	a.logs = append(a.logs, fakeAPILog{at: at, level: level, instance: instance, region: "iad", message: message})
}

// recorded returns the requests received whose path contains part.
func (f *fakeMachinesAPI) recorded(method, part string) []fakeAPIRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeAPIRequest
	for _, r := range f.requests {
		if r.Method == method && strings.Contains(r.Path, part) {
			out = append(out, r)
		}
	}
	return out
}

// all returns every request received.
func (f *fakeMachinesAPI) all() []fakeAPIRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeAPIRequest(nil), f.requests...)
}

// rateLimited is how many 429s the rate limit answered.
func (f *fakeMachinesAPI) rateLimited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.throttled
}

// version is app's secrets version.
func (f *fakeMachinesAPI) version(app string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apps[app].version
}

// hasSecret reports whether app has the secret, and its digest.
func (f *fakeMachinesAPI) hasSecret(app, name string) (string, bool) {
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
func (f *fakeMachinesAPI) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		f.mu.Lock()
		f.requests = append(f.requests, fakeAPIRequest{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), Body: string(body),
		})
		i := len(f.requests) - 1
		fault := 0
		if len(f.faults) > 0 {
			fault, f.faults = f.faults[0], f.faults[1:]
		}
		authorized := f.authorized(r.Header.Get("Authorization"))
		f.mu.Unlock()
		rec := &fakeAPIWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			f.mu.Lock()
			f.requests[i].Status = rec.status
			f.mu.Unlock()
		}()
		switch {
		case fault == fakeAPIDrop:
			rec.status = 0
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case fault != 0:
			fakeAPIError(rec, fault, strings.ToLower(http.StatusText(fault)))
			return
		case !authorized:
			fakeAPIError(rec, http.StatusUnauthorized, "unauthorized")
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// authorized accepts "FlyV1 <token>" as is and "Bearer <token>". The
// caller holds f.mu.
func (f *fakeMachinesAPI) authorized(h string) bool {
	if strings.HasPrefix(f.token, "FlyV1 ") {
		return h == f.token
	}
	return h == "Bearer "+f.token
}

// fakeAPIWriter remembers the status written.
type fakeAPIWriter struct {
	http.ResponseWriter
	status int
}

func (w *fakeAPIWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func fakeAPIError(w http.ResponseWriter, code int, msg string) {
	fakeAPIJSON(w, code, map[string]string{"error": msg})
}

func fakeAPIJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// app finds the request's app, answering 404 when there is none. The
// caller holds f.mu.
func (f *fakeMachinesAPI) app(w http.ResponseWriter, r *http.Request) *fakeAPIApp {
	a := f.apps[r.PathValue("app")]
	if a == nil {
		fakeAPIError(w, http.StatusNotFound, "app not found")
	}
	return a
}

// machine finds the request's machine, rate-limited per action: 404 or
// 429 are answered when it returns nil. The caller holds f.mu.
func (f *fakeMachinesAPI) machine(w http.ResponseWriter, r *http.Request, action string) *fakeAPIMachine {
	a := f.app(w, r)
	if a == nil {
		return nil
	}
	id := r.PathValue("id")
	key := action + " " + id
	l := f.limiters[key]
	if l == nil {
		l = rate.NewLimiter(rate.Every(f.every), f.burst)
		f.limiters[key] = l
	}
	if !l.Allow() {
		f.throttled++
		fakeAPIError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return nil
	}
	for _, m := range a.machines {
		if m.id == id {
			return m
		}
	}
	fakeAPIError(w, http.StatusNotFound, "machine not found")
	return nil
}

func (f *fakeMachinesAPI) listSecrets(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.app(w, r); a != nil {
		fakeAPIJSON(w, http.StatusOK, map[string]any{"secrets": a.secretList()})
	}
}

// writeSecrets sets values; a null value deletes, and a missing name is
// fine. Each write bumps the version.
func (f *fakeMachinesAPI) writeSecrets(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Values map[string]*string `json:"values"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Values == nil {
		fakeAPIError(w, http.StatusBadRequest, "values are required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.app(w, r)
	if a == nil {
		return
	}
	now := time.Now().UTC()
	for name, v := range body.Values {
		switch old := a.secrets[name]; {
		case v == nil:
			delete(a.secrets, name)
		case old != nil:
			old.digest, old.updated = fakeAPIDigest(name, *v), now
		default:
			a.secrets[name] = &fakeAPISecret{digest: fakeAPIDigest(name, *v), created: now, updated: now}
		}
	}
	a.version++
	fakeAPIJSON(w, http.StatusOK, map[string]any{"secrets": a.secretList(), "version": a.version})
}

func (a *fakeAPIApp) secretList() []map[string]string {
	names := make([]string, 0, len(a.secrets))
	for n := range a.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]map[string]string, 0, len(names))
	for _, n := range names {
		s := a.secrets[n]
		out = append(out, map[string]string{
			"name": n, "digest": s.digest,
			"created_at": s.created.Format(time.RFC3339), "updated_at": s.updated.Format(time.RFC3339),
		})
	}
	return out
}

func (f *fakeMachinesAPI) listMachines(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.app(w, r)
	if a == nil {
		return
	}
	now := time.Now()
	out := make([]map[string]any, len(a.machines))
	for i, m := range a.machines {
		out[i] = m.view(now, f.settle)
	}
	fakeAPIJSON(w, http.StatusOK, out)
}

func (f *fakeMachinesAPI) getMachine(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.machine(w, r, "get"); m != nil {
		fakeAPIJSON(w, http.StatusOK, m.view(time.Now(), f.settle))
	}
}

// updateMachine takes {"config":...,"min_secrets_version":N}: the machine
// goes updating, then replacing, then started (or stays stopped with
// skip_launch), or failed when failNext named it.
func (f *fakeMachinesAPI) updateMachine(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Config            json.RawMessage `json:"config"`
		MinSecretsVersion *int64          `json:"min_secrets_version"`
		SkipLaunch        bool            `json:"skip_launch"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Config) == 0 || body.Config[0] != '{' {
		fakeAPIError(w, http.StatusBadRequest, "config is required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machine(w, r, "update")
	if m == nil {
		return
	}
	now := time.Now()
	m.settleAt(now, f.settle)
	m.config = body.Config
	if body.MinSecretsVersion != nil {
		m.minSecretsVersion = *body.MinSecretsVersion
	}
	then := "started"
	if body.SkipLaunch && m.state != "started" {
		then = m.state
	}
	f.busy(m, now, then, "updating", "replacing")
	fakeAPIJSON(w, http.StatusOK, m.view(now, f.settle))
}

// restartMachine restarts a machine: restarting, then started.
func (f *fakeMachinesAPI) restartMachine(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machine(w, r, "restart")
	if m == nil {
		return
	}
	now := time.Now()
	m.settleAt(now, f.settle)
	f.busy(m, now, "started", "restarting")
	fakeAPIJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// busy starts the machine's transient states; it ends failed when
// failNext named it. The caller holds f.mu.
func (f *fakeMachinesAPI) busy(m *fakeAPIMachine, now time.Time, then string, phases ...string) {
	if f.failing[m.id] {
		delete(f.failing, m.id)
		then = "failed"
	}
	m.phases, m.busyFrom, m.then = phases, now, then
}

// settleAt ends the machine's transient states once settle has passed.
func (m *fakeAPIMachine) settleAt(now time.Time, settle time.Duration) {
	if len(m.phases) > 0 && now.Sub(m.busyFrom) >= settle {
		m.state, m.phases = m.then, nil
	}
}

// current is the machine's state at now.
func (m *fakeAPIMachine) current(now time.Time, settle time.Duration) string {
	m.settleAt(now, settle)
	if len(m.phases) == 0 {
		return m.state
	}
	i := int(now.Sub(m.busyFrom) * time.Duration(len(m.phases)) / settle)
	return m.phases[min(i, len(m.phases)-1)]
}

// view is the machine as the API shows it, with its health check.
func (m *fakeAPIMachine) view(now time.Time, settle time.Duration) map[string]any {
	state := m.current(now, settle)
	check := map[string]string{"name": "servicecheck-00-http-3000", "status": "passing", "output": "HTTP GET http://172.19.0.2:3000/api/health: 200 OK"}
	switch state {
	case "started":
	case "failed":
		check["status"], check["output"] = "critical", "dial tcp 172.19.0.2:3000: connect: connection refused"
	default:
		check["status"], check["output"] = "critical", "machine is "+state
	}
	return map[string]any{
		"id": m.id, "name": m.name, "state": state, "region": m.region,
		"config": m.config, "checks": []map[string]string{check},
	}
}

// listLogs answers a page of at most pageSize entries after next_token.
func (f *fakeMachinesAPI) listLogs(w http.ResponseWriter, r *http.Request) {
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
			fakeAPIError(w, http.StatusBadRequest, "invalid next_token")
			return
		}
		from = n
	}
	to := min(from+f.pageSize, len(a.logs))
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
	fakeAPIJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]string{"next_token": fmt.Sprintf("tok-%d", to)}})
}
