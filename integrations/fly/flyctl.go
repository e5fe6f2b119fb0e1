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
}

// applyTimeout bounds an apply: a rolling deploy waits for every machine's
// health checks.
const applyTimeout = 15 * time.Minute

// Flyctl is the Platform that drives the operator's own flyctl, with its
// login. Secret values go in on stdin (NAME=-), never on the command line.
type Flyctl struct {
	o    FlyctlOptions
	path string
}

var _ integrations.Platform = (*Flyctl)(nil)
var _ integrations.EnvReader = (*Flyctl)(nil)

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
	path, err := exec.LookPath(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("flyctl not found (%q is not on PATH): install it (https://fly.io/docs/flyctl/install/) or set fly.binary in the configuration", o.Binary)
	}
	return &Flyctl{o: o, path: path}, nil
}

// Name is "flyctl".
func (f *Flyctl) Name() string { return "flyctl" }

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
	// Msg is flyctl's own `Error:` line, or the last thing it printed.
	Msg string
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("fly %s: %s", strings.Join(e.Args, " "), e.Msg)
}

// errorLine finds flyctl's "Error: ..." line in its stderr.
func errorLine(stderr []byte) string {
	var last string
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		if msg, ok := strings.CutPrefix(l, "Error: "); ok {
			return msg
		}
		if l != "" {
			last = l
		}
	}
	return last
}

// run runs fly with args, giving it stdin, and returns stdout.
func (f *Flyctl) run(ctx context.Context, timeout time.Duration, stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd, out, stderr, err := f.start(ctx, args, stdin)
	if err != nil {
		return nil, cmdError(ctx, args, err, nil, timeout)
	}
	stdout, _ := io.ReadAll(out)
	return stdout, cmdError(ctx, args, cmd.Wait(), stderr.Bytes(), timeout)
}

// start starts fly with args under ctx, in the platform's environment and
// with stdin (if any) as its input. It returns the running command, its
// stdout to read to the end before cmd.Wait, and the buffer collecting its
// stderr.
func (f *Flyctl) start(ctx context.Context, args []string, stdin []byte) (*exec.Cmd, io.ReadCloser, *bytes.Buffer, error) {
	cmd := exec.CommandContext(ctx, f.path, args...)
	cmd.Env = f.o.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, out, &stderr, nil
}

// cmdError turns how a fly command ended into a CmdError carrying
// flyctl's own Error: line, or nil.
func cmdError(ctx context.Context, args []string, err error, stderr []byte, timeout time.Duration) error {
	if ctx.Err() == context.DeadlineExceeded {
		return &CmdError{Args: args, Code: -1, Msg: fmt.Sprintf("timed out after %s", timeout)}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg := errorLine(stderr)
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", ee.ExitCode())
		}
		return &CmdError{Args: args, Code: ee.ExitCode(), Msg: msg}
	}
	if err != nil {
		return &CmdError{Args: args, Code: -1, Msg: err.Error()}
	}
	return nil
}

// notFound marks "Could not find App" as integrations.ErrNotFound,
// keeping flyctl's words.
func notFound(err error) error {
	var ce *CmdError
	if errors.As(err, &ce) && strings.Contains(ce.Msg, "Could not find App") {
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
		s := integrations.Secret{Name: field(row, "name"), Digest: field(row, "digest"), Status: integrations.SecretStatus(field(row, "status"))}
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
func snippet(b []byte) string { return httpc.Clip(string(b), 120) }

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

// machineRE finds a machine ID (14 hex digits) in flyctl's output.
var machineRE = regexp.MustCompile(`\b([0-9a-f]{14})\b`)

// Apply runs `fly secrets deploy -a APP` or `fly apps restart APP`,
// reporting each machine from flyctl's output as it comes.
func (f *Flyctl) Apply(ctx context.Context, app string, mode integrations.ApplyMode, progress integrations.Progress) error {
	if progress == nil {
		progress = func(integrations.MachineEvent) {}
	}
	args := []string{"secrets", "deploy", "-a", app}
	if mode == integrations.ApplyRestart {
		args = []string{"apps", "restart", app}
	}
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	cmd, out, stderr, err := f.start(ctx, args, nil)
	if err != nil {
		return &CmdError{Args: args, Code: -1, Msg: err.Error()}
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := strings.TrimSpace(integrations.Sanitize(sc.Bytes()))
		m := machineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ev := integrations.MachineEvent{Machine: m[1], Message: line, State: "updating"}
		low := strings.ToLower(line)
		switch {
		case strings.HasPrefix(low, "restarting"):
			ev.State = "restarting"
		case strings.Contains(low, "success"):
			ev.State, ev.Done = "started", true
		case strings.Contains(low, "fail") || strings.Contains(low, "error"):
			ev.State, ev.Done, ev.Err = "failed", true, errors.New(line)
		}
		progress(ev)
	}
	// A line too long for the scanner ends the reading: the rest still has
	// to go somewhere, or fly blocks on a full pipe until the timeout.
	_, _ = io.Copy(io.Discard, out)
	return notFound(cmdError(ctx, args, cmd.Wait(), stderr.Bytes(), applyTimeout))
}

// Machines reads `fly status -a APP --json`.
func (f *Flyctl) Machines(ctx context.Context, app string) ([]integrations.Machine, error) {
	out, err := f.run(ctx, f.o.Timeout, nil, "status", "-a", app, "--json")
	if err != nil {
		return nil, notFound(err)
	}
	var st struct {
		Machines []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			State  string `json:"state"`
			Region string `json:"region"`
			Checks []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"checks"`
			Config struct {
				Metadata map[string]string `json:"metadata"`
			} `json:"config"`
		} `json:"Machines"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("fly status: unexpected output: %s", snippet(out))
	}
	var ms []integrations.Machine
	for _, m := range st.Machines {
		passing := 0
		for _, c := range m.Checks {
			if c.Status == "passing" {
				passing++
			}
		}
		v := m.Config.Metadata["fly_release_version"]
		if v != "" {
			v = "v" + v
		}
		ms = append(ms, integrations.Machine{ID: m.ID, Name: m.Name, State: m.State, Region: m.Region, Version: v,
			Checks: fmt.Sprintf("%d/%d passing", passing, len(m.Checks))})
	}
	return ms, nil
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
	return strings.TrimSpace(string(out)), nil
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
