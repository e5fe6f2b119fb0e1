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
)

// Seat is one operator's session. Every action names the seat it comes
// from: on a shared console only the seat that drives acts, and a
// proposal is approved from a seat of another operator. Rules compare
// seats, never names: two sessions of one operator are two seats.
type Seat struct {
	r        *Runner
	id       uint64
	Operator string
	Since    time.Time
}

// ID identifies the seat among the runner's seats.
func (s *Seat) ID() uint64 {
	if s == nil {
		return 0
	}
	return s.id
}

// name is who a seat is, for the journal; no seat is the console itself
// (an automatic rollback).
func (s *Seat) name(r *Runner) string {
	if s == nil {
		return r.o.Operator
	}
	return s.Operator
}

// SeatInfo is a seat as views show it.
type SeatInfo struct {
	ID       uint64
	Operator string
	Since    time.Time
	Driving  bool
}

// seating is who is connected and who drives: the one home of the rules
// on who may act and who may approve. The Runner calls it under its lock.
type seating struct {
	shared bool
	seats  []*Seat
	driver *Seat
	driven bool // some seat has driven: driving is now only taken
	last   uint64
}

// drivesOnArrival says whether a joining seat drives: only the first seat
// of a shared console's life. Once the console has had a driver, driving
// is taken (ctrl+t, which asks), never handed to whoever connects next:
// after a driver drops, the next session to arrive (a second terminal of
// a watcher, a reconnecting client, another operator's key) would
// otherwise act without having chosen to.
func (s *seating) drivesOnArrival() bool { return s.shared && !s.driven }

// drive makes seat by the driver.
func (s *seating) drive(by *Seat) {
	s.driver, s.driven = by, true
}

// mayAct says why seat by cannot act now, or nil: on a shared console
// only the driving seat acts.
func (s *seating) mayAct(by *Seat) error {
	switch {
	case !s.shared:
		return nil
	case by == nil:
		return fmt.Errorf("no session: only a connected operator acts")
	case s.driver == by:
		return nil
	case s.driver == nil:
		return fmt.Errorf("nobody drives: ctrl+t takes control")
	case s.driver.Operator == by.Operator:
		return fmt.Errorf("%s drives from another session: ctrl+t takes control here", by.Operator)
	}
	return fmt.Errorf("%s is driving: ctrl+t takes control", s.driver.Operator)
}

// mayApprove says why seat by cannot approve a proposal made from seat
// proposer, or nil: another operator, connected, approves.
func (s *seating) mayApprove(by, proposer *Seat) error {
	switch {
	case by == nil || !slices.Contains(s.seats, by):
		return fmt.Errorf("only a connected operator approves")
	case proposer != nil && by.Operator == proposer.Operator:
		return fmt.Errorf("%s proposed it: another operator approves", by.Operator)
	}
	return nil
}

// seated reports whether the seat is connected.
func (s *seating) seated(by *Seat) bool { return slices.Contains(s.seats, by) }

// presence lists the seats for views, the driver first.
func (s *seating) presence() []SeatInfo {
	out := make([]SeatInfo, 0, len(s.seats))
	for _, st := range s.seats {
		out = append(out, SeatInfo{ID: st.id, Operator: st.Operator, Since: st.Since, Driving: s.driver == st})
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

// Share turns the runner into a shared console: from now on only the
// driving seat acts, and production writes wait for a second operator.
func (r *Runner) Share() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seats.shared = true
	r.publishLocked()
}

// Join seats an operator. On a shared console the seat is journaled, and
// the first seat of the console's life drives; every later seat watches
// until it takes control.
func (r *Runner) Join(operator string) *Seat {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seats.last++
	s := &Seat{r: r, id: r.seats.last, Operator: operator, Since: r.o.Now()}
	r.seats.seats = append(r.seats.seats, s)
	if r.seats.shared {
		r.append(r.record(nil, nil, ActSessionJoin, Record{Operator: operator, Note: fmt.Sprintf("joined the shared console (seat %d)", s.id)}))
		if r.seats.drivesOnArrival() {
			r.seats.drive(s)
			r.append(r.record(nil, nil, ActDriverTake, Record{Operator: operator, Note: "first seat: driving"}))
		}
	}
	r.publishLocked()
	return s
}

// Seat returns the connected seat with the given id, or nil.
func (r *Runner) Seat(id uint64) *Seat {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.seats.seats {
		if s.id == id {
			return s
		}
	}
	return nil
}

// Driving reports whether the seat drives.
func (s *Seat) Driving() bool {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.r.seats.driver == s
}

// TakeControl makes the seat the driver. Whoever drove loses control, and
// their open confirmation or proposal is withdrawn.
func (s *Seat) TakeControl() {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seats.driver == s || !r.seats.seated(s) {
		return
	}
	from := "nobody"
	if d := r.seats.driver; d != nil {
		from = d.Operator
		r.withdrawLocked(d, d.Operator+" lost control to "+s.Operator)
	}
	r.seats.drive(s)
	r.append(r.record(nil, nil, ActDriverTake, Record{Operator: s.Operator, Note: "took control from " + from}))
	r.publishLocked()
}

// Release gives up driving; nobody drives until a seat takes control. The
// seat's open confirmation or proposal is withdrawn.
func (s *Seat) Release() {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked(s, "handed over", s.Operator+" handed over control")
	r.publishLocked()
}

func (r *Runner) releaseLocked(s *Seat, note, why string) {
	r.withdrawLocked(s, why)
	if r.seats.driver != s {
		return
	}
	r.seats.driver = nil
	r.append(r.record(nil, nil, ActDriverGive, Record{Operator: s.Operator, Note: note}))
}

// Leave ends a seat: what it had open or proposed is withdrawn and a
// driver loses control. What runs keeps running.
func (s *Seat) Leave() {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.seats.seated(s) {
		return
	}
	r.seats.seats = slices.DeleteFunc(r.seats.seats, func(o *Seat) bool { return o == s })
	r.releaseLocked(s, "disconnected", "proposer disconnected")
	if r.seats.shared {
		r.append(r.record(nil, nil, ActSessionLeave, Record{Operator: s.Operator, Note: fmt.Sprintf("left the shared console (seat %d)", s.id)}))
	}
	r.publishLocked()
}
