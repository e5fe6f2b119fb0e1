package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/sim"
)

var hour0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// lines makes n log lines at clk's time, the first bad of them badMsg.
func lines(clk *integrations.FakeClock, n, bad int, msg, badMsg string) []integrations.LogLine {
	out := make([]integrations.LogLine, 0, n)
	for i := range n {
		l := integrations.LogLine{Time: clk.Now(), Instance: "m1", Region: "iad", Message: msg}
		if i < bad {
			l.Message = badMsg
			if strings.HasPrefix(badMsg, "[error]") {
				l.Level, l.Message = integrations.LevelError, strings.TrimPrefix(badMsg, "[error]")
			}
		}
		out = append(out, l)
	}
	return out
}

func jobLines(clk *integrations.FakeClock, n, failed int) []integrations.LogLine {
	var out []integrations.LogLine
	for i := range n {
		outcome := "complete"
		if i < failed {
			outcome = "failed"
		}
		out = append(out, integrations.LogLine{Time: clk.Now(), Message: fmt.Sprintf("publer: job real-job-%d %s job=real-job-%d outcome=%s took=4s", i, outcome, i, outcome)})
	}
	return out
}

// Steps 1.5 and 2.8 pass only when every one of their integration's
// criteria held for the whole watch, and fail naming the criterion and its
// figure. What happened before the watch is not the watch's.
func TestMonitorStepsPassOnlyWhenEveryCriterionHeld(t *testing.T) {
	rb := Default()
	window := func(id string) time.Duration {
		for _, s := range rb.Steps {
			if s.ID == id {
				return s.Window
			}
		}
		t.Fatalf("no step %s", id)
		return 0
	}
	idea := "idea-pool: served 24 ideas from supabase in 80ms"
	schedule := "publer-adapter: POST /posts/schedule upstream=publer status=202 job=real-job-p outcome=scheduled"
	tests := []struct {
		name   string
		step   string
		before func(*integrations.FakeClock) []integrations.LogLine
		during func(*integrations.FakeClock) []integrations.LogLine
		wait   time.Duration
		want   string // the result's start; "" passes
	}{
		{name: "1.5 healthy", step: "1.5",
			during: func(c *integrations.FakeClock) []integrations.LogLine { return lines(c, 1000, 0, idea, "") }},
		{name: "1.5 errors just under 1%", step: "1.5",
			during: func(c *integrations.FakeClock) []integrations.LogLine {
				return lines(c, 1000, 9, idea, "[error]idea-pool: Supabase query failed: 503 Service Unavailable; falling back to mock")
			}},
		{name: "1.5 errors just over 1%", step: "1.5",
			during: func(c *integrations.FakeClock) []integrations.LogLine {
				return lines(c, 1000, 11, idea, "[error]idea-pool: Supabase query failed: 503 Service Unavailable; falling back to mock")
			},
			want: "error rate 1.1% (11 of 1000) > 1% over the 2m0s watch"},
		{name: "1.5 errors before the watch only", step: "1.5",
			before: func(c *integrations.FakeClock) []integrations.LogLine {
				return lines(c, 100, 50, idea, "[error]idea-pool: Supabase query failed: 503 Service Unavailable; falling back to mock")
			},
			during: func(c *integrations.FakeClock) []integrations.LogLine { return lines(c, 1000, 0, idea, "") }},
		{name: "2.8 jobs failing 4.9%", step: "2.8",
			during: func(c *integrations.FakeClock) []integrations.LogLine { return jobLines(c, 1000, 49) }},
		{name: "2.8 jobs failing 5.1%", step: "2.8",
			during: func(c *integrations.FakeClock) []integrations.LogLine { return jobLines(c, 1000, 51) },
			want:   "jobs failing 5.1% (51 of 1000) > 5% over the 2m0s watch"},
		{name: "2.8 a job pending 4:59", step: "2.8",
			before: func(c *integrations.FakeClock) []integrations.LogLine { return lines(c, 1, 0, schedule, "") },
			wait:   4*time.Minute + 58*time.Second}, // and the second before the watch
		{name: "2.8 a job pending 5:01", step: "2.8",
			before: func(c *integrations.FakeClock) []integrations.LogLine { return lines(c, 1, 0, schedule, "") },
			wait:   5 * time.Minute,
			want:   "job pending 5m01s > 5m during the 2m0s watch"},
		{name: "2.8 one 401 from Publer", step: "2.8",
			during: func(c *integrations.FakeClock) []integrations.LogLine {
				return lines(c, 1, 1, "", "publer-adapter: POST /posts/schedule upstream=publer status=401 (Unauthorized: check PUBLER_API_KEY)")
			},
			want: "401/403 from Publer 1 > 0 during the 2m0s watch"},
		{name: "2.8 numbers that look like 401 and 403", step: "2.8",
			during: func(c *integrations.FakeClock) []integrations.LogLine {
				return append(lines(c, 1, 0, "publer: mock job mock-job-401-1796720000000 accepted (401 chars)", ""),
					lines(c, 1, 0, "publer: GET /api/social/status/mock-job-403-1796720000000 200 job_status=complete", "")...)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := integrations.NewFakeClock(hour0)
			w := integrations.NewWatcher(integrations.WatcherOptions{App: sim.ProdApp, Defs: rb.Integrations, Clock: clk})
			id := map[string]string{"1.5": "supabase", "2.8": "publer"}[tt.step]
			if tt.before != nil {
				w.Ingest(tt.before(clk))
			}
			clk.Advance(time.Second)
			start := w.Latest().Integration(id)
			if tt.during != nil {
				w.Ingest(tt.during(clk))
			}
			clk.Advance(tt.wait)
			o, _, done := watchVerdict(window(tt.step), start, w.Latest().Integration(id), "", true)
			switch {
			case !done:
				t.Fatal("no verdict at the end of the watch")
			case tt.want == "" && o.state != Passed:
				t.Errorf("%s: %s, want passed", o.state, o.result)
			case tt.want != "" && (o.state != Failed || !strings.HasPrefix(o.result, tt.want)):
				t.Errorf("%s: %q, want failed: %q", o.state, o.result, tt.want)
			}
		})
	}
}

// A monitor step that could not read the log cannot say the criteria held.
func TestMonitorStepWithTheLogDownCannotPass(t *testing.T) {
	clk := integrations.NewFakeClock(hour0)
	w := integrations.NewWatcher(integrations.WatcherOptions{App: sim.ProdApp, Defs: Default().Integrations, Clock: clk})
	start := w.Latest().Integration("supabase")
	o, _, _ := watchVerdict(2*time.Minute, start, w.Latest().Integration("supabase"), "fly logs: unexpected EOF", true)
	if o.state != Failed || o.result != "cannot verify: the log stream is down: fly logs: unexpected EOF" {
		t.Errorf("%s: %s", o.state, o.result)
	}
}

// An hour of the simulated app, healthy, with Supabase and Publer live and
// log lines whose numbers look like 401 and 403: no breach, no proposal to
// roll back. Then the same hour with every one of the console's own checks
// failing: the check rows say so, the app's error rate stays 0, and still
// nothing is proposed.
func TestASimulatedHealthyHourRaisesNothing(t *testing.T) {
	failing := map[string]integrations.Probe{
		"supabase": integrations.ProbeFunc(func(context.Context) integrations.ProbeResult {
			return integrations.ProbeResult{Err: errors.New("GET /api/analytics/idea-pool: timed out")}
		}),
		"publer": integrations.ProbeFunc(func(context.Context) integrations.ProbeResult {
			return integrations.ProbeResult{Err: errors.New("403 missing scope (Missing required scope: accounts)")}
		}),
		"ga4": integrations.ProbeFunc(func(context.Context) integrations.ProbeResult {
			return integrations.ProbeResult{Err: errors.New("GA4 Data API: UNAUTHENTICATED")}
		}),
		"chatwoot": integrations.ProbeFunc(func(context.Context) integrations.ProbeResult {
			return integrations.ProbeResult{Err: errors.New("GET /api: rate limited (429 Retry later) after 3 tries")}
		}),
	}
	for _, tt := range []struct {
		name   string
		probes map[string]integrations.Probe
	}{{"healthy", nil}, {"every check failing", failing}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := integrations.NewFakeClock(hour0)
			env, err := sim.New(sim.Options{Seed: 11, LogRate: 12, JobTime: 4 * time.Second, RestartTime: time.Millisecond, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			p := env.Platform()
			flags := map[string]string{"IDEA_POOL_SUPABASE_ENABLED": "true", "PUBLER_LIVE": "true"}
			if err := p.SetSecrets(ctx, sim.ProdApp, flags, true, nil); err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(ctx, sim.ProdApp, integrations.ApplyDeploy, nil); err != nil {
				t.Fatal(err)
			}
			rb := Default()
			book := integrations.NewDigestBook()
			secrets, _ := p.Secrets(ctx, sim.ProdApp)
			for _, s := range secrets {
				if v, ok := flags[s.Name]; ok {
					book.Record(sim.ProdApp, s.Name, s.Digest, v)
				}
			}
			w := integrations.NewWatcher(integrations.WatcherOptions{Env: "production", App: sim.ProdApp, Platform: p, Defs: rb.Integrations,
				Probes: tt.probes, Clock: clk, Book: book})
			w.Recheck(ctx)
			h := newHarness(t, "healthy", false) // a runner for its proposals
			env.Traffic(sim.ProdApp)
			lookalikes := []string{
				"publer: mock job mock-job-401-1796720000000 accepted (401 chars)",
				"publer: mock job mock-job-403-1796720000000 accepted (403 chars)",
				"publer: GET /api/social/status/mock-job-401-1796720000000 200 job_status=complete",
				"publer-adapter: job real-job-401a scheduled after 403ms",
			}
			total := 0
			for sec := 5; sec <= 3600; sec += 5 {
				clk.Advance(5 * time.Second)
				batch := env.Traffic(sim.ProdApp)
				if sec%300 == 0 {
					for _, msg := range lookalikes {
						batch = append(batch, integrations.LogLine{Time: clk.Now(), Instance: "m1", Region: "iad", Message: msg})
					}
				}
				total += len(batch)
				w.Ingest(batch)
				if sec%120 == 0 {
					w.Recheck(ctx)
				}
				snap := w.Latest()
				for _, st := range snap.Integrations {
					if len(st.Breaches) > 0 {
						t.Fatalf("%s after %ds: %s", st.Def.ID, sec, st.Breaches[0].Text(snap.At))
					}
				}
				h.r.Suggest("production", snap)
				if s := h.r.State().Suggestions; len(s) > 0 {
					t.Fatalf("a rollback proposed after %ds: %s", sec, s[0].Reason)
				}
			}
			snap := w.Latest()
			pb := snap.Integration("publer")
			if total < 40000 || pb.Source != integrations.SourceLive || pb.Flag.State != integrations.FlagTrue {
				t.Fatalf("the hour did not run as meant: %d lines, publer %v with flag %v", total, pb.Source, pb.Flag.State)
			}
			var jobs int64
			for _, m := range pb.Measures {
				if m.Threshold.Kind == "jobs_failing" {
					jobs = m.Total.Total
				}
			}
			if jobs < 100 {
				t.Errorf("only %d Publer jobs finished in the hour", jobs)
			}
			for _, st := range snap.Integrations {
				if st.Rates.H1.Errors != 0 {
					t.Errorf("%s: %d errors in the hour", st.Def.ID, st.Rates.H1.Errors)
				}
				if tt.probes != nil && (st.CheckErr == "" || st.CheckFails != 31) {
					t.Errorf("%s: the check row says %q, %d failed in a row", st.Def.ID, st.CheckErr, st.CheckFails)
				}
			}
		})
	}
}
