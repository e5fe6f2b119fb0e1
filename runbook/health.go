package runbook

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// ActivationTime is when the first integration went live on app: the first
// apply a runbook step made there (not a rollback's, not a dry run's).
func ActivationTime(records []Record, app string) (time.Time, bool) {
	for _, r := range records {
		if r.Action == ActApplyDone && r.App == app && !r.DryRun && r.Step != "rollback" && !strings.HasPrefix(r.Step, criterionPrefix) {
			return r.Time, true
		}
	}
	return time.Time{}, false
}

// Due is where the post-activation schedule stands.
type Due struct {
	Period  Monitoring
	Next    time.Time // when the next check is due
	Last    time.Time // the last check in the history, if any
	Overdue bool      // no check since the previous due time
}

// Schedule works out the guide's monitoring schedule from the activation
// time: every 2 hours on day 1, daily in week 1, weekly after that (as the
// runbook's [[monitoring]] says). last is the newest check, or zero.
func Schedule(periods []Monitoring, activated, last, now time.Time) (Due, bool) {
	if len(periods) == 0 || activated.IsZero() {
		return Due{}, false
	}
	start := activated
	for i, p := range periods {
		end := start.Add(p.For)
		if p.For > 0 && !now.Before(end) && i < len(periods)-1 {
			start = end
			continue
		}
		elapsed := now.Sub(start)
		k := elapsed / p.Every
		prev := start.Add(k * p.Every)
		next := prev.Add(p.Every)
		if p.For > 0 && next.After(end) && i < len(periods)-1 {
			next = end
		}
		return Due{Period: p, Next: next, Last: last, Overdue: k > 0 && last.Before(prev)}, true
	}
	return Due{}, false
}

// IntegrationHealth sums an integration's checks over a period.
type IntegrationHealth struct {
	Name        string
	Checks      int
	Healthy     int
	Live        int // checks that saw the live source
	ExpectLive  int // checks whose flag said live
	MeanErrors  float64
	MaxErrors   float64
	Breaches    int
	LastProblem string
}

// Summarize reduces checks to per-integration health, in runbook order.
func Summarize(checks []CheckResult) []IntegrationHealth {
	by := map[string]*IntegrationHealth{}
	var order []string
	for _, c := range checks {
		for _, ic := range c.Integrations {
			h := by[ic.Name]
			if h == nil {
				h = &IntegrationHealth{Name: ic.Name}
				by[ic.Name] = h
				order = append(order, ic.Name)
			}
			h.Checks++
			if ic.Healthy {
				h.Healthy++
			}
			if ic.Source == "live" {
				h.Live++
			}
			if ic.ExpectedSource == "live" {
				h.ExpectLive++
			}
			h.MeanErrors += ic.ErrorRate
			h.MaxErrors = max(h.MaxErrors, ic.ErrorRate)
			for _, p := range ic.Problems {
				if strings.Contains(p, " > ") {
					h.Breaches++
				}
			}
			if len(ic.Problems) > 0 {
				h.LastProblem = ic.Problems[0]
			}
		}
	}
	out := make([]IntegrationHealth, 0, len(order))
	for _, name := range order {
		h := by[name]
		if h.Checks > 0 {
			h.MeanErrors /= float64(h.Checks)
		}
		out = append(out, *h)
	}
	return out
}

// Within keeps the checks of app made since from.
func Within(checks []CheckResult, app string, from time.Time) []CheckResult {
	var out []CheckResult
	for _, c := range checks {
		if c.App == app && !c.CheckedAt.Before(from) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CheckedAt.Before(out[j].CheckedAt) })
	return out
}

// WeeklyHealth writes the integration health report over the last since:
// the share of checks on the live source, error rates, breaches and
// rollbacks.
func WeeklyHealth(w io.Writer, checks []CheckResult, records []Record, app string, since time.Duration, now time.Time, warnings []string) {
	from := now.Add(-since)
	in := Within(checks, app, from)
	fmt.Fprintf(w, "\n## Integration health since %s (%s)\n\n", from.UTC().Format("2006-01-02 15:04"), app)
	for _, warn := range warnings {
		fmt.Fprintf(w, "- History note: %s\n", warn)
	}
	if len(in) == 0 {
		fmt.Fprintf(w, "No checks in this period: run `hotdash-console check` on its schedule (see the README's cron line).\n")
	} else {
		ok := 0
		for _, c := range in {
			if c.OK {
				ok++
			}
		}
		fmt.Fprintf(w, "%d checks from %s to %s; %d of them all healthy.\n\n", len(in), in[0].CheckedAt.UTC().Format("2006-01-02 15:04"), in[len(in)-1].CheckedAt.UTC().Format("2006-01-02 15:04"), ok)
		fmt.Fprintf(w, "| Integration | Healthy | On the live source | Error rate (mean / max) | Breaches | Last problem |\n|---|---|---|---|---|---|\n")
		for _, h := range Summarize(in) {
			live := fmt.Sprintf("%d of %d", h.Live, h.Checks)
			if h.ExpectLive > 0 {
				live += fmt.Sprintf(" (%d expected live)", h.ExpectLive)
			}
			fmt.Fprintf(w, "| %s | %d of %d | %s | %.2f%% / %.2f%% | %d | %s |\n", h.Name, h.Healthy, h.Checks, live, h.MeanErrors*100, h.MaxErrors*100, h.Breaches, md(h.LastProblem))
		}
	}
	n := 0
	for _, r := range records {
		if (r.Action == ActRollbackDone || r.Action == ActRollbackFail) && !r.Time.Before(from) && !r.DryRun {
			if n == 0 {
				fmt.Fprintf(w, "\nRollbacks in this period:\n\n")
			}
			n++
			fmt.Fprintf(w, "- %s on %s by %s: %s (%s)\n", r.Time.UTC().Format("2006-01-02 15:04"), r.App, r.Operator, r.Result, r.Note)
		}
	}
	if n == 0 {
		fmt.Fprintf(w, "\nNo rollbacks in this period.\n")
	}
}

// HistoryPath is the check history kept beside a journal: history.jsonl,
// or demo-history.jsonl beside the demo's journal.
func HistoryPath(journal string, demo bool) string {
	name := "history.jsonl"
	if demo || strings.HasPrefix(filepath.Base(journal), "demo-") {
		name = "demo-history.jsonl"
	}
	return filepath.Join(filepath.Dir(journal), name)
}

// cleanGap is how far apart two checks' log windows may be and still count
// as one: the minute the windows are measured in.
const cleanGap = time.Minute

// LogsClean looks in the check history of app, after its activation, for
// the guide's "Logs: no errors in past 1 hour": the newest hour ending at a
// check whose checks were all healthy and whose log windows cover the hour
// without an error line. It says what is missing when there is none.
func LogsClean(checks []CheckResult, app string, activated time.Time) (bool, string) {
	if activated.IsZero() {
		return false, "not activated yet: the hour starts after the first apply"
	}
	in := Within(checks, app, activated)
	if len(in) == 0 {
		return false, "no check of " + app + " since activation: run `hotdash-console check` (every few minutes for an hour: `check --watch 5m`)"
	}
	in = in[max(0, len(in)-2000):]
	var why string
	for end := len(in) - 1; end >= 0; end-- {
		to := in[end].CheckedAt
		from := to.Add(-time.Hour)
		if from.Before(activated) {
			break
		}
		ok, reason := cleanHour(in[:end+1], from, to)
		if ok {
			return true, reason
		}
		if why == "" {
			why = reason
		}
	}
	if why == "" {
		last := in[len(in)-1].CheckedAt
		why = fmt.Sprintf("the checks since activation span %s of the hour it needs", last.Sub(activated).Round(time.Minute))
	}
	return false, why
}

// cleanHour reports whether the checks up to to cover [from, to] with
// healthy checks and error-free log windows, saying what they show.
func cleanHour(checks []CheckResult, from, to time.Time) (bool, string) {
	at := func(t time.Time) string { return t.UTC().Format("15:04") }
	type span struct{ from, to time.Time }
	var spans []span
	var lines int64
	n := 0
	for i := len(checks) - 1; i >= 0 && !checks[i].CheckedAt.Before(from); i-- {
		c := checks[i]
		n++
		switch {
		case !c.OK:
			return false, fmt.Sprintf("the check at %s was not healthy: %s", at(c.CheckedAt), firstProblem(c))
		case c.Logs.Unread != "":
			return false, fmt.Sprintf("the check at %s could not read the log: %s", at(c.CheckedAt), c.Logs.Unread)
		case c.Logs.Errors > 0:
			return false, fmt.Sprintf("the check at %s found %d error line(s) in the log", at(c.CheckedAt), c.Logs.Errors)
		}
		lines += c.Logs.Lines
		if c.Logs.Lines > 0 {
			spans = append(spans, span{c.Logs.From, c.Logs.To})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	covered, seen := from, time.Duration(0)
	for _, s := range spans {
		if s.from.After(covered.Add(cleanGap)) {
			break // a gap: the rest does not join up with the hour's start
		}
		if s.to.After(covered) {
			seen += s.to.Sub(covered)
			covered = s.to
		}
	}
	if covered.Before(to.Add(-cleanGap)) {
		return false, fmt.Sprintf("no error in the logs the checks read, but they cover %s of the hour to %s from its start: check more often for an hour (`check --watch 5m`)",
			seen.Round(time.Minute), at(to))
	}
	return true, fmt.Sprintf("no error in the app's log from %s to %s UTC: %d healthy check(s) read %d lines", at(from), at(to), n, lines)
}

func firstProblem(c CheckResult) string {
	for _, ic := range c.Integrations {
		if len(ic.Problems) > 0 {
			return ic.Name + ": " + ic.Problems[0]
		}
	}
	return "not OK"
}

// productionApp is the app the runbook's steps that name no environment
// act on, from the first apply one of them made: the app the success
// criteria are about.
func productionApp(rb *Runbook, recs []Record) string {
	onDefault := map[string]bool{}
	for _, s := range rb.Steps {
		onDefault[s.ID] = s.Env == ""
	}
	for _, r := range recs {
		if r.Action == ActApplyDone && !r.DryRun && onDefault[r.Step] {
			return r.App
		}
	}
	return ""
}

// WithHistory completes the criteria the journal alone cannot decide from
// the check history: "Logs: no errors in past 1 hour".
func WithHistory(rb *Runbook, cs []CriterionStatus, recs []Record, checks []CheckResult) []CriterionStatus {
	i := slices.IndexFunc(cs, func(c CriterionStatus) bool { return c.Criterion.Check == "no_errors_1h" })
	if i < 0 {
		return cs
	}
	app := productionApp(rb, recs)
	activated, _ := ActivationTime(recs, app)
	out := slices.Clone(cs)
	out[i].Done, out[i].Evidence = LogsClean(checks, app, activated)
	return out
}
