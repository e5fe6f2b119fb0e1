package integrations

import (
	"context"
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
	Clock  Clock
	Book   *DigestBook
	Masker *Masker

	ProbeInterval    time.Duration // default 10s
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
	def    *Definition
	ring   *Ring[LogLine]
	meter  Meter
	result ProbeResult
	hasRes bool
	check  time.Time
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
	meter Meter   // Errors: lines matching match; Total: lines matching of
	since time.Time
}

// minSample is how many events a rate needs before it can breach: one
// error among three requests is not a 33% error rate.
const minSample = 20

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
			ls := &limitState{t: t}
			// The runbook's parser has checked the expressions.
			ls.match, _ = ParseFilter(t.Match)
			ls.of, _ = ParseFilter(t.Of)
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
			loop(func(ctx context.Context, wake <-chan struct{}) {
				w.every(ctx, wake, func() time.Duration { return w.o.ProbeInterval }, func() { w.CheckNow(ctx, i) })
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

// CheckNow runs integration i's probe once and records the result.
func (w *Watcher) CheckNow(ctx context.Context, i int) ProbeResult {
	p := w.o.Probes[w.ints[i].def.ID]
	if p == nil {
		return ProbeResult{}
	}
	cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
	start := w.o.Clock.Now()
	res := p.Check(cctx)
	cancel()
	if ctx.Err() != nil {
		return res
	}
	now := w.o.Clock.Now()
	if res.Latency == 0 {
		res.Latency = now.Sub(start)
	}
	if res.Err != nil && cctx.Err() == context.DeadlineExceeded && !strings.Contains(res.Err.Error(), "timed out") {
		res.Err = fmt.Errorf("timed out after %s: %w", w.o.CallTimeout, res.Err)
	}
	res.Warning = w.o.Masker.Mask(res.Warning)
	res.Detail = w.o.Masker.Mask(res.Detail)
	if res.Err != nil {
		res.Err = maskedError{res.Err, w.errText(res.Err)}
	}
	w.mu.Lock()
	st := w.ints[i]
	st.result, st.hasRes, st.check = res, true, now
	st.meter.Add(now, res.Err != nil)
	w.dirty = true
	w.mu.Unlock()
	return res
}

// errText is err's message with known secret values masked.
func (w *Watcher) errText(err error) string { return w.o.Masker.Mask(err.Error()) }

type maskedError struct {
	err error
	msg string
}

func (e maskedError) Error() string { return e.msg }
func (e maskedError) Unwrap() error { return e.err }

func (w *Watcher) pollSecrets(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
	defer cancel()
	secrets, err := w.o.Platform.Secrets(cctx, w.o.App)
	if ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.secretsErr = w.errText(err)
	} else {
		w.secrets, w.secretsErr, w.secretsAt = secrets, "", w.o.Clock.Now()
	}
	w.dirty = true
}

func (w *Watcher) pollMachines(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, w.o.CallTimeout)
	defer cancel()
	ms, err := w.o.Platform.Machines(cctx, w.o.App)
	if ctx.Err() != nil {
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
		w.lineMeter.Add(at, false)
		i := w.router.Route(l.Message)
		if i < 0 {
			w.other.Push(l)
			w.otherNew = w.keep(w.otherNew, l)
			continue
		}
		st := w.ints[i]
		st.ring.Push(l)
		st.lines++
		isErr := l.IsError()
		if isErr {
			st.errors++
		}
		st.meter.Add(at, isErr)
		for _, ls := range st.limits {
			if ls.match == nil {
				continue
			}
			m, o := ls.match.Match(l.Message), ls.of.Match(l.Message)
			if m || o {
				ls.meter.AddN(at, b2i(m), b2i(o))
			}
		}
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

// breachesLocked evaluates the integration's thresholds at now, keeping
// when each went over its limit.
func (st *intState) breachesLocked(now time.Time) []Breach {
	var out []Breach
	for _, ls := range st.limits {
		t := ls.t
		window := t.Window
		if window <= 0 {
			window = 5 * time.Minute
		}
		var value float64
		over := false
		switch t.Kind {
		case "error_rate":
			r := st.meter.Window(now, window)
			value = r.Ratio()
			over = r.Total >= minSample && value > t.Max
		case "share":
			r := ls.meter.Window(now, window)
			value = r.Ratio()
			over = r.Total >= minSample && value > t.Max
		case "count":
			value = float64(ls.meter.Window(now, window).Errors)
			over = value > t.Max
		}
		if !over {
			ls.since = time.Time{}
			continue
		}
		if ls.since.IsZero() {
			ls.since = now
		}
		out = append(out, Breach{Threshold: t, Value: value, Since: ls.since})
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

func (w *Watcher) statusLocked(st *intState, secrets []Secret, now time.Time) Status {
	d := st.def
	out := Status{
		Def:       d,
		Rates:     st.meter.Windows(now),
		Spark:     st.meter.Spark(now, w.o.SparkMinutes),
		LogLines:  st.lines,
		LogErrors: st.errors,
	}
	switch {
	case !d.HasFlag():
		out.Flag = FlagStatus{State: FlagNone}
	case secrets == nil && w.secretsErr != "":
		out.Flag = FlagStatus{Name: d.Flag, State: FlagUnreadable, Detail: w.secretsErr}
	case secrets == nil:
		out.Flag = FlagStatus{Name: d.Flag, State: FlagUnknown, Detail: "reading secrets…"}
	default:
		out.Flag = FlagFrom(w.o.App, d.Flag, secrets, w.o.Book)
	}
	out.Expected = ExpectedSource(out.Flag)
	if st.hasRes {
		r := st.result
		out.Checked, out.Latency, out.CheckErr = st.check, r.Latency, r.Problem()
		out.Answer, out.Source, out.Warning, out.Detail = r.Answer, r.Source, r.Warning, r.Detail
	}
	if d.Source.Kind == "logs" {
		out.Source, out.Answer = st.logSource, st.logAnswer
		if out.Checked.IsZero() {
			out.Checked = st.logSeen
		}
	}
	out.Breaches = st.breachesLocked(now)
	out.Diagnosis = Diagnose(d, Facts{App: w.o.App, Flag: out.Flag, Secrets: secrets, Probe: st.result, Observed: out.Source, Expected: out.Expected})
	return out
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
// every probe, and (when the platform keeps it) the recent log history.
// One-shot checks use it instead of Run; it returns when all have answered
// or timed out, so it takes about as long as the slowest call.
func (w *Watcher) Poll(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { w.Recheck(ctx) })
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
