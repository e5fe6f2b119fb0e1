package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// logLocked writes one line to app's log, now. msg may start with
// "[level]"; m is the machine that logs it (nil: any).
func (e *Env) logLocked(a *app, m *machine, msg string) { e.logAtLocked(a, m, e.now(), msg) }

// logAtLocked writes one line to app's log, stamped at.
func (e *Env) logAtLocked(a *app, m *machine, at time.Time, msg string) {
	if m == nil {
		m = a.machines[e.rng.IntN(len(a.machines))]
	}
	level := integrations.LevelInfo
	if strings.HasPrefix(msg, "[") {
		if i := strings.IndexByte(msg, ']'); i > 0 {
			level, msg = integrations.ParseLevel(msg[1:i]), msg[i+1:]
		}
	}
	line := integrations.LogLine{Time: at.UTC(), Level: level, Instance: m.id, Region: m.region, Message: integrations.Sanitize([]byte(msg))}
	a.history.Push(line)
	if e.capture != nil {
		*e.capture = append(*e.capture, line)
	}
	for ch := range a.streams {
		select {
		case ch <- line:
		default: // a stream that does not keep up loses lines, as fly logs does
		}
	}
}

func (e *Env) logAll(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.apps {
		e.logLocked(a, nil, msg)
	}
}

// startupLogsLocked is what the app prints when a machine starts: which
// adapter each integration uses.
func (e *Env) startupLogsLocked(a *app, m *machine) {
	e.logLocked(a, m, "Listening on 0.0.0.0:3000 (release v"+fmt.Sprint(m.version)+")")
	e.logLocked(a, m, "idea-pool: "+e.ideaPoolModeLocked(m))
	e.logLocked(a, m, "publer-adapter: "+e.publerModeLocked(m))
	e.logLocked(a, m, "analytics/ga4: "+e.ga4ModeLocked(m))
	e.logLocked(a, m, "chatwoot: client ready (token bucket 10 req/s, account "+m.env["CHATWOOT_ACCOUNT_ID"]+")")
}

func (e *Env) ideaPoolModeLocked(m *machine) string {
	if integrations.IsTrue(m.env[FlagSupabase]) {
		return "Supabase enabled (IDEA_POOL_SUPABASE_ENABLED=true)"
	}
	return "Supabase disabled (IDEA_POOL_SUPABASE_ENABLED not true): using mock data"
}

func (e *Env) publerModeLocked(m *machine) string {
	if integrations.IsTrue(m.env[FlagPubler]) && m.env["PUBLER_API_KEY"] != "" && m.env["PUBLER_WORKSPACE_ID"] != "" {
		return "Using real Publer API (production mode)"
	}
	if integrations.IsTrue(m.env[FlagPubler]) {
		return "Using mock Publer adapter (PUBLER_API_KEY or PUBLER_WORKSPACE_ID missing)"
	}
	return "Using mock Publer adapter (PUBLER_LIVE not true)"
}

func (e *Env) ga4ModeLocked(m *machine) string {
	if integrations.IsTrue(m.env[FlagGA4]) {
		return "GA4 Data API enabled (ANALYTICS_REAL_DATA=true)"
	}
	return "GA4 disabled (ANALYTICS_REAL_DATA not true): traffic from mock"
}

// traffic is the app's own activity: users loading dashboards, jobs
// completing, support conversations, each logged as the real app would.
func (e *Env) traffic(ctx context.Context, appName string) {
	const tick = 100 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	owed := 0.0
	lastBeat := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		a := e.apps[appName]
		owed += e.o.LogRate * tick.Seconds()
		now := e.now()
		for ; owed >= 1; owed-- {
			e.activityLocked(a, now)
		}
		if time.Since(lastBeat) > heartbeat {
			lastBeat = time.Now()
			e.heartbeatLocked(a, now)
		}
		e.progressJobsLocked(a, now)
		e.mu.Unlock()
	}
}

// Traffic logs app's activity on the Env's own clock, from the previous
// call to now (the first call only starts the span), and returns the
// lines: what the background traffic does while the Env runs, for an Env
// that is not started and a clock the caller moves (an hour of the app's
// life in a moment, in tests).
func (e *Env) Traffic(appName string) []integrations.LogLine {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.apps[appName]
	now := e.now()
	var out []integrations.LogLine
	e.capture = &out
	defer func() { e.capture = nil }()
	if from := a.spanEnd; !from.IsZero() && now.After(from) {
		span := now.Sub(from)
		a.owed += e.o.LogRate * span.Seconds()
		n := int(a.owed)
		a.owed -= float64(n)
		for k := range n {
			at := from.Add(span * time.Duration(k+1) / time.Duration(n))
			e.progressJobsLocked(a, at)
			e.activityLocked(a, at)
		}
		for beat := from.Truncate(heartbeat).Add(heartbeat); !beat.After(now); beat = beat.Add(heartbeat) {
			e.heartbeatLocked(a, beat)
		}
	}
	e.progressJobsLocked(a, now)
	a.spanEnd = now
	return out
}

// heartbeat is how often each machine says which Publer adapter it runs.
const heartbeat = 20 * time.Second

// heartbeatLocked is each started machine saying which adapter it runs.
func (e *Env) heartbeatLocked(a *app, at time.Time) {
	for _, m := range a.machines {
		if m.state == "started" {
			e.logAtLocked(a, m, at, "publer-adapter: adapter check: "+e.publerModeLocked(m))
		}
	}
}

// activityLocked produces one line of background activity, at the given time.
func (e *Env) activityLocked(a *app, at time.Time) {
	m := e.pickLocked(a)
	if m == nil {
		return // nothing is serving
	}
	switch r := e.rng.Float64(); {
	case r < 0.25:
		res := e.ideaPoolLocked(a, m)
		e.logIdeaPoolLocked(a, m, at, res)
	case r < 0.40:
		if e.rng.Float64() < 0.3 {
			e.postLocked(a, m, at, "Scheduled post from the content calendar")
		} else {
			e.logAtLocked(a, m, at, fmt.Sprintf("publer: GET /api/social/status/%s 200", e.anyJobLocked(a, at)))
		}
	case r < 0.65:
		e.chatwootActivityLocked(a, m, at)
	case r < 0.75:
		res := e.trafficLocked(m)
		e.logTrafficLocked(a, m, at, res)
	default:
		paths := []string{"GET /app 200", "GET /app/dashboard 200", "GET /healthz 200", "GET /app/ideas 200", "POST /api/session 204"}
		e.logAtLocked(a, m, at, fmt.Sprintf("%s %dms", paths[e.rng.IntN(len(paths))], 2+e.rng.IntN(40)))
	}
}

func (e *Env) anyJobLocked(a *app, at time.Time) string {
	for id := range a.jobs {
		return id
	}
	return fmt.Sprintf("mock-job-%d-%d", a.jobSeq+1, at.UnixMilli())
}

// chatwootActivityLocked is one of the app's requests to Chatwoot, logged
// with its status: "upstream=chatwoot status=429" is what the rate-limit
// threshold counts.
func (e *Env) chatwootActivityLocked(a *app, m *machine, at time.Time) {
	f := e.faults
	conversations := "/api/v1/accounts/" + m.env["CHATWOOT_ACCOUNT_ID"] + "/conversations"
	if f.ChatwootRateLimit > 0 && e.rng.Float64() < f.ChatwootRateLimit {
		e.logAtLocked(a, m, at, fmt.Sprintf("[warn]chatwoot: Rate limit reached: GET %s upstream=chatwoot status=429 (Retry later), retrying in %dms", conversations, 200+e.rng.IntN(800)))
		return
	}
	if f.ErrorRate > 0 && e.rng.Float64() < f.ErrorRate {
		e.logAtLocked(a, m, at, "[error]chatwoot: GET "+conversations+" upstream=chatwoot status=502 (Bad Gateway)")
		return
	}
	if m.env["CHATWOOT_API_KEY"] != e.chatwootToken {
		e.logAtLocked(a, m, at, "[error]chatwoot: GET "+conversations+" upstream=chatwoot status=401 (Invalid Access Token: check CHATWOOT_API_KEY)")
		return
	}
	switch e.rng.IntN(3) {
	case 0:
		e.logAtLocked(a, m, at, fmt.Sprintf("chatwoot: fetched %d open conversations upstream=chatwoot status=200 (%dms)", 5+e.rng.IntN(30), 40+e.rng.IntN(120)))
	case 1:
		e.logAtLocked(a, m, at, fmt.Sprintf("chatwoot: AI draft saved as private note on conversation %d upstream=chatwoot status=200", 4000+e.rng.IntN(900)))
	default:
		e.logAtLocked(a, m, at, fmt.Sprintf("chatwoot: approved note sent as public reply on conversation %d upstream=chatwoot status=200 (grade tone=%d accuracy=%d policy=%d)", 4000+e.rng.IntN(900), 3+e.rng.IntN(3), 3+e.rng.IntN(3), 4+e.rng.IntN(2)))
	}
}

// StreamLogs delivers the app's log like `fly logs`: recent lines first,
// then new ones as they come.
func (p *Platform) StreamLogs(ctx context.Context, appName string, sink func([]integrations.LogLine)) error {
	e := p.e
	ch := make(chan integrations.LogLine, 8192)
	e.mu.Lock()
	a, err := p.appLocked(appName)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	backlog := a.history.Slice()
	a.streams[ch] = struct{}{}
	drops := e.faults.LogDrops
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(a.streams, ch)
		e.mu.Unlock()
	}()
	if len(backlog) > 0 {
		sink(backlog)
	}
	batch := make([]integrations.LogLine, 0, 512)
	var end <-chan time.Time
	if drops {
		end = time.After(30 * time.Second)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return errors.New("fly logs: stream closed by the server (unexpected EOF)")
		case l := <-ch:
			batch = integrations.DeliverBatch(batch, l, ch, sink)
		}
	}
}

// RecentLogs returns the lines the app logged recently.
func (p *Platform) RecentLogs(ctx context.Context, appName string) ([]integrations.LogLine, error) {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	a, err := p.appLocked(appName)
	if err != nil {
		return nil, err
	}
	return a.history.Slice(), ctx.Err()
}
