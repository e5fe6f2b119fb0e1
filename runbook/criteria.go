package runbook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/connect"
)

// KindCriterion marks a success criterion's prompt.
const KindCriterion Kind = "criterion"

type criterionReq struct {
	c         Criterion
	env       *connect.Env
	requested time.Time
}

// RunCriterion asks to run one of the success criteria the console can
// run: the fallback test (break the integration for a moment, see it fall
// back to mock, put it back, see it live) and the rollback test (flag
// false, apply, verify mock; then back on and verified live). Both need the
// integration activated first, and both are confirmed like any write.
func (r *Runner) RunCriterion(id string, by *Seat) (*Prompt, error) {
	var c *Criterion
	for i := range r.o.Runbook.Success {
		if r.o.Runbook.Success[i].ID == id {
			c = &r.o.Runbook.Success[i]
		}
	}
	if c == nil {
		return nil, fmt.Errorf("no success criterion %q", id)
	}
	if c.Check != "fallback_test" && c.Check != "rollback_test" {
		return nil, fmt.Errorf("%q is confirmed from the steps and checks, not run", c.Text)
	}
	env := r.o.Stack.Env(r.o.Stack.Config.DefaultEnv)
	d := r.o.Runbook.Integration(c.Integration)
	if st := env.Watcher.Latest().Integration(d.ID); st == nil || st.Flag.State != integrations.FlagTrue || st.Source != integrations.SourceLive {
		return nil, fmt.Errorf("activate %s on %s first: the test breaks a live integration and puts it back", d.Name, env.App)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.seats.mayAct(by); err != nil {
		return nil, err
	}
	if err := r.idleLocked(); err != nil {
		return nil, err
	}
	p := &Prompt{Kind: KindCriterion, Proceed: "Run the test", DryRun: r.o.DryRun, Step: c.step()}
	p.Title = fmt.Sprintf("Success criterion on %s (%s): %s", env.App, env.Config.Name, c.Text)
	flag := d.Flag
	switch c.Check {
	case "rollback_test":
		p.Lines = append(p.Lines, r.o.Stack.Platform.Describe(integrations.Op{Kind: integrations.OpSet, App: env.App, Values: map[string]string{flag: "false"}, Stage: true, Plain: map[string]bool{flag: true}})...)
		p.Lines = append(p.Lines, r.o.Stack.Platform.Describe(r.applyOp(env.App, nil))...)
		p.Lines = append(p.Lines, "check: "+r.fallbackText(d.ID))
		p.Lines = append(p.Lines, r.o.Stack.Platform.Describe(integrations.Op{Kind: integrations.OpSet, App: env.App, Values: map[string]string{flag: "true"}, Stage: true, Plain: map[string]bool{flag: true}})...)
		p.Lines = append(p.Lines, r.o.Stack.Platform.Describe(r.applyOp(env.App, nil))...)
		p.Lines = append(p.Lines, "check: "+d.Name+" live again")
	case "fallback_test":
		if r.o.Stack.Faults != nil && c.Fault != "" {
			p.Lines = append(p.Lines, fmt.Sprintf("simulator: switch on the fault %q", c.Fault), "check: "+d.Name+" falls back to mock while "+flag+" stays true",
				fmt.Sprintf("simulator: switch the fault %q off", c.Fault), "check: "+d.Name+" live again")
			break
		}
		if c.Break == "" {
			return nil, fmt.Errorf("%q breaks nothing on a real platform: give the criterion a credential to break", c.Text)
		}
		set := func(what string) []string {
			return r.o.Stack.Platform.Describe(integrations.Op{Kind: integrations.OpSet, App: env.App, Values: map[string]string{c.Break: what}, Stage: true})
		}
		apply := r.o.Stack.Platform.Describe(r.applyOp(env.App, nil))
		p.Lines = append(p.Lines, set("invalid")[0]+"   (an invalid value)")
		p.Lines = append(p.Lines, apply...)
		p.Lines = append(p.Lines, "check: "+d.Name+" falls back to mock while "+flag+" stays true")
		p.Lines = append(p.Lines, set("real")[0]+"   (the real value, from the field below)")
		p.Lines = append(p.Lines, apply...)
		p.Lines = append(p.Lines, "check: "+d.Name+" live again")
		f := Field{Key: c.Break, Label: c.Break + " (its real value, put back after the test)", Masked: true, Required: true}
		if v := r.o.Stack.Getenv(env.CredentialEnv(c.Break)); v != "" {
			f.FromEnv = env.CredentialEnv(c.Break)
		}
		p.Fields = append(p.Fields, f)
	}
	if env.Config.Production {
		p.TypeToConfirm = env.App
	}
	p.NeedsApproval = env.Config.RequiresTwoPerson()
	pend := &pendingRun{criterion: &criterionReq{c: *c, env: env, requested: r.o.Now()}, fields: p.Fields, values: map[string]string{}}
	for _, f := range p.Fields {
		if f.FromEnv != "" {
			pend.values[f.Key] = r.o.Stack.Getenv(f.FromEnv)
		}
	}
	return r.openPromptLocked(p, pend, by), nil
}

// runCriterion runs a confirmed criterion and journals its result.
func (r *Runner) runCriterion(req *criterionReq, by string, values map[string]string, approver string) {
	ctx := context.Background()
	c, env := req.c, req.env
	d := r.o.Runbook.Integration(c.Integration)
	st := &RollbackStatus{Env: env.Config.Name, App: env.App, IDs: []string{d.ID}, By: by, Phase: "setting", Requested: req.requested, Confirmed: r.o.Now(), Verified: map[string]string{}}
	r.mu.Lock()
	r.rollbacks.add(st)
	r.criterion = c.ID
	r.publishLocked()
	r.mu.Unlock()
	note, err := r.criterionSteps(ctx, c, env, d, st, values)
	rec := r.record(nil, env, "criterion."+c.Check, Record{Operator: by, Step: c.step(), Approver: approver})
	if err != nil {
		rec.Result, rec.Error = "failed", err.Error()
	} else {
		rec.Result, rec.Note = "ok", note
	}
	_ = r.o.Journal.Append(rec)
	var state string
	if err != nil {
		state = r.rollbackState(ctx, env, []string{d.ID})
	}
	r.mu.Lock()
	st.Ended = r.o.Now()
	if err != nil {
		st.Phase, st.Result = "failed", "test failed: "+err.Error()
		st.State = state
	} else {
		st.Phase, st.Result = "verified", "test passed: "+note
	}
	r.criterion = ""
	r.publishLocked()
	r.mu.Unlock()
	r.o.Stack.Refresh()
}

// criterionSteps does the test's writes and checks in order.
func (r *Runner) criterionSteps(ctx context.Context, c Criterion, env *connect.Env, d *integrations.Definition, st *RollbackStatus, values map[string]string) (string, error) {
	if r.o.DryRun {
		r.rbSay(st, "", "dry run: the test would break %s, check mock, and put it back", d.Name)
		return "dry run: nothing was written", nil
	}
	x := &execution{r: r, s: &Step{ID: c.step(), Integration: d.ID, Timeout: 90 * time.Second, Interval: 2 * time.Second}, env: env, by: st.By, vars: map[string]string{},
		sink: func(line string) { r.rbSay(st, "", "%s", line) }}
	check := func(want string, c Check) error {
		r.rbSay(st, "verifying", "")
		msg, ok := x.retry(ctx, c, r.o.Now().Add(x.s.Timeout), want)
		if !ok {
			return fmt.Errorf("%s not seen: %s", want, msg)
		}
		r.mu.Lock()
		st.Verified[d.ID] = msg
		r.mu.Unlock()
		return nil
	}
	write := func(vals map[string]string, plain bool) error {
		op := integrations.Op{Kind: integrations.OpSet, App: env.App, Values: vals, Stage: true}
		if plain {
			op.Plain = map[string]bool{}
			for k := range vals {
				op.Plain[k] = true
			}
		}
		x.s.Values = nil
		if plain {
			x.s.Values = vals
		}
		r.rbSay(st, "setting", "")
		if o := x.write1(ctx, op); o != nil {
			return fmt.Errorf("%s", o.result)
		}
		r.rbSay(st, "applying", "")
		apply := r.applyOp(env.App, nil)
		if o, ok := x.apply(ctx, apply, r.o.Stack.Platform.Describe(apply)); !ok {
			return fmt.Errorf("%s", o.result)
		}
		return nil
	}
	fallback := r.o.Runbook.Fallback(d.ID)
	live := Check{Call: "source", Want: []string{"live"}}
	start := r.o.Now()
	switch c.Check {
	case "rollback_test":
		if err := write(map[string]string{d.Flag: "false"}, true); err != nil {
			return "", err
		}
		if err := check("mock", fallback); err != nil {
			return "", err
		}
		mockAt := r.o.Now()
		if err := write(map[string]string{d.Flag: "true"}, true); err != nil {
			return "", err
		}
		if err := check("live", live); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: flag=false → apply → mock verified in %s; back on and live in %s", d.Name,
			mockAt.Sub(start).Round(100*time.Millisecond), r.o.Now().Sub(mockAt).Round(100*time.Millisecond)), nil
	case "fallback_test":
		if fi := r.o.Stack.Faults; fi != nil && c.Fault != "" {
			if err := setFault(fi, c.Fault, true); err != nil {
				return "", err
			}
			r.rbSay(st, "", "fault %q on", c.Fault)
			err := check("mock", fallback)
			if e := setFault(fi, c.Fault, false); e != nil && err == nil {
				err = e
			}
			r.rbSay(st, "", "fault %q off", c.Fault)
			if err != nil {
				return "", err
			}
			if err := check("live", live); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s broken (fault %s): fell back to mock, back live after", d.Name, c.Fault), nil
		}
		bad := make([]byte, 12)
		_, _ = rand.Read(bad)
		if err := write(map[string]string{c.Break: "invalid-" + hex.EncodeToString(bad)}, false); err != nil {
			return "", err
		}
		err := check("mock", fallback)
		if e := write(map[string]string{c.Break: values[c.Break]}, false); e != nil {
			return "", fmt.Errorf("%v; and %s could NOT be put back: %v", err, c.Break, e)
		}
		if err != nil {
			return "", err
		}
		if err := check("live", live); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s broken (%s invalid): fell back to mock, back live after the real value was put back", d.Name, c.Break), nil
	}
	return "", fmt.Errorf("unknown criterion check %q", c.Check)
}

// setFault switches a simulator fault to on.
func setFault(fi integrations.FaultInjector, key string, on bool) error {
	for _, f := range fi.FaultSwitches() {
		if f.Key == key {
			if f.On != on {
				_, err := fi.ToggleFault(key)
				return err
			}
			return nil
		}
	}
	var keys []string
	for _, f := range fi.FaultSwitches() {
		keys = append(keys, f.Key)
	}
	return fmt.Errorf("the simulator has no fault %q (it has %s)", key, strings.Join(keys, ", "))
}

// checkHistories keeps, by journal, what the success criteria read from
// the check history beside it: read again at most every historyEvery, or
// when the journal grows.
var checkHistories = struct {
	sync.Mutex
	m map[string]*criteriaFromHistory
}{m: map[string]*criteriaFromHistory{}}

type criteriaFromHistory struct {
	read    time.Time
	records int
	base    []CriterionStatus // what they were completed from
	out     []CriterionStatus
}

// historyEvery is how stale the check history may be in the criteria.
const historyEvery = 30 * time.Second

// withChecks completes the runner's criteria from the check history beside
// its journal ("Logs: no errors in past 1 hour").
func (r *Runner) withChecks(cs []CriterionStatus) []CriterionStatus {
	if r.o.Journal == nil || !slices.ContainsFunc(cs, func(c CriterionStatus) bool { return c.Criterion.Check == "no_errors_1h" }) {
		return cs
	}
	path := HistoryPath(r.o.Journal.Path(), r.o.Stack != nil && r.o.Stack.Sim != nil)
	now, n := r.o.Now(), r.o.Journal.Len()
	checkHistories.Lock()
	defer checkHistories.Unlock()
	c := checkHistories.m[path]
	if c != nil && c.records == n && now.Sub(c.read) < historyEvery && len(c.base) == len(cs) && (len(cs) == 0 || &c.base[0] == &cs[0]) {
		return c.out
	}
	h, _ := ReadHistory(path) // a history that cannot be read is an empty one: nothing is ticked
	c = &criteriaFromHistory{read: now, records: n, base: cs, out: WithHistory(r.o.Runbook, cs, r.o.Journal.Records(), h.Checks)}
	checkHistories.m[path] = c
	return c.out
}
