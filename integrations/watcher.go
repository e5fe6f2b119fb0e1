package integrations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// WatcherOptions configure a Watcher. Zero durations take the defaults.
type WatcherOptions struct {
	Env      string
	App      string
	Demo     bool
	Platform Platform
	Defs     []*Definition
	// Probes by integration ID; an integration without one is observed
	// through its logs only.
	Probes map[string]Probe
	// Migrations is the console's own migration check (PostgREST or
	// Postgres), asked when an integration with a migration reports mock
	// against its flag, and by every one-shot check; nil: none configured.
	Migrations MigrationChecker
	Clock      Clock
	Book       *DigestBook
	Masker     *Masker

	ProbeInterval time.Duration // default 10s
	// ProbeIntervals override ProbeInterval by integration ID. Without
	// one, a Paced probe runs at its own pace (Publer every 2 minutes,
	// GA4 every 5), any other at ProbeInterval.
	ProbeIntervals   map[string]time.Duration
	SecretsInterval  time.Duration // default 15s
	MachinesInterval time.Duration // default 5s (1s while a machine is in transit)
	PublishInterval  time.Duration // default 100ms: how often views get a batch
	CallTimeout      time.Duration // default 10s: every outside call
	LogRetryMax      time.Duration // default 30s: longest pause before re-opening logs
	RingSize         int           // lines kept per integration, default 2000
	SparkMinutes     int           // sparkline length, default 30
}

func (o *WatcherOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ProbeInterval, 10*time.Second)
	def(&o.SecretsInterval, 15*time.Second)
	def(&o.MachinesInterval, 5*time.Second)
	def(&o.PublishInterval, 100*time.Millisecond)
	def(&o.CallTimeout, 10*time.Second)
	def(&o.LogRetryMax, 30*time.Second)
	if o.RingSize <= 0 {
		o.RingSize = 2000
	}
	if o.SparkMinutes <= 0 {
		o.SparkMinutes = 30
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Book == nil {
		o.Book = NewDigestBook()
	}
}

// Watcher is the live engine: it polls each integration's probe, the
// app's secrets and machines, consumes the log stream, routes lines to
// per-integration rings, keeps error-rate windows, and publishes immutable
// snapshots to any number of subscribers.
type Watcher struct {
	o      WatcherOptions
	router *Router

	mu        sync.Mutex
	ints      []*intState
	other     *Ring[LogLine] // lines no integration claims
	otherNew  []LogLine
	seq       uint64
	lineMeter Meter

	secrets     []Secret
	secretsErr  string
	secretsAt   time.Time
	secretsLate string
	logsFrom    time.Time // the oldest line read
	machines    []Machine
	machinesErr string
	logErr      string
	logGap      string
	dropped     uint64

	// The newest line time ingested, and the lines seen at that time: a
	// reopened stream replays recent lines, which are not counted again.
	newest    time.Time
	atNewest  []lineKey
	replaying bool // the stream reopened and no newer line came yet

	dirty bool
	snap  *Snapshot
	subs  map[*Subscription]struct{}

	wake []chan struct{} // one per poll loop, for Refresh
}

type lineKey struct{ instance, message string }

type intState struct {
	def  *Definition
	ring *Ring[LogLine]
	// The app's signal: its events (routed lines, and its own answers to
	// the console's calls), errors among them.
	meter  Meter
	events Rate // since start
	// The console's reachability: its probe's last result, and the row of
	// failures it ends. Never counted in meter.
	result    ProbeResult
	hasRes    bool
	check     time.Time
	fails     int
	failSince time.Time
	late      string
	migration *MigrationFact
	asking    bool // the migration check is under way
	jobs      jobTracker
	// source seen in the logs, for integrations observed that way
	logSource SourceKind
	logAnswer string
	logSeen   time.Time
	lines     uint64
	errors    uint64
	fresh     []LogLine // since the last publish
	limits    []*limitState
}

// limitState follows one threshold of an integration.
type limitState struct {
	t     Threshold
	match *Filter // share and count: the lines counted
	of    *Filter // share: the lines it is a share of (nil: all)
	meter Meter   // Errors: what is counted; Total: what it is a share of
	total Rate    // the same since start
	since time.Time
}

// minSample is how many events a rate needs before it can breach: one
// error among three requests is not a 33% error rate.
const minSample = 20

// migrationRecheck is how soon a table found present is looked at again
// while the app reports mock against its flag.
const migrationRecheck = 10 * time.Second

// defaultWindow is a threshold's window when the runbook names none.
const defaultWindow = 5 * time.Minute

// NewWatcher builds a watcher; Run starts it.
func NewWatcher(o WatcherOptions) *Watcher {
	o.defaults()
	w := &Watcher{
		o:      o,
		router: NewRouter(o.Defs),
		other:  NewRing[LogLine](o.RingSize),
		subs:   map[*Subscription]struct{}{},
	}
	for _, d := range o.Defs {
		st := &intState{def: d, ring: NewRing[LogLine](o.RingSize)}
		for _, t := range d.Thresholds {
			if t.Window <= 0 {
				t.Window = defaultWindow
			}
			ls := &limitState{t: t}
			if t.Kind == "share" || t.Kind == "count" {
				// The runbook's parser has checked the expressions.
				ls.match, _ = ParseFilter(t.Match)
				ls.of, _ = ParseFilter(t.Of)
			}
			st.limits = append(st.limits, ls)
		}
		w.ints = append(w.ints, st)
	}
	w.snap = w.buildLocked(o.Clock.Now())
	return w
}

// Run polls and streams until ctx ends. It returns once every goroutine it
// started has stopped.
func (w *Watcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	loop := func(f func(ctx context.Context, wake <-chan struct{})) {
		wake := make(chan struct{}, 1)
		w.mu.Lock()
		w.wake = append(w.wake, wake)
		w.mu.Unlock()
		wg.Go(func() { f(ctx, wake) })
	}
	for i := range w.ints {
		if p := w.o.Probes[w.ints[i].def.ID]; p != nil {
			every := w.ProbeInterval(w.ints[i].def.ID)
			loop(func(ctx context.Context, wake <-chan struct{}) {
				w.every(ctx, wake, func() time.Duration { return every }, func() { w.CheckNow(ctx, i) })
			})
		}
	}
	loop(func(ctx context.Context, wake <-chan struct{}) {
		w.every(ctx, wake, func() time.Duration { return w.o.SecretsInterval }, func() { w.pollSecrets(ctx) })
	})
	loop(func(ctx context.Context, wake <-chan struct{}) {
		w.every(ctx, wake, w.machinesInterval, func() { w.pollMachines(ctx) })
	})
	wg.Go(func() { w.streamLogs(ctx) })
	wg.Go(func() { w.publishLoop(ctx) })
	wg.Wait()
}

// every runs f now and then after each interval, or at once when woken.
func (w *Watcher) every(ctx context.Context, wake <-chan struct{}, interval func() time.Duration, f func()) {
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-w.o.Clock.After(interval()):
		}
	}
}

// Refresh asks every poll loop to check again now: after a write, the
// views should not wait for the next interval.
func (w *Watcher) Refresh() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.wake {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// ProbeInterval is how often integration id's probe runs: the
// configuration's interval for it, else the probe's own pace, else the
// common interval.
func (w *Watcher) ProbeInterval(id string) time.Duration {
	if d := w.o.ProbeIntervals[id]; d > 0 {
		return d
	}
	if p, ok := w.o.Probes[id].(Paced); ok && p.Interval() > 0 {
		return p.Interval()
	}
	return w.o.ProbeInterval
}

func (w *Watcher) machinesInterval() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.machines {
		if m.Transient() {
			return min(time.Second, w.o.MachinesInterval)
		}
	}
	return w.o.MachinesInterval
}

// CheckNow runs integration i's probe once and records the result: the
// console's reachability (its row of failures, an answer after the
// deadline), and, when the probe asked the app itself, the app's answer as
// one of its events. A failed probe is never the app's error.
func (w *Watcher) CheckNow(ctx context.Context, i int) ProbeResult {
	p := w.o.Probes[w.ints[i].def.ID]
	if p == nil {
		return ProbeResult{}
	}
	cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
	start := w.o.Clock.Now()
	res := p.Check(cctx)
	expired := cctx.Err() == context.DeadlineExceeded
	cancel()
	if res.Err != nil && stopping(ctx) {
		return res // the console is closing: nothing was learnt
	}
	now := w.o.Clock.Now()
	if res.Latency == 0 {
		res.Latency = now.Sub(start)
	}
	late := ""
	switch {
	case res.Err != nil && expired && !strings.Contains(res.Err.Error(), "timed out"):
		res.Err = fmt.Errorf("timed out after %s: %w", w.o.CallTimeout, res.Err)
	case res.Err == nil && (expired || res.Latency > w.o.CallTimeout):
		// The answer came after the deadline: it is used, and said.
		late = fmt.Sprintf("answered in %s, after the %s limit", res.Latency.Round(time.Millisecond), w.o.CallTimeout)
	}
	res.Warning = w.o.Masker.Mask(res.Warning)
	res.Detail = w.o.Masker.Mask(res.Detail)
	if res.Err != nil {
		res.Err = maskedError{res.Err, w.errText(res.Err)}
	}
	w.mu.Lock()
	st := w.ints[i]
	st.result, st.hasRes, st.check, st.late = res, true, now, late
	if res.Err != nil {
		if st.fails == 0 {
			st.failSince = now
		}
		st.fails++
	} else {
		st.fails, st.failSince = 0, time.Time{}
	}
	if res.AppStatus != 0 {
		// The app answered the console: that answer is one of the app's
		// events, an error when it is a 5xx.
		st.countLocked(now, res.AppStatus >= 500)
	}
	ask := w.wantMigrationLocked(st, now)
	w.dirty = true
	w.mu.Unlock()
	if ask {
		w.checkMigration(ctx, i)
	}
	return res
}

// stopping reports whether ctx was cancelled (the console is closing), as
// opposed to having reached a deadline: a deadline's answers still count.
func stopping(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// wantMigrationLocked reports whether the console should look at st's
// migration itself now: the app reports mock while the flag does not say
// mock, and the last look is old enough. A table found present is looked
// at again soon (it may have gone since); one found missing, or a check
// that failed, not before a minute (a refused login is not retried at
// once).
func (w *Watcher) wantMigrationLocked(st *intState, now time.Time) bool {
	if st.def.Migration == "" || w.o.Migrations == nil || st.asking || st.result.Source != SourceMock {
		return false
	}
	if ExpectedSource(w.flagLocked(st.def)) == SourceMock {
		return false
	}
	if m := st.migration; m != nil {
		again := time.Minute
		if m.Known() && m.Present {
			again = migrationRecheck
		}
		if now.Sub(m.At) < again {
			return false
		}
	}
	st.asking = true
	return true
}

// checkMigration asks the console's own migration check about integration
// i's table and keeps the answer for the diagnoses.
func (w *Watcher) checkMigration(ctx context.Context, i int) {
	table := w.ints[i].def.Migration
	cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
	present, detail, err := w.o.Migrations.CheckMigration(cctx, table)
	cancel()
	if err != nil && stopping(ctx) {
		return
	}
	// The detail quotes the service: text from outside, made inert.
	f := &MigrationFact{Table: table, Present: present, Detail: Clip(w.o.Masker.Mask(detail), MaxText), At: w.o.Clock.Now()}
	if err != nil {
		f.Err = Clip(w.errText(err), MaxText)
	}
	w.mu.Lock()
	w.ints[i].migration, w.ints[i].asking = f, false
	w.dirty = true
	w.mu.Unlock()
}

// errText is err's message with known secret values masked.
func (w *Watcher) errText(err error) string { return w.o.Masker.Mask(err.Error()) }

type maskedError struct {
	err error
	msg string
}

func (e maskedError) Error() string { return e.msg }
func (e maskedError) Unwrap() error { return e.err }

// pollSecrets reads the app's secrets. An answer that comes after the
// deadline is used all the same, and said.
func (w *Watcher) pollSecrets(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
	defer cancel()
	secrets, err := w.o.Platform.Secrets(cctx, w.o.App)
	if err != nil && stopping(ctx) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.secretsErr = w.errText(err)
	} else {
		w.secrets, w.secretsErr, w.secretsAt, w.secretsLate = secrets, "", w.o.Clock.Now(), ""
		if cctx.Err() != nil {
			w.secretsLate = fmt.Sprintf("fly secrets list answered after the %s limit (its answer is shown)", w.o.CallTimeout)
		}
	}
	w.dirty = true
}

func (w *Watcher) pollMachines(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
	defer cancel()
	ms, err := w.o.Platform.Machines(cctx, w.o.App)
	if err != nil && stopping(ctx) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.machinesErr = w.errText(err)
	} else {
		w.machines, w.machinesErr = ms, ""
	}
	w.dirty = true
}

// streamLogs keeps the platform's log stream open, re-opening it with
// backoff when it ends, and tells the views about the gap.
func (w *Watcher) streamLogs(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		opened := w.o.Clock.Now()
		err := w.o.Platform.StreamLogs(ctx, w.o.App, w.Ingest)
		if ctx.Err() != nil {
			return
		}
		if w.o.Clock.Now().Sub(opened) > time.Minute {
			backoff = time.Second // it ran a good while: start over
		}
		down := w.o.Clock.Now()
		reason := "log stream ended"
		if err != nil {
			reason = w.errText(err)
		}
		w.mu.Lock()
		w.logErr = fmt.Sprintf("%s; reopening in %s", reason, backoff)
		w.dirty = true
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-w.o.Clock.After(backoff):
		}
		w.mu.Lock()
		w.logErr = ""
		w.replaying = !w.newest.IsZero()
		w.logGap = fmt.Sprintf("log stream reopened at %s after a %s gap", w.o.Clock.Now().Format("15:04:05"), w.o.Clock.Now().Sub(down).Round(time.Second))
		w.dirty = true
		w.mu.Unlock()
		backoff = min(backoff*2, w.o.LogRetryMax)
	}
}

// Ingest takes a batch of parsed lines from the platform: masks secrets,
// numbers, routes and counts them. It never blocks on a view.
func (w *Watcher) Ingest(lines []LogLine) {
	now := w.o.Clock.Now()
	masking := w.o.Masker.Len() > 0
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range lines {
		l := lines[k]
		if masking {
			l.Message = w.o.Masker.Mask(l.Message)
		}
		if w.replayedLocked(&l) {
			continue
		}
		w.seq++
		l.Seq = w.seq
		at := l.Time
		if at.IsZero() || at.After(now) {
			at = now
		}
		facts := ReadFacts(l.Message)
		isErr := l.IsError() || facts.Status >= 500
		w.lineMeter.Add(at, isErr)
		if w.logsFrom.IsZero() || at.Before(w.logsFrom) {
			w.logsFrom = at
		}
		i := w.router.Route(l.Message)
		if i < 0 {
			w.other.Push(l)
			w.otherNew = w.keep(w.otherNew, l)
			continue
		}
		st := w.ints[i]
		st.ring.Push(l)
		st.classifyLocked(at, l.Message, &facts, isErr)
		if spec := &st.def.Source; spec.Kind == "logs" {
			switch {
			case spec.LiveMarker != "" && strings.Contains(l.Message, spec.LiveMarker):
				st.logSource, st.logAnswer, st.logSeen = SourceLive, spec.LiveMarker, at
			case spec.MockMarker != "" && strings.Contains(l.Message, spec.MockMarker):
				st.logSource, st.logAnswer, st.logSeen = SourceMock, spec.MockMarker, at
			}
		}
		st.fresh = w.keep(st.fresh, l)
	}
	w.dirty = true
}

// replayedLocked reports whether l is a line a reopened stream replays,
// counted already: older than the newest line ingested, or at that very
// time and seen then. Replay ends with the first newer line; from then on
// lines come live, and lines from several machines may arrive a little out
// of order, so none is skipped.
func (w *Watcher) replayedLocked(l *LogLine) bool {
	if l.Time.IsZero() {
		return false
	}
	key := lineKey{l.Instance, l.Message}
	switch {
	case l.Time.After(w.newest):
		w.replaying = false
		w.newest = l.Time
		w.atNewest = append(w.atNewest[:0], key)
	case l.Time.Equal(w.newest):
		if w.replaying && slices.Contains(w.atNewest, key) {
			return true
		}
		w.atNewest = append(w.atNewest, key)
	default:
		return w.replaying
	}
	return false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// classifyLocked counts one of the integration's lines: an event, an
// error when the app logged it at error level or it records a request
// answered 5xx, and the facts each threshold measures.
func (st *intState) classifyLocked(at time.Time, msg string, f *LineFacts, isErr bool) {
	st.lines++
	if isErr {
		st.errors++
	}
	st.countLocked(at, isErr)
	var took time.Duration
	finished := false
	if f.Job != "" {
		took, finished = st.jobs.see(at, f)
	}
	for _, ls := range st.limits {
		ls.observe(at, msg, f, took, finished)
	}
}

// countLocked counts one of the app's events.
func (st *intState) countLocked(at time.Time, isErr bool) {
	st.meter.Add(at, isErr)
	st.events.Total++
	if isErr {
		st.events.Errors++
	}
}

// observe counts what one line means for the threshold: took and finished
// say when it ended a job, and how long that job took (0: not known).
func (ls *limitState) observe(at time.Time, msg string, f *LineFacts, took time.Duration, finished bool) {
	var hit, of bool
	t := &ls.t
	switch t.Kind {
	case "share", "count":
		if ls.match == nil {
			return
		}
		hit, of = ls.match.Match(msg), ls.of.Match(msg)
	case "status_share", "status_count":
		if f.Status == 0 || (t.Upstream != "" && f.Upstream != t.Upstream) {
			return
		}
		hit, of = slices.Contains(t.Statuses, f.Status), true
	case "jobs_failing":
		if !finished {
			return
		}
		hit, of = f.Outcome == OutcomeFailed, true
	case "job_pending":
		if !finished {
			return
		}
		hit, of = took > t.pending(), true
	default:
		return
	}
	if hit || of {
		ls.meter.AddN(at, b2i(hit), b2i(of))
		ls.total.Errors += b2i(hit)
		ls.total.Total += b2i(of)
	}
}

// pending is a job_pending threshold's limit as a duration.
func (t *Threshold) pending() time.Duration { return time.Duration(t.Max * float64(time.Second)) }

// measuresLocked measures every threshold of the integration at now, each
// over its own window, keeping when each went over its limit.
func (st *intState) measuresLocked(now time.Time) []Measure {
	out := make([]Measure, 0, len(st.limits))
	for _, ls := range st.limits {
		t := ls.t
		m := Measure{Threshold: t, Sampled: true, Total: ls.total}
		switch t.Kind {
		case "error_rate":
			r := st.meter.Window(now, t.Window)
			m.Count, m.Of, m.Value, m.Total = r.Errors, r.Total, r.Ratio(), st.events
			m.Sampled = r.Total >= minSample
		case "share", "status_share", "jobs_failing":
			r := ls.meter.Window(now, t.Window)
			m.Count, m.Of, m.Value = r.Errors, r.Total, r.Ratio()
			m.Sampled = r.Total >= minSample
		case "count", "status_count":
			r := ls.meter.Window(now, t.Window)
			m.Count, m.Value = r.Errors, float64(r.Errors)
		case "job_pending":
			// Value: the longest a job was pending, open now or ended in
			// the window; Count: the jobs pending over the limit now.
			longest, open := st.jobs.longest(now, t.Window, t.pending())
			m.Value, m.Count = longest.Seconds(), open
		}
		m.Over = m.Sampled && m.Value > t.Max
		if !m.Over {
			ls.since = time.Time{}
		} else if ls.since.IsZero() {
			ls.since = now
		}
		m.Since = ls.since
		out = append(out, m)
	}
	return out
}

// keep appends l to a batch awaiting publication. A batch never needs more
// than a ring's worth of lines (nobody could see the rest), so past twice
// that it sheds the oldest half at once and counts them.
func (w *Watcher) keep(batch []LogLine, l LogLine) []LogLine {
	if len(batch) >= 2*w.o.RingSize {
		n := copy(batch, batch[len(batch)-w.o.RingSize:])
		w.dropped += uint64(len(batch) - n)
		batch = batch[:n]
	}
	return append(batch, l)
}

// take hands a batch over for publication, no longer than a ring.
func (w *Watcher) take(batch []LogLine) []LogLine {
	if over := len(batch) - w.o.RingSize; over > 0 {
		w.dropped += uint64(over)
		batch = batch[over:]
	}
	return slices.Clip(batch)
}

func (w *Watcher) publishLoop(ctx context.Context) {
	t := w.o.Clock.NewTicker(w.o.PublishInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			w.mu.Lock()
			for s := range w.subs {
				s.close()
			}
			w.mu.Unlock()
			return
		case <-t.C():
			w.Publish()
		}
	}
}

// Publish builds a snapshot when anything changed and hands it, with the
// lines that arrived since the last one, to every subscriber.
func (w *Watcher) Publish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirty {
		return
	}
	w.dirty = false
	u := Update{Lines: make([][]LogLine, len(w.ints)+1)}
	for i, st := range w.ints {
		u.Lines[i] = w.take(st.fresh)
		st.fresh = nil
	}
	u.Lines[len(w.ints)] = w.take(w.otherNew)
	w.otherNew = nil
	w.snap = w.buildLocked(w.o.Clock.Now())
	u.Snap = w.snap
	for s := range w.subs {
		s.offer(u)
	}
}

// Snapshot returns the last published snapshot.
func (w *Watcher) Snapshot() *Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.snap
}

// Latest builds a snapshot of the state right now, published or not.
func (w *Watcher) Latest() *Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buildLocked(w.o.Clock.Now())
}

func (w *Watcher) buildLocked(now time.Time) *Snapshot {
	s := &Snapshot{
		At:          now,
		Env:         w.o.Env,
		App:         w.o.App,
		Demo:        w.o.Demo,
		Machines:    slices.Clone(w.machines),
		MachinesErr: w.machinesErr,
		SecretsErr:  w.secretsErr,
		LogErr:      w.logErr,
		LogGap:      w.logGap,
		LogRate:     float64(w.lineMeter.Window(now, 10*time.Second).Total) / 10,
		LogDropped:  w.dropped,
		SecretsLate: w.secretsLate,
		LogsFrom:    w.logsFrom,
		LogsHour:    w.lineMeter.Window(now, time.Hour),
	}
	if w.o.Platform != nil {
		s.Platform = w.o.Platform.Name()
	}
	var secrets []Secret
	if !w.secretsAt.IsZero() {
		secrets = w.secrets
	}
	s.Integrations = make([]Status, len(w.ints))
	for i, st := range w.ints {
		s.Integrations[i] = w.statusLocked(st, secrets, now)
	}
	return s
}

// flagLocked is def's flag as the last secrets list says.
func (w *Watcher) flagLocked(d *Definition) FlagStatus {
	switch {
	case !d.HasFlag():
		return FlagStatus{State: FlagNone}
	case w.secretsAt.IsZero() && w.secretsErr != "":
		return FlagStatus{Name: d.Flag, State: FlagUnreadable, Detail: w.secretsErr}
	case w.secretsAt.IsZero():
		return FlagStatus{Name: d.Flag, State: FlagUnknown, Detail: "reading secrets…"}
	}
	return FlagFrom(w.o.App, d.Flag, w.secrets, w.o.Book)
}

func (w *Watcher) statusLocked(st *intState, secrets []Secret, now time.Time) Status {
	d := st.def
	out := Status{
		Def:       d,
		Rates:     st.meter.Windows(now),
		Spark:     st.meter.Spark(now, w.o.SparkMinutes),
		LogLines:  st.lines,
		LogErrors: st.errors,
		Migration: st.migration,
	}
	out.Flag = w.flagLocked(d)
	out.Expected = ExpectedSource(out.Flag)
	if st.hasRes {
		r := st.result
		out.Checked, out.Latency, out.CheckErr, out.CheckLate = st.check, r.Latency, r.Problem(), st.late
		out.CheckFails, out.CheckSince = st.fails, st.failSince
		out.Answer, out.Source, out.Warning, out.Detail = r.Answer, r.Source, r.Warning, r.Detail
	}
	if d.Source.Kind == "logs" {
		out.Source, out.Answer = st.logSource, st.logAnswer
		if out.Checked.IsZero() {
			out.Checked = st.logSeen
		}
	}
	out.Measures = st.measuresLocked(now)
	for _, m := range out.Measures {
		if m.Over {
			out.Breaches = append(out.Breaches, m)
		}
	}
	out.Diagnosis = Diagnose(d, Facts{App: w.o.App, Flag: out.Flag, Secrets: secrets, Probe: st.result, Observed: out.Source, Expected: out.Expected,
		Migration: st.migration, Rejected: rejected(st.result, out.Measures)})
	return out
}

// rejected reports whether a service turned the integration's credentials
// away: the console's probe says so, or the app logged requests to it
// answered 401 or 403 within a threshold's window.
func rejected(r ProbeResult, ms []Measure) bool {
	if r.Facts[WhenCredentialsRejected] {
		return true
	}
	for _, m := range ms {
		t := m.Threshold
		if (t.Kind == "status_count" || t.Kind == "status_share") && m.Count > 0 &&
			(slices.Contains(t.Statuses, 401) || slices.Contains(t.Statuses, 403)) {
			return true
		}
	}
	return false
}

// SawJob records a job outcome the console read itself (a job status
// answer: "complete", "failed", anything else pending) for integration
// id's job thresholds. An end the app logs as well counts once.
func (w *Watcher) SawJob(id, job, status string) {
	if job == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.ints {
		if st.def.ID != id {
			continue
		}
		now := w.o.Clock.Now()
		f := LineFacts{Job: job, Outcome: JobOutcome(status)}
		took, finished := st.jobs.see(now, &f)
		for _, ls := range st.limits {
			if ls.t.Kind == "jobs_failing" || ls.t.Kind == "job_pending" {
				ls.observe(now, "", &f, took, finished)
			}
		}
		w.dirty = true
	}
}

// Backlog copies the lines each integration's ring holds, oldest first;
// the last entry holds the lines no integration claims.
func (w *Watcher) Backlog() [][]LogLine {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.backlogLocked()
}

func (w *Watcher) backlogLocked() [][]LogLine {
	out := make([][]LogLine, len(w.ints)+1)
	for i, st := range w.ints {
		out[i] = st.ring.Slice()
	}
	out[len(w.ints)] = w.other.Slice()
	return out
}

// Update is what a subscriber receives: the newest snapshot and the lines
// that arrived since its previous update, per integration in snapshot order
// (the last slice holds lines no integration claims). Lines are shared:
// read them, never modify them.
type Update struct {
	Snap  *Snapshot
	Lines [][]LogLine
	// Dropped counts the lines this subscriber lost because it fell behind.
	Dropped uint64
}

// Subscription delivers updates to one view. Updates that the view has not
// taken yet are merged, so a slow view gets fewer, larger updates; past
// the ring size it loses the oldest lines and counts them. The engine
// never waits for a view.
type Subscription struct {
	w       *Watcher
	limit   int
	mu      sync.Mutex
	pending *Update
	dropped uint64
	ready   chan struct{}
	done    chan struct{}
	closed  bool

	// Backlog holds the lines buffered when the subscription started.
	Backlog [][]LogLine
	// First is the snapshot current when the subscription started.
	First *Snapshot
}

// Subscribe registers a view. Call Close when done.
func (w *Watcher) Subscribe() *Subscription {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &Subscription{
		w:       w,
		limit:   w.o.RingSize,
		ready:   make(chan struct{}, 1),
		done:    make(chan struct{}),
		Backlog: w.backlogLocked(),
		First:   w.snap,
	}
	w.subs[s] = struct{}{}
	return s
}

func (s *Subscription) offer(u Update) {
	s.mu.Lock()
	if s.pending == nil {
		// Own the outer slice: merging later replaces its entries, and
		// other subscribers hold the same update.
		cp := u
		cp.Lines = slices.Clone(u.Lines)
		s.pending = &cp
	} else {
		s.pending.Snap = u.Snap
		for i := range u.Lines {
			merged := append(slices.Clip(s.pending.Lines[i]), u.Lines[i]...)
			if over := len(merged) - s.limit; over > 0 {
				merged = merged[over:]
				s.dropped += uint64(over)
			}
			s.pending.Lines[i] = merged
		}
	}
	s.pending.Dropped = s.dropped
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next waits for the next update. It returns false when the subscription
// or the watcher has ended, or ctx is done.
func (s *Subscription) Next(ctx context.Context) (Update, bool) {
	for {
		s.mu.Lock()
		if p := s.pending; p != nil {
			s.pending = nil
			s.mu.Unlock()
			return *p, true
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Update{}, false
		case <-s.done:
			return Update{}, false
		case <-s.ready:
		}
	}
}

// Close stops deliveries.
func (s *Subscription) Close() {
	s.w.mu.Lock()
	delete(s.w.subs, s)
	s.w.mu.Unlock()
	s.close()
}

func (s *Subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

// Recheck asks the secrets, the machines and every probe once, now, and
// publishes what they answer: after a write, so that the panes agree with
// what the console is about to report.
func (w *Watcher) Recheck(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { w.pollSecrets(ctx) })
	wg.Go(func() { w.pollMachines(ctx) })
	for i := range w.ints {
		if w.o.Probes[w.ints[i].def.ID] != nil {
			wg.Go(func() { w.CheckNow(ctx, i) })
		}
	}
	wg.Wait()
	w.Publish()
}

// Poll asks everything once, concurrently: the secrets, the machines,
// every probe, the console's own migration check, and (when the platform
// keeps it) the recent log history.
// One-shot checks use it instead of Run; it returns when all have answered
// or timed out, so it takes about as long as the slowest call.
func (w *Watcher) Poll(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { w.Recheck(ctx) })
	for i, st := range w.ints {
		if st.def.Migration == "" || w.o.Migrations == nil {
			continue
		}
		w.mu.Lock()
		claimed := !st.asking
		st.asking = true
		w.mu.Unlock()
		if claimed {
			wg.Go(func() { w.checkMigration(ctx, i) })
		}
	}
	if h, ok := w.o.Platform.(LogHistory); ok {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
			defer cancel()
			lines, err := h.RecentLogs(cctx, w.o.App)
			w.Ingest(lines)
			if err != nil {
				w.mu.Lock()
				w.logErr = w.errText(err)
				w.mu.Unlock()
			}
		})
	}
	wg.Wait()
}
