// Package integrations is the console's model of the outside world: the
// integrations being activated, the platform that runs the HotDash app
// (Fly.io or the simulator), the probes that ask the app which source it is
// using, and the watcher that turns all of that into live snapshots.
//
// Nothing here knows about terminals. The TUI, the SSH share and the
// headless check are views over the same watcher.
package integrations

import (
	"fmt"
	"strings"
	"time"
)

// Definition describes one integration as the runbook declares it. It is
// data, not code: the default lives in runbook/hotdash.toml.
type Definition struct {
	ID    string // short, stable identifier: "supabase"
	Name  string // what the operator reads: "Supabase (Idea Pool)"
	Flag  string // the app secret that switches it live; "" means always live
	Risk  string // as the guide states it: "low", "medium"
	Ready bool   // false: pending implementation, never activated by the console
	// NotReady says why, when Ready is false ("pending implementation (Task 6)").
	NotReady string
	// LogTags route log lines to this integration (substring match, as the
	// guide's grep and --filter do).
	LogTags []string
	// Credentials are the app secrets the live path needs.
	Credentials []string
	Source      SourceSpec
	Thresholds  []Threshold
	Diagnoses   []Diagnosis
	// AutoRollback rolls the integration back by itself when a threshold
	// stays breached (opt-in, from the configuration).
	AutoRollback bool
}

// HasFlag reports whether the integration is switched by a feature flag.
func (d *Definition) HasFlag() bool { return d.Flag != "" }

// SourceKind says where an integration's data comes from.
type SourceKind int

const (
	SourceUnknown SourceKind = iota // not observed yet, or the check failed
	SourceMock                      // the app fell back to mock data
	SourceLive                      // the real service
)

func (k SourceKind) String() string {
	switch k {
	case SourceMock:
		return "mock"
	case SourceLive:
		return "live"
	}
	return "unknown"
}

// SourceSpec says how the console observes an integration's data source.
type SourceSpec struct {
	// Kind is "http" (a call to the app, reading one JSON field), "logs"
	// (the last marker line the app logged) or "chatwoot" (Chatwoot's own
	// health, always live).
	Kind   string
	Method string // http: GET unless stated
	Path   string // http: "/api/analytics/idea-pool"
	Body   string // http: request body for POST calls
	Field  string // http: JSON field holding the source ("source", "jobId")
	// Live and Mock are the answers meaning each source. A trailing "*"
	// makes a prefix ("real-job-*").
	Live []string
	Mock []string
	// LiveMarker and MockMarker are log substrings for Kind "logs".
	LiveMarker string
	MockMarker string
}

// Classify maps an observed answer to a source kind.
func (s *SourceSpec) Classify(answer string) SourceKind {
	if MatchAny(s.Live, answer) {
		return SourceLive
	}
	if MatchAny(s.Mock, answer) {
		return SourceMock
	}
	return SourceUnknown
}

// MatchAny reports whether v matches one of patterns: a pattern is the
// exact answer, or with a trailing "*" a prefix ("real-job-*").
func MatchAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(v, prefix) {
				return true
			}
		} else if p == v {
			return true
		}
	}
	return false
}

// Diagnosis is one of the guide's explanations for an integration being on
// mock when its flag says live. When names the fact that makes it apply.
type Diagnosis struct {
	When DiagnosisCondition
	Text string
}

// DiagnosisCondition names a fact the watcher can establish by itself.
type DiagnosisCondition string

const (
	WhenAlways             DiagnosisCondition = "always"
	WhenFlagNotSet         DiagnosisCondition = "flag_not_set"
	WhenFlagNotDeployed    DiagnosisCondition = "flag_not_deployed"
	WhenCredentialsMissing DiagnosisCondition = "credentials_missing"
	WhenMigrationMissing   DiagnosisCondition = "migration_missing"
	WhenCheckFailing       DiagnosisCondition = "check_failing"
)

// KnownConditions lists every condition a runbook may name.
var KnownConditions = []DiagnosisCondition{
	WhenAlways, WhenFlagNotSet, WhenFlagNotDeployed, WhenCredentialsMissing,
	WhenMigrationMissing, WhenCheckFailing,
}

// Threshold is a limit the operator watches. Kind "error_rate" is the share
// of the integration's events that are errors; "share" is the share of lines
// matching Match among those matching Of; "count" is how many lines match
// Match in the window.
type Threshold struct {
	Name   string
	Kind   string
	Match  string
	Of     string
	Max    float64
	Window time.Duration
}

// FlagState is what the console can say about a feature flag.
type FlagState int

const (
	FlagNone       FlagState = iota // the integration has no flag
	FlagUnset                       // the secret does not exist: off
	FlagFalse                       // set to a value the console recorded as false
	FlagTrue                        // set to a value the console recorded as true
	FlagStaged                      // changed but not deployed to the machines
	FlagUnknown                     // set, digest matches nothing the console set
	FlagUnreadable                  // the platform could not be asked
)

func (s FlagState) String() string {
	switch s {
	case FlagNone:
		return "none"
	case FlagUnset:
		return "unset"
	case FlagFalse:
		return "false"
	case FlagTrue:
		return "true"
	case FlagStaged:
		return "staged"
	case FlagUnknown:
		return "unknown"
	case FlagUnreadable:
		return "unreadable"
	}
	return "?"
}

// FlagStatus is a flag as the platform reports it.
type FlagStatus struct {
	Name   string
	State  FlagState
	Digest string
	// Pending is the value the staged change will bring, when the console
	// knows it ("true" staged, not deployed).
	Pending string
	Detail  string // "changed outside the console", "staged, not deployed"
}

// Rate is a count of errors among events over a window.
type Rate struct {
	Errors int64
	Total  int64
}

// Ratio is the error share in [0,1]; 0 with no events.
func (r Rate) Ratio() float64 {
	if r.Total == 0 {
		return 0
	}
	return float64(r.Errors) / float64(r.Total)
}

// Windows are the three error-rate windows the panes show.
type Windows struct {
	M1, M15, H1 Rate
}

// Status is one integration's live state at a moment. It is a value inside
// an immutable Snapshot: never modify one you received.
type Status struct {
	Def      *Definition
	Flag     FlagStatus
	Source   SourceKind
	Answer   string // what the app reported ("supabase", "mock", "real-job-1a2b")
	Warning  string // the app's own warning, when it sent one
	Expected SourceKind
	// Diagnosis holds the guide's explanations that apply now, when the
	// source is not what the flag implies.
	Diagnosis []string

	Checked   time.Time     // when the last probe finished
	Latency   time.Duration // how long it took
	CheckErr  string        // why it failed, readable
	Detail    string        // probe detail ("queue ok, data ok")
	Rates     Windows
	Spark     []float64 // error share per minute, oldest first
	LogLines  uint64    // lines routed here since start
	LogErrors uint64
	// Breaches are the thresholds over their limit now.
	Breaches []Breach
}

// Breach is a threshold over its limit.
type Breach struct {
	Threshold Threshold
	Value     float64
	Since     time.Time // when it went over
}

// For is how long the breach has lasted at now.
func (b Breach) For(now time.Time) time.Duration { return now.Sub(b.Since) }

// Text says the breach in words: "error rate 3.2% > 1% for 4m".
func (b Breach) Text(now time.Time) string {
	return fmt.Sprintf("%s for %s", b.Plain(), shortDuration(b.For(now)))
}

// Plain says the breach without its age: "error rate 3.2% > 1%".
func (b Breach) Plain() string {
	t := b.Threshold
	var v, limit string
	if t.Kind == "count" {
		v, limit = fmt.Sprintf("%.0f", b.Value), fmt.Sprintf("%.0f", t.Max)
	} else {
		v, limit = percent(b.Value), percent(t.Max)
	}
	return fmt.Sprintf("%s %s > %s", t.Name, v, limit)
}

func percent(v float64) string {
	p := v * 100
	if p == float64(int64(p)) {
		return fmt.Sprintf("%.0f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

// shortDuration is 45s, 4m, 1h20m.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// Mismatch reports whether the observed source contradicts the flag.
func (s *Status) Mismatch() bool { return mismatch(s.Source, s.Expected) }

// mismatch reports whether an observed source contradicts the expected
// one; an unknown on either side contradicts nothing.
func mismatch(observed, expected SourceKind) bool {
	return observed != SourceUnknown && expected != SourceUnknown && observed != expected
}

// ErrorThreshold returns the error-rate limit the runbook sets, or 0.
func (d *Definition) ErrorThreshold() float64 {
	for _, t := range d.Thresholds {
		if t.Kind == "error_rate" {
			return t.Max
		}
	}
	return 0
}

// Machine is one VM of an app. Every string in it comes from the platform
// sanitised and bounded.
type Machine struct {
	ID      string
	Name    string
	State   string // created started stopped suspended failed; starting stopping restarting updating replacing
	Region  string
	Version string // release or secrets version it runs
	Checks  string // summary of health checks, "1/1 passing"
	// Passing and Total count its health checks.
	Passing, Total int
	// Trouble is the first check that is not passing, with its output
	// ("servicecheck-00-http-3000 critical: connection refused").
	Trouble string
	// Current says whether it carries the app's latest release (flyctl)
	// or secrets version (the Machines API, the simulator).
	Current Currency
}

// Currency says whether a machine carries the app's latest release or
// secrets version.
type Currency int

const (
	CurrencyUnknown Currency = iota // the platform cannot tell
	Current                         // it carries the latest
	Behind                          // it runs an older one
)

func (c Currency) String() string {
	switch c {
	case Current:
		return "current"
	case Behind:
		return "behind"
	}
	return "unknown"
}

// Transient reports whether the machine is between states.
func (m Machine) Transient() bool {
	switch m.State {
	case "starting", "stopping", "restarting", "updating", "replacing":
		return true
	}
	return false
}

// Label is the machine as messages name it: "3d8d9e1f2b7a48 (iad)".
func (m Machine) Label() string {
	if m.Region == "" {
		return m.ID
	}
	return m.ID + " (" + m.Region + ")"
}

// Snapshot is the whole console state at one moment. Snapshots are
// immutable once published: views read them from any goroutine.
type Snapshot struct {
	At       time.Time
	Env      string
	App      string
	Platform string
	Demo     bool

	Integrations []Status
	Machines     []Machine
	MachinesErr  string
	SecretsErr   string
	LogErr       string // why the log stream is down, when it is
	LogGap       string // "log stream restarted after 12s gap"
	LogRate      float64
	LogDropped   uint64 // lines the engine could not keep
}

// Integration returns the status for id, or nil.
func (s *Snapshot) Integration(id string) *Status {
	for i := range s.Integrations {
		if s.Integrations[i].Def.ID == id {
			return &s.Integrations[i]
		}
	}
	return nil
}
