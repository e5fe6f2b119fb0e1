package runbook

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The step machine: where each step stands, what holds it, and the only
// two ways past a step that did not pass: run it again until it passes,
// or an explicit, journaled override. A skip is never a pass.

// StepState is where a step stands.
type StepState int

const (
	Pending StepState = iota
	Running
	Passed
	Failed
	Skipped
	Blocked
)

func (s StepState) String() string {
	return [...]string{"pending", "running", "passed", "failed", "skipped", "blocked"}[s]
}

// Settled reports whether the checklist is finished with the step: it
// passed or was skipped. Only Passed opens the steps that wait for it.
func (s StepState) Settled() bool { return s == Passed || s == Skipped }

// didNotPass reports whether the state is a gate: the step ended without
// passing, and the steps that wait for it stay held.
func (s StepState) didNotPass() bool { return s == Skipped || s == Failed || s == Blocked }

// Hold is one reason a step cannot run yet: a step it waits for that has
// not run (a wait), or one that ended without passing (a gate, which only
// an override goes past).
type Hold struct {
	Step  string    // the step waited for
	State StepState // where that step stands
	Gate  bool
	// Text says it in the guide's words: "held: 2.5 was skipped (reason:
	// …); the guide says ONLY after dev testing succeeds", or "waits for
	// 1.2 Set feature flag (pending)".
	Text string
}

// Override is going on past a gate anyway: on which step, past which
// gates, who asked, why, and who approved it.
type Override struct {
	Step     string   // the held step
	Gates    []string // the steps that did not pass
	Holds    []string // what held it, as the checklist said it
	Reason   string
	By       string
	Approver string
	Time     time.Time
}

// ErrHeld is returned when a step is held.
type ErrHeld struct {
	Step  string
	Holds []Hold
}

func (e *ErrHeld) Error() string {
	return e.Step + " " + holdsText(e.Holds)
}

// HeldBy lists the steps that hold it.
func (e *ErrHeld) HeldBy() []string { return holdSteps(e.Holds) }

// Gated reports whether a gate (not only a wait) holds it.
func (e *ErrHeld) Gated() bool {
	return slices.ContainsFunc(e.Holds, func(h Hold) bool { return h.Gate })
}

func holdsText(hs []Hold) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Text
	}
	return strings.Join(parts, "; ")
}

func holdSteps(hs []Hold) []string {
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.Step
	}
	return ids
}

// stepMachine holds every step's status and the overrides taken. It has
// no lock of its own: the Runner calls it under its mutex.
type stepMachine struct {
	rb        *Runbook
	order     []string
	byID      map[string]*StepStatus
	overrides map[string][]Override // by held step
	// notReady says why an integration's steps cannot run, or "".
	notReady func(*Step) string
}

func newStepMachine(rb *Runbook, notReady func(*Step) string) *stepMachine {
	m := &stepMachine{rb: rb, byID: map[string]*StepStatus{}, overrides: map[string][]Override{}, notReady: notReady}
	for _, s := range rb.Steps {
		m.byID[s.ID] = &StepStatus{Step: s}
		m.order = append(m.order, s.ID)
	}
	return m
}

func (m *stepMachine) status(id string) *StepStatus { return m.byID[id] }

// holds lists what holds s now, gates first.
func (m *stepMachine) holds(s *Step) []Hold {
	var gates, waits []Hold
	seen := map[string]bool{}
	for _, a := range s.After {
		seen[a] = true
		st := m.byID[a]
		switch {
		case st == nil:
			waits = append(waits, Hold{Step: a, Text: "waits for " + a + " (not in the runbook)"})
		case st.State == Passed:
		case st.State.didNotPass():
			if !m.overriddenOn(s.ID, a) {
				gates = append(gates, m.gate(s, st))
			}
		default:
			waits = append(waits, Hold{Step: a, State: st.State, Text: fmt.Sprintf("waits for %s (%s)", st.Step, st.State)})
		}
	}
	// A precondition that blocked ("Do NOT proceed") holds every later
	// step of its phase and of the phases that depend on it.
	for _, p := range m.preconditionsBefore(s) {
		st := m.byID[p.ID]
		if seen[p.ID] || (st.State != Blocked && st.State != Failed) || m.overriddenUpstream(s, p.ID) {
			continue
		}
		gates = append(gates, m.gate(s, st))
	}
	return append(gates, waits...)
}

// gate is the hold of a step that did not pass, in the guide's words.
func (m *stepMachine) gate(s *Step, g *StepStatus) Hold {
	text := fmt.Sprintf("held: %s %s", g.Step.ID, didNotPassText(g))
	if words := guideWords(s, g); words != "" {
		text += "; the guide says " + words
	}
	return Hold{Step: g.Step.ID, State: g.State, Gate: true, Text: text}
}

func didNotPassText(g *StepStatus) string {
	switch g.State {
	case Skipped:
		return fmt.Sprintf("was skipped (reason: %s)", clipText(g.Note, 80))
	case Blocked:
		return fmt.Sprintf("blocked (%s)", clipText(g.Result, 80))
	}
	return fmt.Sprintf("failed (%s)", clipText(g.Result, 80))
}

// guideWords is what the guide says about going on past gate g to s: the
// precondition's "Do NOT proceed", else the held step's own warning.
func guideWords(s *Step, g *StepStatus) string {
	if g.Step.Kind == KindPrecondition && g.State != Skipped {
		for _, l := range g.Step.IfNot {
			if strings.Contains(strings.ToLower(l), "not proceed") {
				return l
			}
		}
	}
	return s.Warning
}

func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "none given"
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// overriddenOn reports whether gate g was overridden on step id. A step
// that waits for g directly is let past it only by its own override: one
// taken on a dev step never opens a production step.
func (m *stepMachine) overriddenOn(id, g string) bool {
	return slices.ContainsFunc(m.overrides[id], func(o Override) bool { return slices.Contains(o.Gates, g) })
}

// overriddenUpstream reports whether a blocked precondition g was
// overridden on s or on a step s waits for: going on from there goes on
// past it for everything after.
func (m *stepMachine) overriddenUpstream(s *Step, g string) bool {
	return slices.ContainsFunc(m.upstream(s), func(id string) bool { return m.overriddenOn(id, g) })
}

// upstream is s and every step it waits for, directly or not.
func (m *stepMachine) upstream(s *Step) []string {
	out := []string{s.ID}
	for i := 0; i < len(out); i++ {
		st := m.byID[out[i]]
		if st == nil {
			continue
		}
		for _, a := range st.Step.After {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// preconditionsBefore are the preconditions that come before s in its
// own phase or in a phase s's phase depends on.
func (m *stepMachine) preconditionsBefore(s *Step) []*Step {
	phases := m.phasesBefore(s.Phase)
	var out []*Step
	for _, id := range m.order {
		p := m.byID[id].Step
		if p.ID == s.ID {
			break
		}
		if p.Kind == KindPrecondition && phases[p.Phase] {
			out = append(out, p)
		}
	}
	return out
}

// phasesBefore is phase and every phase it depends on: a phase depends on
// another when one of its steps waits for one of the other's.
func (m *stepMachine) phasesBefore(phase string) map[string]bool {
	deps := map[string]bool{phase: true}
	for changed := true; changed; {
		changed = false
		for _, id := range m.order {
			s := m.byID[id].Step
			if !deps[s.Phase] {
				continue
			}
			for _, a := range s.After {
				if st := m.byID[a]; st != nil && !deps[st.Step.Phase] {
					deps[st.Step.Phase], changed = true, true
				}
			}
		}
	}
	return deps
}

// canStart says why s cannot start now, or nil.
func (m *stepMachine) canStart(s *Step) error {
	if why := m.notReady(s); why != "" {
		return errors.New(why)
	}
	if hs := m.holds(s); len(hs) > 0 {
		return &ErrHeld{Step: s.ID, Holds: hs}
	}
	return nil
}

// canSkip says why s cannot be skipped, or nil. A blocked precondition,
// and every step it holds, cannot be: the guide says do not proceed.
func (m *stepMachine) canSkip(s *Step, reason string) error {
	st := m.byID[s.ID]
	switch {
	case strings.TrimSpace(reason) == "":
		return errors.New("a reason is required to skip a step")
	case st.State == Running:
		return fmt.Errorf("step %s is running", s.ID)
	case st.State.Settled():
		return fmt.Errorf("%s is already %s", s.ID, st.State)
	case s.Kind == KindPrecondition && st.State == Blocked:
		return fmt.Errorf("%s blocks: the guide says %s; fix the cause and run it again", s.ID, guideWords(s, st))
	}
	for _, h := range m.holds(s) {
		if g := m.byID[h.Step]; h.Gate && g.Step.Kind == KindPrecondition && g.State != Skipped {
			return fmt.Errorf("%s cannot be skipped: %s", s.ID, h.Text)
		}
	}
	return nil
}

// canOverride returns the gates an override of s would go past, or why
// there is nothing to override.
func (m *stepMachine) canOverride(s *Step) ([]Hold, error) {
	if st := m.byID[s.ID]; st.State == Running || st.State == Passed {
		return nil, fmt.Errorf("%s is %s: nothing holds it", s.ID, st.State)
	}
	var gates []Hold
	for _, h := range m.holds(s) {
		if h.Gate {
			gates = append(gates, h)
		}
	}
	if len(gates) == 0 {
		return nil, fmt.Errorf("no gate holds %s: an override goes past a step that was skipped or did not pass", s.ID)
	}
	return gates, nil
}

// override records going on past gates.
func (m *stepMachine) override(o Override) {
	m.overrides[o.Step] = append(m.overrides[o.Step], o)
}

// next is the first step that can run now, or "".
func (m *stepMachine) next() string {
	for _, id := range m.order {
		st := m.byID[id]
		if !st.State.Settled() && st.State != Running && m.canStart(st.Step) == nil {
			return id
		}
	}
	return ""
}
