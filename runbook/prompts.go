package runbook

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations/connect"
)

// Confirmations: every action that writes, to the platform or to the
// journal, is asked for first and answered from the seat that asked. On a
// shared console a production write (or an override) is then proposed and
// waits for another operator's approval; a proposal dies with its
// proposer's control of the console.

// Prompt journal actions.
const (
	ActWithdraw = "prompt.withdraw"
	ActApprove  = "prompt.approve"
	ActReject   = "prompt.reject"
	ActOverride = "gate.override"
)

// KindOverride marks an override's prompt.
const KindOverride Kind = "override"

// Prompt is a confirmation the runner waits for. Every session sees it;
// only the seat that asked answers it.
type Prompt struct {
	ID    uint64
	Step  string
	Kind  Kind
	Title string
	// Lines say exactly what will be done: the fly commands or API calls,
	// secret values masked.
	Lines   []string
	Warning string
	// TypeToConfirm is the text to type, for production: the app's name.
	TypeToConfirm string
	Fields        []Field
	Proceed       string // the label of the proceed choice
	DryRun        bool
	// By is who asked for it, from seat Seat.
	By   string
	Seat uint64
	// NeedsApproval: a second operator approves it (the two-person rule
	// for production). Awaiting: confirmed, the approval is awaited.
	NeedsApproval bool
	Awaiting      bool
}

// Field is a value a prompt asks for.
type Field struct {
	Key      string
	Label    string
	Masked   bool // a secret: typed into a masked input, never shown
	Required bool
	Default  string
	// FromEnv names the variable a value was found in; the field then
	// needs no typing.
	FromEnv string
}

// Answer answers a prompt.
type Answer struct {
	Typed  string            // the text to type, when TypeToConfirm is set
	Values map[string]string // by field key
	By     *Seat             // the seat answering
}

// ClosedPrompt is how a prompt ended.
type ClosedPrompt struct {
	ID  uint64
	How string
}

// Notice is something every seat is told: a proposal withdrawn, an
// override taken.
type Notice struct {
	ID   uint64
	Time time.Time
	Text string
}

// pendingRun is what an open prompt stands for, to start once answered.
type pendingRun struct {
	seat      *Seat
	step      *Step
	rollback  *rollbackReq
	criterion *criterionReq
	override  []Hold // the gates an override goes past
	fields    []Field
	values    map[string]string // from the environment
	answered  map[string]string // the proposer's values, awaiting approval
	// basis is what the proposal was made on: when it changes before the
	// approval, the proposal is withdrawn.
	basis string
}

// desk is the open confirmation: one at a time.
type desk struct {
	last    uint64
	open    *Prompt
	pend    *pendingRun
	closed  ClosedPrompt
	notices []Notice
	noticed uint64
}

// target is what a pending prompt stands for, for the journal: a step or
// a success criterion (s nil), its environment and its name.
func (pend *pendingRun) target(r *Runner) (*Step, *connect.Env, string) {
	switch {
	case pend.criterion != nil:
		return nil, pend.criterion.env, pend.criterion.c.step()
	case pend.rollback != nil:
		return nil, pend.rollback.env, "rollback"
	}
	return pend.step, r.env(pend.step), pend.step.ID
}

// openPromptLocked makes p the open confirmation, asked from seat by.
// Opening it writes nothing.
func (r *Runner) openPromptLocked(p *Prompt, pend *pendingRun, by *Seat) *Prompt {
	r.desk.last++
	p.ID = r.desk.last
	p.By, p.Seat = by.name(r), by.ID()
	pend.seat = by
	r.desk.open, r.desk.pend = p, pend
	r.publishLocked()
	return p
}

// closeLocked ends the open prompt, saying how.
func (r *Runner) closeLocked(how string) {
	if r.desk.open != nil {
		r.desk.closed = ClosedPrompt{ID: r.desk.open.ID, How: how}
	}
	r.desk.open, r.desk.pend = nil, nil
}

// noticeLocked tells every seat something.
func (r *Runner) noticeLocked(format string, args ...any) {
	r.desk.noticed++
	r.desk.notices = append(r.desk.notices, Notice{ID: r.desk.noticed, Time: r.o.Now(), Text: r.o.Stack.Masker.Mask(fmt.Sprintf(format, args...))})
	if over := len(r.desk.notices) - 20; over > 0 {
		r.desk.notices = r.desk.notices[over:]
	}
}

// Answer answers the open prompt from the seat that asked for it. Wrong
// confirmation text, or a missing required value, changes nothing and
// says why.
func (r *Runner) Answer(id uint64, a Answer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, pend := r.desk.open, r.desk.pend
	switch {
	case p == nil || p.ID != id:
		return errors.New("that confirmation is no longer open")
	case a.By != pend.seat:
		return fmt.Errorf("%s asked for it: only their session answers it", p.By)
	case p.Awaiting:
		return errors.New("waiting for a second operator's approval")
	}
	if err := r.seats.mayAct(a.By); err != nil {
		return err
	}
	if p.TypeToConfirm != "" && strings.TrimSpace(a.Typed) != p.TypeToConfirm {
		return fmt.Errorf("type %s to confirm", p.TypeToConfirm)
	}
	values, err := r.valuesLocked(pend, a.Values)
	if err != nil {
		return err
	}
	if pend.rollback != nil {
		// A rollback is never held for approval.
		r.append(r.record(nil, pend.rollback.env, ActConfirm, Record{Operator: p.By, Step: "rollback", Commands: p.Lines, Result: "confirmed", Note: pend.rollback.why}))
		r.closeLocked("confirmed")
		r.startRollbackLocked(pend.rollback, p.By)
		return nil
	}
	if rb := r.rollbacks.active(); rb != nil {
		return fmt.Errorf("a rollback on %s is under way: wait for it to end", rb.App)
	}
	s, env, name := pend.target(r)
	approver := ""
	if p.NeedsApproval {
		if r.seats.shared {
			// The two-person rule: the driver proposes, another approves.
			pend.answered = values
			pend.basis = r.basisLocked(pend)
			p.Awaiting = true
			r.append(r.record(s, env, ActConfirm, Record{Operator: p.By, Step: name, Commands: p.Lines, Result: "proposed", Note: "waiting for a second operator's approval"}))
			r.publishLocked()
			return nil
		}
		approver = "waived: local console, no second operator (two_person is on for " + env.Config.Name + ")"
	}
	if p.Lines != nil && pend.override == nil && (s == nil || s.Kind.Writes() || s.Kind == KindCommand) {
		r.append(r.record(s, env, ActConfirm, Record{Operator: p.By, Step: name, Commands: p.Lines, Result: "confirmed", Approver: approver}))
	}
	r.closeLocked("confirmed")
	r.launchLocked(pend, p.By, values, approver)
	return nil
}

// valuesLocked collects a prompt's values: typed, else from the
// environment, else the default; a required one missing is an error.
func (r *Runner) valuesLocked(pend *pendingRun, typed map[string]string) (map[string]string, error) {
	values := maps.Clone(pend.values)
	if values == nil {
		values = map[string]string{}
	}
	for _, f := range pend.fields {
		v, given := typed[f.Key]
		v = strings.TrimSpace(v)
		if given && v != "" {
			values[f.Key] = v
		}
		if values[f.Key] == "" && f.Default != "" {
			values[f.Key] = f.Default
		}
		if f.Required && values[f.Key] == "" {
			return nil, fmt.Errorf("%s is required", f.Label)
		}
		if f.Masked {
			r.o.Stack.Masker.Add(values[f.Key])
		}
	}
	return values, nil
}

// launchLocked starts what a confirmed (and, where needed, approved)
// prompt stands for.
func (r *Runner) launchLocked(pend *pendingRun, by string, values map[string]string, approver string) {
	switch {
	case pend.criterion != nil:
		cr := pend.criterion
		r.criterion = cr.c.ID
		r.wg.Go(func() { r.runCriterion(cr, by, values, approver) })
	case pend.override != nil:
		r.overrideLocked(pend, by, values["reason"], approver)
	default:
		r.startLocked(pend.step, by, values, values["note"], approver)
	}
}

// CancelPrompt closes the open prompt from the seat that asked for it;
// nothing is done. A proposal awaiting approval is withdrawn, and that is
// journaled; a confirmation never answered leaves no record.
func (r *Runner) CancelPrompt(id uint64, by *Seat, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.desk.open == nil || r.desk.open.ID != id || r.desk.pend.seat != by {
		return
	}
	r.withdrawLocked(by, why)
}

// withdrawLocked ends what seat by has open: a confirmation is closed, a
// proposal withdrawn (journaled, and every seat told).
func (r *Runner) withdrawLocked(by *Seat, why string) {
	p, pend := r.desk.open, r.desk.pend
	if p == nil || pend.seat != by {
		return
	}
	_, env, name := pend.target(r)
	if p.Awaiting {
		r.append(r.record(pend.step, env, ActWithdraw, Record{Operator: p.By, Step: name, Result: "withdrawn", Note: "reason: " + why}))
		r.noticeLocked("%s's proposal for %s was withdrawn: %s", p.By, name, why)
		r.closeLocked("withdrawn: " + why)
	} else {
		r.closeLocked("closed: " + why)
	}
	r.publishLocked()
}

// Approve is a second operator's approval of a proposal: what was
// proposed starts, and the journal names both. The proposal must still
// stand on what it was made on.
func (r *Runner) Approve(id uint64, by *Seat) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, pend := r.desk.open, r.desk.pend
	if p == nil || p.ID != id || !p.Awaiting {
		return errors.New("there is no proposal to approve")
	}
	if err := r.seats.mayApprove(by, pend.seat); err != nil {
		return err
	}
	if rb := r.rollbacks.active(); rb != nil {
		return errors.New("a rollback is under way: wait for it to end")
	}
	if now := r.basisLocked(pend); now != pend.basis {
		r.withdrawLocked(pend.seat, "the step's inputs changed since it was proposed")
		return errors.New("the proposal was withdrawn: the step's inputs changed since it was proposed")
	}
	s, env, name := pend.target(r)
	r.append(r.record(s, env, ActApprove, Record{Operator: by.Operator, Step: name, Approver: by.Operator, Note: "approved " + p.By + "'s proposal", Commands: p.Lines}))
	r.closeLocked("approved by " + by.Operator)
	r.launchLocked(pend, p.By, pend.answered, by.Operator)
	return nil
}

// Reject turns a proposal down; nothing is done.
func (r *Runner) Reject(id uint64, by *Seat, why string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, pend := r.desk.open, r.desk.pend
	if p == nil || p.ID != id || !p.Awaiting {
		return errors.New("there is no proposal to reject")
	}
	if err := r.seats.mayApprove(by, pend.seat); err != nil {
		return fmt.Errorf("%w (the proposer withdraws it with esc)", err)
	}
	s, env, name := pend.target(r)
	r.append(r.record(s, env, ActReject, Record{Operator: by.Operator, Step: name, Result: "rejected", Note: why}))
	r.closeLocked("rejected by " + by.Operator)
	r.publishLocked()
	return nil
}

// basisLocked is what a proposal stands on: the exact lines it would run
// and what holds its step. Approval re-reads it.
func (r *Runner) basisLocked(pend *pendingRun) string {
	var b strings.Builder
	if s := pend.step; s != nil {
		for _, h := range r.steps.holds(s) {
			b.WriteString(h.Text + "\n")
		}
		if pend.override == nil {
			if env := r.env(s); env != nil {
				if p, now, err := r.promptFor(s, env); err == nil {
					b.WriteString(strings.Join(p.Lines, "\n"))
					// The values the environment gave, hashed: never kept.
					for _, k := range slices.Sorted(maps.Keys(now.values)) {
						sum := sha256.Sum256([]byte(now.values[k]))
						fmt.Fprintf(&b, "\n%s %x", k, sum[:8])
					}
				}
			}
		}
		b.WriteString("\n" + r.steps.status(s.ID).State.String())
	}
	return b.String()
}

// Override asks to go on past the gates that hold a step. It is confirmed
// with a reason; on production the app's name is typed with the word
// override, and on a shared console a second operator approves it.
func (r *Runner) Override(id string, by *Seat) (*Prompt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, env, err := r.actionLocked(id, by)
	if err != nil {
		return nil, err
	}
	gates, err := r.steps.canOverride(s)
	if err != nil {
		return nil, err
	}
	p := &Prompt{Kind: KindOverride, Step: s.ID, Proceed: "Override", DryRun: r.o.DryRun, Warning: s.Warning,
		Title: fmt.Sprintf("Override: go on with %s on %s (%s)", s, env.App, env.Config.Name)}
	for _, g := range gates {
		p.Lines = append(p.Lines, g.Text)
	}
	p.Lines = append(p.Lines, "Going on anyway is journaled as an override (who, why, which gate) and listed first in the report.")
	p.Fields = []Field{{Key: "reason", Label: "Why go on anyway", Required: true}}
	if env.Config.Production {
		p.TypeToConfirm = "override " + env.App
	}
	p.NeedsApproval = r.twoPerson(s, env)
	pend := &pendingRun{step: s, override: gates, fields: p.Fields, values: map[string]string{}}
	return r.openPromptLocked(p, pend, by), nil
}

// overrideLocked journals an override and lets the step past its gates.
func (r *Runner) overrideLocked(pend *pendingRun, by, reason, approver string) {
	s := pend.step
	o := Override{Step: s.ID, Gates: holdSteps(pend.override), Reason: reason, By: by, Approver: approver, Time: r.o.Now()}
	for _, h := range pend.override {
		o.Holds = append(o.Holds, h.Text)
	}
	rec := r.record(s, r.env(s), ActOverride, Record{Operator: by, Approver: approver, Result: "overridden", Note: reason, Gates: o.Gates, Commands: o.Holds})
	if err := r.o.Journal.Append(rec); err != nil {
		r.noticeLocked("the override of %s was NOT taken: the journal could not record it: %v", s.ID, err)
		r.publishLocked()
		return
	}
	o.Time = rec.Time
	r.steps.override(o)
	r.noticeLocked("%s overrode %s on %s: %s", by, strings.Join(o.Gates, ", "), s.ID, reason)
	r.publishLocked()
}

// twoPerson reports whether step s on env waits for a second operator:
// the step says so, else its environment (production by default).
func (r *Runner) twoPerson(s *Step, env *connect.Env) bool {
	if s != nil && s.TwoPerson != nil {
		return *s.TwoPerson
	}
	return env != nil && env.Config.RequiresTwoPerson()
}

// Reviewable reports whether seat may review the open prompt: a proposal
// awaiting approval made by another operator. No session of the
// proposer's own is ever offered it.
func (s *State) Reviewable(seat *Seat) bool {
	p := s.Prompt
	return p != nil && p.Awaiting && seat != nil && p.By != seat.Operator
}
