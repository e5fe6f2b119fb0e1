package integrations

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Stand is where one machine stands after an apply.
type Stand int

const (
	StandUntouched  Stand = iota // the apply never reached it
	StandDone                    // started and healthy (or idle), carrying the new release or secrets
	StandFailed                  // its update or its health checks failed
	StandUnverified              // neither: still settling, or its version cannot be told
)

func (s Stand) String() string {
	switch s {
	case StandDone:
		return "done"
	case StandFailed:
		return "failed"
	case StandUnverified:
		return "not verified"
	}
	return "untouched"
}

// MachineStanding is one machine's place in an apply.
type MachineStanding struct {
	Machine string
	Region  string
	Stand   Stand
	Detail  string // why, when it is not done: "health check servicecheck-00-http-3000 critical: connection refused"
}

func (m MachineStanding) String() string {
	s := m.Machine
	if m.Region != "" {
		s += " (" + m.Region + ")"
	}
	s += " " + m.Stand.String()
	if m.Detail != "" {
		s += ": " + m.Detail
	}
	return s
}

// ApplyError is an apply that did not bring every machine of the app to
// done: the first failure, and where each machine stands.
type ApplyError struct {
	App      string
	Cause    error // what stopped it; nil when the machines themselves say it
	Machines []MachineStanding
}

func (e *ApplyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apply on %s did not reach every machine", e.App)
	if e.Cause != nil {
		b.WriteString(": " + e.Cause.Error())
	}
	if len(e.Machines) > 0 {
		parts := make([]string, len(e.Machines))
		for i, m := range e.Machines {
			parts[i] = m.String()
		}
		b.WriteString(" [" + strings.Join(parts, "; ") + "]")
	}
	return b.String()
}

func (e *ApplyError) Unwrap() error { return e.Cause }

// Standing is where m stands once an apply is over: done when it is started
// with every health check passing, or idle (stopped, suspended, created:
// it starts with what it was given), and carries the app's latest release
// or secrets version.
func Standing(m Machine) MachineStanding {
	st := MachineStanding{Machine: m.ID, Region: m.Region}
	healthy := m.Passing == m.Total
	switch {
	case m.State == "failed" || m.State == "launch_failed" || m.State == "destroyed" || m.State == "destroying":
		st.Stand, st.Detail = StandFailed, m.State
		if m.Trouble != "" {
			st.Detail += ": " + m.Trouble
		}
	case m.State == "started" && !healthy:
		st.Stand, st.Detail = StandFailed, fmt.Sprintf("started, %d/%d checks passing", m.Passing, m.Total)
		if m.Trouble != "" {
			st.Detail += ": " + m.Trouble
		}
	case m.State != "started" && m.State != "stopped" && m.State != "suspended" && m.State != "created":
		st.Stand, st.Detail = StandUnverified, "still "+m.State
	case m.Current == Behind:
		st.Stand, st.Detail = StandUnverified, m.State+" on an older version"
		if m.Version != "" {
			st.Detail += " (" + m.Version + ")"
		}
	case m.Current == CurrencyUnknown:
		st.Stand, st.Detail = StandUnverified, m.State+": which version it carries cannot be told"
	default:
		st.Stand = StandDone
	}
	return st
}

// VerifyMachines checks what the platform lists after an apply: nil when
// every machine is done (see Standing), else an *ApplyError naming where
// each one stands. No machines at all is not done either: nothing runs the
// new value.
func VerifyMachines(app string, ms []Machine) error {
	if len(ms) == 0 {
		return &ApplyError{App: app, Cause: errors.New("the app has no machines: nothing runs the new value")}
	}
	e := &ApplyError{App: app}
	all := true
	for _, m := range ms {
		st := Standing(m)
		all = all && st.Stand == StandDone
		e.Machines = append(e.Machines, st)
	}
	if all {
		return nil
	}
	return e
}

// ApplyProgress is an apply under way, for the pane's progress line.
type ApplyProgress struct {
	Of     int // machines the apply takes, 0 while unknown
	Good   int // machines done
	Failed int
	// The machine reported last.
	Machine, Region, State string
}

// Line is the progress in words: "2/4 machines good · 6e82933c2d2e87 (ord) updating".
func (p ApplyProgress) Line() string {
	var b strings.Builder
	if p.Of > 0 {
		fmt.Fprintf(&b, "%d/%d machines good", p.Good, p.Of)
	} else {
		fmt.Fprintf(&b, "%d machines good", p.Good)
	}
	if p.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", p.Failed)
	}
	if p.Machine != "" {
		b.WriteString(" · " + p.Machine)
		if p.Region != "" {
			b.WriteString(" (" + p.Region + ")")
		}
		if p.State != "" {
			b.WriteString(" " + p.State)
		}
	}
	return b.String()
}

// ApplyReporter is a platform that tells the applies it is running.
type ApplyReporter interface {
	// ApplyProgress is the apply running on app, if one is.
	ApplyProgress(app string) (ApplyProgress, bool)
}

// ApplyBoard follows the applies a platform runs; a platform embeds one to
// be an ApplyReporter. The zero value is ready and safe for concurrent use.
type ApplyBoard struct {
	mu      sync.Mutex
	running map[string]*boardEntry
}

type boardEntry struct {
	p    ApplyProgress
	seen map[string]Stand // machine -> done or failed
}

// Track follows an apply on app: the progress it returns feeds the board,
// then next (which may be nil). end stops following it.
func (b *ApplyBoard) Track(app string, next Progress) (progress Progress, end func()) {
	e := &boardEntry{seen: map[string]Stand{}}
	b.mu.Lock()
	if b.running == nil {
		b.running = map[string]*boardEntry{}
	}
	b.running[app] = e
	b.mu.Unlock()
	progress = func(ev MachineEvent) {
		b.mu.Lock()
		if ev.Of > 0 {
			e.p.Of = ev.Of
		}
		if ev.Machine != e.p.Machine {
			e.p.Region = ""
		}
		e.p.Machine, e.p.State = ev.Machine, ev.State
		if ev.Region != "" {
			e.p.Region = ev.Region
		}
		if ev.Done && ev.Machine != "" {
			e.seen[ev.Machine] = map[bool]Stand{true: StandFailed, false: StandDone}[ev.Err != nil]
			e.p.Good, e.p.Failed = 0, 0
			for _, s := range e.seen {
				if s == StandDone {
					e.p.Good++
				} else {
					e.p.Failed++
				}
			}
		}
		b.mu.Unlock()
		if next != nil {
			next(ev)
		}
	}
	end = func() {
		b.mu.Lock()
		if b.running[app] == e {
			delete(b.running, app)
		}
		b.mu.Unlock()
	}
	return progress, end
}

// ApplyProgress implements ApplyReporter.
func (b *ApplyBoard) ApplyProgress(app string) (ApplyProgress, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.running[app]
	if !ok {
		return ApplyProgress{}, false
	}
	return e.p, true
}
