// Package fly reaches Fly.io: through the operator's own flyctl (Flyctl)
// or through the Machines API (Machines).
package fly

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// FlyctlOptions configure the flyctl platform.
type FlyctlOptions struct {
	// Binary is the fly command: a name on PATH or a path (default "fly").
	Binary string
	// Env is the environment flyctl runs with (default os.Environ()).
	Env []string
	// Timeout bounds every command but the apply and the log stream
	// (default 60s); an apply has applyTimeout.
	Timeout time.Duration
	// MaxOutput is how much one command may print before its answer is
	// refused (default integrations.AnswerLimit, 4 MB). The log stream is
	// read line by line and has no such limit.
	MaxOutput int64
}

// applyTimeout bounds an apply: a rolling deploy waits for every machine's
// health checks.
const applyTimeout = 15 * time.Minute

// noTailWait bounds `fly logs --no-tail`, which waits for a first line: on
// a quiet app nothing by then is the answer, not a failure.
const noTailWait = 10 * time.Second

// stderrKeep is how much of fly's stderr is kept: the end, where its
// Error: line is.
const stderrKeep = 64 << 10

// Flyctl is the Platform that drives the operator's own flyctl, with its
// login. Secret values go in on stdin (NAME=-), never on the command line.
// Every fly it runs has a process group of its own, stopped whole when its
// time is up.
type Flyctl struct {
	o     FlyctlOptions
	path  string
	board integrations.ApplyBoard

	mu      sync.Mutex
	regions map[string]string // machine id -> region, from the last fly status
}

var _ integrations.Platform = (*Flyctl)(nil)
var _ integrations.EnvReader = (*Flyctl)(nil)
var _ integrations.ApplyReporter = (*Flyctl)(nil)

// NewFlyctl finds the fly binary. A missing one is said plainly.
func NewFlyctl(o FlyctlOptions) (*Flyctl, error) {
	if o.Binary == "" {
		o.Binary = "fly"
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = integrations.AnswerLimit
	}
	path, err := exec.LookPath(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("flyctl not found (%q is not on PATH): install it (https://fly.io/docs/flyctl/install/) or set fly.binary in the configuration", o.Binary)
	}
	return &Flyctl{o: o, path: path, regions: map[string]string{}}, nil
}

// Name is "flyctl".
func (f *Flyctl) Name() string { return "flyctl" }

// ApplyProgress is the apply running on app, if one is.
func (f *Flyctl) ApplyProgress(app string) (integrations.ApplyProgress, bool) {
	return f.board.ApplyProgress(app)
}

// CheckAuth asks flyctl who is logged in, so a missing token is said once,
// plainly, before anything else runs.
func (f *Flyctl) CheckAuth(ctx context.Context) error {
	_, err := f.run(ctx, f.o.Timeout, nil, "auth", "whoami")
	if err != nil {
		return fmt.Errorf("flyctl is not logged in: set FLY_ACCESS_TOKEN (or FLY_API_TOKEN) or run `fly auth login` (%v)", err)
	}
	return nil
}

// CmdError is a flyctl command that failed.
type CmdError struct {
	Args []string
	Code int
	// Msg is flyctl's own `Error:` line, or the last thing it printed,
	// sanitised and bounded.
	Msg string
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("fly %s: %s", strings.Join(e.Args, " "), e.Msg)
}

// clean is text from fly made safe to show: terminal escapes and control
// characters removed, white space collapsed, cut to n runes.
func clean(s string, n int) string { return httpc.Clip(integrations.Sanitize([]byte(s)), n) }

// errorLine finds flyctl's "Error: ..." line in its stderr, colour codes
// (CLICOLOR_FORCE) removed first, or else the last line it printed.
func errorLine(stderr []byte) string {
	var last string
	for _, l := range bytes.Split(stderr, []byte("\n")) {
		line := strings.TrimSpace(integrations.Sanitize(l))
		if msg, ok := strings.CutPrefix(line, "Error:"); ok {
			return clean(msg, 500)
		}
		if line != "" {
			last = line
		}
	}
	return clean(last, 500)
}

// run runs fly with args, giving it stdin, and returns its stdout, at most
// MaxOutput of it.
func (f *Flyctl) run(ctx context.Context, timeout time.Duration, stdin []byte, args ...string) ([]byte, error) {
	quietOK := slices.Contains(args, "--no-tail")
	if quietOK {
		timeout = min(timeout, noTailWait)
	}
	timeout = deadlineThatApplies(ctx, timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, out, stderr, err := f.start(ctx, args, stdin)
	if err != nil {
		return nil, &CmdError{Args: args, Code: -1, Msg: err.Error()}
	}
	stdout, readErr := integrations.ReadLimited(out, f.o.MaxOutput)
	var tooLarge *integrations.TooLargeError
	if errors.As(readErr, &tooLarge) {
		cancel() // its answer is refused: stop it
		_ = p.Wait()
		return nil, &CmdError{Args: args, Code: -1, Msg: tooLarge.Error()}
	}
	waitErr := p.Wait()
	stopped := p.Stopped()
	if quietOK && errors.Is(stopped, context.DeadlineExceeded) && len(bytes.TrimSpace(stdout)) == 0 {
		return nil, nil // nothing logged yet: no lines is an answer
	}
	return stdout, cmdError(stopped, args, waitErr, stderr.Bytes(), timeout)
}

// deadlineThatApplies is timeout, or what is left of ctx's deadline when
// that comes first, so a message names the deadline that ended a command.
func deadlineThatApplies(ctx context.Context, timeout time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			return max(left, 0)
		}
	}
	return timeout
}

// start starts fly with args in a process group of its own under ctx, in
// the platform's environment and with stdin (if any) as its input. It
// returns the running process, its stdout to read to the end (or close)
// before Wait, and the end of its stderr.
func (f *Flyctl) start(ctx context.Context, args []string, stdin []byte) (*integrations.Group, io.ReadCloser, *tailBuffer, error) {
	cmd := exec.Command(f.path, args...)
	cmd.Env = f.o.Env
	stderr := &tailBuffer{keep: stderrKeep}
	cmd.Stderr = stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	p, out, err := integrations.StartGroup(ctx, cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, out, stderr, nil
}

// tailBuffer keeps the last bytes written to it, at most twice keep.
type tailBuffer struct {
	keep int
	mu   sync.Mutex
	b    []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.keep {
		t.b = append(t.b[:0], t.b[len(t.b)-t.keep:]...)
	}
	return len(p), nil
}

// Bytes is what was kept.
func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.b)
}

// cmdError turns how a fly command ended into a CmdError carrying
// flyctl's own Error: line, or nil. stopped is why its context ended it,
// timeout the deadline that applied.
func cmdError(stopped error, args []string, err error, stderr []byte, timeout time.Duration) error {
	switch {
	case errors.Is(stopped, context.DeadlineExceeded):
		return &CmdError{Args: args, Code: -1, Msg: "timed out after " + durationText(timeout)}
	case stopped != nil:
		return &CmdError{Args: args, Code: -1, Msg: "stopped: the console cancelled it"}
	}
	code := integrations.ExitCode(err)
	if code > 0 {
		msg := errorLine(stderr)
		// flyctl's own exit codes for its deadline and an interrupt.
		what := map[int]string{126: "fly timed out", 127: "fly was interrupted"}[code]
		switch {
		case what != "" && msg != "":
			msg = what + ": " + msg
		case what != "":
			msg = what
		case msg == "":
			msg = fmt.Sprintf("exit status %d", code)
		}
		return &CmdError{Args: args, Code: code, Msg: msg}
	}
	if err != nil {
		return &CmdError{Args: args, Code: -1, Msg: err.Error()}
	}
	return nil
}

// durationText is d as a message names it: 60s, 2.5s, 400ms (what is
// left of a caller's deadline is a little less than the deadline).
func durationText(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= 100*time.Millisecond:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// notFound marks a missing app as integrations.ErrNotFound, keeping
// flyctl's words: "Could not find App" (wrapped: "failed to get app: ..."),
// or the Machines API's "app not found" that `secrets list` passes on.
func notFound(err error) error {
	var ce *CmdError
	if errors.As(err, &ce) && (strings.Contains(ce.Msg, "Could not find App") || strings.Contains(strings.ToLower(ce.Msg), "app not found")) {
		return appNotFound{err}
	}
	return err
}

type appNotFound struct{ error }

func (e appNotFound) Unwrap() error        { return e.error }
func (e appNotFound) Is(target error) bool { return target == integrations.ErrNotFound }

// Secrets is `fly secrets list -a APP --json`, in any of the three shapes
// flyctl versions print.
func (f *Flyctl) Secrets(ctx context.Context, app string) ([]integrations.Secret, error) {
	out, err := f.run(ctx, f.o.Timeout, nil, "secrets", "list", "-a", app, "--json")
	if err != nil {
		return nil, notFound(err)
	}
	return parseSecrets(out)
}

// parseSecrets reads [{"name","digest","status"}], [{"name","digest"}] or
// [{"Name","Digest","CreatedAt"}].
func parseSecrets(out []byte) ([]integrations.Secret, error) {
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		return nil, fmt.Errorf("fly secrets list: unexpected output: %s", snippet(out))
	}
	field := func(row map[string]any, name string) string {
		for k, v := range row {
			if strings.EqualFold(k, name) {
				if s, ok := v.(string); ok {
					return s
				}
			}
		}
		return ""
	}
	secrets := make([]integrations.Secret, 0, len(rows))
	for _, row := range rows {
		s := integrations.Secret{
			Name:   clean(field(row, "name"), 128),
			Digest: clean(field(row, "digest"), 64),
			Status: integrations.SecretStatus(clean(field(row, "status"), 16)),
		}
		if t, err := time.Parse(time.RFC3339, field(row, "createdat")); err == nil {
			s.Created = t
		}
		if s.Name == "" {
			return nil, fmt.Errorf("fly secrets list: an entry has no name: %s", snippet(out))
		}
		secrets = append(secrets, s)
	}
	return secrets, nil
}

// snippet is the start of flyctl's output, on one line, for an error.
func snippet(b []byte) string { return clean(string(b[:min(len(b), 4096)]), 120) }

// SetSecrets sets each value with `fly secrets set NAME=- --stage`, the
// value on stdin, then deploys unless staging.
func (f *Flyctl) SetSecrets(ctx context.Context, app string, values map[string]string, stage bool, progress integrations.Progress) error {
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if _, err := f.run(ctx, f.o.Timeout, []byte(values[name]), "secrets", "set", name+"=-", "-a", app, "--stage"); err != nil {
			return notFound(err)
		}
	}
	if stage {
		return nil
	}
	return f.Apply(ctx, app, integrations.ApplyDeploy, progress)
}

// UnsetSecrets is `fly secrets unset NAME... -a APP --stage`.
func (f *Flyctl) UnsetSecrets(ctx context.Context, app string, names []string, stage bool, progress integrations.Progress) error {
	args := append([]string{"secrets", "unset"}, names...)
	if _, err := f.run(ctx, f.o.Timeout, nil, append(args, "-a", app, "--stage")...); err != nil {
		return notFound(err)
	}
	if stage {
		return nil
	}
	return f.Apply(ctx, app, integrations.ApplyDeploy, progress)
}

// Apply is `fly secrets deploy -a APP`: flyctl makes a release and updates
// the machines one at a time, waiting for each one's health checks. Each
// machine is reported from flyctl's progress lines as it comes; the exit
// code decides. It succeeds when flyctl said every machine reached a good
// state, or else `fly status` shows every machine done; a failure says
// where each machine stands.
func (f *Flyctl) Apply(ctx context.Context, app string, _ integrations.ApplyMode, progress integrations.Progress) error {
	progress, end := f.board.Track(app, progress)
	defer end()
	args := []string{"secrets", "deploy", "-a", app}
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	p, out, stderr, err := f.start(ctx, args, nil)
	if err != nil {
		return &CmdError{Args: args, Code: -1, Msg: err.Error()}
	}
	d := newDeployReader(f.knownRegions())
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if ev, ok := d.read(sc.Bytes()); ok {
			progress(ev)
		}
	}
	// A line too long for the scanner ends the reading: the rest still has
	// to go somewhere, or fly blocks on a full pipe until the timeout.
	_, _ = io.Copy(io.Discard, out)
	waitErr := p.Wait()
	if err := notFound(cmdError(p.Stopped(), args, waitErr, stderr.Bytes(), applyTimeout)); err != nil {
		if errors.Is(err, integrations.ErrNotFound) {
			return err
		}
		return f.whereMachinesStand(ctx, app, d, err)
	}
	if d.allGood() {
		return nil
	}
	// flyctl exited 0 without saying so of every machine: ask.
	ms, err := f.Machines(ctx, app)
	if err != nil {
		return &integrations.ApplyError{App: app, Cause: fmt.Errorf("fly secrets deploy exited 0, but the machines could not be read to verify it: %w", err)}
	}
	return integrations.VerifyMachines(app, ms)
}

// whereMachinesStand is the error of a deploy that failed with cause: each
// machine as `fly status` shows it, with what flyctl said of it.
func (f *Flyctl) whereMachinesStand(ctx context.Context, app string, d *deployReader, cause error) error {
	e := &integrations.ApplyError{App: app, Cause: cause}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(f.o.Timeout, 15*time.Second))
	defer cancel()
	ms, err := f.Machines(sctx, app)
	if err != nil {
		for _, id := range d.order {
			e.Machines = append(e.Machines, d.standing(id, integrations.MachineStanding{Machine: id, Region: d.regions[id], Stand: integrations.StandUnverified, Detail: "fly status could not be read"}))
		}
		return e
	}
	for _, m := range ms {
		e.Machines = append(e.Machines, d.standing(m.ID, integrations.Standing(m)))
	}
	return e
}

// knownRegions is a copy of the regions the last fly status showed.
func (f *Flyctl) knownRegions() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.regions)
}

// machineRE finds a machine ID (14 hex digits) in flyctl's output.
var machineRE = regexp.MustCompile(`\b([0-9a-f]{14})\b`)

// progressRE splits a progress line of `fly secrets deploy`: the status
// glyph flyctl prints today (✔ done, ✖ failed, > running), the machine's
// place "[1/2]" (zero-padded on larger apps), and the rest.
var progressRE = regexp.MustCompile(`^(✔|✖|>)?\s*(?:\[0*(\d+)/(\d+)\])?\s*(.*)$`)

// deployReader turns the lines of `fly secrets deploy` into machine
// events. It reads today's format (`✔ [1/2] Machine <id> is now in a good
// state`) and the older one (`[1/2] Machine <id> [app] update finished:
// success`).
type deployReader struct {
	regions map[string]string
	of      int
	byPlace map[int]string    // "[k/N]" -> machine id
	seen    map[string]string // machine id -> "good", "failed" or "running"
	said    map[string]string // machine id -> the last line about it
	order   []string
}

func newDeployReader(regions map[string]string) *deployReader {
	return &deployReader{regions: regions, byPlace: map[int]string{}, seen: map[string]string{}, said: map[string]string{}}
}

// read turns one line into an event, when the line is about a machine.
func (d *deployReader) read(raw []byte) (integrations.MachineEvent, bool) {
	line := clean(string(raw), 300)
	m := progressRE.FindStringSubmatch(line)
	glyph, rest := m[1], m[4]
	place, _ := strconv.Atoi(m[2])
	if of, _ := strconv.Atoi(m[3]); of > 0 {
		d.of = of
	}
	id := ""
	if found := machineRE.FindStringSubmatch(rest); found != nil {
		id = found[1]
		if place > 0 {
			d.byPlace[place] = id
		}
	} else if place > 0 {
		id = d.byPlace[place]
	}
	if id == "" {
		return integrations.MachineEvent{}, false
	}
	if _, ok := d.seen[id]; !ok {
		d.order = append(d.order, id)
	}
	low := strings.ToLower(rest)
	ev := integrations.MachineEvent{Machine: id, Region: d.regions[id], Message: line, State: "updating", Of: d.of}
	switch {
	case strings.Contains(low, "skipping machine update"):
		d.seen[id] = "untouched"
		ev.State, ev.Done = "untouched", true
	case strings.Contains(low, "is now in a good state") || strings.Contains(low, "update finished: success"):
		d.seen[id] = "good"
		ev.State, ev.Done = "started", true
	case glyph == "✖" || strings.Contains(low, "update finished:") || strings.HasPrefix(low, "failed"):
		d.seen[id] = "failed"
		ev.State, ev.Done, ev.Err = "failed", true, errors.New(rest)
	default:
		if d.seen[id] == "" {
			d.seen[id] = "running"
		}
		if glyph == "✔" {
			return integrations.MachineEvent{}, false // a lease cleared: nothing new about the machine
		}
	}
	d.said[id] = rest
	return ev, true
}

// allGood reports whether flyctl said of every machine that it reached a
// good state.
func (d *deployReader) allGood() bool {
	if d.of == 0 || len(d.seen) != d.of {
		return false
	}
	for _, s := range d.seen {
		if s != "good" {
			return false
		}
	}
	return true
}

// standing is where machine id stands: st from fly status, with what
// flyctl said of it.
func (d *deployReader) standing(id string, st integrations.MachineStanding) integrations.MachineStanding {
	switch d.seen[id] {
	case "failed":
		st.Stand, st.Detail = integrations.StandFailed, d.said[id]
	case "", "untouched":
		if st.Stand != integrations.StandDone {
			st.Stand = integrations.StandUntouched
		}
	}
	return st
}

// Machines reads `fly status -a APP --json`: the app's own machines
// (console and release-command machines, and destroyed ones, left out),
// each compared with the app's release.
func (f *Flyctl) Machines(ctx context.Context, app string) ([]integrations.Machine, error) {
	out, err := f.run(ctx, f.o.Timeout, nil, "status", "-a", app, "--json")
	if err != nil {
		return nil, notFound(err)
	}
	var st struct {
		Version  any `json:"Version"`
		Machines []struct {
			ID     string     `json:"id"`
			Name   string     `json:"name"`
			State  string     `json:"state"`
			Region string     `json:"region"`
			Checks []apiCheck `json:"checks"`
			Config struct {
				Metadata map[string]any `json:"metadata"`
			} `json:"config"`
		} `json:"Machines"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("fly status: unexpected output: %s", snippet(out))
	}
	appRelease := clean(metaString(st.Version), 16)
	var ms []integrations.Machine
	regions := map[string]string{}
	for _, m := range st.Machines {
		meta := func(k string) string { return metaString(m.Config.Metadata[k]) }
		if !ownMachine(m.State, meta("fly_process_group"), meta("process_group")) {
			continue
		}
		mc := newMachine(m.ID, m.Name, m.State, m.Region, m.Checks)
		release := clean(meta("fly_release_version"), 16)
		if release != "" {
			mc.Version = "v" + release
		}
		switch {
		case release == "" || appRelease == "":
			mc.Current = integrations.CurrencyUnknown
		case release == appRelease:
			mc.Current = integrations.Current
		default:
			mc.Current = integrations.Behind
		}
		regions[mc.ID] = mc.Region
		ms = append(ms, mc)
	}
	f.mu.Lock()
	f.regions = regions
	f.mu.Unlock()
	return ms, nil
}

// metaString is a metadata value as text: flyctl writes strings, older
// versions numbers.
func metaString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// ownMachine reports whether a machine is one of the app's own, as
// flyctl's deploys count them: not being destroyed, not a console or
// release-command machine.
func ownMachine(state, group, legacyGroup string) bool {
	switch {
	case state == "destroyed" || state == "destroying":
		return false
	case group == "fly_app_console" || group == "fly_app_release_command" || legacyGroup == "release_command":
		return false
	}
	return true
}

// checkTrouble is a failing check in words: "NAME STATUS: OUTPUT", bounded.
func checkTrouble(name, status, output string) string {
	s := clean(name, 64) + " " + clean(status, 16)
	if out := clean(output, 160); out != "" {
		s += ": " + out
	}
	return s
}

// StreamLogs runs `fly logs -a APP --json` and decodes its stream of
// pretty-printed objects, delivering them in batches. When flyctl exits,
// it returns why; the watcher reopens it with backoff and shows the gap.
func (f *Flyctl) StreamLogs(ctx context.Context, app string, sink func([]integrations.LogLine)) error {
	args := []string{"logs", "-a", app, "--json"}
	// fly logs runs under its own context, so a stream that cannot be read
	// stops it without waiting for ctx.
	cmdCtx, stop := context.WithCancel(ctx)
	defer stop()
	cmd, out, stderr, err := f.start(cmdCtx, args, nil)
	if err != nil {
		return &CmdError{Args: args, Code: -1, Msg: err.Error()}
	}
	lines := make(chan integrations.LogLine, 4096)
	var decodeErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(lines)
		decodeErr = decodeLogs(out, func(l integrations.LogLine) { lines <- l })
	})
	batch := make([]integrations.LogLine, 0, 512)
	for l := range lines {
		batch = integrations.DeliverBatch(batch, l, lines, sink)
	}
	wg.Wait()
	if decodeErr != nil {
		stop() // nobody reads the rest: fly logs would go on forever
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil
	}
	msg := errorLine(stderr.Bytes())
	switch {
	case msg != "":
		return &CmdError{Args: args, Code: exitCode(waitErr), Msg: msg}
	case decodeErr != nil:
		return fmt.Errorf("fly logs: %v", decodeErr)
	case waitErr != nil:
		return &CmdError{Args: args, Code: exitCode(waitErr), Msg: waitErr.Error()}
	}
	return errors.New("fly logs ended")
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// decodeLogs reads concatenated JSON objects until the stream ends,
// handing each line to emit.
func decodeLogs(r io.Reader, emit func(integrations.LogLine)) error {
	dec := json.NewDecoder(r)
	for {
		var obj struct {
			Timestamp string `json:"timestamp"`
			Message   string `json:"message"`
			Level     string `json:"level"`
			Instance  string `json:"instance"`
			Region    string `json:"region"`
		}
		if err := dec.Decode(&obj); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("unreadable log stream: %v", err)
		}
		l := integrations.LogLine{
			Level:    integrations.ParseLevel(obj.Level),
			Instance: obj.Instance,
			Region:   obj.Region,
			Message:  integrations.Sanitize([]byte(obj.Message)),
		}
		if t, err := time.Parse(time.RFC3339Nano, obj.Timestamp); err == nil {
			l.Time = t
		}
		emit(l)
	}
}

// RecentLogs is `fly logs -a APP --no-tail --json`: the recent lines,
// at once.
func (f *Flyctl) RecentLogs(ctx context.Context, app string) ([]integrations.LogLine, error) {
	out, err := f.run(ctx, f.o.Timeout, nil, "logs", "-a", app, "--no-tail", "--json")
	if err != nil {
		return nil, notFound(err)
	}
	var lines []integrations.LogLine
	err = decodeLogs(bytes.NewReader(out), func(l integrations.LogLine) { lines = append(lines, l) })
	return lines, err
}

// ReadEnv is `fly ssh console -a APP -C 'printenv NAME'`: the value the
// running machine has, "" when it is not set.
func (f *Flyctl) ReadEnv(ctx context.Context, app, name string) (string, error) {
	out, err := f.run(ctx, f.o.Timeout, nil, "ssh", "console", "-a", app, "-C", "printenv "+name)
	var ce *CmdError
	if errors.As(err, &ce) && ce.Code == 1 && strings.TrimSpace(string(out)) == "" &&
		(ce.Msg == "exit status 1" || strings.Contains(ce.Msg, "exited with status 1")) {
		return "", nil // printenv exits 1 when the variable is not set
	}
	if err != nil {
		return "", notFound(err)
	}
	return clean(string(out), 4096), nil
}

// Describe renders a write as the fly commands the console runs: each
// value on stdin, shown masked unless it is a flag.
func (f *Flyctl) Describe(op integrations.Op) []string {
	switch op.Kind {
	case integrations.OpSet:
		var out []string
		for _, name := range slices.Sorted(maps.Keys(op.Values)) {
			shown := integrations.Mask
			if op.Plain[name] {
				shown = op.Values[name]
			}
			cmd := fmt.Sprintf("fly secrets set %s=- -a %s", name, op.App)
			if op.Stage {
				cmd += " --stage"
			}
			out = append(out, fmt.Sprintf("%s   (stdin: %s)", cmd, shown))
		}
		return out
	}
	return integrations.FlyCommands(op)
}
