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
