package tui

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/runbook"
)

// healthState is what the monitoring view read from the check history
// and the journal, for the environment shown. Update keeps it current;
// the view only reads it.
type healthState struct {
	read  time.Time
	stamp string // the history file's size and time when read
	hist  *runbook.CheckHistory
	err   string

	app       string                // the app the rest is about
	checks    []runbook.CheckResult // the app's checks, oldest first
	activated time.Time             // the app's activation, from the journal
	active    bool                  // activated is known
}

// refreshHealth brings the monitoring view's data up to date: the check
// history, read again when older than 30s, the checks of the app shown,
// and its activation until the journal has one (the first never changes).
func (m *Model) refreshHealth() {
	app := m.cur().env.App
	moved := m.health.app != app
	if moved {
		m.health.app, m.health.activated, m.health.active = app, time.Time{}, false
	}
	if m.loadHistory() || moved {
		m.health.checks = nil
		if m.health.hist != nil {
			m.health.checks = runbook.Within(m.health.hist.Checks, app, time.Time{})
		}
	}
	if !m.health.active && m.o.Runner != nil {
		m.health.activated, m.health.active = runbook.ActivationTime(m.o.Runner.Records(), app)
	}
}

// loadHistory reads the check history again when the file changed since
// it was last read (a check appended to it), and reports whether it did:
// the view is live while open, at the cost of a stat a second.
func (m *Model) loadHistory() bool {
	if m.o.HistoryPath == "" {
		return false
	}
	var stamp string
	if fi, err := os.Stat(m.o.HistoryPath); err == nil {
		stamp = fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
	}
	if !m.health.read.IsZero() && stamp == m.health.stamp {
		return false
	}
	h, err := runbook.ReadHistory(m.o.HistoryPath)
	m.health.read, m.health.stamp, m.health.hist, m.health.err = m.now, stamp, h, ""
	if err != nil {
		m.health.err = err.Error()
	}
	return true
}

// healthView is the post-activation monitoring: the guide's schedule from
// the activation time in the journal, when the next check is due, and the
// history of checks per integration.
func (m *Model) healthView(h int) string {
	st := &m.st
	env := m.cur().env
	w := m.width
	lines := []string{st.Title.Render("Post-activation monitoring") + st.Dim.Render(" · "+env.App+" ("+env.Config.Name+")")}
	checks := m.health.checks
	var last time.Time
	if len(checks) > 0 {
		last = checks[len(checks)-1].CheckedAt
	}
	activated := m.health.activated
	if !m.health.active {
		lines = append(lines, st.Dim.Render("Not activated yet on "+env.App+": the schedule starts with the first apply the checklist makes."))
	} else if due, ok := runbook.Schedule(m.o.Runbook.Monitoring, activated, last, m.now); ok {
		lines = append(lines, fmt.Sprintf("Activated %s (from the journal) · now: %s, every %s",
			activated.Local().Format("2006-01-02 15:04"), due.Period.Title, humanEvery(due.Period.Every)))
		next := fmt.Sprintf("Next check due %s (in %s)", due.Next.Local().Format("Jan 2 15:04"), due.Next.Sub(m.now).Round(time.Minute))
		if due.Overdue {
			next = st.Bad.Render("OVERDUE: ") + next
		}
		if !last.IsZero() {
			next += st.Dim.Render(" · last check " + last.Local().Format("Jan 2 15:04") + " " + verdict(checks[len(checks)-1]))
		}
		lines = append(lines, next)
		for _, t := range due.Period.Tasks {
			lines = append(lines, st.Dim.Render("  ☐ ")+t)
		}
	}
	if m.health.active && m.o.HistoryPath != "" {
		// The success criterion the history decides.
		done, evidence := runbook.LogsClean(checks, env.App, activated)
		mark := st.Dim.Render("☐ ")
		if done {
			mark = st.Good.Render("✓ ")
		}
		lines = append(lines, mark+"Logs: no errors in past 1 hour"+st.Dim.Render(" · "+outside(evidence)))
	}
	lines = append(lines, "")
	switch {
	case m.o.HistoryPath == "":
		lines = append(lines, st.Dim.Render("No check history for this console."))
	case m.health.err != "":
		lines = append(lines, st.BadCell.Render("✗ "+outside(m.health.err)))
	case len(checks) == 0:
		lines = append(lines, st.Dim.Render("No checks in "+m.o.HistoryPath+" yet."))
	default:
		recent := checks[max(0, len(checks)-40):]
		lines = append(lines, fmt.Sprintf("History: %d checks in %s (the last %d shown, oldest first)", len(checks), m.o.HistoryPath, len(recent)))
		for _, sum := range runbook.Summarize(recent) {
			var health strings.Builder
			var rates []float64
			for _, c := range recent {
				for _, ic := range c.Integrations {
					if ic.Name != sum.Name {
						continue
					}
					if ic.Healthy {
						health.WriteString(st.Good.Render("▇"))
					} else {
						health.WriteString(st.Bad.Render("▁"))
					}
					rates = append(rates, ic.ErrorRate)
				}
			}
			limit := 0.0
			if d := m.o.Runbook.Integration(sum.Name); d != nil {
				limit = d.ErrorThreshold()
			}
			row := fmt.Sprintf("  %-9s health %s  errors %s  live %d/%d", sum.Name, health.String(), st.Dim.Render(sparkline(rates, limit)), sum.Live, sum.Checks)
			if sum.LastProblem != "" && sum.Healthy < sum.Checks {
				row += st.Warn.Render("  last problem: " + outside(sum.LastProblem))
			}
			lines = append(lines, row)
		}
	}
	if m.health.hist != nil {
		for _, warn := range m.health.hist.Warnings {
			lines = append(lines, st.Warn.Render("⚠ "+outside(warn)))
		}
	}
	lines = append(lines, "", st.Dim.Render("Checks run with `hotdash-console check` (cron, or --watch 2h); this view reads their history."))
	for i := range lines {
		lines[i] = fit(lines[i], w)
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return strings.Join(lines[:h], "\n")
}

func verdict(c runbook.CheckResult) string {
	if c.OK {
		return "all healthy"
	}
	var bad []string
	for _, ic := range c.Integrations {
		if !ic.Healthy {
			bad = append(bad, ic.Name)
		}
	}
	return "not healthy: " + strings.Join(bad, ", ")
}

func humanEvery(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%d week(s)", d/(7*24*time.Hour))
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d day(s)", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}
