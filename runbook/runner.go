package runbook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/connect"
)

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

// Done reports whether the state lets the steps after it run.
func (s StepState) Done() bool { return s == Passed || s == Skipped }

// StepStatus is one step as the runner knows it. It is part of an
// immutable State.
type StepStatus struct {
	Step     *Step
	App      string
	EnvName  string
	State    StepState
	Started  time.Time
	Ended    time.Time
	Operator string
	Result   string   // one line: what happened
	Output   []string // what it printed and did, newest last
	// Diagnosis is the guide's "if not" and the integration's diagnosis,
	// when the step failed or is blocked.
	Diagnosis []string
	// HeldBy are the steps in `after` that have not passed.
	HeldBy []string
	// Deadline counts down a verify or observe step.
	Deadline time.Time
	Note     string
	DryRun   bool
	// Approver is the second operator who approved the write, or why the
	// approval was waived.
	Approver string
}

// Prompt is a confirmation the runner waits for. Every session sees it;
// only its answer starts the step.
type Prompt struct {
	ID    uint64
	Step  string
	Kind  Kind
	Title string
	// Lines say exactly what will be done: the fly commands or API calls,
	// secret values masked.
	Lines   []string
	Warning string
	// TypeToConfirm is the app's name, for production writes.
	TypeToConfirm string
	Fields        []Field
	Proceed       string // the label of the proceed choice
	DryRun        bool
	// By is who asked for it (the driver on a shared console).
	By string
	// NeedsApproval: a second operator approves the write (the two-person
	// rule for production). Awaiting: the driver confirmed, the approval
	// is awaited.
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
	Typed  string            // the app name, when TypeToConfirm is set
	Values map[string]string // by field key
	By     string            // who answered
}

// State is the runner at a moment. Immutable once published.
type State struct {
	Seq     uint64
	Steps   []StepStatus
	Running string
	Prompt  *Prompt
	Resume  string // what the journal said was in flight
	// Rollbacks are the recent rollbacks, newest last.
	Rollbacks []RollbackStatus
	// Suggestions are rollbacks the guide's clock proposes.
	Suggestions []Suggestion
	// Criteria are the success criteria as the journal shows them;
	// Criterion is the one being run.
	Criteria  []CriterionStatus
	Criterion string
	// Closed says how the last prompt ended ("rejected by bob: ...").
	Closed ClosedPrompt
	// Shared is a console served to several operators; Seats says who is
	// connected and who drives.
	Shared      bool
	Seats       []SeatInfo
	Warnings    []string // journal problems that lost nothing
	JournalPath string
	Operator    string
	DryRun      bool
}

// ClosedPrompt is how a prompt ended.
type ClosedPrompt struct {
	ID  uint64
	How string
}

// Step returns the status of step id.
func (s *State) Step(id string) *StepStatus {
	for i := range s.Steps {
		if s.Steps[i].Step.ID == id {
			return &s.Steps[i]
		}
	}
	return nil
}

// Options configure a Runner.
type Options struct {
	Runbook  *Runbook
	Stack    *connect.Stack
	Journal  *Journal
	Operator string
	DryRun   bool
	Now      func() time.Time
	// History is what the journal held when the console started.
	History *History
}

// Runner executes the runbook's steps through the integrations layer and
// journals every action. Views never execute anything themselves.
type Runner struct {
	o Options

	mu       sync.Mutex
	steps    map[string]*StepStatus
	order    []string
	running  string
	cancel   context.CancelFunc
	stepDone chan struct{} // closed when the running step has ended
	prompt   *Prompt
	pending  map[uint64]*pendingRun
	nextID   uint64
	resume   string
	warns    []string
	seq      uint64
	state    *State
	subs     map[chan struct{}]struct{}
	wg       sync.WaitGroup // steps, rollbacks, criteria running
	// watchers feed snapshots to Suggest (Watch); they end with its ctx.
	watchers sync.WaitGroup
	// lastApply is when each app was last applied, for the logs check.
	lastApply   map[string]time.Time
	rollbacks   []*RollbackStatus
	rbSeq       uint64
	suggestions []Suggestion
	dismissed   map[string]bool
	criterion   string // the success criterion being run
	lastClosed  ClosedPrompt
	crit        []CriterionStatus // from the journal, as of critN records (-1: not yet)
	critN       int
	shared      bool
	seats       []*Seat
	seatSeq     uint64
	driver      *Seat
}

type pendingRun struct {
	rollback  *rollbackReq
	criterion *criterionReq
	answered  map[string]string // the driver's values, awaiting approval
	step      *Step
	fields    []Field
	values    map[string]string // from the environment
}

// ErrHeld is returned when a step's gates are not passed.
type ErrHeld struct {
	Step   string
	HeldBy []string
}

func (e *ErrHeld) Error() string {
	return fmt.Sprintf("step %s waits for %s", e.Step, strings.Join(e.HeldBy, ", "))
}

// NewRunner builds a runner, taking the journal's history into account.
func NewRunner(o Options) *Runner {
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Runner{o: o, critN: -1, steps: map[string]*StepStatus{}, pending: map[uint64]*pendingRun{}, subs: map[chan struct{}]struct{}{},
		lastApply: map[string]time.Time{}, dismissed: map[string]bool{}}
	for _, s := range o.Runbook.Steps {
		env := r.env(s)
		st := &StepStatus{Step: s, DryRun: o.DryRun}
		if env != nil {
			st.App, st.EnvName = env.App, env.Config.Name
		}
		r.steps[s.ID] = st
		r.order = append(r.order, s.ID)
	}
	if h := o.History; h != nil {
		for id, rec := range h.Steps {
			if st := r.steps[id]; st != nil {
				st.State, st.Started, st.Ended, st.Operator, st.Result, st.Note = rec.State, rec.Started, rec.Ended, rec.Operator, rec.Result, rec.Note
				if rec.State == Blocked || rec.State == Failed {
					st.Diagnosis = r.ifNot(st)
				}
			}
		}
		if h.InFlight != nil {
			if st := r.steps[h.InFlight.Step]; st != nil {
				st.State, st.Started, st.Operator = Failed, h.InFlight.Started, h.InFlight.Operator
				st.Result = "interrupted: " + h.InFlight.Message
			}
		}
		r.resume = h.Summary()
		r.warns = h.Warnings
	}
	r.publishLocked()
	return r
}

// env returns the environment a step acts on.
func (r *Runner) env(s *Step) *connect.Env {
	name := s.Env
	if name == "" {
		name = r.o.Stack.Config.DefaultEnv
	}
	return r.o.Stack.Env(name)
}

// Subscribe returns a channel that receives a signal after each change,
// and a function to stop.
func (r *Runner) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		if _, ok := r.subs[ch]; ok {
			delete(r.subs, ch)
			close(ch) // the view's waiting command ends
		}
		r.mu.Unlock()
	}
}

// State returns the current state.
func (r *Runner) State() *State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Busy reports whether a step or a rollback is running, or a prompt is open.
func (r *Runner) Busy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running != "" || r.prompt != nil || r.activeRollbackLocked() != nil
}

// publishLocked builds a new immutable state and signals subscribers.
func (r *Runner) publishLocked() {
	r.seq++
	s := &State{
		Seq: r.seq, Running: r.running, Resume: r.resume, Warnings: r.warns,
		Operator: r.o.Operator, DryRun: r.o.DryRun,
	}
	if r.o.Journal != nil {
		s.JournalPath = r.o.Journal.Path()
	}
	if r.prompt != nil {
		p := *r.prompt
		s.Prompt = &p
	}
	for _, rb := range r.rollbacks {
		c := *rb
		c.Lines = slices.Clone(rb.Lines)
		c.Verified = maps.Clone(rb.Verified)
		s.Rollbacks = append(s.Rollbacks, c)
	}
	s.Suggestions = slices.Clone(r.suggestions)
	if n := r.o.Journal.Len(); n != r.critN {
		r.crit, r.critN = Criteria(r.o.Runbook, r.o.Journal.Records()), n
	}
	s.Criteria = r.crit
	s.Criterion = r.criterion
	s.Shared = r.shared
	s.Seats = r.presenceLocked()
	s.Closed = r.lastClosed
	for _, id := range r.order {
		st := *r.steps[id]
		st.Output = slices.Clone(st.Output)
		st.HeldBy = r.heldByLocked(st.Step)
		s.Steps = append(s.Steps, st)
	}
	r.state = s
	for ch := range r.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (r *Runner) heldByLocked(s *Step) []string {
	var held []string
	for _, a := range s.After {
		if st := r.steps[a]; st == nil || !st.State.Done() {
			held = append(held, a)
		}
	}
	return held
}

// notReady says why an integration's steps cannot run, or "".
func (r *Runner) notReady(s *Step) string {
	if d := r.o.Runbook.Integration(s.Integration); d != nil && !d.Ready {
		return fmt.Sprintf("%s is not ready: %s", d.Name, d.NotReady)
	}
	return ""
}

// Run starts a step. A step that writes, runs a command or needs a human
// returns a Prompt to answer first; others start at once.
func (r *Runner) Run(id, by string) (*Prompt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.o.Runbook.Step(id)
	if s == nil {
		return nil, fmt.Errorf("no step %q", id)
	}
	if err := r.mayActLocked(by); err != nil {
		return nil, err
	}
	if err := r.canStartLocked(s); err != nil {
		return nil, err
	}
	env := r.env(s)
	if env == nil {
		return nil, fmt.Errorf("step %s acts on environment %q, which is not configured", s.ID, s.Env)
	}
	p, pend, err := r.promptFor(s, env)
	if err != nil {
		return nil, err
	}
	if p == nil {
		r.startLocked(s, by, nil, "", "")
		return nil, nil
	}
	p.By = by
	p.NeedsApproval = r.needsApproval(s)
	return r.openPromptLocked(p, pend), nil
}

// openPromptLocked makes p the open confirmation, with what to run once
// it is answered.
func (r *Runner) openPromptLocked(p *Prompt, pend *pendingRun) *Prompt {
	r.nextID++
	p.ID = r.nextID
	r.prompt = p
	r.pending[p.ID] = pend
	r.publishLocked()
	return p
}

func (r *Runner) canStartLocked(s *Step) error {
	if err := r.idleLocked(); err != nil {
		return err
	}
	if why := r.notReady(s); why != "" {
		return errors.New(why)
	}
	if held := r.heldByLocked(s); len(held) > 0 {
		return &ErrHeld{Step: s.ID, HeldBy: held}
	}
	return nil
}

// promptFor builds the confirmation a step needs, or nil.
func (r *Runner) promptFor(s *Step, env *connect.Env) (*Prompt, *pendingRun, error) {
	pend := &pendingRun{step: s, values: map[string]string{}}
	p := &Prompt{Step: s.ID, Kind: s.Kind, Warning: s.Warning, DryRun: r.o.DryRun}
	where := fmt.Sprintf("%s (%s)", env.App, env.Config.Name)
	switch s.Kind {
	case KindSetFlag, KindSetSecrets, KindApply:
		p.Title = fmt.Sprintf("%s on %s", s, where)
		p.Proceed = "Apply"
		if s.Kind != KindApply {
			p.Proceed = "Set"
			for _, name := range s.Secrets {
				f := Field{Key: name, Label: name, Masked: true, Required: true}
				if v := r.o.Stack.Getenv(env.CredentialEnv(name)); v != "" {
					f.FromEnv = env.CredentialEnv(name)
					pend.values[name] = v
				}
				p.Fields = append(p.Fields, f)
			}
		}
		p.Lines = r.describe(s, env, pend.values)
		if env.Config.Production {
			p.TypeToConfirm = env.App
		}
	case KindCommand:
		p.Title = fmt.Sprintf("%s: run a local command", s)
		p.Proceed = "Run"
		dir := s.Dir
		if dir == "" {
			dir = "."
		}
		p.Lines = []string{"cd " + dir, s.Command, fmt.Sprintf("(stopped after %s)", s.Timeout)}
	case KindManual:
		p.Title = fmt.Sprintf("%s: confirm", s)
		p.Proceed = "Confirm"
		p.Lines = []string{Expand(s.Confirm, env.App)}
		label := s.Note
		if label == "" {
			label = "Note (optional)"
		}
		p.Fields = append(p.Fields, Field{Key: "note", Label: label, Required: s.Note != ""})
	default:
		if len(s.Inputs) == 0 {
			return nil, nil, nil
		}
		p.Title = fmt.Sprintf("%s: values", s)
		p.Proceed = "Run"
	}
	for _, in := range s.Inputs {
		f := Field{Key: in.Name, Label: in.Label, Default: in.Default, Required: true}
		if in.Env != "" {
			if v := r.o.Stack.Getenv(in.Env); v != "" {
				f.FromEnv = in.Env
				pend.values[in.Name] = v
			}
		}
		p.Fields = append(p.Fields, f)
	}
	pend.fields = p.Fields
	return p, pend, nil
}

// writes are the platform writes a step makes, in order.
func (r *Runner) writes(s *Step, env *connect.Env, values map[string]string) []integrations.Op {
	var ops []integrations.Op
	if s.Kind == KindSetFlag || s.Kind == KindSetSecrets {
		all := maps.Clone(s.Values)
		if all == nil {
			all = map[string]string{}
		}
		plain := map[string]bool{}
		for k := range s.Values {
			plain[k] = true
		}
		for _, name := range s.Secrets {
			all[name] = values[name]
		}
		ops = append(ops, integrations.Op{Kind: integrations.OpSet, App: env.App, Values: all, Stage: true, Plain: plain})
	}
	if s.Kind == KindApply || s.Apply {
		ops = append(ops, r.applyOp(env.App, s))
	}
	return ops
}

// applyOp applies what is staged on app. A deploy is the only way: the
// guide's "fly apps restart" stays what its steps show, a restart would
// never apply staged secrets.
func (r *Runner) applyOp(app string, _ *Step) integrations.Op {
	return integrations.Op{Kind: integrations.OpApply, App: app, Mode: integrations.ApplyDeploy}
}

// describe renders a step's writes as the platform's commands.
func (r *Runner) describe(s *Step, env *connect.Env, values map[string]string) []string {
	var lines []string
	for _, op := range r.writes(s, env, values) {
		lines = append(lines, r.o.Stack.Platform.Describe(op)...)
	}
	return lines
}

// Answer answers the open prompt. Wrong confirmation text, or a missing
// required value, changes nothing and says why.
func (r *Runner) Answer(id uint64, a Answer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.prompt
	if p == nil || p.ID != id {
		return errors.New("that confirmation is no longer open")
	}
	if err := r.mayActLocked(a.By); err != nil {
		return err
	}
	if p.Awaiting {
		return fmt.Errorf("waiting for a second operator's approval")
	}
	if p.TypeToConfirm != "" && strings.TrimSpace(a.Typed) != p.TypeToConfirm {
		return fmt.Errorf("type %s to confirm", p.TypeToConfirm)
	}
	pend := r.pending[id]
	if pend.rollback != nil {
		r.prompt = nil
		delete(r.pending, id)
		_ = r.o.Journal.Append(r.record(nil, pend.rollback.env, ActConfirm, Record{Operator: a.By, Step: "rollback", Commands: p.Lines, Result: "confirmed"}))
		r.closed(id, "confirmed")
		r.startRollbackLocked(pend.rollback, a.By, false)
		return nil
	}
	if rb := r.activeRollbackLocked(); rb != nil {
		return fmt.Errorf("a rollback on %s is under way: wait for it to end", rb.App)
	}
	values := maps.Clone(pend.values)
	if values == nil {
		values = map[string]string{}
	}
	for _, f := range pend.fields {
		v, given := a.Values[f.Key]
		v = strings.TrimSpace(v)
		if given && v != "" {
			values[f.Key] = v
		}
		if values[f.Key] == "" && f.Default != "" {
			values[f.Key] = f.Default
		}
		if f.Required && values[f.Key] == "" {
			return fmt.Errorf("%s is required", f.Label)
		}
		if f.Masked {
			r.o.Stack.Masker.Add(values[f.Key])
		}
	}
	s, env, name := pend.target(r)
	approver := ""
	if p.NeedsApproval {
		if r.shared {
			// The two-person rule: the driver proposes, another approves.
			pend.answered = values
			p.Awaiting = true
			_ = r.o.Journal.Append(r.record(s, env, ActConfirm, Record{Operator: a.By, Step: name, Commands: p.Lines, Result: "proposed", Note: "waiting for a second operator's approval"}))
			r.publishLocked()
			return nil
		}
		approver = "waived: local console, no second operator (two_person is on for " + env.Config.Name + ")"
	}
	r.prompt = nil
	delete(r.pending, id)
	_ = r.o.Journal.Append(r.record(s, env, ActConfirm, Record{Operator: a.By, Step: name, Commands: p.Lines, Result: "confirmed", Approver: approver}))
	r.closed(id, "confirmed")
	r.launchLocked(pend, a.By, values, approver)
	return nil
}

// target is what a pending prompt stands for: a step, or a success
// criterion (s nil), with its environment and its name in the journal.
func (pend *pendingRun) target(r *Runner) (*Step, *connect.Env, string) {
	if cr := pend.criterion; cr != nil {
		return nil, cr.env, cr.c.step()
	}
	return pend.step, r.env(pend.step), pend.step.ID
}

// launchLocked starts what a confirmed (and, where needed, approved)
// prompt stands for.
func (r *Runner) launchLocked(pend *pendingRun, by string, values map[string]string, approver string) {
	if cr := pend.criterion; cr != nil {
		r.wg.Go(func() { r.runCriterion(cr, by, values, approver) })
		return
	}
	r.startLocked(pend.step, by, values, values["note"], approver)
}

// closed records how a prompt ended, for the view that opened it.
func (r *Runner) closed(id uint64, how string) {
	r.lastClosed = ClosedPrompt{ID: id, How: how}
}

// CancelPrompt closes the open prompt; nothing is done. The driver or
// the operator who asked for it may cancel it.
func (r *Runner) CancelPrompt(id uint64, by, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prompt == nil || r.prompt.ID != id || (r.mayActLocked(by) != nil && r.prompt.By != by) {
		return
	}
	r.cancelPromptLocked(id, by, why)
}

func (r *Runner) cancelPromptLocked(id uint64, by, why string) {
	if r.prompt == nil || r.prompt.ID != id {
		return
	}
	if pend := r.pending[id]; pend.rollback != nil {
		_ = r.o.Journal.Append(r.record(nil, pend.rollback.env, ActCancel, Record{Operator: by, Step: "rollback", Result: "cancelled", Note: why}))
	} else if pend.criterion != nil {
		_ = r.o.Journal.Append(r.record(nil, pend.criterion.env, ActCancel, Record{Operator: by, Step: pend.criterion.c.step(), Result: "cancelled", Note: why}))
	} else {
		s := pend.step
		_ = r.o.Journal.Append(r.record(s, r.env(s), ActCancel, Record{Operator: by, Result: "cancelled", Note: why}))
	}
	r.prompt = nil
	delete(r.pending, id)
	r.closed(id, "cancelled by "+by+": "+why)
	r.publishLocked()
}

// Skip marks a step skipped; a reason is required. A blocked
// precondition cannot be skipped: the guide says do not proceed.
func (r *Runner) Skip(id, by, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.o.Runbook.Step(id)
	st := r.steps[id]
	switch {
	case s == nil:
		return fmt.Errorf("no step %q", id)
	case r.mayActLocked(by) != nil:
		return r.mayActLocked(by)
	case strings.TrimSpace(reason) == "":
		return errors.New("a reason is required to skip a step")
	case r.running == id:
		return fmt.Errorf("step %s is running", id)
	case s.Kind == KindPrecondition && st.State == Blocked:
		return fmt.Errorf("step %s blocks: the guide says do not proceed; fix the cause and run it again", id)
	}
	rec := r.record(s, r.env(s), ActStepSkip, Record{Operator: by, Result: "skipped", Note: reason})
	if err := r.o.Journal.Append(rec); err != nil {
		return err
	}
	st.State, st.Ended, st.Operator, st.Note, st.Result = Skipped, rec.Time, by, reason, "skipped: "+reason
	r.publishLocked()
	return nil
}

// Stop cancels the running step.
func (r *Runner) Stop() {
	r.mu.Lock()
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Unlock()
}

// Wait waits for the running step to end.
func (r *Runner) Wait() { r.wg.Wait() }

func (r *Runner) record(s *Step, env *connect.Env, action string, rec Record) Record {
	rec.Time = r.o.Now().UTC()
	if rec.Operator == "" {
		rec.Operator = r.o.Operator
	}
	rec.Runbook = r.o.Runbook.Hash
	rec.Action = action
	rec.DryRun = r.o.DryRun
	if s != nil {
		rec.Step = s.ID
	}
	if env != nil {
		rec.Env, rec.App = env.Config.Name, env.App
	}
	return rec
}

// startLocked runs a step in the background.
func (r *Runner) startLocked(s *Step, by string, values map[string]string, note, approver string) {
	env := r.env(s)
	st := r.steps[s.ID]
	now := r.o.Now()
	if strings.HasPrefix(st.Result, "interrupted: ") {
		r.resume = "" // the operator is dealing with what was in flight
	}
	*st = StepStatus{Step: s, App: env.App, EnvName: env.Config.Name, State: Running, Started: now, Operator: by, Note: note, DryRun: r.o.DryRun, Approver: approver}
	ctx, cancel := context.WithCancel(context.Background())
	r.running, r.cancel = s.ID, cancel
	done := make(chan struct{})
	r.stepDone = done
	_ = r.o.Journal.Append(r.record(s, env, ActStepStart, Record{Operator: by, Approver: approver}))
	r.publishLocked()
	x := &execution{r: r, s: s, env: env, by: by, approver: approver, values: values, vars: map[string]string{}}
	r.wg.Go(func() {
		defer cancel()
		outcome := x.run(ctx)
		r.finish(s, env, by, approver, outcome)
		close(done)
	})
}

// outcome is how a step ended.
type outcome struct {
	state     StepState
	result    string
	diagnosis []string
}

// finish journals the outcome, then (and only then) shows it.
func (r *Runner) finish(s *Step, env *connect.Env, by, approver string, o outcome) {
	act := map[StepState]string{Passed: ActStepPass, Failed: ActStepFail, Blocked: ActStepBlock}[o.state]
	rec := r.record(s, env, act, Record{Operator: by, Result: o.result, Approver: approver})
	jerr := r.o.Journal.Append(rec)
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.steps[s.ID]
	st.State, st.Result, st.Ended, st.Diagnosis, st.Deadline = o.state, o.result, rec.Time, o.diagnosis, time.Time{}
	if o.state != Passed {
		st.Diagnosis = append(st.Diagnosis, r.ifNot(st)...)
	}
	if jerr != nil {
		st.State = Failed
		st.Result = "could not journal the result: " + jerr.Error()
	}
	r.running, r.cancel = "", nil
	r.publishLocked()
	r.o.Stack.Refresh()
}

// ifNot is the guide's "if not" for a step, with the integration's live
// diagnosis.
func (r *Runner) ifNot(st *StepStatus) []string {
	var out []string
	for _, t := range st.Step.IfNot {
		out = append(out, Expand(t, st.App))
	}
	return out
}

// output adds a line to a running step's output (bounded).
func (r *Runner) output(id, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.steps[id]
	st.Output = append(st.Output, r.o.Stack.Masker.Mask(line))
	if over := len(st.Output) - 200; over > 0 {
		st.Output = st.Output[over:]
	}
	r.publishLocked()
}

func (r *Runner) setDeadline(id string, d time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps[id].Deadline = d
	r.publishLocked()
}

// Close waits for a running step after cancelling it, and for the
// watchers of Watch (whose context the caller ends first).
func (r *Runner) Close() {
	r.Stop()
	r.wg.Wait()
	r.watchers.Wait()
}

// Next returns the first step that can run now, or "".
func (s *State) Next() string {
	for _, st := range s.Steps {
		if !st.State.Done() && st.State != Running && len(st.HeldBy) == 0 {
			return st.Step.ID
		}
	}
	return ""
}

// sortedKeys lists a map's keys in order.
// Plan says what a step would run, for views: the platform's commands for
// a write (values masked), the command line for a local command.
func (r *Runner) Plan(id string) []string {
	s := r.o.Runbook.Step(id)
	if s == nil {
		return nil
	}
	env := r.env(s)
	switch {
	case s.Kind == KindCommand:
		dir := s.Dir
		if dir == "" {
			dir = "."
		}
		return []string{"cd " + dir + " && " + s.Command}
	case s.Kind.Writes() && env != nil:
		values := map[string]string{}
		for _, name := range s.Secrets {
			values[name] = integrations.Mask
		}
		return r.describe(s, env, values)
	}
	return nil
}

// Records returns the journal's records, for views that read its history.
func (r *Runner) Records() []Record { return r.o.Journal.Records() }
