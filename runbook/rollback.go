package runbook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/connect"
)

// Rollback journal actions.
const (
	ActRollbackIntent  = "rollback.intent"
	ActRollbackDone    = "rollback.done"
	ActRollbackFail    = "rollback.fail"
	ActRollbackDismiss = "rollback.dismiss"
	ActDecision        = "decision"
)

// KindRollback marks a rollback's prompt.
const KindRollback Kind = "rollback"

// RollbackStatus is a rollback as it happens: each phase, the machines,
// what the verification saw, and how long it took from the key press.
type RollbackStatus struct {
	ID        uint64
	Env       string
	App       string
	IDs       []string // integrations rolled back
	Emergency bool
	Auto      bool
	Why       string // what asked for it: the key, the breach, auto_rollback
	By        string
	Phase     string // "confirming", "setting", "applying", "verifying", "verified", "failed"
	Requested time.Time
	Confirmed time.Time
	Ended     time.Time
	Lines     []string
	// Verified says, by integration, what the fallback check saw.
	Verified map[string]string
	Result   string
	// State is the flags and machines as they were when it ended: after a
	// failure, the exact half-done state.
	State string
}

// Running reports whether the rollback is under way.
func (r *RollbackStatus) Running() bool {
	return r.Phase != "verified" && r.Phase != "failed" && r.Phase != "cancelled"
}

// Took is the time from the key press to the end (or to now).
func (r *RollbackStatus) Took(now time.Time) time.Duration {
	end := r.Ended
	if end.IsZero() {
		end = now
	}
	return end.Sub(r.Requested)
}

// Suggestion is a rollback the guide's clock proposes: a threshold has
// stayed breached past the decision tree's "persist > 15 min".
type Suggestion struct {
	Env         string
	App         string
	Integration string
	Reason      string
	Since       time.Time
}

func (s Suggestion) key() string {
	return s.Env + "/" + s.Integration + "@" + s.Since.Format(time.RFC3339Nano)
}

// RollbackRequest asks for a rollback of integrations on an environment.
type RollbackRequest struct {
	Env       string
	IDs       []string // ignored for an emergency: every activated one
	Emergency bool
	By        *Seat // the seat asking; nil for an automatic rollback
	// Auto starts it at once, without a confirmation (auto_rollback).
	Auto bool
	// Why says what asked for it, for the journal and the report: "key r",
	// "emergency rollback (R)", the breach of a proposal.
	Why string
}

type rollbackReq struct {
	env       *connect.Env
	ids       []string
	emergency bool
	auto      bool
	why       string
	requested time.Time
}

// rollbackBook holds the recent rollbacks and the ones the guide's clock
// proposes. The Runner calls it under its lock.
type rollbackBook struct {
	list        []*RollbackStatus
	seq         uint64
	suggestions []Suggestion
	dismissed   map[string]bool
}

// active is the rollback under way, or nil.
func (rs *rollbackBook) active() *RollbackStatus {
	for _, rb := range rs.list {
		if rb.Running() {
			return rb
		}
	}
	return nil
}

// add keeps a new rollback (the last 20).
func (rs *rollbackBook) add(st *RollbackStatus) {
	rs.seq++
	st.ID = rs.seq
	rs.list = append(rs.list, st)
	if len(rs.list) > 20 {
		rs.list = rs.list[1:]
	}
}

// snapshot copies the rollbacks for a State.
func (rs *rollbackBook) snapshot() []RollbackStatus {
	out := make([]RollbackStatus, 0, len(rs.list))
	for _, rb := range rs.list {
		c := *rb
		c.Lines = slices.Clone(rb.Lines)
		c.Verified = maps.Clone(rb.Verified)
		out = append(out, c)
	}
	return out
}

// Activated lists the integrations whose flag is on (or in flux) in env,
// the ones an emergency rollback turns off.
func (r *Runner) Activated(envName string) []string {
	env := r.o.Stack.Env(envName)
	if env == nil {
		return nil
	}
	snap := env.Watcher.Latest()
	var ids []string
	for _, st := range snap.Integrations {
		switch st.Flag.State {
		case integrations.FlagTrue, integrations.FlagStaged, integrations.FlagUnknown, integrations.FlagUnreadable:
			// In an emergency, a flag that cannot be read counts as on.
			ids = append(ids, st.Def.ID)
		}
	}
	return ids
}

// ErrNoFlag is why an integration without a flag (Chatwoot) cannot be
// rolled back: its troubleshooting says what to do instead.
var ErrNoFlag = errors.New("has no flag: it cannot fall back to mock; its troubleshooting says what to do instead")

// Rollback asks to roll integrations back on an environment: flags false,
// one apply, then each fallback verified. Emergency rolls back every
// activated integration at once. The confirmation is returned; an
// automatic rollback starts at once.
func (r *Runner) Rollback(q RollbackRequest) (*Prompt, error) {
	now := r.o.Now()
	env := r.o.Stack.Env(q.Env)
	if env == nil {
		return nil, fmt.Errorf("no environment %q", q.Env)
	}
	ids := q.IDs
	if q.Emergency {
		ids = r.Activated(q.Env)
		if len(ids) == 0 {
			return nil, fmt.Errorf("nothing to roll back on %s: every flag is already off", env.App)
		}
	}
	snap := env.Watcher.Latest()
	for _, id := range ids {
		d := r.o.Runbook.Integration(id)
		switch {
		case d == nil:
			return nil, fmt.Errorf("no integration %q", id)
		case d.Flag == "":
			return nil, fmt.Errorf("%s %w", d.Name, ErrNoFlag)
		}
		if st := snap.Integration(id); !q.Emergency && st != nil && !q.Auto &&
			(st.Flag.State == integrations.FlagUnset || st.Flag.State == integrations.FlagFalse) && st.Source != integrations.SourceLive {
			return nil, fmt.Errorf("%s is not activated on %s (%s is %s, the app reports %s): nothing to roll back", d.Name, env.App, d.Flag, st.Flag.State, st.Source)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !q.Auto {
		if err := r.seats.mayAct(q.By); err != nil {
			return nil, err
		}
	}
	if rb := r.rollbacks.active(); rb != nil {
		return nil, fmt.Errorf("a rollback on %s is under way", rb.App)
	}
	if r.desk.open != nil {
		// A rollback comes before anything that is being confirmed.
		r.withdrawLocked(r.desk.pend.seat, "superseded by a rollback")
	}
	why := q.Why
	if why == "" {
		why = "key r"
		if q.Emergency {
			why = "emergency rollback (R)"
		}
	}
	req := &rollbackReq{env: env, ids: ids, emergency: q.Emergency, auto: q.Auto, why: why, requested: now}
	if q.Auto {
		r.startRollbackLocked(req, q.By.name(r))
		return nil, nil
	}
	names := r.names(ids)
	what := "Roll back " + strings.Join(names, ", ")
	if q.Emergency {
		what = "EMERGENCY ROLLBACK of " + strings.Join(names, ", ")
	}
	p := &Prompt{Kind: KindRollback, Title: fmt.Sprintf("%s on %s (%s)", what, env.App, env.Config.Name), Proceed: "Roll back", DryRun: r.o.DryRun}
	for _, op := range r.rollbackOps(req) {
		p.Lines = append(p.Lines, r.o.Stack.Platform.Describe(op)...)
	}
	for _, id := range ids {
		p.Lines = append(p.Lines, "then check: "+r.fallbackText(id))
	}
	if env.Config.Production {
		p.TypeToConfirm = env.App
	}
	return r.openPromptLocked(p, &pendingRun{rollback: req}, q.By), nil
}

func (r *Runner) names(ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, r.o.Runbook.Integration(id).Name)
	}
	return out
}

// fallbackText says how a rollback of id is verified.
func (r *Runner) fallbackText(id string) string {
	d := r.o.Runbook.Integration(id)
	c := r.o.Runbook.Fallback(id)
	switch c.Call {
	case "post":
		return fmt.Sprintf("POST /api/social/post {\"text\":%q} → jobId starts with %s", c.Text, strings.TrimSuffix(strings.Join(c.Want, " or "), "*"))
	}
	if d.Source.Kind == "http" {
		return fmt.Sprintf("%s %s → %s == %s", d.Source.Method, d.Source.Path, d.Source.Field, strings.Join(d.Source.Mock, " or "))
	}
	return d.Name + " reports mock"
}

// rollbackOps are the writes of a rollback: every flag false in one
// staged write, then one apply.
func (r *Runner) rollbackOps(req *rollbackReq) []integrations.Op {
	values, plain := map[string]string{}, map[string]bool{}
	for _, id := range req.ids {
		flag := r.o.Runbook.Integration(id).Flag
		values[flag], plain[flag] = "false", true
	}
	return []integrations.Op{
		{Kind: integrations.OpSet, App: req.env.App, Values: values, Stage: true, Plain: plain},
		r.applyOp(req.env.App, nil),
	}
}

// startRollbackLocked runs a rollback in the background. A running step
// is stopped first: the rollback comes before anything else.
func (r *Runner) startRollbackLocked(req *rollbackReq, by string) {
	var stepDone <-chan struct{}
	if r.cancel != nil {
		r.cancel()
		stepDone = r.stepDone
	}
	st := &RollbackStatus{
		Env: req.env.Config.Name, App: req.env.App, IDs: req.ids, Emergency: req.emergency, Auto: req.auto, Why: req.why,
		By: by, Phase: "setting", Requested: req.requested, Confirmed: r.o.Now(), Verified: map[string]string{},
	}
	r.rollbacks.add(st)
	r.publishLocked()
	running := r.running
	r.wg.Go(func() {
		if stepDone != nil {
			r.rbSay(st, "", "stopping step %s first", running)
			<-stepDone // its writes end before the rollback's begin
		}
		r.rollback(req, st)
	})
}

// rbSay adds a line to a rollback's progress.
func (r *Runner) rbSay(st *RollbackStatus, phase, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if phase != "" {
		st.Phase = phase
	}
	if format != "" {
		st.Lines = append(st.Lines, r.o.Stack.Masker.Mask(fmt.Sprintf(format, args...)))
	}
	r.publishLocked()
}

func (r *Runner) rollback(req *rollbackReq, st *RollbackStatus) {
	ctx := context.Background()
	env, p := req.env, r.o.Stack.Platform
	rec := func(action string, x Record) Record {
		x.Step = "rollback"
		if x.Operator == "" {
			x.Operator = st.By
		}
		return r.record(nil, env, action, x)
	}
	_ = r.o.Journal.Append(rec(ActRollbackIntent, Record{Note: fmt.Sprintf("rollback of %s; asked by %s", strings.Join(req.ids, ", "), req.why)}))
	finish := func(ok bool, result string) {
		state := r.rollbackState(ctx, env, req.ids)
		act := ActRollbackDone
		if !ok {
			act = ActRollbackFail
		}
		took := r.o.Now().Sub(st.Requested).Round(100 * time.Millisecond)
		_ = r.o.Journal.Append(rec(act, Record{Result: result, After: state, Note: fmt.Sprintf("%s; %s from the key press", strings.Join(req.ids, ", "), took)}))
		// The panes catch up before the result shows beside them.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		env.Watcher.Recheck(cctx)
		cancel()
		r.mu.Lock()
		st.Ended, st.Result, st.State = r.o.Now(), result, state
		st.Phase = map[bool]string{true: "verified", false: "failed"}[ok]
		r.publishLocked()
		r.mu.Unlock()
		r.o.Stack.Refresh()
	}
	ops := r.rollbackOps(req)
	if r.o.DryRun {
		for _, op := range ops {
			for _, c := range p.Describe(op) {
				r.rbSay(st, "", "dry run: would run %s", c)
			}
		}
		finish(true, "dry run: nothing was written")
		return
	}
	// The same writes as a step's, journaled the same way; but a journal
	// that cannot be written does not stop a rollback: it is said instead.
	x := &execution{r: r, s: &Step{ID: "rollback", Values: ops[0].Values}, env: env, by: st.By, vars: map[string]string{},
		sink: func(line string) { r.rbSay(st, "", "%s", line) }, bestEffort: true}
	r.rbSay(st, "setting", "")
	if o := x.write1(ctx, ops[0]); o != nil {
		finish(false, o.result+" (retry with r)")
		return
	}
	r.rbSay(st, "applying", "")
	if o, ok := x.apply(ctx, ops[1], p.Describe(ops[1])); !ok {
		finish(false, o.result+": NOT verified; retry with r")
		return
	}
	r.rbSay(st, "verifying", "")
	var failed []string
	for _, id := range req.ids {
		msg, ok := r.verifyFallback(ctx, env, id, st)
		r.mu.Lock()
		st.Verified[id] = msg
		r.mu.Unlock()
		if !ok {
			failed = append(failed, fmt.Sprintf("%s: %s", r.o.Runbook.Integration(id).Name, msg))
		}
	}
	if len(failed) > 0 {
		finish(false, "fallback NOT verified: "+strings.Join(failed, "; "))
		return
	}
	result := fmt.Sprintf("verified mock in %s", r.o.Now().Sub(st.Requested).Round(100*time.Millisecond))
	if x.journalFailed {
		result += " (the journal could not record every step: see above)"
	}
	finish(true, result)
}

// verifyFallback checks, retrying while machines settle, that id reports
// mock again.
func (r *Runner) verifyFallback(ctx context.Context, env *connect.Env, id string, st *RollbackStatus) (string, bool) {
	c := r.o.Runbook.Fallback(id)
	s := &Step{ID: "rollback", Integration: id, Timeout: 90 * time.Second, Interval: 2 * time.Second}
	x := &execution{r: r, s: s, env: env, by: st.By, vars: map[string]string{},
		sink: func(line string) { r.rbSay(st, "", "%s", line) }}
	return x.retry(ctx, c, r.o.Now().Add(s.Timeout), r.o.Runbook.Integration(id).Name+" check")
}

// rollbackState describes the flags and machines right now, for the
// journal and for a half-done rollback.
func (r *Runner) rollbackState(ctx context.Context, env *connect.Env, ids []string) string {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var parts []string
	secrets, err := r.o.Stack.Platform.Secrets(cctx, env.App)
	for _, id := range ids {
		flag := r.o.Runbook.Integration(id).Flag
		if err != nil {
			parts = append(parts, flag+" unknown ("+err.Error()+")")
			continue
		}
		f := integrations.FlagFrom(env.App, flag, secrets, r.o.Stack.Book)
		desc := f.State.String()
		if f.Detail != "" {
			desc += " (" + f.Detail + ")"
		}
		parts = append(parts, flag+" "+desc)
	}
	ms, err := r.o.Stack.Platform.Machines(cctx, env.App)
	if err != nil {
		parts = append(parts, "machines unknown ("+err.Error()+")")
	} else {
		for _, m := range ms {
			parts = append(parts, fmt.Sprintf("machine %s %s %s", m.ID, m.Region, m.State))
		}
	}
	return strings.Join(parts, "; ")
}

// Suggest records rollbacks the guide's clock proposes, and starts the
// automatic ones. It is given each environment's latest snapshot.
func (r *Runner) Suggest(envName string, snap *integrations.Snapshot) {
	persist := r.o.Runbook.Decision.Persist
	var autos []Suggestion
	r.mu.Lock()
	// Forget suggestions whose breach is over.
	r.rollbacks.suggestions = slices.DeleteFunc(r.rollbacks.suggestions, func(s Suggestion) bool {
		if s.Env != envName {
			return false
		}
		st := snap.Integration(s.Integration)
		return st == nil || !slices.ContainsFunc(st.Breaches, func(b integrations.Breach) bool { return b.Since.Equal(s.Since) })
	})
	for _, st := range snap.Integrations {
		if st.Def.Flag == "" || st.Flag.State != integrations.FlagTrue {
			continue
		}
		for _, b := range st.Breaches {
			if b.For(snap.At) < persist {
				continue
			}
			s := Suggestion{Env: envName, App: snap.App, Integration: st.Def.ID, Since: b.Since,
				Reason: fmt.Sprintf("%s: %s (the guide: roll back if issues persist > %s)", st.Def.Name, b.Text(snap.At), shortDur(persist))}
			if r.rollbacks.dismissed[s.key()] || slices.ContainsFunc(r.rollbacks.suggestions, func(o Suggestion) bool { return o.key() == s.key() }) {
				break
			}
			if st.Def.AutoRollback {
				autos = append(autos, s)
			} else {
				r.rollbacks.suggestions = append(r.rollbacks.suggestions, s)
			}
			break
		}
	}
	r.publishLocked()
	r.mu.Unlock()
	for _, s := range autos {
		// Once per breach; a rollback already under way (another
		// integration's) makes this one wait for the next snapshot.
		if _, err := r.Rollback(RollbackRequest{Env: s.Env, IDs: []string{s.Integration}, Auto: true, Why: "auto_rollback: " + s.Reason}); err == nil {
			r.mu.Lock()
			r.rollbacks.dismissed[s.key()] = true
			r.mu.Unlock()
		}
	}
}

// Dismiss declines a suggested rollback until the breach clears and comes
// back; the journal records it.
func (r *Runner) Dismiss(s Suggestion, by *Seat) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.seats.mayAct(by); err != nil {
		return err
	}
	env := r.o.Stack.Env(s.Env)
	if err := r.o.Journal.Append(r.record(nil, env, ActRollbackDismiss, Record{Operator: by.name(r), Step: "rollback", Note: "not now: " + s.Reason})); err != nil {
		return err
	}
	r.rollbacks.dismissed[s.key()] = true
	r.rollbacks.suggestions = slices.DeleteFunc(r.rollbacks.suggestions, func(o Suggestion) bool { return o.key() == s.key() })
	r.publishLocked()
	return nil
}

// Decide journals a confirmed walk through the decision tree: the answers
// and the action they lead to.
func (r *Runner) Decide(envName string, by *Seat, path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.seats.mayAct(by); err != nil {
		return err
	}
	return r.o.Journal.Append(r.record(nil, r.o.Stack.Env(envName), ActDecision, Record{Operator: by.name(r), Step: "decision", Note: path}))
}

// Watch feeds every environment's snapshots to Suggest until ctx ends.
func (r *Runner) Watch(ctx context.Context) {
	for _, e := range r.o.Stack.Envs {
		sub := e.Watcher.Subscribe()
		r.watchers.Go(func() {
			defer sub.Close()
			for {
				u, ok := sub.Next(ctx)
				if !ok {
					return
				}
				r.Suggest(e.Config.Name, u.Snap)
			}
		})
	}
}

func shortDur(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return d.String()
}
