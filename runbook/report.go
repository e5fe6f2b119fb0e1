package runbook

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// Show prints a runbook as a checklist: phases, steps with their kind,
// gates, expected answer and the guide's commands.
func Show(w io.Writer, rb *Runbook) {
	fmt.Fprintf(w, "# %s\n\n", rb.Title)
	if rb.Estimated != "" || rb.Prerequisites != "" {
		fmt.Fprintf(w, "Estimated time: %s. Prerequisites: %s.\n\n", rb.Estimated, rb.Prerequisites)
	}
	fmt.Fprintf(w, "Runbook %s (hash %s)\n", rb.File, rb.Hash)
	for _, ph := range rb.Phases {
		fmt.Fprintf(w, "\n## %s\n", ph.Title)
		if d := rb.Integration(ph.Integration); d != nil && !d.Ready {
			fmt.Fprintf(w, "NOT READY: %s\n", d.NotReady)
		}
		if ph.About != "" {
			fmt.Fprintf(w, "%s\n", ph.About)
		}
		fmt.Fprintln(w)
		for _, s := range rb.Steps {
			if s.Phase != ph.ID {
				continue
			}
			where := ""
			if s.Env != "" {
				where = " on " + s.Env
			}
			fmt.Fprintf(w, "- [ ] %s %s (%s%s)\n", s.ID, s.Title, strings.ReplaceAll(string(s.Kind), "_", " "), where)
			if s.Warning != "" {
				fmt.Fprintf(w, "      ⚠ %s\n", s.Warning)
			}
			if len(s.After) > 0 {
				fmt.Fprintf(w, "      after: %s\n", strings.Join(s.After, ", "))
			}
			for _, g := range s.Guide {
				fmt.Fprintf(w, "      $ %s\n", g)
			}
			if s.Expect != "" {
				fmt.Fprintf(w, "      expect: %s\n", s.Expect)
			}
			for _, n := range s.IfNot {
				fmt.Fprintf(w, "      if not: %s\n", n)
			}
		}
	}
	if len(rb.Monitoring) > 0 {
		fmt.Fprintf(w, "\n## Post-activation monitoring\n")
		for _, m := range rb.Monitoring {
			fmt.Fprintf(w, "\n%s (every %s)\n", m.Title, humanDuration(m.Every))
			for _, t := range m.Tasks {
				fmt.Fprintf(w, "- [ ] %s\n", t)
			}
		}
	}
	if len(rb.Success) > 0 {
		fmt.Fprintf(w, "\n## Success criteria\n\n")
		for _, c := range rb.Success {
			fmt.Fprintf(w, "- [ ] %s\n", c.Text)
		}
	}
	if len(rb.Decision.Branches) > 0 {
		fmt.Fprintf(w, "\n## Rollback decision tree\n\n%s\n", rb.Decision.Question)
		for _, b := range rb.Decision.Branches {
			fmt.Fprintf(w, "  ├─ %s\n  │   └─ Yes → %s\n", b.Ask, b.Text)
			if b.OtherwiseText != "" {
				fmt.Fprintf(w, "  │   └─ No → %s\n", b.OtherwiseText)
			}
		}
	}
	if len(rb.Contacts) > 0 {
		fmt.Fprintf(w, "\n## Emergency contacts\n\n")
		for _, c := range rb.Contacts {
			fmt.Fprintf(w, "- %s: %s (%s)\n", c.Group, c.Name, c.For)
		}
	}
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 7*24*time.Hour && d%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%d week(s)", d/(7*24*time.Hour))
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d day(s)", d/(24*time.Hour))
	}
	return d.String()
}

// ReportOptions shape an activation report.
type ReportOptions struct {
	Journal string
	// Extra sections appended after the journal's (the weekly health).
	Extra []func(w io.Writer)
}

// Report writes the activation report in Markdown from a journal: each step
// with who, when and the result, the rollbacks, and the success criteria.
// Records quote what services and fly said: every line of the report is
// sanitised on its way out.
func Report(w io.Writer, rb *Runbook, loaded *Loaded, o ReportOptions) {
	safe := integrations.NewLineWriter(w)
	defer safe.Flush()
	w = safe
	recs := slices.DeleteFunc(slices.Clone(loaded.Records), func(r Record) bool { return r.DryRun })
	fmt.Fprintf(w, "# Activation report: %s\n\n", rb.Title)
	if len(recs) == 0 {
		fmt.Fprintf(w, "The journal %s holds no records yet.\n", o.Journal)
		return
	}
	ops := map[string]bool{}
	for _, r := range recs {
		if r.Operator != "" {
			ops[r.Operator] = true
		}
	}
	fmt.Fprintf(w, "- Journal: `%s` (%d records)\n", o.Journal, len(recs))
	fmt.Fprintf(w, "- Runbook: %s (hash %s)\n", rb.File, rb.Hash)
	fmt.Fprintf(w, "- From %s to %s\n", recs[0].Time.UTC().Format(time.RFC3339), recs[len(recs)-1].Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "- Operators: %s\n", strings.Join(slices.Sorted(maps.Keys(ops)), ", "))
	for _, warn := range loaded.Warnings {
		fmt.Fprintf(w, "- Journal note: %s\n", warn)
	}

	overridden(w, recs)
	last := lastEnds(recs)
	fmt.Fprintf(w, "\n## Steps\n\n| Step | Result | Who | When (UTC) | Detail |\n|---|---|---|---|---|\n")
	for _, s := range rb.Steps {
		r, ok := last[s.ID]
		if !ok {
			fmt.Fprintf(w, "| %s %s | not run | | | |\n", s.ID, md(s.Title))
			continue
		}
		result := strings.TrimPrefix(r.Action, "step.")
		result = map[string]string{"pass": "✅ passed", "fail": "❌ failed", "block": "⛔ blocked", "skip": "↷ skipped"}[result]
		detail := r.Result
		if r.Note != "" && !strings.Contains(detail, r.Note) {
			detail += " (" + r.Note + ")"
		}
		who := r.Operator
		if r.Approver != "" {
			who += ", approved by " + r.Approver
		}
		fmt.Fprintf(w, "| %s %s | %s | %s | %s | %s |\n", s.ID, md(s.Title), result, md(who), r.Time.UTC().Format("2006-01-02 15:04:05"), md(detail))
	}

	fmt.Fprintf(w, "\n## Writes\n\n")
	n := 0
	for _, r := range recs {
		if r.Action == ActWriteDone || r.Action == ActApplyDone || r.Action == ActWriteFail || r.Action == ActApplyFail || strings.HasPrefix(r.Action, "rollback.") {
			n++
			fmt.Fprintf(w, "- %s %s on %s by %s: `%s` → %s %s\n", r.Time.UTC().Format("15:04:05"), r.Action, r.App, r.Operator, strings.Join(r.Commands, "; "), r.Result, r.After)
		}
	}
	if n == 0 {
		fmt.Fprintf(w, "No writes.\n")
	}
	rollbacks(w, recs)
	fmt.Fprintf(w, "\n## Success criteria\n\n| Criterion | Status | Evidence |\n|---|---|---|\n")
	crit := Criteria(rb, recs)
	if o.Journal != "" {
		// The check history beside the journal decides "no errors in
		// the past hour".
		if h, err := ReadHistory(HistoryPath(o.Journal, false)); err == nil {
			crit = WithHistory(rb, crit, recs, h.Checks)
		}
	}
	for _, c := range crit {
		status := "☐"
		if c.Done {
			status = "✅"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", md(c.Criterion.Text), status, md(c.Evidence))
	}
	for _, extra := range o.Extra {
		extra(w)
	}
}

// overridden lists the gates gone past, first: what a manager signs off.
func overridden(w io.Writer, recs []Record) {
	var ovs []Record
	for _, r := range recs {
		if r.Action == ActOverride {
			ovs = append(ovs, r)
		}
	}
	if len(ovs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Gates overridden\n\n| Step | Gone past | Why | Who | Approved | When (UTC) |\n|---|---|---|---|---|---|\n")
	for _, r := range ovs {
		approval := r.Approver
		if strings.HasPrefix(approval, "waived: ") {
			approval = "no second operator (local console): " + strings.TrimPrefix(approval, "waived: ")
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Step, md(strings.Join(r.Commands, "; ")), md(r.Note), md(r.Operator), md(approval), r.Time.UTC().Format("2006-01-02 15:04:05"))
	}
}

// rollbacks lists the rollbacks the journal records.
func rollbacks(w io.Writer, recs []Record) {
	fmt.Fprintf(w, "\n## Rollbacks\n\n")
	n := 0
	for _, r := range recs {
		if r.Action == "rollback.done" || r.Action == "rollback.fail" {
			n++
			fmt.Fprintf(w, "- %s %s on %s by %s: %s %s\n", r.Time.UTC().Format("2006-01-02 15:04:05"), r.Step, r.App, r.Operator, r.Result, r.Note)
		}
	}
	if n == 0 {
		fmt.Fprintf(w, "None.\n")
	}
}

// lastEnds is each step's last end in the records.
func lastEnds(recs []Record) map[string]Record {
	last := map[string]Record{}
	for _, r := range recs {
		switch r.Action {
		case ActStepPass, ActStepFail, ActStepBlock, ActStepSkip:
			last[r.Step] = r
		}
	}
	return last
}

// CriterionStatus is a success criterion as the journal shows it.
type CriterionStatus struct {
	Criterion Criterion
	Done      bool
	Evidence  string
	// Runnable criteria are run by the console (enter in the checklist).
	Runnable bool
}

// Criteria evaluates the runbook's success criteria from journal records
// (dry-run records do not count).
func Criteria(rb *Runbook, recs []Record) []CriterionStatus {
	recs = slices.DeleteFunc(slices.Clone(recs), func(r Record) bool { return r.DryRun })
	last := lastEnds(recs)
	var out []CriterionStatus
	for _, c := range rb.Success {
		cs := CriterionStatus{Criterion: c, Runnable: c.Check == "fallback_test" || c.Check == "rollback_test"}
		switch c.Check {
		case "steps":
			var missing []string
			for _, s := range c.Steps {
				if last[s].Action != ActStepPass {
					missing = append(missing, s)
				}
			}
			cs.Done = len(missing) == 0
			cs.Evidence = "steps " + strings.Join(c.Steps, ", ") + " passed"
			if !cs.Done {
				cs.Evidence = "waiting for step(s) " + strings.Join(missing, ", ")
			}
		case "source_live":
			cs.Evidence = "the source check has not passed"
			for _, s := range rb.Steps {
				if s.Integration == c.Integration && s.Kind == KindVerify && slices.ContainsFunc(s.Checks, func(ch Check) bool { return ch.Call == "source" }) {
					if r := last[s.ID]; r.Action == ActStepPass {
						cs.Done, cs.Evidence = true, fmt.Sprintf("step %s passed at %s: %s", s.ID, r.Time.UTC().Format("15:04:05"), r.Result)
					}
				}
			}
		case "fallback_test", "rollback_test":
			cs.Evidence = "not run yet: select it in the checklist and press enter"
			for i := len(recs) - 1; i >= 0; i-- {
				r := recs[i]
				if r.Action == "criterion."+c.Check && r.Step == c.step() {
					cs.Done = r.Result == "ok"
					cs.Evidence = fmt.Sprintf("%s by %s: %s", r.Time.UTC().Format("2006-01-02 15:04"), r.Operator, r.Note)
					if !cs.Done {
						cs.Evidence = "failed: " + r.Error + " (" + cs.Evidence + ")"
					}
					break
				}
			}
		case "no_errors_1h":
			cs.Evidence = "run `hotdash-console check`: it reads the last hour's errors"
		default:
			cs.Evidence = "confirm by hand"
		}
		out = append(out, cs)
	}
	return out
}

// md keeps a value inside one Markdown table cell.
func md(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}
