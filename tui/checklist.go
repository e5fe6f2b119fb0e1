package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/runbook"
)

type runnerMsg struct{}

// waitRunner waits for the runner's next change.
func waitRunner(ch <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return nil
		}
		return runnerMsg{}
	}
}

// onRunner takes the runner's new state: it opens the dialog for a prompt
// this session asked for, and closes one that was answered elsewhere.
func (m *Model) onRunner() {
	m.run = m.o.Runner.State()
	for _, n := range m.run.Notices {
		if n.ID > m.noticed {
			m.noticed = n.ID
			m.flash = n.Text
		}
	}
	m.sharedPrompt()
	// Stepping through: when the step this view started passes, go on to
	// the next one.
	if m.advance != "" {
		if st := m.run.Step(m.advance); st != nil && st.State != runbook.Running && st.State != runbook.Pending {
			if st.State == runbook.Passed && m.selected() != nil && m.selected().Step.ID == m.advance {
				if next := m.run.Next(); next != "" {
					m.sel = m.stepIndex(next)
				}
			}
			m.advance = ""
		}
	}
	p := m.run.Prompt
	switch {
	case p == nil && m.dlg != nil && (m.dlg.kind == dialogPrompt || m.dlg.kind == dialogWatch || m.dlg.kind == dialogApprove):
		if m.dlg.awaiting && m.run.Closed.ID == m.dlg.promptID {
			m.flash = "your proposal was " + m.run.Closed.How
		}
		m.dlg = nil
	case p != nil && (m.dlg == nil || m.dlg.promptID != p.ID) && m.asked == p.ID && p.Seat == m.o.Seat.ID():
		m.dlg = promptDialog(p)
		m.dlg.focusInput()
	}
	m.suggestion()
}

// stepIndex returns the index of step id in the runner's state.
func (m *Model) stepIndex(id string) int {
	for i, st := range m.run.Steps {
		if st.Step.ID == id {
			return i
		}
	}
	return 0
}

func (m *Model) selected() *runbook.StepStatus {
	if m.sel < 0 || m.sel >= len(m.run.Steps) {
		return nil
	}
	return &m.run.Steps[m.sel]
}

// selectedCriterion is the success criterion selected, below the steps.
func (m *Model) selectedCriterion() *runbook.CriterionStatus {
	i := m.sel - len(m.run.Steps)
	if i < 0 || i >= len(m.run.Criteria) {
		return nil
	}
	return &m.run.Criteria[i]
}

// rows is how many rows the checklist selects among.
func (m *Model) rows() int { return len(m.run.Steps) + len(m.run.Criteria) }

// checklistKey handles keys in the checklist.
func (m *Model) checklistKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back), key.Matches(msg, k.Checklist):
		m.mode = modeDashboard
	case key.Matches(msg, k.Up):
		m.sel = max(0, m.sel-1)
	case key.Matches(msg, k.Down):
		m.sel = min(m.rows()-1, m.sel+1)
	case key.Matches(msg, k.PageUp):
		m.sel = max(0, m.sel-10)
	case key.Matches(msg, k.PageDown):
		m.sel = min(m.rows()-1, m.sel+10)
	case key.Matches(msg, k.Top):
		m.sel = 0
	case key.Matches(msg, k.NextStep):
		if id := m.run.Next(); id != "" {
			m.sel = m.stepIndex(id)
		}
	case key.Matches(msg, k.Open):
		return m, m.runSelected()
	case key.Matches(msg, k.Skip):
		if st := m.selected(); st != nil {
			if st.State.Settled() {
				m.flash = fmt.Sprintf("%s is already %s", st.Step.ID, st.State)
				break
			}
			d := newDialog(dialogSkip, "Skip "+st.Step.String(), []string{
				"A reason is required; it goes in the journal.",
				"A skip is not a pass: the steps that wait for this one stay held until it passes or a gate is overridden.",
			}, choices("Cancel", "Skip")...)
			d.step = st.Step.ID
			d.inputs = []dialogInput{{key: "reason", label: "Reason", in: newInput(false, "why this step is skipped")}}
			m.dlg = d
			return m, d.focusInput()
		}
	case key.Matches(msg, k.Override):
		if st := m.selected(); st != nil {
			p, err := m.o.Runner.Override(st.Step.ID, m.o.Seat)
			if err != nil {
				m.flash = err.Error()
				break
			}
			return m, m.openPrompt(p)
		}
	}
	return m, nil
}

// runSelected asks the runner to run the selected step or criterion.
func (m *Model) runSelected() tea.Cmd {
	if c := m.selectedCriterion(); c != nil {
		if !c.Runnable {
			m.flash = c.Evidence
			return nil
		}
		p, err := m.o.Runner.RunCriterion(c.Criterion.ID, m.o.Seat)
		if err != nil {
			m.flash = err.Error()
			return nil
		}
		return m.openPrompt(p)
	}
	st := m.selected()
	if st == nil {
		return nil
	}
	p, err := m.o.Runner.Run(st.Step.ID, m.o.Seat)
	var held *runbook.ErrHeld
	switch {
	case errors.As(err, &held) && held.Gated():
		m.flash = fmt.Sprintf("%s is held: %s did not pass (see below) · o goes on anyway (override)", st.Step.ID, strings.Join(gateSteps(st), ", "))
	case err != nil:
		m.flash = err.Error()
	default:
		return m.openPrompt(p)
	}
	return nil
}

// openPrompt shows a confirmation this view asked the runner for.
func (m *Model) openPrompt(p *runbook.Prompt) tea.Cmd {
	m.asked = p.ID
	m.run = m.o.Runner.State()
	m.dlg = promptDialog(p)
	return m.dlg.focusInput()
}

// dialogKey routes a key to the open dialog, and does what its answer
// says. Only a dialog's proceeding (or middle) button writes anything.
func (m *Model) dialogKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	d := m.dlg
	res, cmd := d.key(msg)
	r, seat := m.o.Runner, m.o.Seat
	switch res {
	case dialogOpen:
		return m, cmd
	case dialogHidden:
		m.dlg = nil
		switch d.kind {
		case dialogApprove:
			m.deferred = d.promptID
		case dialogWatch:
			m.hidden = d.promptID // watch it from the status line instead
		case dialogSuggest:
			m.later[d.suggestion.Env+d.suggestion.Integration+d.suggestion.Since.String()] = true
			m.flash = "later: the proposal stays in the footer; r rolls back"
		}
	case dialogCancelled:
		m.dlg = nil
		switch d.kind {
		case dialogPrompt:
			r.CancelPrompt(d.promptID, seat, "cancelled at "+m.o.Operator+"'s console")
			m.flash = "cancelled: nothing was done"
			if d.awaiting {
				m.flash = "proposal withdrawn: nothing was done"
			}
		case dialogDecision:
			m.dlg = d
			return m, m.decisionAnswer(d, false)
		case dialogSuggest:
			m.later[d.suggestion.Env+d.suggestion.Integration+d.suggestion.Since.String()] = true
			m.flash = "later: the proposal stays in the footer; r rolls back"
		case dialogApprove:
			m.deferred = d.promptID
		default:
			m.flash = "nothing was done"
		}
	case dialogAlt:
		m.dlg = nil
		switch d.kind {
		case dialogApprove:
			if err := r.Reject(d.promptID, seat, "rejected at "+m.o.Operator+"'s console"); err != nil {
				m.flash = err.Error()
			} else {
				m.flash = "rejected: nothing was done"
			}
		case dialogSuggest:
			if err := r.Dismiss(d.suggestion, seat); err != nil {
				m.flash = err.Error()
			} else {
				m.flash = "dismissed: the console asks again if the breach clears and comes back"
			}
		}
	case dialogProceeded:
		return m, m.proceed(d)
	}
	return m, cmd
}

// proceed does what a dialog's proceeding button says.
func (m *Model) proceed(d *dialog) tea.Cmd {
	r, seat := m.o.Runner, m.o.Seat
	m.dlg = nil
	switch d.kind {
	case dialogInfo, dialogWatch:
		m.hidden = d.promptID
	case dialogApprove:
		if err := r.Approve(d.promptID, seat); err != nil {
			m.flash = err.Error()
		}
	case dialogDecision:
		m.dlg = d
		return m.decisionAnswer(d, true)
	case dialogDecided:
		return m.decided(d)
	case dialogSuggest:
		return m.askRollback(runbook.RollbackRequest{Env: d.suggestion.Env, IDs: []string{d.suggestion.Integration},
			Why: "the guide's clock: " + d.suggestion.Reason})
	case dialogControl:
		if seat.Driving() {
			seat.Release()
			m.flash = "you handed over control: nobody drives until someone presses ctrl+t"
		} else {
			seat.TakeControl()
			m.flash = "you drive now"
		}
	case dialogPrompt:
		typed, values := d.values()
		m.advance = d.step
		if err := r.Answer(d.promptID, runbook.Answer{Typed: typed, Values: values, By: seat}); err != nil {
			d.err = err.Error()
			m.advance = ""
			m.dlg = d
			return nil
		}
		if p := r.State().Prompt; p != nil && p.ID == d.promptID && p.Awaiting {
			// The two-person rule: keep the proposal in view until a
			// second operator approves it.
			d.awaiting = true
			d.warn = "Proposed: waiting for a second operator's approval (esc withdraws it)"
			m.dlg = d
		}
	case dialogSkip:
		_, v := d.values()
		if err := r.Skip(d.step, seat, v["reason"]); err != nil {
			d.err = err.Error()
			m.dlg = d
			return nil
		}
		// Stepping through: the row after the skipped one.
		m.run = r.State()
		m.sel = min(m.stepIndex(d.step)+1, len(m.run.Steps)-1)
	case dialogQuit:
		r.Stop()
		return tea.Quit
	}
	return nil
}

// quit quits, asking first when a step is running or a prompt is open,
// and not while a rollback runs: it is never left half done.
func (m *Model) quit() (tea.Model, tea.Cmd) {
	if m.run != nil {
		for _, rb := range m.run.Rollbacks {
			if rb.Running() && !m.run.Shared {
				m.flash = "a rollback of " + strings.Join(rb.IDs, ", ") + " on " + rb.App + " is " + rb.Phase + ": quit once it has ended"
				return m, nil
			}
		}
	}
	// A shared console's engine outlives any one session: leaving stops
	// nothing (an open confirmation of this operator's is cancelled).
	if m.o.Runner == nil || m.run.Shared || !m.o.Runner.Busy() {
		return m, tea.Quit
	}
	what := "a confirmation is open"
	if r := m.run.Running; r != "" {
		what = "step " + m.o.Runbook.Step(r).String() + " is running"
	}
	m.dlg = newDialog(dialogQuit, "Quit while "+what+"?",
		[]string{"The running step is stopped and the journal keeps it as in flight:", "the next start offers to re-run it or roll back."},
		choices("Cancel", "Quit")...)
	m.dlg.focus = m.dlg.firstButton()
	return m, nil
}

var stateMarks = map[runbook.StepState]string{
	runbook.Pending: "·", runbook.Running: "▶", runbook.Passed: "✓", runbook.Failed: "✗", runbook.Skipped: "↷", runbook.Blocked: "⊘",
}

func (m *Model) stateStyle(s runbook.StepState) func(...string) string {
	switch s {
	case runbook.Passed:
		return m.st.Good.Render
	case runbook.Failed:
		return m.st.Bad.Render
	case runbook.Blocked:
		return m.st.Warn.Render
	case runbook.Running:
		return m.st.Input.Render
	case runbook.Skipped:
		return m.st.Dim.Render
	}
	return m.st.App.Render
}

// checklist draws the checklist (and, when wide, the panes beside it).
func (m *Model) checklist(h int) string {
	if m.width >= 160 {
		left := m.width * 11 / 20
		return joinColumns(m.checklistIn(left, h), m.dashboardIn(m.width-left, h))
	}
	return m.checklistIn(m.width, h)
}

func (m *Model) checklistIn(w, h int) string {
	st := &m.st
	run := m.run
	var head []string
	info := []string{"journal " + run.JournalPath, "operator " + m.o.Operator}
	if run.DryRun {
		info = append(info, st.Demo.Render(" DRY RUN: no writes "))
	}
	head = append(head, st.Title.Render(m.o.Runbook.Title)+"  "+st.Dim.Render(strings.Join(info, " · ")))
	if run.Resume != "" {
		for _, l := range wrapText(outside(run.Resume), w-2) {
			head = append(head, st.Warn.Render(l))
		}
	}
	for _, warn := range run.Warnings {
		head = append(head, st.Warn.Render(clip("journal: "+outside(warn), w)))
	}
	// The detail takes what it needs (up to half), the list the rest.
	rest := h - len(head)
	detail := m.stepDetail(w, rest/2)
	list := m.stepList(w, rest-len(detail))
	out := append(head, list...)
	out = append(out, detail...)
	for i := range out {
		out[i] = fit(out[i], w)
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return strings.Join(out[:h], "\n")
}

// stepList draws the steps with their phase headers, keeping the
// selection in view.
func (m *Model) stepList(w, h int) []string {
	st := &m.st
	var rows []string
	selRow := 0
	phase := ""
	for i, s := range m.run.Steps {
		if s.Step.Phase != phase {
			phase = s.Step.Phase
			title := phase
			if ph := m.o.Runbook.PhaseOf(s.Step); ph != nil {
				title = ph.Title
			}
			if d := m.o.Runbook.Integration(s.Step.Integration); d != nil && !d.Ready {
				title += " · not ready: " + d.NotReady
			}
			rows = append(rows, st.Dim.Render("── "+title+" "))
		}
		if i == m.sel {
			selRow = len(rows)
		}
		rows = append(rows, m.stepRow(&s, w, i == m.sel))
	}
	if len(m.run.Criteria) > 0 {
		rows = append(rows, st.Dim.Render("── Success criteria "))
	}
	for k, c := range m.run.Criteria {
		i := len(m.run.Steps) + k
		if i == m.sel {
			selRow = len(rows)
		}
		mark, right := st.Dim.Render("☐"), ""
		if c.Done {
			mark = st.Good.Render("✓")
		}
		switch {
		case m.run.Criterion == c.Criterion.ID:
			right = st.Input.Render("running")
		case c.Runnable && !c.Done:
			right = st.Dim.Render("enter runs it")
		}
		left := fmt.Sprintf(" %s %s", mark, c.Criterion.Text)
		row := fit(left+strings.Repeat(" ", max(1, w-ansi.StringWidth(left)-ansi.StringWidth(right)-1))+right, w)
		if i == m.sel {
			row = st.Selected.Render(ansi.Strip(row))
		}
		rows = append(rows, row)
	}
	top := 0
	if selRow >= h-1 {
		top = selRow - h + 2
	}
	rows = rows[min(top, len(rows)):]
	if len(rows) > h {
		rows = rows[:h]
	}
	for len(rows) < h {
		rows = append(rows, "")
	}
	return rows
}

func (m *Model) stepRow(s *runbook.StepStatus, w int, selected bool) string {
	st := &m.st
	mark := m.stateStyle(s.State)(stateMarks[s.State])
	env := ""
	if s.Step.Env != "" {
		env = st.Dim.Render(" [" + s.Step.Env + "]")
	}
	left := fmt.Sprintf(" %s %-5s %s%s", mark, s.Step.ID, s.Step.Title, env)
	var right string
	switch {
	case s.State == runbook.Running:
		right = fmt.Sprintf("running %s", m.now.Sub(s.Started).Round(time.Second))
		if !s.Deadline.IsZero() {
			right += fmt.Sprintf(" · %s left", max(0, s.Deadline.Sub(m.now)).Round(time.Second))
		}
	case strings.HasPrefix(s.Result, "interrupted: "):
		right = fmt.Sprintf("interrupted %s %s", s.Started.Local().Format("15:04"), outside(s.Operator))
	case s.State != runbook.Pending:
		right = fmt.Sprintf("%s %s %s", s.State, s.Ended.Local().Format("15:04"), outside(s.Operator))
	case s.NotReady != "":
		right = "not ready"
	case gated(s):
		right = "held: " + strings.Join(gateSteps(s), ", ") + " did not pass"
	case len(s.Holds) > 0:
		right = "waits for " + strings.Join(holdSteps(s), ", ")
	case s.State == runbook.Pending && m.run.Next() == s.Step.ID:
		right = "next"
	}
	if len(s.Overrides) > 0 {
		right = "⤳ overridden · " + right
	}
	switch {
	case s.State == runbook.Pending && gated(s):
		right = st.Warn.Render(right)
	case s.State == runbook.Pending && (len(s.Holds) > 0 || s.NotReady != ""):
		right = st.Dim.Render(right)
	default:
		right = m.stateStyle(s.State)(right)
	}
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right) - 1
	row := left + strings.Repeat(" ", max(1, gap)) + right
	row = fit(row, w)
	if selected {
		row = st.Selected.Render(ansi.Strip(row))
	}
	return row
}

// stepDetail draws the selected step: what it does, what is expected,
// what holds it, and what it printed.
func (m *Model) stepDetail(w, h int) []string {
	st := &m.st
	if c := m.selectedCriterion(); c != nil && h > 0 {
		lines := []string{st.Dim.Render(strings.Repeat("─", w)), st.PaneTitleOn.Render("Success criterion: " + c.Criterion.Text)}
		status := "☐ not yet"
		if c.Done {
			status = "✓ done"
		}
		lines = append(lines, st.Label.Render("status    ")+status, st.Label.Render("evidence  ")+outside(c.Evidence))
		if c.Runnable {
			lines = append(lines, st.Dim.Render("enter runs it: the console breaks "+c.Criterion.Integration+" for a moment and checks the mock fallback, then puts it back"))
		}
		if m.run.Criterion == c.Criterion.ID || c.Runnable {
			for i := len(m.run.Rollbacks) - 1; i >= 0; i-- {
				if rb := m.run.Rollbacks[i]; slices.Contains(rb.IDs, c.Criterion.Integration) {
					lines = append(lines, st.Dim.Render("last run: "+rb.Phase+" "+outside(rb.Result)))
					if room := h - len(lines); room > 0 {
						for _, l := range rb.Lines[max(0, len(rb.Lines)-room):] {
							lines = append(lines, "  "+outside(l))
						}
					}
					break
				}
			}
		}
		if len(lines) > h {
			lines = lines[:h]
		}
		return lines
	}
	s := m.selected()
	if s == nil || h <= 0 {
		return nil
	}
	app := s.App
	lines := []string{st.Dim.Render(strings.Repeat("─", w))}
	where := ""
	if app != "" {
		where = fmt.Sprintf(" · %s (%s)", app, s.EnvName)
	}
	lines = append(lines, st.PaneTitleOn.Render(s.Step.String())+st.Dim.Render(" · "+strings.ReplaceAll(string(s.Step.Kind), "_", " ")+where))
	if s.Step.Warning != "" {
		lines = append(lines, st.Bad.Render("⚠ "+s.Step.Warning))
	}
	if s.Step.Expect != "" {
		lines = append(lines, st.Label.Render("expected  ")+runbook.Expand(s.Step.Expect, app))
	}
	for i, g := range s.Step.Guide {
		label := "          "
		if i == 0 {
			label = "guide     "
		}
		lines = append(lines, st.Label.Render(label)+st.Dim.Render("$ "+runbook.Expand(g, app)))
	}
	for i, l := range m.o.Runner.Plan(s.Step.ID) {
		label := "          "
		if i == 0 {
			label = "runs      "
		}
		lines = append(lines, st.Label.Render(label)+"$ "+l)
	}
	if s.State != runbook.Passed && s.State != runbook.Running {
		for _, hd := range s.Holds {
			style := st.Dim
			if hd.Gate {
				style = st.Warn
			}
			for _, l := range wrapText(hd.Text, w) {
				lines = append(lines, style.Render(l))
			}
		}
		if gated(s) {
			lines = append(lines, st.Dim.Render("o goes on anyway: an override, with a reason"+overrideHow(s)))
		}
	}
	for _, o := range s.Overrides {
		who := o.By
		if o.Approver != "" && !strings.HasPrefix(o.Approver, "waived") {
			who += ", approved by " + o.Approver
		}
		lines = append(lines, st.Warn.Render(fmt.Sprintf("⤳ overridden %s by %s: %s", o.Time.Local().Format("15:04"), who, o.Reason)))
	}
	if d := m.o.Runbook.Integration(s.Step.Integration); d != nil && !d.Ready {
		lines = append(lines, st.Warn.Render("not ready: "+d.Name+" is "+d.NotReady+" (the runbook file says so)"))
	}
	if s.State != runbook.Pending {
		status := fmt.Sprintf("%s by %s", s.State, s.Operator)
		if !s.Started.IsZero() {
			status += ", started " + s.Started.Local().Format("15:04:05")
		}
		if !s.Ended.IsZero() {
			status += ", ended " + s.Ended.Local().Format("15:04:05")
		}
		if s.Note != "" {
			status += " · note: " + s.Note
		}
		lines = append(lines, st.Label.Render("status    ")+m.stateStyle(s.State)(outside(status)))
	}
	if s.Result != "" {
		lines = append(lines, st.Label.Render("result    ")+m.stateStyle(s.State)(outside(s.Result)))
	}
	for _, d := range s.Diagnosis {
		lines = append(lines, st.Warn.Render("  ↳ "+outside(d)))
	}
	if len(s.Output) > 0 {
		lines = append(lines, st.Dim.Render("output"))
		room := h - len(lines)
		out := s.Output
		if len(out) > room {
			out = out[len(out)-max(room, 0):]
		}
		for _, o := range out {
			lines = append(lines, "  "+outside(o))
		}
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	return lines
}

// gated reports whether a gate (a step that did not pass) holds s.
func gated(s *runbook.StepStatus) bool { return len(s.Holds) > 0 && s.Holds[0].Gate }

// holdSteps are the steps that hold s; gateSteps the gates among them.
func holdSteps(s *runbook.StepStatus) []string {
	ids := make([]string, 0, len(s.Holds))
	for _, h := range s.Holds {
		ids = append(ids, h.Step)
	}
	return ids
}

func gateSteps(s *runbook.StepStatus) []string {
	var ids []string
	for _, h := range s.Holds {
		if h.Gate {
			ids = append(ids, h.Step)
		}
	}
	return ids
}

// overrideHow says what an override of s asks for beyond a reason.
func overrideHow(s *runbook.StepStatus) string {
	if s.Production {
		return "; on production the app's name typed with the word override, and a second operator's approval when shared"
	}
	return ""
}

// wrapText breaks plain text into lines of at most w cells.
func wrapText(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && ansi.StringWidth(line)+1+ansi.StringWidth(word) > w {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
