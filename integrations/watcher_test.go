package integrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// fakePlatform is an in-memory platform for the watcher's tests.
type fakePlatform struct {
	mu       sync.Mutex
	secrets  []Secret
	err      error
	machines []Machine
	logs     chan []LogLine
	logErr   error
	opened   int
}

func (p *fakePlatform) Name() string { return "fake" }
func (p *fakePlatform) Secrets(context.Context, string) ([]Secret, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Secret(nil), p.secrets...), p.err
}
func (p *fakePlatform) SetSecrets(context.Context, string, map[string]string, bool, Progress) error {
	return nil
}
func (p *fakePlatform) UnsetSecrets(context.Context, string, []string, bool, Progress) error {
	return nil
}
func (p *fakePlatform) Apply(context.Context, string, ApplyMode, Progress) error { return nil }
func (p *fakePlatform) Machines(context.Context, string) ([]Machine, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.machines, nil
}
func (p *fakePlatform) Describe(op Op) []string { return FlyCommands(op) }
func (p *fakePlatform) StreamLogs(ctx context.Context, app string, sink func([]LogLine)) error {
	p.mu.Lock()
	p.opened++
	p.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-p.logs:
			if !ok {
				return p.logErr
			}
			sink(b)
		}
	}
}

func testDefs() []*Definition {
	return []*Definition{
		{ID: "supabase", Name: "Supabase", Flag: "IDEA_POOL_SUPABASE_ENABLED", Ready: true, LogTags: []string{"idea-pool"},
			Credentials: []string{"SUPABASE_URL", "SUPABASE_SERVICE_KEY"},
			Source:      SourceSpec{Kind: "http", Field: "source", Live: []string{"supabase"}, Mock: []string{"mock"}},
			Thresholds:  []Threshold{{Name: "error rate", Kind: "error_rate", Max: 0.01}},
			Diagnoses: []Diagnosis{
				{When: WhenFlagNotDeployed, Text: "staged: restart"},
				{When: WhenCredentialsMissing, Text: "creds missing"},
				{When: WhenMigrationMissing, Text: "migration missing"},
				{When: WhenAlways, Text: "fly logs -a {app} | grep idea-pool"},
			}},
		{ID: "publer", Name: "Publer", Flag: "PUBLER_LIVE", Ready: true, LogTags: []string{"publer-adapter", "publer"},
			Credentials: []string{"PUBLER_API_KEY", "PUBLER_WORKSPACE_ID"},
			Source:      SourceSpec{Kind: "logs", LiveMarker: "Using real Publer API", MockMarker: "Using mock Publer adapter"},
			Thresholds: []Threshold{
				{Name: "error rate", Kind: "error_rate", Max: 0.01, Window: 5 * time.Minute},
				{Name: "jobs failing", Kind: "jobs_failing", Max: 0.05, Window: 5 * time.Minute},
				{Name: "job pending", Kind: "job_pending", Max: 300, Window: 5 * time.Minute},
				{Name: "401/403 from Publer", Kind: "status_count", Upstream: "publer", Statuses: []int{401, 403}, Window: 5 * time.Minute},
			},
			Diagnoses: []Diagnosis{
				{When: WhenFlagNotSet, Text: "Secret not set: PUBLER_LIVE"},
				{When: WhenCredentialsMissing, Text: "Publer credentials missing"},
				{When: WhenCredentialsRejected, Text: "Publer rejected the key"},
			}},
		{ID: "chatwoot", Name: "Chatwoot", Ready: true, LogTags: []string{"chatwoot"}, Source: SourceSpec{Kind: "chatwoot"},
			Thresholds: []Threshold{
				{Name: "error rate", Kind: "error_rate", Max: 0.01, Window: 5 * time.Minute},
				{Name: "rate limited", Kind: "status_share", Upstream: "chatwoot", Statuses: []int{429}, Max: 0.10, Window: 5 * time.Minute},
			}},
	}
}

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func newTestWatcher(p Platform, probes map[string]Probe) (*Watcher, *FakeClock) {
	clk := NewFakeClock(t0)
	w := NewWatcher(WatcherOptions{Env: "production", App: "hotdash-app", Platform: p, Defs: testDefs(), Probes: probes, Clock: clk, RingSize: 4})
	return w, clk
}

func line(msg string, lvl Level) LogLine {
	return LogLine{Time: t0, Level: lvl, Instance: "m1", Region: "iad", Message: msg}
}

func TestIngestRoutesCountsAndReadsMarkers(t *testing.T) {
	w, _ := newTestWatcher(&fakePlatform{}, nil)
	w.Ingest([]LogLine{
		line("idea-pool: served 24 ideas from supabase", LevelInfo),
		line("idea-pool: Supabase query failed: 503", LevelError),
		line("publer-adapter: Using real Publer API (production mode)", LevelInfo),
		line("chatwoot: Rate limit reached", LevelWarn),
		line("GET /healthz 200", LevelInfo),
	})
	snap := w.Latest()
	sb := snap.Integration("supabase")
	if sb.LogLines != 2 || sb.LogErrors != 1 || sb.Rates.M1 != (Rate{Errors: 1, Total: 2}) {
		t.Errorf("supabase counts: lines %d errors %d rate %+v", sb.LogLines, sb.LogErrors, sb.Rates.M1)
	}
	if p := snap.Integration("publer"); p.Source != SourceLive || p.Checked != t0 {
		t.Errorf("publer source from logs = %v checked %v", p.Source, p.Checked)
	}
	back := w.Backlog()
	if len(back[0]) != 2 || len(back[1]) != 1 || len(back[2]) != 1 || len(back[3]) != 1 {
		t.Errorf("backlog sizes %d %d %d %d", len(back[0]), len(back[1]), len(back[2]), len(back[3]))
	}
	if back[3][0].Message != "GET /healthz 200" || back[0][0].Seq != 1 || back[3][0].Seq != 5 {
		t.Errorf("unrouted or sequence wrong: %+v", back[3][0])
	}
}

func TestIngestMasksKnownSecrets(t *testing.T) {
	m := &Masker{}
	m.Add("sb_service_123456", "true")
	w := NewWatcher(WatcherOptions{App: "a", Platform: &fakePlatform{}, Defs: testDefs(), Masker: m, Clock: NewFakeClock(t0)})
	w.Ingest([]LogLine{line("idea-pool: key=sb_service_123456 enabled=true", LevelInfo)})
	got := w.Backlog()[0][0].Message
	if got != "idea-pool: key="+Mask+" enabled=true" {
		t.Errorf("masked line = %q", got)
	}
}

func TestRingBoundsMemoryWhateverTheVolume(t *testing.T) {
	w, _ := newTestWatcher(&fakePlatform{}, nil)
	for i := range 100 {
		w.Ingest([]LogLine{line(fmt.Sprintf("idea-pool: line %d", i), LevelInfo)})
	}
	back := w.Backlog()[0]
	if len(back) != 4 || back[3].Message != "idea-pool: line 99" {
		t.Fatalf("ring holds %d, newest %q", len(back), back[len(back)-1].Message)
	}
	// Nobody published: the pending batch is bounded too, and the excess counted.
	w.Publish()
	if d := w.Snapshot().LogDropped; d != 96 {
		t.Errorf("dropped = %d, want 96", d)
	}
}

func TestFlagStateAndDiagnosis(t *testing.T) {
	p := &fakePlatform{secrets: []Secret{
		{Name: "IDEA_POOL_SUPABASE_ENABLED", Digest: "aaaa", Status: SecretDeployed},
		{Name: "SUPABASE_URL", Digest: "u", Status: SecretDeployed},
	}}
	probe := ProbeFunc(func(context.Context) ProbeResult {
		return ProbeResult{Answer: "mock", Source: SourceMock, Warning: "idea_pool table missing",
			Facts: map[DiagnosisCondition]bool{WhenMigrationMissing: true}}
	})
	w, _ := newTestWatcher(p, map[string]Probe{"supabase": probe})
	w.o.Book.Record("hotdash-app", "IDEA_POOL_SUPABASE_ENABLED", "aaaa", "true")
	ctx := context.Background()
	w.pollSecrets(ctx)
	w.CheckNow(ctx, 0)
	s := w.Latest().Integration("supabase")
	if s.Flag.State != FlagTrue || s.Expected != SourceLive || !s.Mismatch() {
		t.Fatalf("flag %v expected %v mismatch %v", s.Flag.State, s.Expected, s.Mismatch())
	}
	want := []string{"creds missing", "migration missing", "fly logs -a hotdash-app | grep idea-pool"}
	if strings.Join(s.Diagnosis, "|") != strings.Join(want, "|") {
		t.Errorf("diagnosis = %q, want %q", s.Diagnosis, want)
	}

	// A digest the console never recorded: changed outside the console.
	p.mu.Lock()
	p.secrets[0].Digest = "bbbb"
	p.mu.Unlock()
	w.pollSecrets(ctx)
	if s := w.Latest().Integration("supabase"); s.Flag.State != FlagUnknown || s.Flag.Detail != "changed outside the console" {
		t.Errorf("unknown digest: %+v", s.Flag)
	}
	// Staged, not deployed.
	p.mu.Lock()
	p.secrets[0].Status = SecretStaged
	p.mu.Unlock()
	w.pollSecrets(ctx)
	s = w.Latest().Integration("supabase")
	if s.Flag.State != FlagStaged || s.Expected != SourceUnknown || s.Diagnosis[0] != "staged: restart" {
		t.Errorf("staged: %+v expected %v diag %q", s.Flag, s.Expected, s.Diagnosis)
	}
	// The platform cannot be read: the flag says so, and the reason is kept.
	p.mu.Lock()
	p.err = errors.New("fly: no access token available")
	p.mu.Unlock()
	w.secrets, w.secretsAt = nil, time.Time{}
	w.pollSecrets(ctx)
	snap := w.Latest()
	if f := snap.Integration("supabase").Flag; f.State != FlagUnreadable || snap.SecretsErr != "fly: no access token available" {
		t.Errorf("unreadable: %+v / %q", f, snap.SecretsErr)
	}
	if snap.Integration("chatwoot").Flag.State != FlagNone || snap.Integration("chatwoot").Expected != SourceLive {
		t.Error("chatwoot has no flag and is always expected live")
	}
}

func TestATimedOutCheckSaysWhyAndIsNeverTheAppsError(t *testing.T) {
	slow := ProbeFunc(func(ctx context.Context) ProbeResult {
		<-ctx.Done()
		return ProbeResult{Err: ctx.Err()}
	})
	w := NewWatcher(WatcherOptions{App: "a", Platform: &fakePlatform{}, Defs: testDefs(), Clock: NewFakeClock(t0),
		Probes: map[string]Probe{"supabase": slow}, CallTimeout: time.Millisecond})
	res := w.CheckNow(context.Background(), 0)
	if res.Err == nil || !strings.HasPrefix(res.Err.Error(), "timed out after 1ms") {
		t.Fatalf("err = %v", res.Err)
	}
	s := w.Latest().Integration("supabase")
	if s.CheckErr == "" || s.CheckFails != 1 || s.Rates.M1 != (Rate{}) || s.Measures[0].Of != 0 {
		t.Errorf("status: %q, %d failed, rate %+v, measure %+v", s.CheckErr, s.CheckFails, s.Rates.M1, s.Measures[0])
	}
}

func TestSubscriptionsMergeAndDropWithoutBlocking(t *testing.T) {
	w, _ := newTestWatcher(&fakePlatform{}, nil)
	fast, slow := w.Subscribe(), w.Subscribe()
	defer fast.Close()
	defer slow.Close()
	ctx := context.Background()
	for round := range 3 {
		lines := make([]LogLine, 3)
		for i := range lines {
			lines[i] = line(fmt.Sprintf("idea-pool: r%d l%d", round, i), LevelInfo)
		}
		w.Ingest(lines)
		w.Publish()
		u, ok := fast.Next(ctx)
		if !ok || len(u.Lines[0]) != 3 || u.Dropped != 0 {
			t.Fatalf("fast round %d: %d lines, dropped %d", round, len(u.Lines[0]), u.Dropped)
		}
	}
	// The slow one never read: it gets one merged update with the newest
	// ring's worth of lines (4 of 9), and the 5 others counted as dropped.
	u, ok := slow.Next(ctx)
	if !ok || len(u.Lines[0]) != 4 || u.Dropped != 5 || u.Lines[0][3].Message != "idea-pool: r2 l2" {
		t.Fatalf("slow: %d lines, dropped %d", len(u.Lines[0]), u.Dropped)
	}
	if u.Snap != w.Snapshot() {
		t.Error("a merged update carries the newest snapshot")
	}
}

func TestPublishOnlyWhenSomethingChanged(t *testing.T) {
	w, _ := newTestWatcher(&fakePlatform{}, nil)
	w.Ingest([]LogLine{line("x", LevelInfo)})
	w.Publish()
	first := w.Snapshot()
	w.Publish()
	if w.Snapshot() != first {
		t.Error("an idle publish built a new snapshot")
	}
}

func TestLogStreamReopensAfterAGapAndSaysSo(t *testing.T) {
	p := &fakePlatform{logs: make(chan []LogLine), logErr: errors.New("fly logs: unexpected EOF")}
	w, clk := newTestWatcher(p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { w.streamLogs(ctx); close(done) }()
	p.logs <- []LogLine{line("idea-pool: before", LevelInfo)}
	close(p.logs) // the stream dies
	waitFor(t, func() bool { return strings.Contains(w.Latest().LogErr, "unexpected EOF; reopening in 1s") })
	p.mu.Lock()
	p.logs = make(chan []LogLine)
	p.mu.Unlock()
	waitFor(t, func() bool { return clk.Waiters() > 0 })
	clk.Advance(time.Second)
	waitFor(t, func() bool { return w.Latest().LogGap != "" })
	snap := w.Latest()
	if snap.LogErr != "" || snap.LogGap != "log stream reopened at 09:00:01 after a 1s gap" {
		t.Errorf("after reopening: err %q gap %q", snap.LogErr, snap.LogGap)
	}
	cancel()
	<-done
}

// waitFor polls cond: for goroutines the test does not control.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, func() error {
		if !cond() {
			return errors.New("condition not reached")
		}
		return nil
	})
}

func TestFloodReachesViewsInBatchesOnTheTick(t *testing.T) {
	clk := NewFakeClock(t0)
	w := NewWatcher(WatcherOptions{App: "a", Platform: &fakePlatform{}, Defs: testDefs(), Clock: clk, RingSize: 2000, PublishInterval: 100 * time.Millisecond})
	sub := w.Subscribe()
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.publishLoop(ctx)
	waitFor(t, func() bool { return clk.Waiters() > 0 })

	// One second of a 50,000 lines/s flood: 5,000 lines per 100ms tick,
	// while the view reads every update.
	updates, received := 0, 0
	for tick := range 10 {
		batch := make([]LogLine, 5000)
		for i := range batch {
			batch[i] = line(fmt.Sprintf("chatwoot: line %d.%d", tick, i), LevelInfo)
		}
		w.Ingest(batch)
		clk.Advance(100 * time.Millisecond)
		u, ok := sub.Next(ctx)
		if !ok {
			t.Fatal("subscription ended")
		}
		updates++
		received += len(u.Lines[2])
	}
	if updates != 10 {
		t.Errorf("%d updates for 10 ticks", updates)
	}
	// Each tick's batch is capped at the ring (2,000 lines); the rest is
	// counted as dropped, not delivered one message a line.
	if received != 20000 || w.Snapshot().LogDropped != 30000 {
		t.Errorf("received %d, dropped %d", received, w.Snapshot().LogDropped)
	}
}

func TestThresholdBreachesCarryTheirNumberWindowAndAge(t *testing.T) {
	clk := NewFakeClock(t0)
	w := NewWatcher(WatcherOptions{App: "a", Platform: &fakePlatform{}, Defs: testDefs(), Clock: clk})
	at := func(msg string, lvl Level) LogLine { l := line(msg, lvl); l.Time = clk.Now(); return l }
	// Chatwoot: 30 requests, 6 of them rate limited: 20% > 10%.
	var batch []LogLine
	for i := range 30 {
		msg := "chatwoot: fetched 12 open conversations upstream=chatwoot status=200"
		if i%5 == 0 {
			msg = "chatwoot: Rate limit reached upstream=chatwoot status=429 (Retry later)"
		}
		batch = append(batch, at(msg, LevelInfo))
	}
	// Publer: one 401 from Publer's API is a breach whatever the volume.
	batch = append(batch, at("publer-adapter: POST /posts/schedule upstream=publer status=401 (Unauthorized)", LevelError))
	w.Ingest(batch)
	snap := w.Latest()
	cw := snap.Integration("chatwoot").Breaches
	if len(cw) != 1 || cw[0].Threshold.Name != "rate limited" || cw[0].Text(clk.Now()) != "rate limited 20% (6 of 30) > 10% over 5m, for 0s" {
		t.Fatalf("chatwoot breaches: %+v", cw)
	}
	pb := snap.Integration("publer").Breaches
	var names []string
	for _, b := range pb {
		names = append(names, b.Text(clk.Now()))
	}
	// One error line among one line: too few events for a rate, but the
	// 401 is counted.
	if strings.Join(names, "; ") != "401/403 from Publer 1 > 0 over 5m, for 0s" {
		t.Errorf("publer breaches: %q", names)
	}
	// Four minutes later the breach is still there, and older.
	clk.Advance(4 * time.Minute)
	if b := w.Latest().Integration("chatwoot").Breaches; len(b) != 1 || b[0].Text(clk.Now()) != "rate limited 20% (6 of 30) > 10% over 5m, for 4m" {
		t.Errorf("after 4m: %+v", b)
	}
	// Past the window with no new lines, it clears.
	clk.Advance(3 * time.Minute)
	if b := w.Latest().Integration("chatwoot").Breaches; len(b) != 0 {
		t.Errorf("after the window: %+v", b)
	}
}

func TestMergingOneSubscriberLeavesTheOthersUpdatesAlone(t *testing.T) {
	w, _ := newTestWatcher(&fakePlatform{}, nil)
	a, b := w.Subscribe(), w.Subscribe()
	defer a.Close()
	defer b.Close()
	w.Ingest([]LogLine{line("idea-pool: one", LevelInfo)})
	w.Publish()
	got, _ := a.Next(context.Background()) // a reads; b does not
	w.Ingest([]LogLine{line("idea-pool: two", LevelInfo)})
	w.Publish() // b's pending update is merged with this one
	if len(got.Lines[0]) != 1 || got.Lines[0][0].Message != "idea-pool: one" {
		t.Errorf("a's update changed under it: %+v", got.Lines[0])
	}
	u, _ := b.Next(context.Background())
	if len(u.Lines[0]) != 2 {
		t.Errorf("b's merged update: %d lines", len(u.Lines[0]))
	}
}

func TestReopenedStreamDoesNotCountItsReplayAgain(t *testing.T) {
	p := &fakePlatform{logs: make(chan []LogLine), logErr: errors.New("fly logs: unexpected EOF")}
	w, clk := newTestWatcher(p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { w.streamLogs(ctx); close(done) }()
	at := func(d time.Duration, inst, msg string, lvl Level) LogLine {
		return LogLine{Time: t0.Add(d), Level: lvl, Instance: inst, Region: "iad", Message: msg}
	}
	a := at(0, "m1", "idea-pool: a", LevelInfo)
	b := at(time.Second, "m1", "idea-pool: b failed", LevelError)
	c := at(time.Second, "m2", "idea-pool: c", LevelInfo)
	supabase := func() *Status { return w.Latest().Integration("supabase") }

	p.logs <- []LogLine{a, b, c}
	close(p.logs) // the stream dies
	waitFor(t, func() bool { return w.Latest().LogErr != "" })
	p.mu.Lock()
	p.logs = make(chan []LogLine)
	p.mu.Unlock()
	waitFor(t, func() bool { return clk.Waiters() > 0 })
	clk.Advance(time.Second)

	// The platform replays what it sent before, with a line at the same
	// second not seen yet, and then a newer one.
	p.logs <- []LogLine{a, b, c, at(time.Second, "m1", "idea-pool: d", LevelInfo), at(2*time.Second, "m2", "idea-pool: e", LevelInfo)}
	// Live now: a machine's line a little behind the others still counts,
	// as does a line repeated at the newest time.
	p.logs <- []LogLine{at(1500*time.Millisecond, "m1", "idea-pool: f", LevelInfo), at(2*time.Second, "m2", "idea-pool: e", LevelInfo)}
	waitFor(t, func() bool { return supabase().LogLines >= 7 })
	if s := supabase(); s.LogLines != 7 || s.LogErrors != 1 || s.Rates.H1 != (Rate{Errors: 1, Total: 7}) {
		t.Errorf("lines %d errors %d rate %+v; want 7 lines, 1 error", s.LogLines, s.LogErrors, s.Rates.H1)
	}
	var got []string
	for _, l := range w.Backlog()[0] {
		got = append(got, l.Message)
	}
	if want := "idea-pool: d|idea-pool: e|idea-pool: f|idea-pool: e"; strings.Join(got, "|") != want {
		t.Errorf("ring %q, want %q", got, want)
	}
	cancel()
	<-done
}

// Recheck asks everything at once and publishes before it returns, so a
// result announced next is never shown beside stale panes.
func TestRecheckPublishesWhatItRead(t *testing.T) {
	p := &fakePlatform{
		secrets:  []Secret{{Name: "IDEA_POOL_SUPABASE_ENABLED", Digest: "ffff", Status: SecretDeployed}},
		machines: []Machine{{ID: "m1", Region: "iad", State: "started"}},
	}
	probe := ProbeFunc(func(context.Context) ProbeResult { return ProbeResult{Answer: "mock", Source: SourceMock} })
	w, _ := newTestWatcher(p, map[string]Probe{"supabase": probe})
	w.o.Book.Record("hotdash-app", "IDEA_POOL_SUPABASE_ENABLED", "ffff", "false")
	sub := w.Subscribe()
	defer sub.Close()
	w.Recheck(context.Background())
	snap := w.Snapshot()
	if snap == nil {
		t.Fatal("nothing published")
	}
	s := snap.Integration("supabase")
	if s.Flag.State != FlagFalse || s.Source != SourceMock || len(snap.Machines) != 1 {
		t.Errorf("published flag %v source %v machines %d", s.Flag.State, s.Source, len(snap.Machines))
	}
}
