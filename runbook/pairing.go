package runbook

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Pairing journal actions.
const (
	ActSessionJoin  = "session.join"
	ActSessionLeave = "session.leave"
	ActDriverTake   = "driver.take"
	ActDriverGive   = "driver.release"
	ActApprove      = "prompt.approve"
	ActReject       = "prompt.reject"
)

// Seat is one operator's session on a shared console. Only the seat that
// drives can run steps, roll back or answer confirmations; the others
// watch, and one of them approves production writes.
type Seat struct {
	r        *Runner
	id       uint64
	Operator string
	Since    time.Time
}

// SeatInfo is a seat as views show it.
type SeatInfo struct {
	ID       uint64
	Operator string
	Since    time.Time
	Driving  bool
}

// Share turns the runner into a shared console: from now on only the
// driving seat acts, and production writes wait for a second operator.
func (r *Runner) Share() {
	r.mu.Lock()
	r.shared = true
	r.publishLocked()
	r.mu.Unlock()
}

// Join seats an operator. The first seat of a shared console drives.
func (r *Runner) Join(operator string) *Seat {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seatSeq++
	s := &Seat{r: r, id: r.seatSeq, Operator: operator, Since: r.o.Now()}
	r.seats = append(r.seats, s)
	_ = r.o.Journal.Append(r.record(nil, nil, ActSessionJoin, Record{Operator: operator, Note: fmt.Sprintf("joined the shared console (seat %d)", s.id)}))
	if r.driver == nil {
		r.driver = s
		_ = r.o.Journal.Append(r.record(nil, nil, ActDriverTake, Record{Operator: operator, Note: "first seat: driving"}))
	}
	r.publishLocked()
	return s
}

// Driving reports whether the seat drives.
func (s *Seat) Driving() bool {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.r.driver == s
}

// TakeControl makes the seat the driver, from whoever drove.
func (s *Seat) TakeControl() {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.driver == s {
		return
	}
	from := "nobody"
	if r.driver != nil {
		from = r.driver.Operator
	}
	r.driver = s
	_ = r.o.Journal.Append(r.record(nil, nil, ActDriverTake, Record{Operator: s.Operator, Note: "took control from " + from}))
	r.publishLocked()
}

// Release gives up driving; nobody drives until a seat takes control.
func (s *Seat) Release() {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(s, "handed over")
}

func (r *Runner) releaseLocked(s *Seat, why string) {
	if r.driver != s {
		return
	}
	r.driver = nil
	_ = r.o.Journal.Append(r.record(nil, nil, ActDriverGive, Record{Operator: s.Operator, Note: why}))
	r.publishLocked()
}

// Leave ends a seat: a driver that disconnects releases control and the
// confirmation it had open is cancelled. What runs keeps running.
func (s *Seat) Leave() {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.seats, s) {
		return
	}
	r.seats = slices.DeleteFunc(r.seats, func(o *Seat) bool { return o == s })
	if p := r.prompt; p != nil && p.By == s.Operator && !r.seatedLocked(s.Operator) {
		r.cancelPromptLocked(p.ID, s.Operator, "the operator's session ended")
	}
	r.releaseLocked(s, "disconnected")
	_ = r.o.Journal.Append(r.record(nil, nil, ActSessionLeave, Record{Operator: s.Operator, Note: fmt.Sprintf("left the shared console (seat %d)", s.id)}))
	r.publishLocked()
}

// seatedLocked reports whether an operator has a seat.
func (r *Runner) seatedLocked(operator string) bool {
	return slices.ContainsFunc(r.seats, func(s *Seat) bool { return s.Operator == operator })
}

// mayActLocked says why by cannot act now, or nil: on a shared console
// only the driver acts.
func (r *Runner) mayActLocked(by string) error {
	if !r.shared {
		return nil
	}
	switch {
	case r.driver == nil:
		return fmt.Errorf("nobody drives: ctrl+t takes control")
	case r.driver.Operator != by:
		return fmt.Errorf("%s is driving: ctrl+t takes control", r.driver.Operator)
	}
	return nil
}

// presenceLocked lists the seats for views.
func (r *Runner) presenceLocked() []SeatInfo {
	out := make([]SeatInfo, 0, len(r.seats))
	for _, s := range r.seats {
		out = append(out, SeatInfo{ID: s.id, Operator: s.Operator, Since: s.Since, Driving: r.driver == s})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Driving && !out[j].Driving })
	return out
}

// Presence says who drives and who watches: "alice driving, bob watching".
func Presence(seats []SeatInfo) string {
	var driving []string
	var watching []string
	for _, s := range seats {
		if s.Driving {
			driving = append(driving, s.Operator)
		} else if !slices.Contains(watching, s.Operator) {
			watching = append(watching, s.Operator)
		}
	}
	var parts []string
	if len(driving) > 0 {
		parts = append(parts, strings.Join(driving, ", ")+" driving")
	} else if len(watching) > 0 {
		parts = append(parts, "nobody driving")
	}
	if len(watching) > 0 {
		parts = append(parts, strings.Join(watching, ", ")+" watching")
	}
	return strings.Join(parts, ", ")
}

// Approve is a second operator's approval of a write the driver proposed:
// the step starts, and the journal names both.
func (r *Runner) Approve(id uint64, by string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.prompt
	switch {
	case p == nil || p.ID != id || !p.Awaiting:
		return fmt.Errorf("there is no proposal to approve")
	case by == p.By:
		return fmt.Errorf("%s proposed it: another operator approves", by)
	case r.shared && !r.seatedLocked(by):
		return fmt.Errorf("%s is not connected", by)
	case r.activeRollbackLocked() != nil:
		return fmt.Errorf("a rollback is under way: wait for it to end")
	}
	pend := r.pending[id]
	r.prompt = nil
	delete(r.pending, id)
	s, env, name := pend.target(r)
	_ = r.o.Journal.Append(r.record(s, env, ActApprove, Record{Operator: by, Step: name, Approver: by, Note: "approved " + p.By + "'s proposal", Commands: p.Lines}))
	r.closed(id, "approved by "+by)
	r.launchLocked(pend, p.By, pend.answered, by)
	return nil
}

// Reject turns down a proposed write; nothing is done.
func (r *Runner) Reject(id uint64, by, why string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.prompt
	if p == nil || p.ID != id || !p.Awaiting {
		return fmt.Errorf("there is no proposal to reject")
	}
	if by == p.By {
		return fmt.Errorf("%s proposed it: withdraw it with esc", by)
	}
	pend := r.pending[id]
	s, env, name := pend.target(r)
	_ = r.o.Journal.Append(r.record(s, env, ActReject, Record{Operator: by, Step: name, Result: "rejected", Note: why}))
	r.prompt = nil
	delete(r.pending, id)
	r.closed(id, "rejected by "+by)
	r.publishLocked()
	return nil
}

// needsApproval reports whether a write of step s waits for a second
// operator: the step says so, else its environment (production by default).
func (r *Runner) needsApproval(s *Step) bool {
	if s == nil || !s.Kind.Writes() {
		return false
	}
	if s.TwoPerson != nil {
		return *s.TwoPerson
	}
	env := r.env(s)
	return env != nil && env.Config.RequiresTwoPerson()
}
