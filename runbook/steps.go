package runbook

import (
	"strings"
	"time"
)

// Kind is what a step does.
type Kind string

const (
	KindPrecondition Kind = "precondition"
	KindSetFlag      Kind = "set_flag"
	KindSetSecrets   Kind = "set_secrets"
	KindApply        Kind = "apply"
	KindVerify       Kind = "verify"
	KindObserve      Kind = "observe"
	KindCommand      Kind = "command"
	KindManual       Kind = "manual"
)

// Kinds lists every step kind.
var Kinds = []Kind{KindPrecondition, KindSetFlag, KindSetSecrets, KindApply, KindVerify, KindObserve, KindCommand, KindManual}

// Writes reports whether the kind changes the platform.
func (k Kind) Writes() bool {
	return k == KindSetFlag || k == KindSetSecrets || k == KindApply
}

// Phase groups steps: the pre-activation checklist, one integration.
type Phase struct {
	ID          string
	Title       string
	Integration string
	About       string
}

// Step is one line of the procedure.
type Step struct {
	ID          string
	Phase       string
	Title       string
	Kind        Kind
	Integration string // inherited from the phase when not set
	Env         string // environment name; "" is the default environment
	After       []string
	Guide       []string // the guide's own commands, for reference
	Expect      string
	IfNot       []string
	Warning     string

	// set_flag: Value; set_secrets: Secrets from the environment or a
	// prompt, and Values as written. Apply deploys right after.
	Value   string
	Secrets []string
	Values  map[string]string
	Apply   bool
	Mode    string // apply: "deploy" or "restart"; "" takes the config's

	// verify and precondition
	Checks   []Check
	Inputs   []Input
	Timeout  time.Duration
	Interval time.Duration

	// observe
	Window time.Duration

	// command
	Command string
	Dir     string

	// manual
	Confirm string
	Note    string // the label of a required note; "" asks for an optional one

	// TwoPerson overrides the environment's two-person rule for this
	// step's writes (nil: the environment decides).
	TwoPerson *bool
}

// Check is one condition of a verify or precondition step.
type Check struct {
	// Call is what is asked: "source" (the integration's source check),
	// "post" (a test post), "job_status" (the status of the job the post
	// made), "logs" (a line in the integration's log), "env" (a live
	// environment value), "secrets" (names in the secrets list),
	// "migration" (a table's migration), "chatwoot" (Chatwoot's health).
	Call     string
	Want     []string // accepted answers; a trailing * makes a prefix
	Text     string   // post text, or the log text to wait for
	Accounts []string // post account IDs
	Name     string   // env: the variable
	Names    []string // secrets: the names that must be listed
	Table    string   // migration: the table
}

// Input is a plain value a step asks for (not a secret).
type Input struct {
	Name    string
	Label   string
	Env     string
	Default string
}

// Monitoring is a period of the post-activation schedule.
type Monitoring struct {
	Period string
	Title  string
	Every  time.Duration
	For    time.Duration
	Tasks  []string
}

// Criterion is one of the success criteria.
type Criterion struct {
	ID          string
	Integration string
	Text        string
	Check       string // "source_live", "steps", "no_errors_1h", "fallback_test", "rollback_test", "manual"
	Steps       []string
	// Break is the credential secret a fallback test makes invalid for a
	// moment; Fault is the simulator's fault that does it in the demo.
	Break string
	Fault string
}

// criterionPrefix marks the journal records of a criterion's test.
const criterionPrefix = "criterion:"

// step is the name a criterion's test goes by in the journal.
func (c *Criterion) step() string { return criterionPrefix + c.ID }

// Decision is the rollback decision tree.
type Decision struct {
	Question string
	// Persist is how long a breach lasts before a rollback is proposed.
	Persist  time.Duration
	Branches []Branch
}

// Branch is one question of the tree and where "yes" leads.
type Branch struct {
	Ask           string
	Action        string // "rollback_one", "rollback_all", "stop", "monitor"
	Text          string
	Otherwise     string
	OtherwiseText string
}

// Contact is someone to call.
type Contact struct {
	Group string
	Name  string
	For   string
}

// Step returns the step with the given id, or nil.
func (rb *Runbook) Step(id string) *Step {
	for _, s := range rb.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// PhaseOf returns the step's phase.
func (rb *Runbook) PhaseOf(s *Step) *Phase {
	for i := range rb.Phases {
		if rb.Phases[i].ID == s.Phase {
			return &rb.Phases[i]
		}
	}
	return nil
}

// Expand replaces {app} in a runbook text.
func Expand(text, app string) string { return strings.ReplaceAll(text, "{app}", app) }
