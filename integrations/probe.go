package integrations

import (
	"context"
	"time"
)

// Probe asks the outside world one question about an integration: which
// source is the app using, is the service healthy. A probe must honour ctx
// and never panic on a malformed answer: it reports it.
type Probe interface {
	Check(ctx context.Context) ProbeResult
}

// ProbeFunc adapts a function to Probe.
type ProbeFunc func(ctx context.Context) ProbeResult

func (f ProbeFunc) Check(ctx context.Context) ProbeResult { return f(ctx) }

// ProbeResult is what one check found.
type ProbeResult struct {
	Answer  string     // the field read ("supabase", "mock-job-1-..."), if any
	Source  SourceKind // what the answer means
	Warning string     // the app's own warning
	Detail  string     // short readable detail ("queue ok, data ok")
	Err     error      // the check failed: unreachable, bad status, malformed answer
	Latency time.Duration
	// AppStatus is the HTTP status the HotDash app itself answered, when
	// the probe asked the app (0 otherwise): a 5xx is the app's own error,
	// counted with its log lines; any other failure of the probe is the
	// console's reachability only.
	AppStatus int
	// Facts the check established, for the runbook's diagnoses
	// (migration_missing = true when the idea_pool table is absent).
	Facts map[DiagnosisCondition]bool
}

// Problem is the error text, or "".
func (r ProbeResult) Problem() string {
	if r.Err == nil {
		return ""
	}
	return r.Err.Error()
}

// Paced is implemented by probes whose service budgets its calls (Publer's
// 100 requests per 2 minutes per user, GA4's quota per property, both
// shared with the app): Interval is how often the probe runs unless the
// configuration says otherwise.
type Paced interface {
	Probe
	Interval() time.Duration
}

// pacedProbe gives a probe its own interval.
type pacedProbe struct {
	Probe
	every time.Duration
}

func (p pacedProbe) Interval() time.Duration { return p.every }

// WithInterval makes p run every d by default.
func WithInterval(p Probe, d time.Duration) Paced { return pacedProbe{p, d} }

// FaultSwitch is a failure the simulated environment can inject.
type FaultSwitch struct {
	Key  string // stable name: "errors", "latency", ...
	Name string // what the fault panel shows
	On   bool
}

// FaultInjector is implemented by environments that can break on purpose
// (the simulator): the demo's fault panel, and the success criterion
// "temporarily break one integration, verify mock fallback works".
type FaultInjector interface {
	FaultSwitches() []FaultSwitch
	ToggleFault(key string) (bool, error)
}

// MaxText bounds a text from outside that the console shows or records (a
// probe's answer, detail or error): longer ones are cut with "…".
const MaxText = 500

// Sanitized is r with every text from outside sanitised and bounded (see
// Clip): what a probe's answer may put in a snapshot. The source was
// classified from the raw answer before.
func (r ProbeResult) Sanitized() ProbeResult {
	r.Answer = Clip(r.Answer, MaxText)
	r.Warning = Clip(r.Warning, MaxText)
	r.Detail = Clip(r.Detail, MaxText)
	r.Err = SanitizeError(r.Err, MaxText)
	return r
}

// SafeProbe makes p's results safe to show: every text sanitised and
// bounded where it enters the console's model.
func SafeProbe(p Probe) Probe {
	safe := ProbeFunc(func(ctx context.Context) ProbeResult { return p.Check(ctx).Sanitized() })
	if paced, ok := p.(Paced); ok {
		return WithInterval(safe, paced.Interval()) // at the pace its service allows
	}
	return safe
}
