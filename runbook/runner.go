package runbook

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/connect"
)

// StepStatus is one step as the runner knows it. It is part of an
// immutable State.
type StepStatus struct {
	Step    *Step
	App     string
	EnvName string
	// Production: the step acts on a production environment.
	Production bool
	State      StepState
	Started    time.Time
	Ended      time.Time
	Operator   string
	Result     string   // one line: what happened
	Output     []string // what it printed and did, newest last
	// Diagnosis is the guide's "if not" and the integration's diagnosis,
	// when the step failed or is blocked.
	Diagnosis []string
	// Holds say what keeps the step from running, gates first; NotReady
	// says why its integration's steps cannot run at all.
	Holds    []Hold
	NotReady string
	// Overrides are the gates gone past on this step.
	Overrides []Override
	// Deadline counts down a verify or observe step.
	Deadline time.Time
	Note     string
	DryRun   bool
	// Approver is the second operator who approved the write, or why the
	// approval was waived.
	Approver string
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
	// Closed says how the last prompt ended ("rejected by bob: ...");
	// Notices are what every seat is told, oldest first.
	Closed  ClosedPrompt
	Notices []Notice
	// Shared is a console served to several operators; Seats says who is
	// connected and who drives.
	Shared      bool
	Seats       []SeatInfo
	Warnings    []string // journal problems that lost nothing
	JournalPath string
	Operator    string
	DryRun      bool
	next        string
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
// journals every action. Views never execute anything themselves. It
// composes the step machine (states, holds, skips, overrides), the seats
// (who drives, who approves), the confirmation desk (prompts, proposals)
// and the rollbacks (with the guide's proposals), under one lock.
type Runner struct {
	o Options

	mu        sync.Mutex
	steps     *stepMachine
	seats     seating
	desk      desk
	rollbacks rollbackBook
	// the step running, and how to stop it
	running  string
	cancel   context.CancelFunc
	stepDone chan struct{} // closed when the running step has ended
	// criterion is the success criterion being run
	criterion string
	resume    string
	warns     []string
	seq       uint64
	state     *State
	subs      map[chan struct{}]struct{}
	wg        sync.WaitGroup // steps, rollbacks, criteria running
	// watchers feed snapshots to Suggest (Watch); they end with its ctx.
	watchers sync.WaitGroup
	// lastApply is when each app was last applied, for the logs check.
	lastApply map[string]time.Time
	crit      []CriterionStatus // from the journal, as of critN records (-1: not yet)
	critN     int
}

// NewRunner builds a runner, taking the journal's history into account.
func NewRunner(o Options) *Runner {
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Runner{o: o, critN: -1, subs: map[chan struct{}]struct{}{}, lastApply: map[string]time.Time{}}
	r.rollbacks.dismissed = map[string]bool{}
	r.steps = newStepMachine(o.Runbook, r.notReady)
	for _, id := range r.steps.order {
		st := r.steps.status(id)
		st.DryRun = o.DryRun
		if env := r.env(st.Step); env != nil {
			st.App, st.EnvName, st.Production = env.App, env.Config.Name, env.Config.Production
		}
	}
	if h := o.History; h != nil {
		for id, rec := range h.Steps {
			if st := r.steps.status(id); st != nil {
				st.State, st.Started, st.Ended, st.Operator, st.Result, st.Note = rec.State, rec.Started, rec.Ended, rec.Operator, rec.Result, rec.Note
				if rec.State == Blocked || rec.State == Failed {
					st.Diagnosis = r.ifNot(st)
				}
			}
		}
		for _, ov := range h.Overrides {
			if r.steps.status(ov.Step) != nil {
				r.steps.override(ov)
			}
		}
		if h.InFlight != nil {
			if st := r.steps.status(h.InFlight.Step); st != nil {
				st.State, st.Started, st.Operator = Failed, h.InFlight.Started, h.InFlight.Operator
				st.Result = "interrupted: " + h.InFlight.Message
			}
		}
		r.resume = h.Summary()
		r.warns = slices.Clone(h.Warnings)
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
	return r.running != "" || r.desk.open != nil || r.rollbacks.active() != nil
}

// publishLocked builds a new immutable state and signals subscribers.
func (r *Runner) publishLocked() {
	r.seq++
	s := &State{
		Seq: r.seq, Running: r.running, Resume: r.resume, Warnings: slices.Clone(r.warns),
		Operator: r.o.Operator, DryRun: r.o.DryRun,
	}
	if r.o.Journal != nil {
		s.JournalPath = r.o.Journal.Path()
	}
	if r.desk.open != nil {
		p := *r.desk.open
		s.Prompt = &p
	}
	s.Closed = r.desk.closed
	s.Notices = slices.Clone(r.desk.notices)
	s.Rollbacks = r.rollbacks.snapshot()
	s.Suggestions = slices.Clone(r.rollbacks.suggestions)
	if n := r.o.Journal.Len(); n != r.critN {
		r.crit, r.critN = Criteria(r.o.Runbook, r.o.Journal.Records()), n
	}
	s.Criteria = r.withChecks(r.crit)
	s.Criterion = r.criterion
	s.Shared = r.seats.shared
	s.Seats = r.seats.presence()
	for _, id := range r.steps.order {
		st := *r.steps.status(id)
		st.Output = slices.Clone(st.Output)
		st.Holds = r.steps.holds(st.Step)
		st.NotReady = r.notReady(st.Step)
		st.Overrides = slices.Clone(r.steps.overrides[id])
		s.Steps = append(s.Steps, st)
	}
	s.next = r.steps.next()
	r.state = s
	for ch := range r.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// notReady says why an integration's steps cannot run, or "".
func (r *Runner) notReady(s *Step) string {
	if d := r.o.Runbook.Integration(s.Integration); d != nil && !d.Ready {
		return fmt.Sprintf("%s is not ready: %s", d.Name, d.NotReady)
	}
	return ""
}

// append journals rec. A record that cannot be written is said on every
// screen (the journal's warnings), never dropped in silence.
func (r *Runner) append(rec Record) bool {
	if err := r.o.Journal.Append(rec); err != nil {
		r.warns = append(r.warns, fmt.Sprintf("could not record %s %s: %v", rec.Action, rec.Step, err))
		return false
	}
	return true
}

// Run asks to run a step from seat by: the confirmation is returned, and
// the step starts only once it is answered. Nothing starts on one key.
func (r *Runner) Run(id string, by *Seat) (*Prompt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, env, err := r.actionLocked(id, by)
	if err != nil {
		return nil, err
	}
	if err := r.steps.canStart(s); err != nil {
		return nil, err
	}
	p, pend, err := r.promptFor(s, env)
	if err != nil {
		return nil, err
	}
	if s.Kind.Writes() {
		p.NeedsApproval = r.twoPerson(s, env)
	}
	return r.openPromptLocked(p, pend, by), nil
}

// actionLocked is the step id and its environment, when seat by may ask
// for something on it now; else why not.
func (r *Runner) actionLocked(id string, by *Seat) (*Step, *connect.Env, error) {
	s := r.o.Runbook.Step(id)
	if s == nil {
		return nil, nil, fmt.Errorf("no step %q", id)
	}
	if err := r.seats.mayAct(by); err != nil {
		return nil, nil, err
	}
	if err := r.idleLocked(); err != nil {
		return nil, nil, err
	}
	env := r.env(s)
	if env == nil {
		return nil, nil, fmt.Errorf("step %s acts on environment %q, which is not configured", s.ID, s.Env)
	}
	return s, env, nil
}

// idleLocked says why nothing new can start now, or nil.
func (r *Runner) idleLocked() error {
	switch {
	case r.running != "":
		return fmt.Errorf("step %s is running: wait for it, or stop it", r.running)
	case r.desk.open != nil:
		return fmt.Errorf("a confirmation is open: %s", r.desk.open.Title)
	case r.rollbacks.active() != nil:
		return fmt.Errorf("a rollback is under way")
	}
	return nil
}

// promptFor builds the confirmation a step needs.
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
		p.Title = fmt.Sprintf("%s on %s: run the checks", s, where)
		p.Proceed = "Run"
		p.Lines = r.checkLines(s, env)
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

// checkLines say what a verify, precondition or observe step asks, for
// its confirmation: it reads, and writes nothing but the journal.
func (r *Runner) checkLines(s *Step, env *connect.Env) []string {
	d := r.o.Runbook.Integration(s.Integration)
	var lines []string
	if s.Kind == KindObserve {
		name := s.Integration
		if d != nil {
			name = d.Name
		}
		return []string{fmt.Sprintf("watch %s on %s for %s against the guide's limits", name, env.App, s.Window), "reads only: nothing is written to the app"}
	}
	for _, c := range s.Checks {
		lines = append(lines, r.checkText(c, d, env))
	}
	if s.Timeout > 0 {
		lines = append(lines, fmt.Sprintf("retried until it passes, for up to %s; reads only: nothing is written to the app", s.Timeout))
	}
	return lines
}

// checkText is one check in a line.
func (r *Runner) checkText(c Check, d *integrations.Definition, env *connect.Env) string {
	want := strings.Join(c.Want, " or ")
	switch c.Call {
	case "source":
		if d != nil && d.Source.Kind == "http" {
			return fmt.Sprintf("%s https://%s.fly.dev%s → %s is %s", d.Source.Method, env.App, d.Source.Path, d.Source.Field, strings.Join(d.Source.Live, " or "))
		}
		return "the app's source is " + want
	case "post":
		return fmt.Sprintf("POST https://%s.fly.dev/api/social/post {\"text\": %q} → jobId is %s", env.App, c.Text, want)
	case "job_status":
		return fmt.Sprintf("GET https://%s.fly.dev/api/social/status/<job> → status %s", env.App, want)
	case "logs":
		return fmt.Sprintf("fly logs -a %s: a line %q", env.App, c.Text)
	case "env":
		return fmt.Sprintf("fly ssh console -a %s -C 'printenv %s' → %s", env.App, c.Name, wantWords(c.Want))
	case "secrets":
		return fmt.Sprintf("fly secrets list -a %s → %s listed", env.App, strings.Join(c.Names, ", "))
	case "migration":
		return fmt.Sprintf("the %s migration in supabase_migrations.schema_migrations and the table itself", c.Table)
	case "chatwoot":
		return "Chatwoot: GET /api health, authentication, GET conversations"
	}
	return c.Call
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

// Skip marks a step skipped from seat by; a reason is required. A skip is
// never a pass: the steps that wait for it stay held. A blocked
// precondition, and every step it holds, cannot be skipped.
func (r *Runner) Skip(id string, by *Seat, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.o.Runbook.Step(id)
	if s == nil {
		return fmt.Errorf("no step %q", id)
	}
	if err := r.seats.mayAct(by); err != nil {
		return err
	}
	if r.desk.open != nil {
		return fmt.Errorf("a confirmation is open: %s", r.desk.open.Title)
	}
	if err := r.steps.canSkip(s, reason); err != nil {
		return err
	}
	rec := r.record(s, r.env(s), ActStepSkip, Record{Operator: by.name(r), Result: "skipped", Note: reason})
	if err := r.o.Journal.Append(rec); err != nil {
		return err
	}
	st := r.steps.status(id)
	st.State, st.Ended, st.Operator, st.Note, st.Result = Skipped, rec.Time, by.name(r), reason, "skipped: "+reason
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
	st := r.steps.status(s.ID)
	now := r.o.Now()
	if strings.HasPrefix(st.Result, "interrupted: ") {
		r.resume = "" // the operator is dealing with what was in flight
	}
	*st = StepStatus{Step: s, App: env.App, EnvName: env.Config.Name, Production: env.Config.Production, State: Running, Started: now, Operator: by, Note: note, DryRun: r.o.DryRun, Approver: approver}
	ctx, cancel := context.WithCancel(context.Background())
	r.running, r.cancel = s.ID, cancel
	done := make(chan struct{})
	r.stepDone = done
	r.append(r.record(s, env, ActStepStart, Record{Operator: by, Approver: approver}))
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
	st := r.steps.status(s.ID)
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
	st := r.steps.status(id)
	st.Output = append(st.Output, r.o.Stack.Masker.Mask(line))
	if over := len(st.Output) - 200; over > 0 {
		st.Output = st.Output[over:]
	}
	r.publishLocked()
}

func (r *Runner) setDeadline(id string, d time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps.status(id).Deadline = d
	r.publishLocked()
}

// noteApply records that app was just applied, for the logs check.
func (r *Runner) noteApply(app string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastApply[app] = r.o.Now()
}

// Close waits for a running step after cancelling it, and for the
// watchers of Watch (whose context the caller ends first).
func (r *Runner) Close() {
	r.Stop()
	r.wg.Wait()
	r.watchers.Wait()
}

// Next returns the first step that can run now, or "": it moves past the
// steps that passed or were skipped, and the ones that cannot run.
func (s *State) Next() string { return s.next }

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
