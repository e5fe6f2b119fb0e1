package runbook

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleFollowsTheGuide(t *testing.T) {
	rb := Default()
	act := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		now, last time.Duration // after the activation
		period    string
		next      time.Duration
		overdue   bool
	}{
		{30 * time.Minute, 0, "day1", 2 * time.Hour, false},
		{3 * time.Hour, 0, "day1", 4 * time.Hour, true}, // nothing since 11:00
		{3 * time.Hour, 2*time.Hour + time.Minute, "day1", 4 * time.Hour, false},
		{23 * time.Hour, 22*time.Hour + 10*time.Minute, "day1", 24 * time.Hour, false},
		{30 * time.Hour, 24*time.Hour + time.Minute, "week1", 48 * time.Hour, false},
		{8 * 24 * time.Hour, 7*24*time.Hour + time.Hour, "ongoing", 14 * 24 * time.Hour, false},
	}
	for _, tt := range tests {
		var last time.Time
		if tt.last > 0 {
			last = act.Add(tt.last)
		}
		due, ok := Schedule(rb.Monitoring, act, last, act.Add(tt.now))
		if !ok || due.Period.Period != tt.period || !due.Next.Equal(act.Add(tt.next)) || due.Overdue != tt.overdue {
			t.Errorf("at +%s: %s next +%s overdue %v; want %s +%s %v", tt.now, due.Period.Period, due.Next.Sub(act), due.Overdue, tt.period, tt.next, tt.overdue)
		}
	}
	if _, ok := Schedule(rb.Monitoring, time.Time{}, time.Time{}, act); ok {
		t.Error("no schedule before activation")
	}
}

func TestActivationTimeIsTheFirstStepApply(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	recs := []Record{
		{Time: t0, Action: ActApplyDone, App: "hotdash-app-dev", Step: "2.2"},
		{Time: t0.Add(time.Minute), Action: ActApplyDone, App: "hotdash-app", Step: "rollback"},
		{Time: t0.Add(2 * time.Minute), Action: ActApplyDone, App: "hotdash-app", Step: "1.3", DryRun: true},
		{Time: t0.Add(3 * time.Minute), Action: ActApplyDone, App: "hotdash-app", Step: "1.3"},
	}
	if at, ok := ActivationTime(recs, "hotdash-app"); !ok || !at.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("activation %v %v", at, ok)
	}
}

func TestWeeklyHealthReport(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	mk := func(at time.Time, ok bool, src string, rate float64, problems ...string) CheckResult {
		return CheckResult{App: "hotdash-app", CheckedAt: at, OK: ok, Integrations: []IntegrationCheck{
			{Name: "supabase", Source: src, ExpectedSource: "live", Healthy: ok, ErrorRate: rate, Problems: problems},
		}}
	}
	checks := []CheckResult{
		mk(now.Add(-10*24*time.Hour), false, "mock", 0.5), // before the week
		mk(now.Add(-6*24*time.Hour), true, "live", 0.001),
		mk(now.Add(-3*24*time.Hour), false, "live", 0.04, "error rate 4% > 1% over the last 5 min"),
		mk(now.Add(-1*24*time.Hour), true, "live", 0.003),
	}
	recs := []Record{{Time: now.Add(-3 * 24 * time.Hour), Action: ActRollbackDone, App: "hotdash-app", Operator: "alice", Result: "verified mock in 9.1s", Note: "supabase"}}
	var b strings.Builder
	WeeklyHealth(&b, checks, recs, "hotdash-app", 7*24*time.Hour, now, nil)
	out := b.String()
	for _, want := range []string{
		"3 checks from", "2 of them all healthy",
		"| supabase | 2 of 3 | 3 of 3 (3 expected live) | 1.47% / 4.00% | 1 | error rate 4% > 1% over the last 5 min |",
		"alice: verified mock in 9.1s (supabase)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// "Logs: no errors in past 1 hour" is ticked from the check history: an
// hour after activation whose checks were all healthy and whose log
// windows cover it without an error line.
func TestLogsCleanFromTheCheckHistory(t *testing.T) {
	act := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	check := func(at time.Duration, back time.Duration, errors int64, ok bool) CheckResult {
		to := act.Add(at)
		c := CheckResult{App: "hotdash-app", CheckedAt: to, OK: ok, Logs: LogWindow{From: to.Add(-back), To: to, Lines: 500, Errors: errors}}
		if !ok {
			c.Integrations = []IntegrationCheck{{Name: "publer", Problems: []string{"401/403 from Publer 1 > 0 over 5m"}}}
		}
		return c
	}
	// Every 10 minutes, each reading the 10 minutes before it.
	every10 := func(mod func(i int, c *CheckResult)) []CheckResult {
		var out []CheckResult
		for i := 1; i <= 8; i++ {
			c := check(time.Duration(i)*10*time.Minute, 10*time.Minute, 0, true)
			if mod != nil {
				mod(i, &c)
			}
			out = append(out, c)
		}
		return out
	}
	tests := []struct {
		name      string
		checks    []CheckResult
		activated time.Time
		done      bool
		evidence  string
	}{
		{"not activated", every10(nil), time.Time{}, false, "not activated yet"},
		{"no checks", nil, act, false, "no check of hotdash-app since activation"},
		{"clean hour", every10(nil), act, true, "no error in the app's log from 09:20 to 10:20 UTC: 7 healthy check(s) read 3500 lines"},
		{"an error in the last check, an earlier hour clean", every10(func(i int, c *CheckResult) {
			if i == 8 {
				c.Logs.Errors = 2
			}
		}), act, true, "no error in the app's log from 09:10 to 10:10 UTC"},
		{"an error in the middle", every10(func(i int, c *CheckResult) {
			if i == 4 {
				c.Logs.Errors = 2
			}
		}), act, false, "the check at 09:40 found 2 error line(s) in the log"},
		{"an unhealthy check", every10(func(i int, c *CheckResult) {
			if i == 5 {
				*c = check(50*time.Minute, 10*time.Minute, 0, false)
			}
		}), act, false, "the check at 09:50 was not healthy: publer: 401/403 from Publer 1 > 0 over 5m"},
		{"windows that do not join up", every10(func(i int, c *CheckResult) { c.Logs.From = c.Logs.To.Add(-30 * time.Second) }),
			act, false, "no error in the logs the checks read, but they cover"},
		{"a log that could not be read", every10(func(i int, c *CheckResult) { c.Logs.Unread = "fly logs: timed out" }),
			act, false, "could not read the log: fly logs: timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, evidence := LogsClean(tt.checks, "hotdash-app", tt.activated)
			if done != tt.done || !strings.Contains(evidence, tt.evidence) {
				t.Errorf("%v %q\nwant %v %q", done, evidence, tt.done, tt.evidence)
			}
		})
	}
}

// The criterion in the journal's criteria, completed from the history of
// the app the default environment's steps applied to.
func TestCriteriaTickLogsCleanFromTheHistory(t *testing.T) {
	rb := Default()
	act := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	recs := []Record{
		{Time: act.Add(-time.Hour), Action: ActApplyDone, App: "hotdash-app-dev", Step: "2.2"},
		{Time: act, Action: ActApplyDone, App: "hotdash-app", Step: "1.3"},
	}
	var checks []CheckResult
	for i := 0; i <= 6; i++ {
		to := act.Add(time.Duration(i) * 10 * time.Minute)
		checks = append(checks, CheckResult{App: "hotdash-app", CheckedAt: to, OK: true, Logs: LogWindow{From: to.Add(-10 * time.Minute), To: to, Lines: 100}})
	}
	find := func(cs []CriterionStatus) CriterionStatus {
		for _, c := range cs {
			if c.Criterion.Check == "no_errors_1h" {
				return c
			}
		}
		t.Fatal("no logs criterion")
		return CriterionStatus{}
	}
	if c := find(Criteria(rb, recs)); c.Done {
		t.Errorf("ticked from the journal alone: %+v", c)
	}
	if c := find(WithHistory(rb, Criteria(rb, recs), recs, checks)); !c.Done || !strings.Contains(c.Evidence, "from 09:00 to 10:00 UTC") {
		t.Errorf("criterion: %+v", c)
	}
}
