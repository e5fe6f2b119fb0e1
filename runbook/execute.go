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

// execution is one run of one step.
type execution struct {
	r        *Runner
	s        *Step
	env      *connect.Env
	by       string
	approver string            // the second operator, on production writes
	values   map[string]string // confirmed inputs and secret values
	vars     map[string]string // what earlier checks found (the job id)
	// sink takes what the execution says, when it is not a runbook step's
	// (a rollback, a success criterion).
	sink func(line string)
	// bestEffort goes on when the journal cannot be written (a rollback),
	// saying so; journalFailed tells it happened.
	bestEffort    bool
	journalFailed bool
}

func (x *execution) say(format string, args ...any) {
	if x.sink != nil {
		x.sink(fmt.Sprintf(format, args...))
		return
	}
	x.r.output(x.s.ID, fmt.Sprintf(format, args...))
}

func (x *execution) journal(action string, rec Record) error {
	if rec.Operator == "" {
		rec.Operator = x.by
	}
	if rec.Approver == "" {
		rec.Approver = x.approver
	}
	err := x.r.o.Journal.Append(x.r.record(x.s, x.env, action, rec))
	if err != nil && x.bestEffort {
		x.journalFailed = true
		x.say("⚠ the journal could not record %s: %v (going on: a rollback does not wait for the journal)", action, err)
		return nil
	}
	return err
}

func (x *execution) run(ctx context.Context) outcome {
	switch x.s.Kind {
	case KindSetFlag, KindSetSecrets, KindApply:
		return x.write(ctx)
	case KindVerify:
		return x.verify(ctx, Failed)
	case KindPrecondition:
		return x.verify(ctx, Blocked)
	case KindObserve:
		return x.observe(ctx)
	case KindCommand:
		return x.command(ctx)
	case KindManual:
		return outcome{state: Passed, result: "confirmed by " + x.by + noteSuffix(x.values["note"])}
	}
	return outcome{state: Failed, result: "unknown step kind " + string(x.s.Kind)}
}

func noteSuffix(note string) string {
	if note == "" {
		return ""
	}
	return ": " + note
}

func stopped(ctx context.Context, what string) outcome {
	return outcome{state: Failed, result: fmt.Sprintf("stopped during %s: %v", what, context.Cause(ctx))}
}

// --- writes -------------------------------------------------------------------

// write sets secrets and/or applies them, journaling the intent before each
// write and the result after it.
func (x *execution) write(ctx context.Context) outcome {
	p := x.r.o.Stack.Platform
	// A dry run changes nothing: the flags are read once, for its records.
	before := sync.OnceValue(func() string { return x.flagStates(ctx) })
	for _, op := range x.r.writes(x.s, x.env, x.values) {
		cmds := p.Describe(op)
		if x.r.o.DryRun {
			for _, c := range cmds {
				x.say("dry run: would run %s", c)
			}
			_ = x.journal(ActWriteIntent, Record{Commands: cmds, Before: before(), Result: "dry-run"})
			continue
		}
		switch op.Kind {
		case integrations.OpSet:
			if o := x.write1(ctx, op); o != nil {
				return *o
			}
		case integrations.OpApply:
			if o, ok := x.apply(ctx, op, cmds); !ok {
				return o
			}
		}
	}
	x.env.Watcher.Refresh()
	if x.r.o.DryRun {
		return outcome{state: Passed, result: "dry run: nothing was written"}
	}
	return outcome{state: Passed, result: x.summary()}
}

// write1 makes one staged write: the intent journaled first, then the
// write, then the digests Fly shows with the result. It returns nil when
// it succeeded.
func (x *execution) write1(ctx context.Context, op integrations.Op) *outcome {
	p := x.r.o.Stack.Platform
	cmds := p.Describe(op)
	before := x.flagStates(ctx)
	if err := x.journal(ActWriteIntent, Record{Commands: cmds, Before: before, Result: "pending"}); err != nil {
		return &outcome{state: Failed, result: "not written: the journal failed: " + err.Error()}
	}
	x.say("$ %s", strings.Join(cmds, "; "))
	if err := p.SetSecrets(ctx, op.App, op.Values, op.Stage, nil); err != nil {
		_ = x.journal(ActWriteFail, Record{Commands: cmds, Before: before, Error: err.Error(), Result: "failed"})
		return &outcome{state: Failed, result: "the platform refused the write: " + err.Error()}
	}
	flags, after := x.recordDigests(ctx, op)
	version, _ := x.r.o.Stack.Book.SecretsVersion(op.App)
	if err := x.journal(ActWriteDone, Record{Commands: cmds, Before: before, After: after, Flags: flags, SecretsVersion: version, Result: "ok"}); err != nil {
		return &outcome{state: Failed, result: "written, but the journal failed: " + err.Error()}
	}
	x.say("set (staged): %s", after)
	return nil
}

// apply deploys or restarts with per-machine progress.
func (x *execution) apply(ctx context.Context, op integrations.Op, cmds []string) (outcome, bool) {
	p := x.r.o.Stack.Platform
	if err := x.journal(ActApplyIntent, Record{Commands: cmds, Result: "pending"}); err != nil {
		return outcome{state: Failed, result: "not applied: the journal failed: " + err.Error()}, false
	}
	x.say("$ %s", strings.Join(cmds, "; "))
	progress := func(ev integrations.MachineEvent) {
		if ev.Err != nil {
			x.say("  ✗ machine %s %s: %v", ev.Machine, ev.State, ev.Err)
			return
		}
		x.say("  %s", ev.Message)
	}
	x.env.Watcher.Refresh()
	err := p.Apply(ctx, op.App, op.Mode, progress)
	x.r.noteApply(op.App)
	x.env.Watcher.Refresh()
	if err != nil {
		state := x.machineStates(ctx)
		_ = x.journal(ActApplyFail, Record{Commands: cmds, After: state, Error: err.Error(), Result: "failed"})
		return outcome{state: Failed, result: fmt.Sprintf("%s did not finish: %v (machines: %s)", op.Mode, err, state)}, false
	}
	state := x.machineStates(ctx)
	if err := x.journal(ActApplyDone, Record{Commands: cmds, After: state, Result: "ok"}); err != nil {
		return outcome{state: Failed, result: "applied, but the journal failed: " + err.Error()}, false
	}
	x.say("applied: %s", state)
	return outcome{}, true
}

// recordDigests reads the digests Fly shows for what was just set and
// remembers the flag values they stand for.
func (x *execution) recordDigests(ctx context.Context, op integrations.Op) (map[string]FlagDigest, string) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	secrets, err := x.r.o.Stack.Platform.Secrets(cctx, op.App)
	if err != nil {
		return nil, "written; digests not read: " + err.Error()
	}
	flags := map[string]FlagDigest{}
	var parts []string
	for _, sec := range secrets {
		v, ok := op.Values[sec.Name]
		if !ok {
			continue
		}
		if op.Plain[sec.Name] {
			flags[sec.Name] = FlagDigest{Value: v, Digest: sec.Digest}
			x.r.o.Stack.Book.Record(op.App, sec.Name, sec.Digest, v)
			parts = append(parts, fmt.Sprintf("%s=%s (digest %s, %s)", sec.Name, v, sec.Digest, statusWord(sec.Status)))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%s (digest %s, %s)", sec.Name, integrations.Mask, sec.Digest, statusWord(sec.Status)))
		}
	}
	return flags, strings.Join(parts, ", ")
}

func statusWord(s integrations.SecretStatus) string {
	if s == "" {
		return "status not reported"
	}
	return strings.ToLower(string(s))
}

// flagStates describes the flags a step touches, before it touches them.
func (x *execution) flagStates(ctx context.Context) string {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	secrets, err := x.r.o.Stack.Platform.Secrets(cctx, x.env.App)
	if err != nil {
		return "unknown: " + err.Error()
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(x.s.Values)) {
		parts = append(parts, name+"="+integrations.FlagFrom(x.env.App, name, secrets, x.r.o.Stack.Book).State.String())
	}
	for _, name := range x.s.Secrets {
		present := slices.ContainsFunc(secrets, func(s integrations.Secret) bool { return s.Name == name })
		parts = append(parts, fmt.Sprintf("%s %s", name, map[bool]string{true: "set", false: "unset"}[present]))
	}
	return strings.Join(parts, ", ")
}

func (x *execution) machineStates(ctx context.Context) string {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ms, err := x.r.o.Stack.Platform.Machines(cctx, x.env.App)
	if err != nil {
		return "unknown: " + err.Error()
	}
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %s %s", m.ID, m.Region, m.State))
	}
	return strings.Join(parts, ", ")
}

func (x *execution) summary() string {
	var parts []string
	if x.s.Kind != KindApply {
		for _, name := range slices.Sorted(maps.Keys(x.s.Values)) {
			parts = append(parts, name+"="+x.s.Values[name])
		}
		for _, name := range x.s.Secrets {
			parts = append(parts, name+"="+integrations.Mask)
		}
	}
	what := "set " + strings.Join(parts, " ")
	switch {
	case x.s.Kind == KindApply:
		what = "applied"
	case x.s.Apply:
		what += ", applied"
	default:
		what += " (staged)"
	}
	return what + " on " + x.env.App
}

// --- verify -------------------------------------------------------------------

// verify runs each check in turn, retrying until the step's timeout while
// the app restarts. A precondition that fails blocks instead of failing.
func (x *execution) verify(ctx context.Context, failState StepState) outcome {
	deadline := x.r.o.Now().Add(x.s.Timeout)
	x.r.setDeadline(x.s.ID, deadline)
	result := "passed"
	for _, c := range x.s.Checks {
		msg, ok := x.retry(ctx, c, deadline, c.Call)
		switch {
		case ctx.Err() != nil:
			return stopped(ctx, c.Call)
		case !ok:
			return outcome{state: failState, result: msg, diagnosis: x.diagnose()}
		}
		result = x.r.o.Stack.Masker.Mask(msg)
	}
	return outcome{state: Passed, result: result}
}

// retry makes check c until it passes, fails for good, or the deadline
// passes, saying each attempt. It returns the last answer.
func (x *execution) retry(ctx context.Context, c Check, deadline time.Time, label string) (string, bool) {
	for attempt := 1; ; attempt++ {
		ok, final, msg := x.check(ctx, c)
		x.say("%s #%d: %s", label, attempt, msg)
		if ok {
			return msg, true
		}
		if final || !x.r.o.Now().Before(deadline) {
			return msg, false
		}
		select {
		case <-ctx.Done():
			return fmt.Sprintf("stopped: %v", context.Cause(ctx)), false
		case <-time.After(x.s.Interval):
		}
	}
}

// diagnose is the integration's live diagnosis, from the watcher.
func (x *execution) diagnose() []string {
	if x.s.Integration == "" {
		return nil
	}
	if st := x.env.Watcher.Latest().Integration(x.s.Integration); st != nil {
		return st.Diagnosis
	}
	return nil
}

// check makes one call. final means retrying cannot help.
func (x *execution) check(ctx context.Context, c Check) (ok, final bool, msg string) {
	cctx, cancel := context.WithTimeout(ctx, x.r.o.Stack.Config.Watch.CallTimeout.Duration)
	defer cancel()
	def := x.r.o.Runbook.Integration(x.s.Integration)
	if def == nil && (c.Call == "source" || c.Call == "logs" || c.Call == "chatwoot") {
		return false, true, fmt.Sprintf("check %q needs the step to name an integration", c.Call)
	}
	switch c.Call {
	case "source":
		var got integrations.SourceKind
		var detail string
		if def.Source.Kind == "logs" {
			st := x.env.Watcher.Latest().Integration(def.ID)
			got, detail = st.Source, "from the logs"
		} else {
			res := x.env.Client.Source(cctx, &def.Source)
			if res.Err != nil {
				return false, false, res.Err.Error()
			}
			got, detail = res.Source, fmt.Sprintf("%s = %q", def.Source.Field, res.Answer)
			if res.Warning != "" {
				detail += " (" + res.Warning + ")"
			}
		}
		return slices.Contains(c.Want, got.String()), false, fmt.Sprintf("%s: %s, want %s", detail, got, strings.Join(c.Want, " or "))
	case "post":
		accounts := make([]string, len(c.Accounts))
		for i, a := range c.Accounts {
			accounts[i] = x.expand(a)
		}
		id, ans, err := x.env.Client.Post(cctx, c.Text, accounts)
		if err != nil {
			return false, false, err.Error()
		}
		x.vars["job"] = id
		msg := fmt.Sprintf("jobId = %q, want %s", id, strings.Join(c.Want, " or "))
		if w := ans.Warning(); w != "" {
			msg += " (" + w + ")"
		}
		return matchAny(c.Want, id), false, msg
	case "job_status":
		id := x.vars["job"]
		st, ans, err := x.env.Client.JobStatus(cctx, id)
		if err != nil {
			return false, false, err.Error()
		}
		failures := ""
		if f, ok := ans["status"].(map[string]any); ok {
			if p, ok := f["payload"].(map[string]any); ok {
				if fm, ok := p["failures"].(map[string]any); ok && len(fm) > 0 {
					failures = fmt.Sprint(fm)
				}
			}
		}
		if def != nil {
			// The job's outcome counts in the integration's job criteria.
			outcome := st
			if failures != "" {
				outcome = integrations.OutcomeFailed
			}
			x.env.Watcher.SawJob(def.ID, id, outcome)
		}
		switch {
		case failures != "":
			return false, true, fmt.Sprintf("job %s failed: %s", id, failures)
		case st == "failed":
			return false, true, fmt.Sprintf("job %s failed", id)
		}
		return slices.Contains(c.Want, st), false, fmt.Sprintf("job %s status %q, want %s", id, st, strings.Join(c.Want, " or "))
	case "logs":
		since := x.r.o.Now().Add(-10 * time.Minute)
		x.r.mu.Lock()
		if t, ok := x.r.lastApply[x.env.App]; ok {
			since = t.Add(-time.Minute)
		}
		x.r.mu.Unlock()
		i := slices.IndexFunc(x.r.o.Runbook.Integrations, func(d *integrations.Definition) bool { return d.ID == def.ID })
		lines := x.env.Watcher.Backlog()[i]
		for k := len(lines) - 1; k >= 0; k-- {
			if lines[k].Time.Before(since) {
				break
			}
			if strings.Contains(lines[k].Message, c.Text) {
				return true, false, fmt.Sprintf("seen at %s: %s", lines[k].Time.Local().Format("15:04:05"), lines[k].Message)
			}
		}
		return false, false, fmt.Sprintf("%q not in the logs since %s", c.Text, since.Local().Format("15:04:05"))
	case "env":
		rd, ok := x.r.o.Stack.Platform.(integrations.EnvReader)
		if !ok {
			return false, true, "this platform cannot read live values: check with fly ssh console"
		}
		v, err := rd.ReadEnv(cctx, x.env.App, c.Name)
		if err != nil {
			return false, false, err.Error()
		}
		shown := v
		if shown == "" {
			shown = "(empty)"
		}
		return slices.Contains(c.Want, v), false, fmt.Sprintf("$%s = %s, want %s", c.Name, shown, wantWords(c.Want))
	case "secrets":
		secrets, err := x.r.o.Stack.Platform.Secrets(cctx, x.env.App)
		if err != nil {
			return false, false, err.Error()
		}
		var missing []string
		for _, n := range c.Names {
			if !slices.ContainsFunc(secrets, func(s integrations.Secret) bool { return s.Name == n }) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return false, true, "missing from fly secrets list: " + strings.Join(missing, ", ")
		}
		return true, false, "fly secrets list shows " + strings.Join(c.Names, ", ")
	case "migration":
		if x.env.Migrations == nil {
			return false, true, "cannot check the migration: " + x.env.MigrationsErr
		}
		present, detail, err := x.env.Migrations.CheckMigration(cctx, c.Table)
		if err != nil {
			// A refused login is not asked again: each try is a login.
			return false, integrations.IsFinal(err), err.Error()
		}
		if !present {
			return false, true, detail + ": Do NOT proceed with activation"
		}
		return true, false, detail
	case "chatwoot":
		p := x.env.Probes[def.ID]
		if p == nil {
			return false, true, "no Chatwoot check configured (chatwoot.url and its token)"
		}
		res := p.Check(cctx)
		if res.Err != nil {
			return false, errors.Is(res.Err, context.Canceled), res.Err.Error()
		}
		return true, false, res.Detail
	}
	return false, true, "unknown call " + c.Call
}

func wantWords(want []string) string {
	var w []string
	for _, v := range want {
		if v == "" {
			v = "(empty)"
		}
		w = append(w, v)
	}
	return strings.Join(w, " or ")
}

// expand replaces {name} with the step's inputs.
func (x *execution) expand(s string) string {
	for k, v := range x.values {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func matchAny(patterns []string, v string) bool {
	return integrations.MatchAny(patterns, v)
}

// --- observe ------------------------------------------------------------------

// observe watches the integration for the step's window: its source, and
// every one of its thresholds measured over the watch itself (what the app
// did from the start of the watch). It passes only when every criterion
// held for the whole window, and fails naming the criterion and its figure.
func (x *execution) observe(ctx context.Context) outcome {
	def := x.r.o.Runbook.Integration(x.s.Integration)
	// Watch from what the app says now, not from a snapshot taken before
	// the step that came just before.
	cctx, cancel := context.WithTimeout(ctx, x.r.o.Stack.Config.Watch.CallTimeout.Duration)
	x.env.Watcher.Recheck(cctx)
	cancel()
	start := x.env.Watcher.Latest().Integration(def.ID)
	end := x.r.o.Now().Add(x.s.Window)
	x.r.setDeadline(x.s.ID, end)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSay := time.Time{}
	for {
		now := x.r.o.Now()
		snap := x.env.Watcher.Latest()
		cur := snap.Integration(def.ID)
		o, status, done := watchVerdict(x.s.Window, start, cur, snap.LogErr, !now.Before(end))
		if done {
			return o
		}
		if now.Sub(lastSay) >= 10*time.Second {
			x.say("%s left: %s", end.Sub(now).Round(time.Second), status)
			lastSay = now
		}
		select {
		case <-ctx.Done():
			return stopped(ctx, "monitoring")
		case <-tick.C:
		}
	}
}

// watchVerdict is a monitor step's answer at a moment of its watch over
// window, begun at start: failed as soon as the source contradicts the
// flag or a criterion is broken for good; once ended, passed only when
// every criterion held over the whole watch and the log could be read. It
// returns the figures so far, and whether the step is decided.
func watchVerdict(window time.Duration, start, cur *integrations.Status, logErr string, ended bool) (outcome, string, bool) {
	held := watched(start, cur)
	status := fmt.Sprintf("%d lines, %s; source %s", cur.LogLines-start.LogLines, strings.Join(held.figures, ", "), cur.Source)
	switch {
	case cur.Mismatch():
		return outcome{state: Failed, result: fmt.Sprintf("the app fell back to %s while the flag says %s: %s", cur.Source, cur.Expected, status), diagnosis: cur.Diagnosis}, status, true
	case held.broken != "":
		// A count over its limit, or a job pending too long, cannot come
		// back within the window.
		return outcome{state: Failed, result: fmt.Sprintf("%s during the %s watch", held.broken, window), diagnosis: cur.Diagnosis}, status, true
	case !ended:
		return outcome{}, status, false
	case held.over != "":
		return outcome{state: Failed, result: fmt.Sprintf("%s over the %s watch", held.over, window), diagnosis: cur.Diagnosis}, status, true
	case logErr != "":
		return outcome{state: Failed, result: "cannot verify: the log stream is down: " + logErr}, status, true
	}
	return outcome{state: Passed, result: fmt.Sprintf("%s watched, every criterion held: %s", window, status)}, status, true
}

// watch is the integration's criteria measured over a watch so far.
type watch struct {
	figures []string // each criterion and its figure, for the operator
	over    string   // the first share over its limit (it may come back)
	broken  string   // the first criterion broken for good
}

// watched measures every threshold of cur over the watch that began at
// start: shares and counts from what was counted since, pending jobs now.
func watched(start, cur *integrations.Status) watch {
	var w watch
	for i, m := range cur.Measures {
		t := m.Threshold
		d := integrations.Measure{Threshold: t, Count: m.Total.Errors, Of: m.Total.Total}
		if i < len(start.Measures) {
			d.Count -= start.Measures[i].Total.Errors
			d.Of -= start.Measures[i].Total.Total
		}
		var over, final bool
		switch {
		case t.Kind == "job_pending":
			// Jobs that ended over the limit during the watch, and jobs
			// pending over it now: the longest is the figure.
			d.Value = m.Value
			over, final = d.Count > 0 || m.Count > 0, true
		case t.IsShare():
			d.Value = integrations.Rate{Errors: d.Count, Total: d.Of}.Ratio()
			over = d.Value > t.Max
		default:
			d.Value, d.Of = float64(d.Count), 0
			over, final = d.Value > t.Max, true
		}
		cmp := "≤"
		if over {
			cmp = ">"
		}
		text := fmt.Sprintf("%s %s %s %s", t.Name, d.Figure(), cmp, t.Limit())
		if t.Kind == "job_pending" && over && d.Value <= t.Max {
			text = fmt.Sprintf("%s: %d job(s) over %s", t.Name, d.Count+m.Count, t.Limit())
		}
		w.figures = append(w.figures, text)
		switch {
		case over && final && w.broken == "":
			w.broken = text
		case over && w.over == "":
			w.over = text
		}
	}
	return w
}

// --- command ------------------------------------------------------------------

func (x *execution) command(ctx context.Context) outcome {
	ctx, cancel := context.WithTimeout(ctx, x.s.Timeout)
	defer cancel()
	dir := x.s.Dir
	x.say("$ cd %s && %s", dir, x.s.Command)
	var last []string
	code, err := x.r.o.Stack.Commands.Run(ctx, dir, x.s.Command, func(line string) {
		x.say("%s", line)
		if strings.TrimSpace(line) == "" {
			return
		}
		last = append(last, strings.TrimSpace(line))
		if len(last) > 3 {
			last = last[1:]
		}
	})
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return outcome{state: Failed, result: fmt.Sprintf("timed out after %s", x.s.Timeout)}
	case err != nil:
		return outcome{state: Failed, result: err.Error()}
	case code != 0:
		return outcome{state: Failed, result: fmt.Sprintf("exit %d: %s", code, strings.Join(last, " / "))}
	}
	return outcome{state: Passed, result: "exit 0" + noteSuffix(strings.Join(last, " / "))}
}
