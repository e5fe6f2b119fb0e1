package runbook

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hotdash/hotdash-console/integrations/config"
)

type filePhase struct {
	ID          string `toml:"id"`
	Title       string `toml:"title"`
	Integration string `toml:"integration"`
	About       string `toml:"about"`
}

type fileStep struct {
	ID          string            `toml:"id"`
	Phase       string            `toml:"phase"`
	Title       string            `toml:"title"`
	Kind        string            `toml:"kind"`
	Integration string            `toml:"integration"`
	Env         string            `toml:"env"`
	After       []string          `toml:"after"`
	Guide       []string          `toml:"guide"`
	Expect      string            `toml:"expect"`
	IfNot       []string          `toml:"if_not"`
	Warning     string            `toml:"warning"`
	Flag        string            `toml:"flag"`
	Value       string            `toml:"value"`
	Secrets     []string          `toml:"secrets"`
	Values      map[string]string `toml:"values"`
	Apply       bool              `toml:"apply"`
	Mode        string            `toml:"mode"`
	Check       []fileCheck       `toml:"check"`
	Input       []fileInput       `toml:"input"`
	Timeout     config.Duration   `toml:"timeout"`
	Interval    config.Duration   `toml:"interval"`
	Window      config.Duration   `toml:"window"`
	Command     string            `toml:"command"`
	Dir         string            `toml:"dir"`
	Confirm     string            `toml:"confirm"`
	Note        string            `toml:"note"`
	TwoPerson   *bool             `toml:"two_person"`
}

type fileCheck struct {
	Call     string   `toml:"call"`
	Want     []string `toml:"want"`
	Text     string   `toml:"text"`
	Accounts []string `toml:"accounts"`
	Name     string   `toml:"name"`
	Names    []string `toml:"names"`
	Table    string   `toml:"table"`
}

type fileInput struct {
	Name    string `toml:"name"`
	Label   string `toml:"label"`
	Env     string `toml:"env"`
	Default string `toml:"default"`
}

type fileMonitoring struct {
	Period string          `toml:"period"`
	Title  string          `toml:"title"`
	Every  config.Duration `toml:"every"`
	For    config.Duration `toml:"for"`
	Tasks  []string        `toml:"tasks"`
}

type fileCriterion struct {
	ID          string   `toml:"id"`
	Integration string   `toml:"integration"`
	Text        string   `toml:"text"`
	Check       string   `toml:"check"`
	Steps       []string `toml:"steps"`
	Break       string   `toml:"break"`
	Fault       string   `toml:"fault"`
}

type fileDecision struct {
	Question string          `toml:"question"`
	Persist  config.Duration `toml:"persist"`
	Branch   []struct {
		Ask           string `toml:"ask"`
		Action        string `toml:"action"`
		Text          string `toml:"text"`
		Otherwise     string `toml:"otherwise"`
		OtherwiseText string `toml:"otherwise_text"`
	} `toml:"branch"`
}

type fileContact struct {
	Group string `toml:"group"`
	Name  string `toml:"name"`
	For   string `toml:"for"`
}

// Calls are the verify calls a runbook may name.
var Calls = []string{"source", "post", "job_status", "logs", "env", "secrets", "migration", "chatwoot"}

var criterionChecks = []string{"source_live", "steps", "no_errors_1h", "fallback_test", "rollback_test", "manual"}

// Bounds of the steps' and the schedule's durations.
var (
	stepTimeoutRange  = config.DurationRange{Min: time.Second, Max: 24 * time.Hour}
	stepIntervalRange = config.DurationRange{Min: 100 * time.Millisecond, Max: 10 * time.Minute}
	stepWindowRange   = config.DurationRange{Min: time.Second, Max: 24 * time.Hour}
	everyRange        = config.DurationRange{Min: time.Minute, Max: 52 * 7 * 24 * time.Hour}
	forRange          = config.DurationRange{Min: 0, Max: 52 * 7 * 24 * time.Hour}
	persistRange      = config.DurationRange{Min: time.Minute, Max: 24 * time.Hour}
)
var decisionActions = []string{"rollback_one", "rollback_all", "stop", "monitor"}

func (p *parser) fail(key string, n int, format string, args ...any) {
	p.errs = append(p.errs, p.errAt(key, n, format, args...))
}

// procedure converts and checks phases, steps and the rest of the guide.
func (p *parser) procedure(rb *Runbook, f *file) {
	for i, fp := range f.Phase {
		if fp.ID == "" {
			p.fail("phase.id", i, "every [[phase]] needs an id")
			continue
		}
		if slices.ContainsFunc(rb.Phases, func(ph Phase) bool { return ph.ID == fp.ID }) {
			p.fail("phase.id", i, "phase %q is defined twice", fp.ID)
			continue
		}
		if fp.Integration != "" && rb.Integration(fp.Integration) == nil {
			p.fail("phase.integration", i, "phase %q names integration %q, which is not defined", fp.ID, fp.Integration)
		}
		rb.Phases = append(rb.Phases, Phase(fp))
	}
	for i, fs := range f.Step {
		if s := p.step(rb, i, fs); s != nil {
			rb.Steps = append(rb.Steps, s)
		}
	}
	for i, fs := range f.Step {
		for _, a := range fs.After {
			if rb.Step(a) == nil {
				p.fail("step.after", i, "step %q waits for step %q, which is not defined", fs.ID, a)
			}
		}
	}
	if cycle := findCycle(rb.Steps); cycle != nil {
		i := slices.IndexFunc(f.Step, func(fs fileStep) bool { return fs.ID == cycle[0] })
		p.fail("step.after", i, "steps wait for each other in a circle: %s", strings.Join(cycle, " → "))
	}
	for i, m := range f.Monitoring {
		if m.Every.Duration <= 0 {
			p.fail("monitoring.every", i, "monitoring %q needs every (\"2h\")", m.Period)
		} else if msg := everyRange.Check(m.Every.Duration); msg != "" {
			p.fail("monitoring.every", i, "monitoring %q: %s", m.Period, msg)
		}
		if msg := forRange.Check(m.For.Duration); msg != "" {
			p.fail("monitoring.for", i, "monitoring %q: %s", m.Period, msg)
		}
		rb.Monitoring = append(rb.Monitoring, Monitoring{Period: m.Period, Title: m.Title, Every: m.Every.Duration, For: m.For.Duration, Tasks: m.Tasks})
	}
	for i, c := range f.Success {
		if !slices.Contains(criterionChecks, c.Check) {
			p.fail("success.check", i, "%q: say one of %s", c.Check, strings.Join(criterionChecks, ", "))
		}
		for _, st := range c.Steps {
			if rb.Step(st) == nil {
				p.fail("success.steps", i, "criterion %q names step %q, which is not defined", c.ID, st)
			}
		}
		if c.Integration != "" && rb.Integration(c.Integration) == nil {
			p.fail("success.integration", i, "criterion %q names integration %q, which is not defined", c.ID, c.Integration)
		}
		if (c.Check == "fallback_test" || c.Check == "rollback_test") && (c.Integration == "" || rb.Integration(c.Integration) == nil || rb.Integration(c.Integration).Flag == "") {
			p.fail("success.integration", i, "criterion %q tests a rollback: it needs an integration with a flag", c.ID)
		}
		if c.Check == "fallback_test" && c.Break == "" && c.Fault == "" {
			p.fail("success.break", i, "criterion %q needs break (a credential secret) or fault (the simulator's) to break the integration", c.ID)
		}
		if d := rb.Integration(c.Integration); c.Break != "" && d != nil && !slices.Contains(d.Credentials, c.Break) {
			p.fail("success.break", i, "criterion %q breaks %s, which is not one of %s's credentials (%s)", c.ID, c.Break, d.ID, strings.Join(d.Credentials, ", "))
		}
		rb.Success = append(rb.Success, Criterion(c))
	}
	rb.Decision.Question = f.Decision.Question
	rb.Decision.Persist = f.Decision.Persist.Duration
	if rb.Decision.Persist == 0 {
		rb.Decision.Persist = 15 * time.Minute
	} else if msg := persistRange.Check(rb.Decision.Persist); msg != "" {
		p.errs = append(p.errs, &config.FileError{File: p.name, Line: config.KeyLine(p.data, toml.Key{"decision", "persist"}), Key: "decision.persist", Msg: msg})
	}
	for i, b := range f.Decision.Branch {
		for _, a := range []string{b.Action, b.Otherwise} {
			if a != "" && !slices.Contains(decisionActions, a) {
				p.fail("decision.branch.action", i, "%q: say one of %s", a, strings.Join(decisionActions, ", "))
			}
		}
		rb.Decision.Branches = append(rb.Decision.Branches, Branch(b))
	}
	for _, c := range f.Contact {
		rb.Contacts = append(rb.Contacts, Contact(c))
	}
	p.troubleshooting(rb, f.Troubleshooting)
}

func (p *parser) step(rb *Runbook, i int, fs fileStep) *Step {
	bad := func(key, format string, args ...any) { p.fail("step."+key, i, format, args...) }
	if fs.ID == "" {
		bad("id", "every [[step]] needs an id")
		return nil
	}
	if rb.Step(fs.ID) != nil {
		bad("id", "step %q is defined twice", fs.ID)
		return nil
	}
	s := &Step{
		ID: fs.ID, Phase: fs.Phase, Title: fs.Title, Kind: Kind(fs.Kind), Integration: fs.Integration, Env: fs.Env,
		After: fs.After, Guide: fs.Guide, Expect: fs.Expect, IfNot: fs.IfNot, Warning: fs.Warning,
		Value: fs.Value, Secrets: fs.Secrets, Values: fs.Values, Apply: fs.Apply, Mode: fs.Mode,
		Timeout: fs.Timeout.Duration, Interval: fs.Interval.Duration, Window: fs.Window.Duration,
		Command: fs.Command, Dir: fs.Dir, Confirm: fs.Confirm, Note: fs.Note, TwoPerson: fs.TwoPerson,
	}
	if s.Title == "" {
		s.Title = s.ID
	}
	ph := rb.PhaseOf(s)
	switch {
	case s.Phase == "":
		bad("phase", "step %q has no phase", s.ID)
	case ph == nil:
		bad("phase", "step %q is in phase %q, which is not defined", s.ID, s.Phase)
	case s.Integration == "":
		s.Integration = ph.Integration
	}
	var def = rb.Integration(s.Integration)
	if s.Integration != "" && def == nil {
		bad("integration", "step %q names integration %q, which is not defined", s.ID, s.Integration)
	}
	if !slices.Contains(Kinds, s.Kind) {
		var names []string
		for _, k := range Kinds {
			names = append(names, string(k))
		}
		bad("kind", "%q is not a step kind (say one of %s)", fs.Kind, strings.Join(names, ", "))
		return s
	}
	if s.Env != "" {
		rb.envLines[s.ID] = nthKeyLine(p.data, []string{"step", "env"}, i)
	}
	for _, b := range []struct {
		key string
		d   time.Duration
		r   config.DurationRange
	}{{"timeout", s.Timeout, stepTimeoutRange}, {"interval", s.Interval, stepIntervalRange}, {"window", s.Window, stepWindowRange}} {
		if msg := b.r.Check(b.d); b.d != 0 && msg != "" {
			bad(b.key, "step %q: %s", s.ID, msg)
		}
	}
	if s.Timeout == 0 {
		s.Timeout = 60 * time.Second
	}
	if s.Interval == 0 {
		s.Interval = 2 * time.Second
	}
	if s.Mode != "" && s.Mode != "deploy" && s.Mode != "restart" {
		bad("mode", "%q: say \"deploy\" or \"restart\"", s.Mode)
	}
	flags := map[string]bool{}
	for _, d := range rb.Integrations {
		if d.Flag != "" {
			flags[d.Flag] = true
		}
	}
	switch s.Kind {
	case KindSetFlag:
		switch {
		case fs.Flag != "" && !flags[fs.Flag]:
			bad("flag", "step %q sets flag %s, which no integration declares", s.ID, fs.Flag)
		case fs.Flag == "" && (def == nil || def.Flag == ""):
			bad("kind", "step %q sets a flag, but its integration %q declares none", s.ID, s.Integration)
		}
		if fs.Flag != "" {
			s.Values = map[string]string{fs.Flag: s.Value}
		} else if def != nil && def.Flag != "" {
			s.Values = map[string]string{def.Flag: s.Value}
		}
		if s.Value == "" {
			bad("value", "step %q needs value (\"true\" or \"false\")", s.ID)
		}
	case KindSetSecrets:
		if len(s.Secrets) == 0 && len(s.Values) == 0 {
			bad("secrets", "step %q sets nothing: give secrets or values", s.ID)
		}
		for name := range s.Values {
			if strings.HasSuffix(name, "_ENABLED") || strings.HasSuffix(name, "_LIVE") || strings.HasSuffix(name, "_REAL_DATA") {
				if !flags[name] {
					bad("values", "step %q sets flag %s, which no integration declares", s.ID, name)
				}
			}
		}
	case KindObserve:
		if s.Window <= 0 {
			bad("window", "step %q needs window (\"5m\")", s.ID)
		}
		if def == nil {
			bad("integration", "step %q observes nothing: give it an integration", s.ID)
		}
	case KindCommand:
		if s.Command == "" {
			bad("command", "step %q needs command", s.ID)
		}
	case KindManual:
		if s.Confirm == "" {
			bad("confirm", "step %q needs confirm: what the operator confirms", s.ID)
		}
	case KindVerify, KindPrecondition:
		if len(fs.Check) == 0 {
			bad("check", "step %q needs at least one [[step.check]]", s.ID)
		}
	}
	for _, fc := range fs.Check {
		c := Check(fc)
		if !slices.Contains(Calls, c.Call) {
			bad("check.call", "%q is not a call (say one of %s)", c.Call, strings.Join(Calls, ", "))
			continue
		}
		var missing string
		switch c.Call {
		case "source":
			if def == nil || def.Source.Kind == "chatwoot" {
				missing = "an integration with a source"
			}
		case "post":
			if c.Text == "" || len(c.Want) == 0 {
				missing = "text and want"
			}
		case "logs":
			switch {
			case c.Text == "":
				missing = "text"
			case def == nil:
				missing = "an integration (whose log it reads)"
			}
		case "chatwoot":
			if def == nil {
				missing = "an integration (the Chatwoot one)"
			}
		case "env":
			if c.Name == "" {
				missing = "name"
			}
		case "secrets":
			if len(c.Names) == 0 {
				missing = "names"
			}
		case "migration":
			if c.Table == "" {
				missing = "table"
			}
		case "job_status":
			if !slices.ContainsFunc(fs.Check, func(o fileCheck) bool { return o.Call == "post" }) {
				missing = "a post check before it"
			}
		}
		if missing != "" {
			bad("check.call", "check %q of step %q needs %s", c.Call, s.ID, missing)
		}
		for _, text := range append([]string{c.Text}, c.Accounts...) {
			for _, ph := range placeholderRE.FindAllString(text, -1) {
				if !slices.ContainsFunc(fs.Input, func(in fileInput) bool { return "{"+in.Name+"}" == ph }) {
					bad("check", "check %q of step %q uses %s, which no [[step.input]] of the step names", c.Call, s.ID, ph)
				}
			}
		}
		if c.Call == "source" && len(c.Want) == 0 {
			c.Want = []string{"live"}
		}
		s.Checks = append(s.Checks, c)
	}
	for _, in := range fs.Input {
		if in.Name == "" {
			bad("input.name", "every [[step.input]] needs a name")
		}
		s.Inputs = append(s.Inputs, Input(in))
	}
	return s
}

// findCycle returns the ids of a cycle in the steps' after-graph, or nil.
func findCycle(steps []*Step) []string {
	after := map[string][]string{}
	for _, s := range steps {
		after[s.ID] = s.After
	}
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(id string) []string
	visit = func(id string) []string {
		switch state[id] {
		case open:
			i := slices.Index(stack, id)
			return append(slices.Clone(stack[i:]), id)
		case done:
			return nil
		}
		state[id] = open
		stack = append(stack, id)
		for _, a := range after[id] {
			if _, ok := after[a]; !ok {
				continue
			}
			if c := visit(a); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		return nil
	}
	for _, s := range steps {
		if c := visit(s.ID); c != nil {
			return c
		}
	}
	return nil
}

// String names a step for messages: "1.2 Set feature flag".
func (s *Step) String() string { return fmt.Sprintf("%s %s", s.ID, s.Title) }
