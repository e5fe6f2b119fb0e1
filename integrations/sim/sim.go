// Package sim is a simulated HotDash environment: two Fly apps with
// secrets, digests and machines, the app's own endpoints, Chatwoot,
// Supabase's REST API and Publer's API on loopback HTTP, and a log stream,
// all behaving as the guide and contracts.md describe the real ones. The
// console runs on it with no configuration, and the tests run against it.
//
// The app reports the source its machines were started with: setting a
// flag changes nothing until it is applied, and a live flag still falls
// back to mock when the migration or the credentials are missing, or when
// the service fails, exactly as the guide's "If source is mock" says.
package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// The two apps, as in the guide.
const (
	ProdApp = "hotdash-app"
	DevApp  = "hotdash-app-dev"
)

// Flags and credentials the app reads.
const (
	FlagSupabase = "IDEA_POOL_SUPABASE_ENABLED"
	FlagPubler   = "PUBLER_LIVE"
	FlagGA4      = "ANALYTICS_REAL_DATA"
)

// Options configure an Env. Zero values take the defaults.
type Options struct {
	Scenario string // a name from Scenarios; default "healthy"
	// LogRate is the background log lines per second per app (default 12).
	LogRate float64
	// RestartTime is how long each machine stays "restarting" (default 3s).
	RestartTime time.Duration
	// JobTime is how long a real Publer job takes to complete (default 4s).
	JobTime time.Duration
	// Seed fixes the randomness (0: random).
	Seed uint64
	// Now is the time source (default time.Now).
	Now func() time.Time
}

// Env is one simulated world. Start it, use its Platform and URLs, Close it.
type Env struct {
	o   Options
	now func() time.Time

	mu        sync.Mutex
	rng       *rand.Rand
	apps      map[string]*app
	faults    Faults
	migration bool // the idea_pool migration is applied in Supabase
	writes    []integrations.Op
	capture   *[]integrations.LogLine // Traffic's lines, while it runs

	chatwootToken, chatwootAccount string
	supabaseKey                    string
	publerKey, publerWorkspace     string
	// The dev workspace ("HotDash Dev Testing") has its own key.
	publerDevKey, publerDevWorkspace string

	servers []*http.Server
	urls    map[string]string // "app:hotdash-app", "chatwoot", "supabase", "publer"
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// applies follows the applies under way, for the panes.
	applies integrations.ApplyBoard
}

type app struct {
	name     string
	secrets  map[string]*secret
	version  int // secrets version, bumped by every set or unset
	machines []*machine
	next     int // round-robin over machines
	jobs     map[string]*job
	jobSeq   int
	history  *integrations.Ring[integrations.LogLine] // recent log lines, replayed to new streams
	streams  map[chan integrations.LogLine]struct{}
	spanEnd  time.Time // where Traffic left off
	owed     float64   // Traffic's fraction of a line carried over
}

type secret struct {
	value   string
	digest  string
	version int
	created time.Time
}

type machine struct {
	id      string
	region  string
	state   string
	version int               // secrets version it runs
	env     map[string]string // the values it was started with
}

type job struct {
	id      string
	real    bool
	created time.Time
	fail    string
	logged  bool // its completion is in the log
}

// New builds an environment in the state its scenario describes.
func New(o Options) (*Env, error) {
	if o.Scenario == "" {
		o.Scenario = "healthy"
	}
	if o.LogRate == 0 {
		o.LogRate = 12
	}
	if o.RestartTime == 0 {
		o.RestartTime = 3 * time.Second
	}
	if o.JobTime == 0 {
		o.JobTime = 4 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	sc, ok := scenarioByName(o.Scenario)
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (try: %s)", o.Scenario, ScenarioNames())
	}
	e := &Env{
		o:         o,
		now:       o.Now,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		apps:      map[string]*app{},
		migration: true,
		urls:      map[string]string{},
	}
	e.chatwootToken = "cwt_" + e.hex(20)
	e.chatwootAccount = fmt.Sprint(1 + e.rng.IntN(90))
	e.supabaseKey = "sb_service_" + e.hex(24)
	e.publerKey = "pub_" + e.hex(24)
	e.publerWorkspace = e.hex(12)
	e.publerDevKey = "pub_dev_" + e.hex(20)
	e.publerDevWorkspace = e.hex(12)
	regions := []string{"iad", "ord"}
	for _, name := range []string{ProdApp, DevApp} {
		a := &app{
			name:    name,
			secrets: map[string]*secret{},
			jobs:    map[string]*job{},
			history: integrations.NewRing[integrations.LogLine](400),
			streams: map[chan integrations.LogLine]struct{}{},
		}
		publerKey, publerWorkspace := e.publerKey, e.publerWorkspace
		if name == DevApp {
			publerKey, publerWorkspace = e.publerDevKey, e.publerDevWorkspace
		}
		creds := map[string]string{
			"SUPABASE_URL":         "https://hotdash.supabase.co",
			"SUPABASE_SERVICE_KEY": e.supabaseKey,
			"PUBLER_API_KEY":       publerKey,
			"PUBLER_WORKSPACE_ID":  publerWorkspace,
			"CHATWOOT_API_KEY":     e.chatwootToken,
			"CHATWOOT_ACCOUNT_ID":  e.chatwootAccount,
			"SESSION_SECRET":       e.hex(32),
		}
		a.version = 1
		for k, v := range creds {
			a.secrets[k] = &secret{value: v, digest: digest(name, k, v), version: 1, created: o.Now().Add(-72 * time.Hour)}
		}
		e.apps[name] = a
		for i := range 2 {
			m := &machine{id: e.hex(7), region: regions[i], state: "started", version: 1}
			a.machines = append(a.machines, m)
		}
	}
	sc.apply(e)
	for _, a := range e.apps {
		for _, m := range a.machines {
			m.env = a.values()
		}
	}
	return e, nil
}

// digest stands in for Fly's secret digest: 16 hex characters that change
// with the value. The console never computes it; it only compares.
func digest(app, name, value string) string {
	sum := sha256.Sum256([]byte(app + "\x00" + name + "\x00" + value))
	return hex.EncodeToString(sum[:8])
}

func (e *Env) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(e.rng.UintN(256))
	}
	return hex.EncodeToString(b)[:n*2]
}

func (a *app) values() map[string]string {
	m := make(map[string]string, len(a.secrets))
	for k, s := range a.secrets {
		m[k] = s.value
	}
	return m
}

// Start serves the app, Chatwoot, Supabase and Publer on loopback and starts
// the background traffic that produces logs.
func (e *Env) Start(ctx context.Context) error {
	ctx, e.cancel = context.WithCancel(ctx)
	serve := func(key string, h http.Handler) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		e.servers = append(e.servers, srv)
		e.mu.Lock()
		e.urls[key] = "http://" + ln.Addr().String()
		e.mu.Unlock()
		e.wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				e.logAll(fmt.Sprintf("[error]sim: %s server stopped: %v", key, err))
			}
		})
		return nil
	}
	for _, name := range e.AppNames() {
		if err := serve("app:"+name, e.appHandler(name)); err != nil {
			return err
		}
	}
	for key, h := range map[string]http.Handler{
		"chatwoot": e.chatwootHandler(),
		"supabase": e.supabaseHandler(),
		"publer":   e.publerHandler(),
	} {
		if err := serve(key, h); err != nil {
			return err
		}
	}
	for _, name := range e.AppNames() {
		e.mu.Lock()
		a := e.apps[name]
		e.backfillLocked(a, 5*time.Minute)
		for _, m := range a.machines {
			e.startupLogsLocked(a, m)
		}
		e.mu.Unlock()
		e.wg.Go(func() { e.traffic(ctx, name) })
	}
	return nil
}

// backfillLocked gives the app the log of the span before now, as if it
// had been running: a console (or a one-shot check) opened on the
// simulator sees recent history, as `fly logs` shows it.
func (e *Env) backfillLocked(a *app, span time.Duration) {
	n := min(int(e.o.LogRate*span.Seconds()), a.history.Cap())
	if n <= 0 {
		return
	}
	start := e.now().Add(-span)
	for i := range n {
		at := start.Add(time.Duration(i) * span / time.Duration(n))
		e.activityLocked(a, at)
		e.progressJobsLocked(a, at)
	}
}

// Close stops the servers and the traffic.
func (e *Env) Close() {
	if e.cancel != nil {
		e.cancel()
	}
	for _, s := range e.servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.Shutdown(ctx)
		cancel()
	}
	e.wg.Wait()
}

// AppNames lists the apps, production first.
func (e *Env) AppNames() []string { return []string{ProdApp, DevApp} }

// URL returns the base URL of "app:<name>", "chatwoot", "supabase" or "publer".
func (e *Env) URL(key string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.urls[key]
}

// AppURL is the base URL of an app's endpoints.
func (e *Env) AppURL(app string) string { return e.URL("app:" + app) }

// Credentials the console itself uses against the simulated services, as
// an operator's environment would hold them.
func (e *Env) Credentials() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return map[string]string{
		"CHATWOOT_API_KEY":     e.chatwootToken,
		"CHATWOOT_ACCOUNT_ID":  e.chatwootAccount,
		"SUPABASE_URL":         e.urls["supabase"],
		"SUPABASE_SERVICE_KEY": e.supabaseKey,
		"PUBLER_API_KEY":       e.publerKey,
		"PUBLER_WORKSPACE_ID":  e.publerWorkspace,
		// The dev workspace's, under the names README gives them.
		"PUBLER_DEV_API_KEY":      e.publerDevKey,
		"PUBLER_DEV_WORKSPACE_ID": e.publerDevWorkspace,
	}
}

// publerWorkspaceLocked is the name of the Publer workspace key and
// workspace open, or "" when they open none.
func (e *Env) publerWorkspaceLocked(key, workspace string) string {
	switch {
	case key == e.publerKey && workspace == e.publerWorkspace:
		return "HotDash"
	case key == e.publerDevKey && workspace == e.publerDevWorkspace:
		return "HotDash Dev Testing"
	}
	return ""
}

// SecretValues lists every secret value the environment holds, for masking.
func (e *Env) SecretValues() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, a := range e.apps {
		for name, s := range a.secrets {
			if name != FlagSupabase && name != FlagPubler && name != FlagGA4 {
				out = append(out, s.value)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Writes returns every platform write made so far, for tests.
func (e *Env) Writes() []integrations.Op {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]integrations.Op(nil), e.writes...)
}

// RestartTime is how long each machine stays restarting.
func (e *Env) RestartTime() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.o.RestartTime
}

// SetRestartTime changes how long each machine stays restarting.
func (e *Env) SetRestartTime(d time.Duration) {
	e.mu.Lock()
	e.o.RestartTime = d
	e.mu.Unlock()
}

// Migration reports whether the idea_pool migration is applied.
func (e *Env) Migration() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.migration
}

// MachineEnv returns the value a machine of app started with, as
// `printenv NAME` would show it on the first started machine.
func (e *Env) MachineEnv(appName, name string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.apps[appName]
	if a == nil {
		return "", false
	}
	for _, m := range a.machines {
		if m.state == "started" {
			v, ok := m.env[name]
			return v, ok
		}
	}
	return "", false
}

// pick returns the machine that serves the next request, or nil when none
// is started (Fly's proxy then answers 503).
func (e *Env) pickLocked(a *app) *machine {
	for range a.machines {
		m := a.machines[a.next%len(a.machines)]
		a.next++
		if m.state == "started" {
			return m
		}
	}
	return nil
}
