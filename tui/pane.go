package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// flagText says what the flag is, in words and colour.
func flagText(st *Styles, s *integrations.Status, withName bool) string {
	f := s.Flag
	name := ""
	if withName && f.Name != "" {
		name = st.Bold.Render(f.Name) + " "
	}
	var v string
	switch f.State {
	case integrations.FlagNone:
		v = st.Live.Render("none") + st.Dim.Render(" (always live)")
	case integrations.FlagUnset:
		v = st.Mock.Render("unset") + st.Dim.Render(" (off)")
	case integrations.FlagFalse:
		v = st.Mock.Render("false")
	case integrations.FlagTrue:
		v = st.Live.Render("true")
	case integrations.FlagStaged:
		v = st.Warn.Render(outside(f.Detail))
		if f.Pending != "" {
			v = st.Warn.Render("→ " + outside(f.Pending) + ", " + outside(f.Detail))
		}
	case integrations.FlagUnknown:
		v = st.Warn.Render("unknown")
		if f.Detail != "" {
			v += st.Dim.Render(" (" + outside(f.Detail) + ")")
		}
	case integrations.FlagUnreadable:
		v = st.BadCell.Render("unreadable: " + outside(f.Detail))
	}
	if !s.Def.Ready {
		v += st.Dim.Render(" · not ready: " + s.Def.NotReady)
	}
	return name + v
}

// sourceText says which source the app reports and whether that is what
// the flag implies.
func sourceText(st *Styles, s *integrations.Status) string {
	answer := outside(s.Answer)
	if s.Def.Source.Kind == "logs" || answer == s.Source.String() {
		answer = "" // the marker line is long, or the kind already says it
	}
	var v string
	switch {
	case s.Source == integrations.SourceLive:
		v = st.Live.Render("● live")
	case s.Source == integrations.SourceMock:
		v = st.Mock.Render("● mock")
	case s.CheckErr != "":
		// The console cannot tell: its own check fails (see the check row).
		return st.Warn.Render("○ unknown") + st.Dim.Render(" (the console's check fails: see check)")
	default:
		v = st.Unknown.Render("○ unknown")
	}
	if answer != "" {
		v += st.Dim.Render(fmt.Sprintf(" (%s)", answer))
	}
	switch {
	case s.Mismatch():
		v += " " + st.Bad.Render("✗ expected "+s.Expected.String())
	case s.Source == integrations.SourceUnknown && s.Def.Source.Kind == "logs":
		v += st.Dim.Render(" no adapter line seen yet")
	case s.Source == integrations.SourceMock && s.Expected == integrations.SourceMock:
		v += st.Dim.Render(" as the flag says")
	case s.Source == integrations.SourceLive && s.Expected == integrations.SourceLive:
		v += st.Good.Render(" ✓")
	}
	return v
}

// rateCell renders one window's error rate, red when over the limit.
func rateCell(st *Styles, label string, r integrations.Rate, limit float64) string {
	v := pct(r.Ratio())
	cell := st.Label.Render(label+" ") + v
	if limit > 0 && r.Total > 0 && r.Ratio() > limit {
		cell = st.Label.Render(label+" ") + st.Bad.Render(v)
	}
	return cell
}

// errorsText is the app's error rate: over the window its threshold is
// measured in (the figure a breach and a rollback proposal quote), over the
// hour, against the limit, with a per-minute sparkline. The console's own
// failed checks are never in it.
func errorsText(st *Styles, s *integrations.Status, compact bool) string {
	limit := s.Def.ErrorThreshold()
	win := errorWindow(s)
	if compact {
		// The figure against its limit, over the limit's window: what a
		// breach would quote.
		spark := sparkline(s.Spark[max(0, len(s.Spark)-8):], limit)
		cell := rateCell(st, win.label, win.rate, limit)
		if limit > 0 {
			cmp := "≤"
			if win.rate.Total > 0 && win.rate.Ratio() > limit {
				cmp = ">"
			}
			cell += st.Dim.Render(" " + cmp + pct(limit))
		}
		return cell + " " + rateCell(st, "1h", s.Rates.H1, limit) + " " + st.Dim.Render(spark)
	}
	parts := []string{rateCell(st, win.label, win.rate, limit) + st.Dim.Render(fmt.Sprintf(" (%d of %d)", win.rate.Errors, win.rate.Total))}
	parts = append(parts, rateCell(st, "1h", s.Rates.H1, limit))
	if limit > 0 {
		parts = append(parts, st.Dim.Render("limit "+pct(limit)+" over "+win.label))
	}
	return strings.Join(parts, "  ") + "  " + st.Dim.Render(sparkline(s.Spark, limit))
}

// window is a rate and the window it is over.
type window struct {
	label string
	rate  integrations.Rate
}

// errorWindow is the error rate over the error-rate threshold's window, or
// over 15 minutes when the runbook sets none.
func errorWindow(s *integrations.Status) window {
	for _, m := range s.Measures {
		if m.Threshold.Kind == "error_rate" {
			return window{m.Threshold.WindowText(), integrations.Rate{Errors: m.Count, Total: m.Of}}
		}
	}
	return window{"15m", s.Rates.M15}
}

// limitsText is the guide's other criteria, each measured over its window
// against its limit: "5m jobs failing 0% (0 of 12) ≤ 5% · job pending 4s
// ≤ 5m · 401/403 from Publer 0 ≤ 0". Empty when there are none.
func limitsText(st *Styles, s *integrations.Status) string {
	var parts []string
	for _, m := range s.Measures {
		t := m.Threshold
		if t.Kind == "error_rate" {
			continue
		}
		cmp, style := "≤", st.App
		switch {
		case m.Over:
			cmp, style = ">", st.Bad
		case m.Value > t.Max:
			cmp = ">" // too few events to mean anything yet
		}
		item := fmt.Sprintf("%s %s %s %s", t.Name, m.Figure(), cmp, t.Limit())
		if !m.Sampled && m.Value > t.Max {
			item += " (too few to count)"
		}
		parts = append(parts, st.Dim.Render(t.WindowText()+" ")+style.Render(item))
	}
	return strings.Join(parts, st.Dim.Render(" · "))
}

// checkText is the console's own check of the integration: its age and
// latency, or why it fails and for how many checks in a row, in amber: the
// console's reachability, not the app's errors, and never a reason to roll
// back.
func checkText(st *Styles, s *integrations.Status, now time.Time, compact bool) string {
	if s.CheckErr != "" {
		what := "failed"
		if s.CheckFails > 1 {
			what = fmt.Sprintf("%d failed in a row", s.CheckFails)
		}
		note := " · unknown (" + ago(now, s.Checked) + ")"
		if !compact && !s.CheckSince.IsZero() && s.CheckFails > 1 {
			note = fmt.Sprintf(" · unknown for %s (%s)", now.Sub(s.CheckSince).Round(time.Second), ago(now, s.Checked))
		}
		return st.Warn.Render("✗ "+what+": "+outside(s.CheckErr)) + st.Dim.Render(note)
	}
	if s.Checked.IsZero() {
		if s.Def.Source.Kind == "logs" {
			return st.Dim.Render("from the logs: waiting for the adapter line")
		}
		return st.Dim.Render("checking…")
	}
	v := ago(now, s.Checked)
	if s.Def.Source.Kind == "logs" && s.Latency == 0 {
		return v + st.Dim.Render(" (from the logs)")
	}
	v += st.Dim.Render(" · ") + ms(s.Latency)
	if s.CheckLate != "" {
		v += " " + st.Warn.Render(outside(s.CheckLate))
	}
	if !compact && s.Detail != "" {
		v += st.Dim.Render(" · " + outside(s.Detail))
	}
	return v
}

func machinesText(st *Styles, snap *integrations.Snapshot, compact bool) string {
	if snap.MachinesErr != "" && len(snap.Machines) == 0 {
		return st.BadCell.Render("✗ " + outside(snap.MachinesErr))
	}
	if len(snap.Machines) == 0 {
		return st.Dim.Render("reading…")
	}
	var parts []string
	up := 0
	for _, m := range snap.Machines {
		mark := st.Good.Render("●")
		switch {
		case m.State == "started":
			up++
		case m.Transient():
			mark = st.Warn.Render("◌")
		default:
			mark = st.Bad.Render("✗")
		}
		if compact {
			parts = append(parts, mark)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s %s %s", mark, outside(m.Region), stateWord(st, outside(m.State)), st.Dim.Render(outside(m.Version))))
	}
	if compact {
		return fmt.Sprintf("%s %d/%d up", strings.Join(parts, ""), up, len(snap.Machines))
	}
	return strings.Join(parts, st.Dim.Render(" · "))
}

func stateWord(st *Styles, state string) string {
	switch state {
	case "started":
		return state
	case "failed", "stopped", "suspended":
		return st.Bad.Render(state)
	}
	return st.Warn.Render(state)
}

// shortLabels are the compact status rows' labels.
var shortLabels = map[string]string{"source": "src", "errors": "err", "check": "chk"}

// statusLines are a pane's status rows: full or compact, with the guide's
// diagnosis when the source contradicts the flag.
func statusLines(st *Styles, s *integrations.Status, snap *integrations.Snapshot, now time.Time, w int, compact bool, maxDiag int) []string {
	label := func(l string) string {
		if compact {
			if s, ok := shortLabels[l]; ok {
				l = s
			}
			return st.Label.Render(fmt.Sprintf("%-5s", l))
		}
		return st.Label.Render(fmt.Sprintf("%-9s", l))
	}
	lines := []string{
		label("flag") + flagText(st, s, !compact),
		label("source") + sourceText(st, s),
	}
	if s.Warning != "" && s.Source != s.Expected && !compact {
		lines = append(lines, label("")+st.Warn.Render("app: "+outside(s.Warning)))
	}
	diag := s.Diagnosis
	for i, d := range diag {
		if i == maxDiag {
			more := fmt.Sprintf("+%d more (enter) · %s", len(diag)-i, troubleHint)
			if compact {
				more = fmt.Sprintf("+%d more · %s", len(diag)-i, troubleHint)
			}
			lines = append(lines, label("")+st.Dim.Render(more))
			break
		}
		lines = append(lines, label("")+st.Warn.Render("↳ "+outside(d)))
		if i == len(diag)-1 {
			lines = append(lines, label("")+st.Dim.Render(troubleHint))
		}
	}
	lines = append(lines, label("errors")+errorsText(st, s, compact))
	if l := limitsText(st, s); l != "" && !compact {
		lines = append(lines, label("limits")+l)
	}
	lines = append(lines, label("check")+checkText(st, s, now, compact))
	if !compact {
		lines = append(lines, label("machines")+machinesText(st, snap, false))
	}
	for i := range lines {
		lines[i] = fit(lines[i], w)
	}
	return lines
}

// applyLine is the progress of an apply running on app, while one runs:
// "apply  ◌ 2/4 machines good · 6e82933c2d2e87 (ord) updating".
func (m *Model) applyLine(app string, compact bool) (string, bool) {
	rep, ok := m.o.Stack.Platform.(integrations.ApplyReporter)
	if !ok {
		return "", false
	}
	p, running := rep.ApplyProgress(app)
	if !running {
		return "", false
	}
	label := fmt.Sprintf("%-9s", "apply")
	if compact {
		label = fmt.Sprintf("%-5s", "apply")
	}
	style := m.st.Warn
	if p.Failed > 0 {
		style = m.st.Bad
	}
	return m.st.Label.Render(label) + style.Render("◌ "+outside(p.Line())), true
}
