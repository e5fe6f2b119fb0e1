package sim

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/chatwoot"
	"github.com/hotdash/hotdash-console/integrations/hotdash"
)

func start(t *testing.T, scenario string) (*Env, *hotdash.Client, *hotdash.Client) {
	t.Helper()
	e, err := New(Options{Scenario: scenario, Seed: 7, RestartTime: 20 * time.Millisecond, JobTime: 50 * time.Millisecond, LogRate: 50})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e, hotdash.New(e.AppURL(ProdApp), 2*time.Second), hotdash.New(e.AppURL(DevApp), 2*time.Second)
}

var ideaPool = integrations.SourceSpec{Method: "GET", Path: "/api/analytics/idea-pool", Field: "source", Live: []string{"supabase"}, Mock: []string{"mock"}}
var traffic = integrations.SourceSpec{Method: "GET", Path: "/api/analytics/traffic", Field: "source", Live: []string{"ga4"}, Mock: []string{"mock"}}

func source(t *testing.T, c *hotdash.Client, spec integrations.SourceSpec) integrations.ProbeResult {
	t.Helper()
	r := c.Source(context.Background(), &spec)
	if r.Err != nil {
		t.Fatalf("%s: %v", spec.Path, r.Err)
	}
	return r
}

// enable sets a flag the way the console does: staged, then deployed.
func enable(t *testing.T, e *Env, app, flag string) {
	t.Helper()
	p := e.Platform()
	ctx := context.Background()
	if err := p.SetSecrets(ctx, app, map[string]string{flag: "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx, app, integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
}

func TestHealthyEverythingReportsMock(t *testing.T) {
	e, prod, _ := start(t, "healthy")
	if r := source(t, prod, ideaPool); r.Source != integrations.SourceMock || !strings.Contains(r.Warning, "IDEA_POOL_SUPABASE_ENABLED") {
		t.Errorf("idea-pool: %+v", r)
	}
	if r := source(t, prod, traffic); r.Source != integrations.SourceMock {
		t.Errorf("traffic: %+v", r)
	}
	id, _, err := prod.Post(context.Background(), "Test post", []string{"mock-twitter-1"})
	if err != nil || !strings.HasPrefix(id, "mock-job-") {
		t.Errorf("post: %q %v", id, err)
	}
	st, _, err := prod.JobStatus(context.Background(), id)
	if err != nil || st != "complete" {
		t.Errorf("mock job status: %q %v", st, err)
	}
	secrets, err := e.Platform().Secrets(context.Background(), ProdApp)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]integrations.SecretStatus{}
	for _, s := range secrets {
		names[s.Name] = s.Status
		if len(s.Digest) != 16 {
			t.Errorf("digest %q is not 16 hex", s.Digest)
		}
	}
	for _, want := range []string{"SUPABASE_URL", "SUPABASE_SERVICE_KEY", "PUBLER_API_KEY", "CHATWOOT_API_KEY"} {
		if names[want] != integrations.SecretDeployed {
			t.Errorf("%s: %q", want, names[want])
		}
	}
	for _, flag := range []string{FlagSupabase, FlagPubler, FlagGA4} {
		if _, ok := names[flag]; ok {
			t.Errorf("flag %s is set in the healthy scenario", flag)
		}
	}
}

func TestAFlagChangesNothingUntilApplied(t *testing.T) {
	e, prod, _ := start(t, "healthy")
	p := e.Platform()
	ctx := context.Background()
	if err := p.SetSecrets(ctx, ProdApp, map[string]string{FlagSupabase: "true"}, true, nil); err != nil {
		t.Fatal(err)
	}
	if st := secretStatus(t, p, ProdApp, FlagSupabase); st != integrations.SecretStaged {
		t.Errorf("after set --stage: %q", st)
	}
	for range 4 { // both machines
		if r := source(t, prod, ideaPool); r.Source != integrations.SourceMock {
			t.Fatalf("staged flag already live: %+v", r)
		}
	}
	var mu sync.Mutex
	var events []integrations.MachineEvent
	if err := p.Apply(ctx, ProdApp, integrations.ApplyDeploy, func(ev integrations.MachineEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 || events[0].State != "updating" || events[1].State != "started" || !events[3].Done ||
		events[0].Region == "" || events[0].Of != 2 {
		t.Errorf("apply progress: %+v", events)
	}
	if st := secretStatus(t, p, ProdApp, FlagSupabase); st != integrations.SecretDeployed {
		t.Errorf("after deploy: %q", st)
	}
	for range 4 {
		if r := source(t, prod, ideaPool); r.Source != integrations.SourceLive || r.Answer != "supabase" {
			t.Fatalf("after deploy: %+v", r)
		}
	}
	if v, _ := p.ReadEnv(ctx, ProdApp, FlagSupabase); v != "true" {
		t.Errorf("printenv = %q", v)
	}
}

func TestARestartDoesNotApplyStagedSecrets(t *testing.T) {
	e, prod, _ := start(t, "healthy")
	p := e.Platform()
	ctx := context.Background()
	_ = p.SetSecrets(ctx, ProdApp, map[string]string{FlagSupabase: "true"}, true, nil)
	if err := p.Restart(ctx, ProdApp, nil); err != nil {
		t.Fatal(err)
	}
	if r := source(t, prod, ideaPool); r.Source != integrations.SourceMock {
		t.Errorf("a plain restart applied a staged secret: %+v", r)
	}
	if st := secretStatus(t, p, ProdApp, FlagSupabase); st != integrations.SecretStaged {
		t.Errorf("status %q", st)
	}
}

func TestMachinesPassThroughRestarting(t *testing.T) {
	e, err := New(Options{Seed: 1, RestartTime: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := e.Platform()
	ctx := context.Background()
	done := make(chan error)
	go func() { done <- p.Restart(ctx, DevApp, nil) }()
	deadline := time.Now().Add(2 * time.Second)
	sawRestarting := false
	for !sawRestarting && time.Now().Before(deadline) {
		ms, _ := p.Machines(ctx, DevApp)
		for _, m := range ms {
			sawRestarting = sawRestarting || m.State == "restarting"
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-done; err != nil || !sawRestarting {
		t.Fatalf("apply err %v, saw restarting %v", err, sawRestarting)
	}
	ms, _ := p.Machines(ctx, DevApp)
	for _, m := range ms {
		if m.State != "started" {
			t.Errorf("machine %s ended %s", m.ID, m.State)
		}
	}
}

func TestMachineFailureLeavesAFailedMachineAndAnError(t *testing.T) {
	e, _, _ := start(t, "healthy")
	e.SetFaults(Faults{MachineFails: true})
	p := e.Platform()
	var failed []integrations.MachineEvent
	err := p.Apply(context.Background(), ProdApp, integrations.ApplyDeploy, func(ev integrations.MachineEvent) {
		if ev.Err != nil {
			failed = append(failed, ev)
		}
	})
	if err == nil || len(failed) != 1 || failed[0].State != "failed" {
		t.Fatalf("err %v events %+v", err, failed)
	}
	ms, _ := p.Machines(context.Background(), ProdApp)
	if ms[0].State != "started" || ms[1].State != "failed" {
		t.Errorf("states %s %s", ms[0].State, ms[1].State)
	}
	// The error says where each machine stands, and so do the machines.
	var ae *integrations.ApplyError
	if !errors.As(err, &ae) || len(ae.Machines) != 2 || ae.Machines[0].Stand != integrations.StandDone || ae.Machines[1].Stand != integrations.StandFailed {
		t.Errorf("apply error %v: want the first machine done and the second failed", err)
	}
	if verr := integrations.VerifyMachines(ProdApp, ms); verr == nil || !strings.Contains(verr.Error(), ms[1].ID+" ("+ms[1].Region+") failed") {
		t.Errorf("VerifyMachines = %v, want the failed machine named", verr)
	}
	// The fault is one-shot: a retry brings the machine back.
	if err := p.Apply(context.Background(), ProdApp, integrations.ApplyDeploy, nil); err != nil {
		t.Fatal(err)
	}
}

func TestMissingMigrationKeepsSupabaseOnMock(t *testing.T) {
	e, prod, _ := start(t, "missing-migration")
	enable(t, e, ProdApp, FlagSupabase)
	r := source(t, prod, ideaPool)
	if r.Source != integrations.SourceMock || !r.Facts[integrations.WhenMigrationMissing] {
		t.Errorf("idea-pool: %+v", r)
	}
	body := get(t, e.URL("supabase")+"/rest/v1/idea_pool?select=*&limit=1", map[string]string{"apikey": e.Credentials()["SUPABASE_SERVICE_KEY"]})
	if !strings.Contains(body, "PGRST205") {
		t.Errorf("PostgREST probe: %s", body)
	}
}

func TestSupabaseCredsMissing(t *testing.T) {
	e, prod, _ := start(t, "supabase-creds-missing")
	if st := secretStatus(t, e.Platform(), ProdApp, "SUPABASE_SERVICE_KEY"); st != "" {
		t.Fatalf("SUPABASE_SERVICE_KEY present: %q", st)
	}
	enable(t, e, ProdApp, FlagSupabase)
	r := source(t, prod, ideaPool)
	if r.Source != integrations.SourceMock || !r.Facts[integrations.WhenCredentialsMissing] {
		t.Errorf("idea-pool: %+v", r)
	}
}

func TestPubler401FallsBackToMockJobs(t *testing.T) {
	e, _, dev := start(t, "publer-401")
	enable(t, e, DevApp, FlagPubler)
	id, a, err := dev.Post(context.Background(), "Integration test post - please ignore", []string{"dev-1"})
	if err != nil || !strings.HasPrefix(id, "mock-job-") || !strings.Contains(a.Warning(), "401") {
		t.Errorf("post: %q %v %v", id, a, err)
	}
	creds := e.Credentials()
	body := get(t, e.URL("publer")+"/api/v1/users/me", map[string]string{"Authorization": "Bearer-API " + creds["PUBLER_API_KEY"], "Publer-Workspace-Id": creds["PUBLER_WORKSPACE_ID"]})
	if !strings.Contains(body, "Unauthorized") {
		t.Errorf("users/me: %s", body)
	}
}

func TestPublerLiveJobsCompleteOnDev(t *testing.T) {
	e, prod, dev := start(t, "healthy")
	enable(t, e, DevApp, FlagPubler)
	id, _, err := dev.Post(context.Background(), "Integration test post - please ignore", []string{"dev-1"})
	if err != nil || !strings.HasPrefix(id, "real-job-") {
		t.Fatalf("post on dev: %q %v", id, err)
	}
	st, _, _ := dev.JobStatus(context.Background(), id)
	if st != "working" {
		t.Errorf("a fresh real job is %q, want working", st)
	}
	time.Sleep(60 * time.Millisecond)
	if st, _, _ = dev.JobStatus(context.Background(), id); st != "complete" {
		t.Errorf("after JobTime: %q", st)
	}
	// Production was not touched: still mock.
	if id, _, _ := prod.Post(context.Background(), "Test", []string{"mock-1"}); !strings.HasPrefix(id, "mock-job-") {
		t.Errorf("production posted live: %q", id)
	}
}

// The dev app starts with the dev workspace's key ("HotDash Dev Testing"),
// which the operator's PUBLER_DEV_API_KEY and PUBLER_DEV_WORKSPACE_ID hold;
// each key opens its own workspace only.
func TestTheDevWorkspaceHasItsOwnKey(t *testing.T) {
	e, _, _ := start(t, "healthy")
	creds := e.Credentials()
	if creds["PUBLER_DEV_API_KEY"] == "" || creds["PUBLER_DEV_API_KEY"] == creds["PUBLER_API_KEY"] {
		t.Fatalf("dev key %q, production key %q", creds["PUBLER_DEV_API_KEY"], creds["PUBLER_API_KEY"])
	}
	workspaces := func(key, ws string) string {
		return get(t, e.URL("publer")+"/api/v1/workspaces", map[string]string{"Authorization": "Bearer-API " + key, "Publer-Workspace-Id": ws})
	}
	if body := workspaces(creds["PUBLER_DEV_API_KEY"], creds["PUBLER_DEV_WORKSPACE_ID"]); !strings.Contains(body, "HotDash Dev Testing") {
		t.Errorf("dev workspace: %s", body)
	}
	// A workspace the key cannot use is a 403 (contracts.md), not a
	// rejected key.
	if body := workspaces(creds["PUBLER_API_KEY"], creds["PUBLER_DEV_WORKSPACE_ID"]); !strings.Contains(body, "You don't have access to this workspace") {
		t.Errorf("the production key opened the dev workspace: %s", body)
	}
	secrets, _ := e.Platform().Secrets(context.Background(), DevApp)
	for _, s := range secrets {
		if s.Name == "PUBLER_API_KEY" && s.Digest != digest(DevApp, s.Name, creds["PUBLER_DEV_API_KEY"]) {
			t.Error("the dev app does not hold the dev workspace's key")
		}
	}
}

func TestChatwootRateLimitedIsRetriedAndCounted(t *testing.T) {
	e, _, _ := start(t, "chatwoot-rate-limited")
	creds := e.Credentials()
	c := chatwoot.New(chatwoot.Options{BaseURL: e.URL("chatwoot"), Token: creds["CHATWOOT_API_KEY"], AccountID: creds["CHATWOOT_ACCOUNT_ID"], BaseBackoff: time.Millisecond, Retries: 10, RPS: 1000})
	for range 20 {
		if r := c.Probe().Check(context.Background()); r.Err != nil {
			t.Fatalf("probe: %v", r.Err)
		}
	}
	req, limited := c.Stats()
	if limited == 0 || limited >= req {
		t.Errorf("requests %d, rate limited %d", req, limited)
	}
}

func TestFlakyAnswersSomeFiveHundreds(t *testing.T) {
	e, prod, _ := start(t, "flaky")
	f := e.Faults()
	f.Latency = 0 // keep the test fast; the 5xx are what is checked
	e.SetFaults(f)
	bad := 0
	for range 200 {
		if r := prod.Source(context.Background(), &ideaPool); r.Err != nil {
			if !strings.Contains(r.Err.Error(), "HTTP 502") {
				t.Fatalf("unexpected error: %v", r.Err)
			}
			bad++
		}
	}
	if bad == 0 || bad > 40 {
		t.Errorf("%d of 200 failed, want a few", bad)
	}
}

func TestStreamLogsDeliversParsedTaggedLines(t *testing.T) {
	e, prod, _ := start(t, "chatwoot-rate-limited")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]bool{}
	go func() {
		_ = e.Platform().StreamLogs(ctx, ProdApp, func(ls []integrations.LogLine) {
			mu.Lock()
			defer mu.Unlock()
			for _, l := range ls {
				for _, tag := range []string{"idea-pool", "publer-adapter", "chatwoot", "Rate limit reached", "analytics/ga4"} {
					if strings.Contains(l.Message, tag) {
						seen[tag] = true
					}
				}
				if l.Instance == "" || l.Region == "" || l.Time.IsZero() {
					t.Errorf("unparsed line %+v", l)
				}
			}
		})
	}()
	source(t, prod, ideaPool)
	for ctx.Err() == nil {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 5 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("tags seen: %v", seen)
}

func TestUnknownScenarioAndAppAreReadableErrors(t *testing.T) {
	if _, err := New(Options{Scenario: "nope"}); err == nil || !strings.Contains(err.Error(), "healthy, missing-migration") {
		t.Errorf("err = %v", err)
	}
	e, _ := New(Options{Seed: 1})
	if _, err := e.Platform().Secrets(context.Background(), "nope"); err == nil || !strings.Contains(err.Error(), `could not find app "nope"`) {
		t.Errorf("err = %v", err)
	}
}

func secretStatus(t *testing.T, p *Platform, app, name string) integrations.SecretStatus {
	t.Helper()
	secrets, err := p.Secrets(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}

func TestCommandsRefuseABlankCommand(t *testing.T) {
	e, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"", "   ", "\t\n"} {
		code, err := e.Commands().Run(context.Background(), "", cmd, func(string) {})
		if code != -1 || err == nil || err.Error() != "no command to run" {
			t.Errorf("Run(%q) = %d, %v", cmd, code, err)
		}
	}
}

func TestAJobCompletionIsLoggedOnceHoweverLateTheTick(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	e, err := New(Options{Seed: 1, JobTime: 4 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a := e.apps[DevApp]
	a.jobs["real-job-1"] = &job{id: "real-job-1", real: true, created: now}
	completions := func() int {
		lines, err := e.Platform().RecentLogs(context.Background(), DevApp)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range lines {
			if strings.Contains(l.Message, "publer: job real-job-1 complete") {
				n++
			}
		}
		return n
	}
	e.progressJobsLocked(a, now)
	if n := completions(); n != 0 {
		t.Fatalf("a working job logged %d completions", n)
	}
	now = now.Add(5 * time.Second) // the first tick after JobTime is a second late
	e.progressJobsLocked(a, now)
	e.progressJobsLocked(a, now)
	if n := completions(); n != 1 {
		t.Errorf("%d completion lines, want 1", n)
	}
}

// Filling in the log history while the services answer: under the race
// detector, nothing a handler reads may be written meanwhile.
func TestBackfillWhileServicesAnswer(t *testing.T) {
	e, err := New(Options{Seed: 1, LogRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := e.chatwootHandler()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("GET /api: %d", rec.Code)
				return
			}
		}
	})
	for range 50 {
		e.mu.Lock()
		e.backfillLocked(e.apps[ProdApp], time.Minute)
		e.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	close(done)
	wg.Wait()
}
