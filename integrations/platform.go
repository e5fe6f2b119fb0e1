package integrations

import (
	"context"
	"errors"
	"time"
)

// SecretStatus is a secret's deployment state as Fly reports it.
type SecretStatus string

const (
	SecretDeployed SecretStatus = "Deployed"
	SecretStaged   SecretStatus = "Staged"
	SecretPartial  SecretStatus = "Partial"
	SecretUnknown  SecretStatus = "Unknown"
	SecretNoStatus SecretStatus = "" // older flyctl and the Machines API say nothing
)

// Secret is an app secret as listed: never its value.
type Secret struct {
	Name    string
	Digest  string
	Status  SecretStatus
	Created time.Time
}

// Pending reports whether the secret is not yet on every machine.
func (s Secret) Pending() bool {
	return s.Status == SecretStaged || s.Status == SecretPartial
}

// ApplyMode is how staged secrets reach the machines. There is one way: a
// deploy (`fly secrets deploy`, or a machine update with
// min_secrets_version). A restart sends no secrets version and makes no
// release, so staged secrets never reach the machines that way: the
// guide's "restart the app" means this deploy.
type ApplyMode int

// ApplyDeploy rolls the machines with the staged secrets.
const ApplyDeploy ApplyMode = iota

func (m ApplyMode) String() string { return "deploy" }

// MachineEvent is one step of an apply, reported as it happens. Every
// string in it is sanitised and bounded by the platform.
type MachineEvent struct {
	Machine string
	Region  string // "" when the platform does not know it yet
	State   string // the machine's state now: "updating", "started", "failed"
	Message string // "Machine 3d8d is now in a good state"
	Err     error  // set when this machine failed
	Done    bool   // this machine is finished (ok or failed)
	// Of is how many machines the apply takes, 0 while unknown.
	Of int
}

// Progress receives apply progress; it must not block.
type Progress func(MachineEvent)

// Platform is where the HotDash app runs: Fly.io (through flyctl or the
// Machines API) or the simulator. Every method takes a context and must
// return when it is cancelled.
type Platform interface {
	// Name is "sim", "flyctl" or "machines".
	Name() string
	// Secrets lists the app's secrets with digest and status; never values.
	Secrets(ctx context.Context, app string) ([]Secret, error)
	// SetSecrets sets values. With stage, they wait for Apply; without,
	// the platform deploys them at once (what `fly secrets set` does).
	SetSecrets(ctx context.Context, app string, values map[string]string, stage bool, progress Progress) error
	// UnsetSecrets removes names; a missing name is not an error.
	UnsetSecrets(ctx context.Context, app string, names []string, stage bool, progress Progress) error
	// Apply puts staged secrets on the app's machines, one at a time. It
	// returns nil only when every one of the app's machines is done (see
	// VerifyMachines); otherwise an error, an *ApplyError when it can say
	// where each machine stands.
	Apply(ctx context.Context, app string, mode ApplyMode, progress Progress) error
	// Machines lists the app's own machines (never console or
	// release-command machines, nor destroyed ones) and their state.
	Machines(ctx context.Context, app string) ([]Machine, error)
	// StreamLogs delivers the app's log lines in batches until ctx ends or
	// the stream fails. sink must not keep the slice.
	StreamLogs(ctx context.Context, app string, sink func([]LogLine)) error
	// Describe renders a write as the exact command or call the platform
	// makes for it, secret values masked; used in prompts and --dry-run.
	Describe(op Op) []string
}

// EnvReader reads a live environment value from a running machine
// (`fly ssh console -C 'printenv NAME'`). Platforms that cannot, don't
// implement it.
type EnvReader interface {
	ReadEnv(ctx context.Context, app, name string) (string, error)
}

// OpKind is a kind of platform write.
type OpKind string

const (
	OpSet   OpKind = "set"
	OpUnset OpKind = "unset"
	OpApply OpKind = "apply"
)

// Op is a platform write, described before it is made.
type Op struct {
	Kind   OpKind
	App    string
	Values map[string]string // OpSet: name -> value (masked when described)
	Names  []string          // OpUnset
	Stage  bool
	Mode   ApplyMode // OpApply
	// Plain names values that may be shown (feature flags); every other
	// value is masked wherever the op is described.
	Plain map[string]bool
}

// ErrNotFound is returned when an app does not exist on the platform.
var ErrNotFound = errors.New("not found")

// LogHistory gives the app's recent log lines at once (`fly logs
// --no-tail`), for one-shot checks that cannot wait on a stream.
type LogHistory interface {
	RecentLogs(ctx context.Context, app string) ([]LogLine, error)
}

// DeliverBatch hands sink first and the lines already waiting in ch, up to
// cap(batch) lines in all, without waiting for more (a closed ch ends the
// batch too). batch is an empty buffer; it is returned emptied for the next
// call. A platform's StreamLogs reads one line, blocking, then calls it.
func DeliverBatch(batch []LogLine, first LogLine, ch <-chan LogLine, sink func([]LogLine)) []LogLine {
	batch = append(batch, first)
fill:
	for len(batch) < cap(batch) {
		select {
		case l, ok := <-ch:
			if !ok {
				break fill
			}
			batch = append(batch, l)
		default:
			break fill
		}
	}
	sink(batch)
	return batch[:0]
}
