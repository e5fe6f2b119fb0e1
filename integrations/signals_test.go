package integrations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// signalsWatcher is a watcher over testDefs on a fake clock, with the
// platform and probes given.
func signalsWatcher(p Platform, probes map[string]Probe) (*Watcher, *FakeClock) {
	clk := NewFakeClock(t0)
	return NewWatcher(WatcherOptions{Env: "production", App: "hotdash-app", Platform: p, Defs: testDefs(), Probes: probes, Clock: clk}), clk
}

// feed ingests n lines of msg at the clock's time, the first bad of them
// replaced by badMsg.
func feed(w *Watcher, clk *FakeClock, n, bad int, msg, badMsg string) {
	batch := make([]LogLine, 0, n)
	for i := range n {
		l := LogLine{Time: clk.Now(), Instance: "m1", Region: "iad", Message: msg}
		if i < bad {
			l.Message = badMsg
			if strings.Contains(badMsg, "failed") {
				l.Level = LevelError
			}
		}
		batch = append(batch, l)
	}
	w.Ingest(batch)
}

func breachNames(s *Status) []string {
	var out []string
	for _, b := range s.Breaches {
		out = append(out, b.Threshold.Name)
	}
	return out
}

// The guide's alert criteria, each just under and just over its limit.
func TestTheGuidesCriteriaJustUnderAndJustOverTheirLimits(t *testing.T) {
	jobs := func(n, failed int) func(*Watcher, *FakeClock) {
		return func(w *Watcher, clk *FakeClock) {
			var batch []LogLine
			for i := range n {
				outcome := "complete"
				if i < failed {
					outcome = "failed"
				}
				batch = append(batch, LogLine{Time: clk.Now(), Message: fmt.Sprintf("publer: job real-job-%d %s job=real-job-%d outcome=%s took=4s", i, outcome, i, outcome)})
			}
			w.Ingest(batch)
		}
	}
	pending := func(d time.Duration) func(*Watcher, *FakeClock) {
		return func(w *Watcher, clk *FakeClock) {
			w.Ingest([]LogLine{{Time: clk.Now(), Message: "publer-adapter: POST /posts/schedule upstream=publer status=202 job=real-job-1 outcome=scheduled"}})
			clk.Advance(d)
		}
	}
	tookLong := func(d time.Duration) func(*Watcher, *FakeClock) {
		return func(w *Watcher, clk *FakeClock) {
			w.Ingest([]LogLine{{Time: clk.Now(), Message: fmt.Sprintf("publer: job real-job-2 complete job=real-job-2 outcome=complete took=%ds", int(d.Seconds()))}})
		}
	}
	chatwoot := func(n, limited int) func(*Watcher, *FakeClock) {
		return func(w *Watcher, clk *FakeClock) {
			feed(w, clk, n, limited, "chatwoot: fetched 12 open conversations upstream=chatwoot status=200",
				"chatwoot: Rate limit reached upstream=chatwoot status=429 (Retry later)")
		}
	}
	publerLine := func(msg string) func(*Watcher, *FakeClock) {
		return func(w *Watcher, clk *FakeClock) {
			w.Ingest([]LogLine{{Time: clk.Now(), Message: msg}})
		}
	}
	tests := []struct {
		name   string
		id     string
		do     func(*Watcher, *FakeClock)
		breach string // the threshold over its limit, or ""
		text   string // the breach's words
	}{
		{"4.9% of jobs failing", "publer", jobs(1000, 49), "", ""},
		{"5.1% of jobs failing", "publer", jobs(1000, 51), "jobs failing", "jobs failing 5.1% (51 of 1000) > 5% over 5m"},
		{"a job pending 4:59", "publer", pending(4*time.Minute + 59*time.Second), "", ""},
		{"a job pending 5:01", "publer", pending(5*time.Minute + time.Second), "job pending", "job pending 5m01s > 5m over 5m"},
		{"a job that took 4:59", "publer", tookLong(4*time.Minute + 59*time.Second), "", ""},
		{"a job that took 5:01", "publer", tookLong(5*time.Minute + time.Second), "job pending", "job pending 5m01s > 5m over 5m"},
		{"one 401 from Publer's API", "publer", publerLine("publer-adapter: POST /posts/schedule upstream=publer status=401 (Unauthorized)"),
			"401/403 from Publer", "401/403 from Publer 1 > 0 over 5m"},
		{"one 403 from Publer's API", "publer", publerLine("publer-adapter: GET /accounts upstream=publer status=403 (Missing required scope: accounts)"),
			"401/403 from Publer", "401/403 from Publer 1 > 0 over 5m"},
		{"401 characters", "publer", publerLine("publer: mock job mock-job-7-1700000000000 accepted (401 chars)"), "", ""},
		{"a mock job numbered 401", "publer", publerLine("publer: GET /api/social/status/mock-job-401-1700000000000 200 job_status=complete"), "", ""},
		{"401 the app answered itself", "publer", publerLine("publer: GET /api/social/status/real-job-x 401"), "", ""},
		{"9% of Chatwoot requests rate limited", "chatwoot", chatwoot(100, 9), "", ""},
		{"11% of Chatwoot requests rate limited", "chatwoot", chatwoot(100, 11), "rate limited", "rate limited 11% (11 of 100) > 10% over 5m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, clk := signalsWatcher(&fakePlatform{}, nil)
			tt.do(w, clk)
			s := w.Latest().Integration(tt.id)
			got := breachNames(s)
			if tt.breach == "" {
				if len(got) != 0 {
					t.Fatalf("breaches %q, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.breach {
				t.Fatalf("breaches %q, want %q", got, tt.breach)
			}
			if txt := s.Breaches[0].Plain(); txt != tt.text {
				t.Errorf("breach says %q, want %q", txt, tt.text)
			}
		})
	}
}

// A job counts once however often its end is reported: logged by the app,
// and read by the console from the job status.
func TestAJobEndReportedTwiceCountsOnce(t *testing.T) {
	w, clk := signalsWatcher(&fakePlatform{}, nil)
	w.Ingest([]LogLine{{Time: clk.Now(), Message: "publer-adapter: POST /posts/schedule upstream=publer status=202 job=real-job-1 outcome=scheduled"}})
	clk.Advance(4 * time.Second)
	w.SawJob("publer", "real-job-1", "completed")
	w.Ingest([]LogLine{{Time: clk.Now(), Message: "publer: job real-job-1 complete job=real-job-1 outcome=complete took=4s"}})
	w.SawJob("publer", "real-job-2", "working") // still pending: nothing ends
	s := w.Latest().Integration("publer")
	for _, m := range s.Measures {
		if m.Threshold.Kind == "jobs_failing" && (m.Of != 1 || m.Total != (Rate{Total: 1})) {
			t.Errorf("jobs counted %d (total %+v), want 1", m.Of, m.Total)
		}
		if m.Threshold.Kind == "job_pending" && m.Value != 4 {
			t.Errorf("longest pending %vs, want 4s (real-job-2 was just seen)", m.Value)
		}
	}
}

// The console's own checks failing (a missing scope, a timeout, a 429 the
// console caused) are its reachability: shown with their reason and count,
// never in the app's error rate, never a breach.
func TestEveryProbeFailingIsTheConsolesProblemNotTheApps(t *testing.T) {
	failing := map[string]Probe{
		"supabase": ProbeFunc(func(context.Context) ProbeResult {
			return ProbeResult{Err: errors.New("GET /api/analytics/idea-pool: timed out")}
		}),
		"publer": ProbeFunc(func(context.Context) ProbeResult {
			return ProbeResult{Err: errors.New("403 missing scope (Missing required scope: accounts)")}
		}),
		"chatwoot": ProbeFunc(func(context.Context) ProbeResult {
			return ProbeResult{Err: errors.New("GET /api: rate limited (429 Retry later) after 3 tries")}
		}),
	}
	w, clk := signalsWatcher(&fakePlatform{}, failing)
	for range 30 {
		for i := range w.ints {
			w.CheckNow(context.Background(), i)
		}
		// The app, meanwhile, is healthy.
		feed(w, clk, 10, 0, "idea-pool: served 24 ideas from supabase in 80ms", "")
		feed(w, clk, 10, 0, "chatwoot: fetched 12 open conversations upstream=chatwoot status=200", "")
		clk.Advance(10 * time.Second)
	}
	for _, id := range []string{"supabase", "publer", "chatwoot"} {
		s := w.Latest().Integration(id)
		if s.CheckFails != 30 || s.CheckErr == "" || !s.CheckSince.Equal(t0) {
			t.Errorf("%s: %d failed in a row since %v: %q", id, s.CheckFails, s.CheckSince, s.CheckErr)
		}
		if s.Rates.H1.Errors != 0 || len(s.Breaches) != 0 {
			t.Errorf("%s: the app's errors %+v, breaches %q: the console's failures counted", id, s.Rates.H1, breachNames(s))
		}
	}
	if s := w.Latest().Integration("publer"); s.CheckErr != "403 missing scope (Missing required scope: accounts)" || slices.Contains(s.Diagnosis, "Publer rejected the key") {
		t.Errorf("publer: %q, diagnosis %q", s.CheckErr, s.Diagnosis)
	}
	// One check passes: the row of failures is over.
	w.o.Probes["publer"] = ProbeFunc(func(context.Context) ProbeResult { return ProbeResult{Detail: "key and workspace ok"} })
	w.CheckNow(context.Background(), 1)
	if s := w.Latest().Integration("publer"); s.CheckFails != 0 || s.CheckErr != "" || !s.CheckSince.IsZero() {
		t.Errorf("after a good check: %d failed, %q", s.CheckFails, s.CheckErr)
	}
}

// The app answering the console 5xx is the app's own error; any other
// answer is one of its events.
func TestTheAppsOwnAnswersCountAsItsEvents(t *testing.T) {
	status := 200
	probe := ProbeFunc(func(context.Context) ProbeResult {
		if status >= 500 {
			return ProbeResult{Err: errors.New("GET /api/analytics/idea-pool: HTTP 503"), AppStatus: status}
		}
		return ProbeResult{Answer: "supabase", Source: SourceLive, AppStatus: status}
	})
	w, _ := signalsWatcher(&fakePlatform{}, map[string]Probe{"supabase": probe})
	w.CheckNow(context.Background(), 0)
	status = 503
	w.CheckNow(context.Background(), 0)
	if r := w.Latest().Integration("supabase").Rates.M1; r != (Rate{Errors: 1, Total: 2}) {
		t.Errorf("the app's answers: %+v, want 1 error of 2", r)
	}
}

// An answer that comes after the deadline is used, and said.
func TestALateAnswerIsUsedAndSaid(t *testing.T) {
	late := ProbeFunc(func(ctx context.Context) ProbeResult {
		<-ctx.Done() // answers only after the deadline
		return ProbeResult{Answer: "supabase", Source: SourceLive, Latency: 40 * time.Millisecond}
	})
	p := &lateSecrets{fakePlatform: fakePlatform{secrets: []Secret{{Name: "IDEA_POOL_SUPABASE_ENABLED", Digest: "aaaa", Status: SecretDeployed}}}}
	w := NewWatcher(WatcherOptions{App: "hotdash-app", Platform: p, Defs: testDefs(), Clock: NewFakeClock(t0),
		Probes: map[string]Probe{"supabase": late}, CallTimeout: 10 * time.Millisecond})
	w.o.Book.Record("hotdash-app", "IDEA_POOL_SUPABASE_ENABLED", "aaaa", "true")
	w.Poll(context.Background())
	snap := w.Latest()
	s := snap.Integration("supabase")
	if s.Source != SourceLive || s.CheckErr != "" || s.CheckLate != "answered in 40ms, after the 10ms limit" {
		t.Errorf("late probe: source %v err %q late %q", s.Source, s.CheckErr, s.CheckLate)
	}
	if s.Flag.State != FlagTrue || snap.SecretsLate != "fly secrets list answered after the 10ms limit (its answer is shown)" {
		t.Errorf("late secrets: flag %v, %q", s.Flag.State, snap.SecretsLate)
	}
}

// lateSecrets answers the secrets list only after the caller's deadline.
type lateSecrets struct{ fakePlatform }

func (p *lateSecrets) Secrets(ctx context.Context, app string) ([]Secret, error) {
	<-ctx.Done()
	return p.fakePlatform.Secrets(context.Background(), app)
}

// fakeMigrations is the console's own migration check.
type fakeMigrations struct {
	present bool
	err     error
	asked   int
}

func (f *fakeMigrations) CheckMigration(_ context.Context, table string) (bool, string, error) {
	f.asked++
	if f.present {
		return true, "table " + table + " exists", f.err
	}
	return false, "table " + table + " is missing (PostgREST PGRST205)", f.err
}

// When the app reports mock against its flag, the console asks its own
// migration check, and the runbook's diagnosis follows what it found, not
// the app's wording.
func TestMockAgainstTheFlagConsultsTheConsolesOwnMigrationCheck(t *testing.T) {
	tests := []struct {
		name    string
		warning string
		present bool
		err     error
		want    bool // the migration diagnosis
	}{
		{"table missing, whatever the app says", "Supabase query failed: mock data", false, nil, true},
		{"table there, though the app blames it", "idea_pool table missing: mock data", true, nil, false},
		{"check unreachable: the app's word", "idea_pool table missing (migration not applied): mock data", false, errors.New("connection refused"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePlatform{secrets: []Secret{{Name: "IDEA_POOL_SUPABASE_ENABLED", Digest: "aaaa", Status: SecretDeployed},
				{Name: "SUPABASE_URL"}, {Name: "SUPABASE_SERVICE_KEY"}}}
			probe := ProbeFunc(func(context.Context) ProbeResult {
				facts := map[DiagnosisCondition]bool{}
				if strings.Contains(tt.warning, "table missing") {
					facts[WhenMigrationMissing] = true
				}
				return ProbeResult{Answer: "mock", Source: SourceMock, Warning: tt.warning, Facts: facts}
			})
			mig := &fakeMigrations{present: tt.present, err: tt.err}
			defs := testDefs()
			defs[0].Migration = "idea_pool"
			w := NewWatcher(WatcherOptions{App: "hotdash-app", Platform: p, Defs: defs, Clock: NewFakeClock(t0),
				Probes: map[string]Probe{"supabase": probe}, Migrations: mig})
			w.o.Book.Record("hotdash-app", "IDEA_POOL_SUPABASE_ENABLED", "aaaa", "true")
			w.pollSecrets(context.Background())
			w.CheckNow(context.Background(), 0)
			w.CheckNow(context.Background(), 0) // within the minute: not asked again
			s := w.Latest().Integration("supabase")
			if got := slices.Contains(s.Diagnosis, "migration missing"); got != tt.want || mig.asked != 1 {
				t.Errorf("diagnosis %q (asked %d times), want the migration's: %v", s.Diagnosis, mig.asked, tt.want)
			}
			if s.Migration == nil || s.Migration.Table != "idea_pool" {
				t.Errorf("the console's fact is not kept: %+v", s.Migration)
			}
		})
	}
	// A table found present is looked at again soon: it may go.
	mig := &fakeMigrations{present: true}
	defs := testDefs()
	defs[0].Migration = "idea_pool"
	p := &fakePlatform{secrets: []Secret{{Name: "IDEA_POOL_SUPABASE_ENABLED", Digest: "aaaa", Status: SecretDeployed}}}
	clk := NewFakeClock(t0)
	w := NewWatcher(WatcherOptions{App: "hotdash-app", Platform: p, Defs: defs, Clock: clk, Migrations: mig,
		Probes: map[string]Probe{"supabase": ProbeFunc(func(context.Context) ProbeResult { return ProbeResult{Answer: "mock", Source: SourceMock} })}})
	w.o.Book.Record("hotdash-app", "IDEA_POOL_SUPABASE_ENABLED", "aaaa", "true")
	w.pollSecrets(context.Background())
	w.CheckNow(context.Background(), 0)
	mig.present = false // the table is dropped
	clk.Advance(10 * time.Second)
	w.CheckNow(context.Background(), 0)
	if s := w.Latest().Integration("supabase"); mig.asked != 2 || !s.Migration.Missing() || !slices.Contains(s.Diagnosis, "migration missing") {
		t.Errorf("asked %d times; fact %+v; diagnosis %q", mig.asked, s.Migration, s.Diagnosis)
	}
	// Found missing: not asked again within the minute.
	clk.Advance(10 * time.Second)
	w.CheckNow(context.Background(), 0)
	if mig.asked != 2 {
		t.Errorf("a missing table asked again after 10s (%d)", mig.asked)
	}
}

// On mock as the flag says: nothing to explain, nothing asked.
func TestMockAsTheFlagSaysAsksNothing(t *testing.T) {
	mig := &fakeMigrations{}
	defs := testDefs()
	defs[0].Migration = "idea_pool"
	w := NewWatcher(WatcherOptions{App: "hotdash-app", Platform: &fakePlatform{secrets: []Secret{}}, Defs: defs, Clock: NewFakeClock(t0),
		Probes: map[string]Probe{"supabase": ProbeFunc(func(context.Context) ProbeResult { return ProbeResult{Answer: "mock", Source: SourceMock} })}, Migrations: mig})
	w.pollSecrets(context.Background())
	w.CheckNow(context.Background(), 0)
	if mig.asked != 0 {
		t.Errorf("asked %d times with the flag off", mig.asked)
	}
}

// Publer answering 401 to the app with the key set is "Publer rejected the
// key": not "not set", not "credentials missing".
func TestARejectedKeyIsNotAMissingOne(t *testing.T) {
	p := &fakePlatform{secrets: []Secret{{Name: "PUBLER_LIVE", Digest: "bbbb", Status: SecretDeployed},
		{Name: "PUBLER_API_KEY"}, {Name: "PUBLER_WORKSPACE_ID"}}}
	w, clk := signalsWatcher(p, nil)
	w.o.Book.Record("hotdash-app", "PUBLER_LIVE", "bbbb", "true")
	w.pollSecrets(context.Background())
	w.Ingest([]LogLine{
		{Time: clk.Now(), Message: "publer-adapter: Using real Publer API (production mode)"},
		{Time: clk.Now(), Level: LevelError, Message: "publer-adapter: POST /posts/schedule upstream=publer status=401 (Unauthorized: check PUBLER_API_KEY); falling back to mock adapter"},
	})
	s := w.Latest().Integration("publer")
	if strings.Join(s.Diagnosis, "|") != "Publer rejected the key" {
		t.Errorf("diagnosis %q", s.Diagnosis)
	}
	// With the flag off and the key refused to the console alone: the app
	// is on mock as it should be, and nothing says "not set".
	p2 := &fakePlatform{secrets: []Secret{{Name: "PUBLER_API_KEY"}, {Name: "PUBLER_WORKSPACE_ID"}}}
	probe := ProbeFunc(func(context.Context) ProbeResult {
		return ProbeResult{Err: errors.New("Publer rejected the API key (401 Unauthorized): check PUBLER_API_KEY"),
			Facts: map[DiagnosisCondition]bool{WhenCredentialsRejected: true}}
	})
	w2, clk2 := signalsWatcher(p2, map[string]Probe{"publer": probe})
	w2.pollSecrets(context.Background())
	w2.Ingest([]LogLine{{Time: clk2.Now(), Message: "publer-adapter: Using mock Publer adapter (PUBLER_LIVE not true)"}})
	w2.CheckNow(context.Background(), 1)
	if d := w2.Latest().Integration("publer").Diagnosis; strings.Join(d, "|") != "Publer rejected the key" {
		t.Errorf("flag off, key refused to the console: diagnosis %q", d)
	}
}

// hostileMigrations answers with terminal escapes in its words.
type hostileMigrations struct{}

func (hostileMigrations) CheckMigration(context.Context, string) (bool, string, error) {
	return false, "table \x1b[2Jidea_pool\x1b]0;owned\x07 is missing", errors.New("PostgREST said \x1b[31mOK all good")
}

// The migration check's words come from outside: they reach the views
// inert.
func TestTheMigrationChecksWordsAreMadeInert(t *testing.T) {
	defs := testDefs()
	defs[0].Migration = "idea_pool"
	w := NewWatcher(WatcherOptions{App: "hotdash-app", Platform: &fakePlatform{}, Defs: defs, Clock: NewFakeClock(t0), Migrations: hostileMigrations{}})
	w.checkMigration(context.Background(), 0)
	m := w.Latest().Integration("supabase").Migration
	if strings.ContainsRune(m.Detail, 0x1b) || strings.ContainsRune(m.Err, 0x1b) || m.Detail != "table idea_pool is missing" {
		t.Errorf("detail %q, err %q", m.Detail, m.Err)
	}
}
