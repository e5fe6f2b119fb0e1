package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/runbook"
)

// target is the integration and environment an action applies to: the
// focused pane, or in the checklist the selected step's.
func (m *Model) target() (env, id string) {
	env = m.cur().env.Config.Name
	if m.mode == modeChecklist {
		if st := m.selected(); st != nil && st.Step.Integration != "" {
			return st.EnvName, st.Step.Integration
		}
	}
	return env, m.defs()[m.focus].ID
}

// askRollback asks the runner for a rollback from this view's seat and
// opens its confirmation.
func (m *Model) askRollback(q runbook.RollbackRequest) tea.Cmd {
	q.By = m.o.Seat
	p, err := m.o.Runner.Rollback(q)
	if errors.Is(err, runbook.ErrNoFlag) && len(q.IDs) == 1 {
		// Chatwoot: nothing to set false; its troubleshooting says what to do.
		m.flash = fmt.Sprintf("%s has no flag to roll back: %s", m.o.Runbook.Integration(q.IDs[0]).Name, troubleHint)
		return nil
	}
	if err != nil {
		m.flash = err.Error()
		return nil
	}
	return m.openPrompt(p)
}

// lastRollback returns the newest rollback of integration id on env.
func (m *Model) lastRollback(env, id string) *runbook.RollbackStatus {
	if m.run == nil {
		return nil
	}
	for i := len(m.run.Rollbacks) - 1; i >= 0; i-- {
		rb := &m.run.Rollbacks[i]
		if rb.Env == env && slices.Contains(rb.IDs, id) {
			return rb
		}
	}
	return nil
}

// rollbackLine says where a rollback of the pane's integration stands:
// each phase live, then the verified result and the time it took.
func (m *Model) rollbackLine(env, id string, compact bool) (string, bool) {
	rb := m.lastRollback(env, id)
	if rb == nil || (!rb.Running() && m.now.Sub(rb.Ended) > 30*time.Minute) {
		return "", false
	}
	st := &m.st
	took := rb.Took(m.now).Round(100 * time.Millisecond)
	label := "rollback "
	if compact {
		label = "rb   "
	}
	label = st.Label.Render(label)
	switch {
	case rb.Running():
		last := ""
		if len(rb.Lines) > 0 {
			last = strings.TrimSpace(outside(rb.Lines[len(rb.Lines)-1]))
		}
		return label + st.Warn.Render(fmt.Sprintf("◌ %s %s", rb.Phase, took)) + st.Dim.Render(" · "+last), true
	case rb.Phase == "verified":
		return label + st.Live.Render("✓ "+outside(rb.Result)) + st.Dim.Render(fmt.Sprintf(" · %s by %s", rb.Ended.Local().Format("15:04:05"), outside(rb.By))), true
	}
	return label + st.Bad.Render("✗ "+outside(rb.Result)), true
}

// breachLines say the thresholds over their limit.
func breachLines(st *Styles, s *integrations.Status, now time.Time, compact bool) []string {
	var out []string
	for _, b := range s.Breaches {
		label := "breach   "
		if compact {
			label = "over "
		}
		out = append(out, st.Label.Render(label)+st.Bad.Render("✗ "+b.Text(now)))
	}
	return out
}

// suggestion opens the guide's proposal to roll back, when one is pending
// and nothing else is asked.
func (m *Model) suggestion() {
	if m.dlg != nil || m.run == nil {
		return
	}
	if m.run.Shared && !m.o.Seat.Driving() {
		return // the driver decides; the footer tells the others
	}
	for _, s := range m.run.Suggestions {
		if m.later[s.Env+s.Integration+s.Since.String()] {
			continue
		}
		d := newDialog(dialogSuggest, "Roll back "+m.o.Runbook.Integration(s.Integration).Name+" on "+s.App+"?",
			[]string{s.Reason},
			button{"Later", dialogCancelled}, button{"Dismiss", dialogAlt}, button{"Roll back…", dialogProceeded})
		d.suggestion = s
		d.live = func() []string {
			return append(m.suggestionLines(s), "", "Later sets this aside (the footer keeps it); Dismiss records that it was declined until the breach clears and comes back.")
		}
		m.dlg = d
		return
	}
}

// suggestionLines are the proposal's figures as they stand now, from the
// newest snapshot: every threshold of the integration over its limit, each
// over its window and for how long, against the guide's clock. The figures
// move while the dialog is open; when the breach clears, it says so.
func (m *Model) suggestionLines(s runbook.Suggestion) []string {
	var st *integrations.Status
	for _, e := range m.envs {
		if e.env.Config.Name == s.Env && e.snap != nil {
			st = e.snap.Integration(s.Integration)
		}
	}
	if st == nil {
		return []string{s.Reason}
	}
	persist := m.o.Runbook.Decision.Persist
	var lines []string
	for _, b := range st.Breaches {
		lines = append(lines, b.Text(m.now))
	}
	if len(lines) == 0 {
		lines = append(lines, "The breach has cleared: "+st.Def.Name+" is within its limits now.")
		for _, ms := range st.Measures {
			lines = append(lines, "  "+ms.Plain())
		}
		return lines
	}
	return append(lines, "", fmt.Sprintf("The guide: roll back if issues persist > %s. The app's own figures; the console's failed checks never count.", persist))
}

// decisionDialog is the rollback decision tree, one question at a time.
func (m *Model) decisionDialog() *dialog {
	d := &dialog{kind: dialogDecision, branch: 0}
	m.decisionStep(d)
	return d
}

// decisionStep shows the current question of the tree.
func (m *Model) decisionStep(d *dialog) {
	tree := m.o.Runbook.Decision
	b := tree.Branches[d.branch]
	env, id := m.target()
	d.title = fmt.Sprintf("%s: %s", tree.Question, b.Ask)
	d.lines = []string{fmt.Sprintf("Yes → %s", b.Text)}
	if b.OtherwiseText != "" {
		d.lines = append(d.lines, "No → "+b.OtherwiseText)
	} else {
		d.lines = append(d.lines, "No → next question")
	}
	d.lines = append(d.lines, "", fmt.Sprintf("(on %s; the integration in focus: %s)", env, m.o.Runbook.Integration(id).Name), "y and n answer; esc leaves the tree; nothing is recorded until the end")
	d.buttons = choices("No", "Yes")
	d.focus = d.firstButton()
	d.warn = ""
}

// decisionAnswer follows the tree; it returns the command for the action
// the answer leads to.
func (m *Model) decisionAnswer(d *dialog, yes bool) tea.Cmd {
	tree := m.o.Runbook.Decision
	b := tree.Branches[d.branch]
	env, id := m.target()
	answer := "no"
	if yes {
		answer = "yes"
	}
	d.path = append(d.path, b.Ask+" "+answer)
	action := ""
	switch {
	case yes:
		action = b.Action
	case b.Otherwise != "":
		action = b.Otherwise
	case d.branch+1 < len(tree.Branches):
		d.branch++
		m.decisionStep(d)
		return nil
	default:
		action = "monitor"
	}
	// The outcome is recorded only once confirmed.
	path := strings.Join(d.path, " → ") + " → " + action
	lines := []string{path, "", "Recording puts this decision in the journal and the report, then " + map[string]string{
		"rollback_one": "opens the rollback of " + m.o.Runbook.Integration(id).Name + " to confirm",
		"rollback_all": "opens the emergency rollback to confirm",
		"stop":         "shows the emergency contacts",
		"monitor":      "shows the breaches and their clocks",
	}[action] + "."}
	decided := newDialog(dialogDecided, tree.Question+": "+actionWords[action], lines, choices("Cancel", "Record")...)
	decided.path, decided.action, decided.env, decided.id = d.path, action, env, id
	m.dlg = decided
	return nil
}

// actionWords name the decision tree's actions.
var actionWords = map[string]string{
	"rollback_one": "roll back that integration only",
	"rollback_all": "emergency rollback of all",
	"stop":         "STOP, contact the Manager immediately",
	"monitor":      "monitor; roll back if issues persist",
}

// decided records the decision tree's confirmed outcome and goes where it
// leads.
func (m *Model) decided(d *dialog) tea.Cmd {
	path := strings.Join(d.path, " → ") + " → " + d.action
	if err := m.o.Runner.Decide(d.env, m.o.Seat, path); err != nil {
		m.flash = "not recorded: " + err.Error()
		return nil
	}
	m.flash = "decision recorded: " + path
	switch d.action {
	case "rollback_one":
		return m.askRollback(runbook.RollbackRequest{Env: d.env, IDs: []string{d.id}, Why: "decision tree: " + path})
	case "rollback_all":
		return m.askRollback(runbook.RollbackRequest{Env: d.env, Emergency: true, Why: "decision tree: " + path})
	case "stop":
		m.dlg = m.stopDialog()
	case "monitor":
		m.dlg = m.monitorDialog(d.env)
	}
	return nil
}

// stopDialog is the decision tree's STOP: contact the manager, with the
// emergency contacts.
func (m *Model) stopDialog() *dialog {
	lines := []string{"Data loss risk: make no further change. Contact the Manager immediately.", ""}
	group := ""
	for _, c := range m.o.Runbook.Contacts {
		if c.Group != group {
			group = c.Group
			lines = append(lines, group+":")
		}
		lines = append(lines, fmt.Sprintf("  %s: %s", c.Name, c.For))
	}
	d := newDialog(dialogInfo, "STOP", lines, button{"Close", dialogProceeded})
	d.warn = "STOP, contact the Manager immediately"
	return d
}

// monitorDialog is "monitor, rollback if issues persist": the breaches and
// their clocks against the guide's limit.
func (m *Model) monitorDialog(env string) *dialog {
	persist := m.o.Runbook.Decision.Persist
	lines := []string{fmt.Sprintf("Monitor; the console proposes a rollback when a threshold stays breached for %s.", persist), ""}
	for _, e := range m.envs {
		if e.env.Config.Name != env {
			continue
		}
		for _, s := range e.snap.Integrations {
			for _, b := range s.Breaches {
				left := persist - b.For(m.now)
				lines = append(lines, fmt.Sprintf("%s: %s; %s left on the clock", s.Def.Name, b.Text(m.now), max(0, left).Round(time.Second)))
			}
		}
	}
	if len(lines) == 2 {
		lines = append(lines, "No threshold is breached now.")
	}
	return newDialog(dialogInfo, "Monitor", lines, button{"Close", dialogProceeded})
}

// sharedPrompt shows another operator's open confirmation: watched while
// they answer it, offered for approval once they propose it. The driver's
// own waiting is said in its dialog.
func (m *Model) sharedPrompt() {
	p := m.run.Prompt
	if p == nil || !m.run.Shared {
		return
	}
	if p.Seat == m.o.Seat.ID() {
		return // the asker's own dialog says where it stands
	}
	if p.Awaiting && !m.run.Reviewable(m.o.Seat) {
		// Another session of the proposer's: what it watched is now a
		// proposal it may not review; the footer says it waits.
		if m.dlg != nil && m.dlg.kind == dialogWatch && m.dlg.promptID == p.ID {
			m.dlg = nil
		}
		return
	}
	if m.dlg != nil && m.dlg.promptID == p.ID && (m.dlg.kind == dialogApprove || !p.Awaiting) {
		return
	}
	if (!p.Awaiting && m.hidden == p.ID) || (p.Awaiting && m.deferred == p.ID) {
		return // set aside by this operator: the footer and a bring it back
	}
	if m.dlg != nil && m.dlg.kind != dialogWatch {
		return // this operator is busy with a dialog of their own
	}
	if p.Awaiting {
		m.dlg = m.approvalDialog(p)
		return
	}
	d := newDialog(dialogWatch, p.By+" is confirming: "+p.Title, p.Lines, button{"Hide", dialogProceeded})
	d.lead, d.promptID, d.warn = "It would do exactly:", p.ID, p.Warning
	m.dlg = d
}

// approvalDialog asks this operator to review another's proposal: the
// focus starts on Not now, which answers nothing.
func (m *Model) approvalDialog(p *runbook.Prompt) *dialog {
	d := newDialog(dialogApprove, p.By+" proposes: "+p.Title, p.Lines,
		button{"Not now", dialogCancelled}, button{"Reject", dialogAlt}, button{"Approve", dialogProceeded})
	d.lead, d.promptID = "Approving does exactly this, now:", p.ID
	d.warn = "Two-person rule: " + p.By + " confirmed it; a second operator approves it"
	return d
}

// controlDialog asks before taking or handing over control: both are
// journaled, and taking it withdraws what the driver had open.
func (m *Model) controlDialog() *dialog {
	if m.o.Seat.Driving() {
		return newDialog(dialogControl, "Hand over control?", []string{"Nobody drives until someone presses ctrl+t; what you have open or proposed is withdrawn."},
			choices("Cancel", "Hand over")...)
	}
	who := "nobody drives"
	for _, s := range m.run.Seats {
		if s.Driving {
			who = s.Operator + " drives"
		}
	}
	return newDialog(dialogControl, "Take control?", []string{"Now " + who + ". Taking control withdraws what the driver has open or proposed; it is journaled."},
		choices("Cancel", "Take control")...)
}
