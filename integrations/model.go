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
	// Migration is the table the live path needs, when the runbook checks
	// its migration (idea_pool): the console asks for it itself when the
	// app reports mock against its flag.
	Migration string
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
	// WhenCredentialsRejected: the credential is set, and the service
	// answers 401 (to the app's calls or the console's own).
	WhenCredentialsRejected DiagnosisCondition = "credentials_rejected"
	WhenMigrationMissing    DiagnosisCondition = "migration_missing"
	WhenCheckFailing        DiagnosisCondition = "check_failing"
)

// KnownConditions lists every condition a runbook may name.
var KnownConditions = []DiagnosisCondition{
	WhenAlways, WhenFlagNotSet, WhenFlagNotDeployed, WhenCredentialsMissing,
	WhenCredentialsRejected, WhenMigrationMissing, WhenCheckFailing,
}

// Threshold is one of the guide's alert criteria, measured on what the app
// does (its log lines), over Window. Kinds:
//
//   - "error_rate": the share of the integration's events that are errors
//     (lines at error level, requests answered 5xx);
//   - "status_share": the share of its requests to Upstream answered with
//     one of Statuses (Chatwoot's 429s);
//   - "status_count": how many requests to Upstream were answered with one
//     of Statuses (Publer's 401/403);
//   - "jobs_failing": the share of finished jobs that failed;
//   - "job_pending": the longest a job has stayed pending, in seconds;
//   - "share" and "count": lines matching the regular expression Match
//     (among those matching Of), for runbooks whose app logs no fields.
//
// The console's own calls never count: a failed probe is the console's
// reachability, shown apart.
type Threshold struct {
	Name     string
	Kind     string
	Match    string
	Of       string
	Upstream string // status kinds: the service the requests went to
	Statuses []int  // status kinds: the statuses counted
	Max      float64
	Window   time.Duration
}

// WindowText is the window the threshold is measured over: "5m".
func (t Threshold) WindowText() string { return shortDuration(t.Window) }

// IsShare reports whether the threshold is a share (its Max a fraction).
func (t Threshold) IsShare() bool {
	switch t.Kind {
	case "error_rate", "share", "status_share", "jobs_failing":
		return true
	}
	return false
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

	// The console's own check of the integration (its probe): when it
	// last answered, how long it took, and why it failed. A failing check
	// is the console's reachability, never the app's error rate.
	Checked    time.Time     // when the last probe finished
	Latency    time.Duration // how long it took
	CheckErr   string        // why it failed, readable
	CheckFails int           // checks failed in a row
	CheckSince time.Time     // when the row of failures began
	// CheckLate says the last answer came after the deadline (it is used
	// all the same): "answered in 12s, after the 10s limit".
	CheckLate string
	Detail    string // probe detail ("queue ok, data ok")
	// Migration is the console's own look at the table the live path
	// needs, when it had reason to look.
	Migration *MigrationFact

	// The app's signal: what its log lines say.
	Rates     Windows
	Spark     []float64 // error share per minute, oldest first
	LogLines  uint64    // lines routed here since start
	LogErrors uint64    // of them, errors (error level, or answered 5xx)
	// Measures are the runbook's thresholds measured now, each over its
	// own window; Breaches are the ones over their limit.
	Measures []Measure
	Breaches []Breach
}

// MigrationFact is what the console's own migration check found.
type MigrationFact struct {
	Table   string
	Present bool
	Detail  string // how it was established ("table idea_pool exists")
	Err     string // why it could not be established
	At      time.Time
}

// Known reports whether the check established the table's state.
func (m *MigrationFact) Known() bool { return m != nil && m.Err == "" }

// Missing reports whether the check found the table absent.
func (m *MigrationFact) Missing() bool { return m.Known() && !m.Present }

// Measure is one threshold measured at a moment, over its own window: the
// figure the pane shows, the check reports and a rollback proposal quotes.
type Measure struct {
	Threshold Threshold
	// Count and Of are what it counts over the window: errors of events,
	// 429s of requests, failed of finished jobs (Of is 0 for a count;
	// job_pending: Count is the jobs pending over the limit now).
	Count, Of int64
	// Value is what is compared with Threshold.Max: a share, a count, or
	// (job_pending) the longest pending time in seconds.
	Value float64
	// Sampled is false while a share rests on too few events to mean
	// anything: it cannot breach yet.
	Sampled bool
	Over    bool
	Since   time.Time // when it went over
	// Total is Count of Of since the watcher started (job_pending: jobs
	// finished over the limit, of jobs finished), for a watch of any
	// length: a monitor step takes the difference.
	Total Rate
}

// Breach is a measure over its limit.
type Breach = Measure

// For is how long the breach has lasted at now.
func (b Measure) For(now time.Time) time.Duration { return now.Sub(b.Since) }

// Text says the breach in words, with its window and age:
// "error rate 3.2% (8 of 250) > 1% over 5m, for 4m".
func (b Measure) Text(now time.Time) string {
	return fmt.Sprintf("%s, for %s", b.Plain(), shortDuration(b.For(now)))
}

// Plain says the measure against its limit, over its window:
// "error rate 3.2% (8 of 250) > 1% over 5m".
func (b Measure) Plain() string {
	t := b.Threshold
	cmp := "≤"
	if b.Over || b.Value > t.Max {
		cmp = ">"
	}
	return fmt.Sprintf("%s %s %s %s over %s", t.Name, b.Figure(), cmp, t.Limit(), t.WindowText())
}

// Figure is the measured value as the pane shows it: "3.2% (8 of 250)",
// "1", "5m01s".
func (b Measure) Figure() string {
	t := b.Threshold
	switch {
	case t.Kind == "job_pending":
		return clock(time.Duration(b.Value * float64(time.Second)))
	case t.IsShare() && b.Of > 0:
		return fmt.Sprintf("%s (%d of %d)", percent(b.Value), b.Count, b.Of)
	case t.IsShare():
		return percent(b.Value)
	}
	return fmt.Sprintf("%.0f", b.Value)
}

// Limit is the threshold's maximum as the pane shows it: "1%", "0", "5m".
func (t Threshold) Limit() string {
	switch {
	case t.Kind == "job_pending":
		return clock(time.Duration(t.Max * float64(time.Second)))
	case t.IsShare():
		return percent(t.Max)
	}
	return fmt.Sprintf("%.0f", t.Max)
}

// clock is a duration to the second, the way a pending job is told:
// "4m59s", "5m", "12s".
func clock(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d%time.Minute == 0 && d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
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
	t, _ := d.ErrorRule()
	return t.Max
}

// ErrorRule returns the runbook's error-rate threshold.
func (d *Definition) ErrorRule() (Threshold, bool) {
	for _, t := range d.Thresholds {
		if t.Kind == "error_rate" {
			return t, true
		}
	}
	return Threshold{}, false
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
	// SecretsLate says the last secrets list came after the deadline (it
	// is used all the same).
	SecretsLate string
	LogErr      string // why the log stream is down, when it is
	LogGap      string // "log stream restarted after 12s gap"
	LogRate     float64
	LogDropped  uint64 // lines the engine could not keep
	// LogsFrom is the time of the oldest line the engine has read: how far
	// back its windows can see.
	LogsFrom time.Time
	// LogsHour counts every line of the last hour, and the errors among
	// them, whatever integration they belong to.
	LogsHour Rate
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
