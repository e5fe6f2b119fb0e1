package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/hotdash/hotdash-console/runbook"
)

func TestMonitoringViewShowsTheScheduleAndHistory(t *testing.T) {
	st, rb := testStack(t, "healthy")
	dir := t.TempDir()
	now := time.Now()
	path := filepath.Join(dir, "journal.jsonl")
	j, _, err := runbook.OpenJournal(path, runbook.Holder{Operator: "alice", PID: os.Getpid()}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	activated := now.Add(-5 * time.Hour)
	if err := j.Append(runbook.Record{Time: activated, Operator: "alice", Runbook: rb.Hash, Action: runbook.ActApplyDone, App: "hotdash-app", Step: "1.3"}); err != nil {
		t.Fatal(err)
	}
	hist := filepath.Join(dir, "history.jsonl")
	for i, ok := range []bool{true, false, true} {
		r := runbook.CheckResult{Env: "production", App: "hotdash-app", CheckedAt: activated.Add(time.Duration(i) * time.Hour), OK: ok,
			Integrations: []runbook.IntegrationCheck{{Name: "supabase", Source: "live", ExpectedSource: "live", Healthy: ok, ErrorRate: 0.002}}}
		if !ok {
			r.Integrations[0].Problems = []string{"error rate 3% > 1% over the last 5 min"}
		}
		if err := runbook.AppendHistory(hist, r); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := os.OpenFile(hist, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("garbage\n")
	f.Close()
	r := runbook.NewRunner(runbook.Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice"})
	t.Cleanup(r.Close)
	m := New(Options{Stack: st, Runbook: rb, Runner: r, Operator: "alice", HistoryPath: hist, Tick: 50 * time.Millisecond})
	s := &screen{t: t, m: m}
	s.tm = teatest.NewTestModel(t, recorder{m, s}, teatest.WithInitialTermSize(200, 50))
	t.Cleanup(func() {
		_ = s.tm.Quit()
		s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		m.Close()
	})
	s.waitFor("Supabase (Idea Pool)")
	s.press("H")
	s.waitFor("Post-activation monitoring", "now: Day 1 (first 24 hours), every 2 hours",
		"OVERDUE: Next check due", "Check all integration logs every 2 hours",
		"History: 3 checks", "supabase  health", "last problem: error rate 3% > 1%",
		"history.jsonl:4: not a check result; skipped",
		"☐ Logs: no errors in past 1 hour · the check at")
	// The view is live: a check appended while it is open shows.
	next := runbook.CheckResult{Env: "production", App: "hotdash-app", CheckedAt: now, OK: true,
		Integrations: []runbook.IntegrationCheck{{Name: "supabase", Source: "live", ExpectedSource: "live", Healthy: true}}}
	if err := runbook.AppendHistory(hist, next); err != nil {
		t.Fatal(err)
	}
	s.waitFor("History: 4 checks")
	s.press("esc")
	s.waitUntil("the dashboard again", func(txt string) bool { return !strings.Contains(txt, "Post-activation monitoring") })
}
