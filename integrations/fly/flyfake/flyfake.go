// Package flyfake is a stand-in for flyctl and the HotDash app behind it,
// for tests. Run is the `fly` command line: it keeps its state (apps,
// secrets with digests, staged and deployed values, machines) in a JSON
// file between invocations and prints what flyctl prints, errors
// included. AppHandler serves the app's endpoints from the same state, so the
// source it reports follows what was deployed.
package flyfake

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// StateEnv names the variable holding the state file's path.
const StateEnv = "FLYFAKE_STATE"

// State is the fake Fly account.
type State struct {
	// RequireToken makes every command fail without FLY_ACCESS_TOKEN or
	// FLY_API_TOKEN, as flyctl does when nobody is logged in.
	RequireToken bool            `json:"require_token"`
	Apps         map[string]*App `json:"apps"`
	// Shape is the secrets list output: "current" (name, digest, status),
	// "old" (name, digest) or "pascal" (Name, Digest, CreatedAt).
	Shape string `json:"shape"`
	// Fail makes a command fail with this Error: message, by command
	// ("secrets deploy", "apps restart", "logs").
	Fail map[string]string `json:"fail"`
	// Calls records every invocation's arguments.
	Calls [][]string `json:"calls"`
	// LogNoise, when set, is printed among the log objects as a line of
	// plain text, which `fly logs --json` cannot be decoded past.
	LogNoise string `json:"log_noise,omitempty"`
	// LongLine, when set, makes secrets deploy print a line this long
	// before it updates the machines.
	LongLine int `json:"long_line,omitempty"`
	// Stdin records what each `NAME=-` read, by secret name, for tests
	// that check values never reach the command line.
	Stdin map[string]string `json:"stdin"`
	// Progress is how secrets deploy reports each machine: "" today's
	// flyctl (`✔ [1/2] Machine <id> is now in a good state`), "old" the
	// format before mid-2024 (`[1/2] Machine <id> [app] update finished:
	// success`).
	Progress string `json:"progress,omitempty"`
	// Critical names machines whose health check stays critical after an
	// update: secrets deploy fails at the first of them and skips the rest.
	Critical map[string]bool `json:"critical,omitempty"`
	// Exit makes a command exit with this code and no Error: line, by
	// command: 126 is flyctl's own deadline, 127 an interrupt.
	Exit map[string]int `json:"exit,omitempty"`
	// Quiet makes the app log nothing: `fly logs --no-tail` then waits
	// for a first line forever, as flyctl does.
	Quiet bool `json:"quiet,omitempty"`
	// MachinesUnreadable makes secrets list say Staged for every secret,
	// as flyctl does when it cannot read the machines or releases.
	MachinesUnreadable bool `json:"machines_unreadable,omitempty"`
}

// App is one Fly app.
type App struct {
	Secrets map[string]*Secret `json:"secrets"`
	// Version is the secrets version, bumped by every set or unset.
	Version int `json:"version"`
	// Release is the app's release: a deploy makes one, staging and a
	// restart do not.
	Release  int        `json:"release"`
	Machines []*Machine `json:"machines"`
}

// Secret is a secret with its value (which flyctl never shows).
type Secret struct {
	Value   string    `json:"value"`
	Digest  string    `json:"digest"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
}

// Machine is a machine with the values it was started with.
type Machine struct {
	ID      string            `json:"id"`
	Region  string            `json:"region"`
	State   string            `json:"state"`
	Version int               `json:"version"` // secrets version it runs
	Release int               `json:"release"` // release it runs
	Env     map[string]string `json:"env"`
	// Critical is a health check failing since the last update.
	Critical bool `json:"critical,omitempty"`
	// Group is config.metadata.fly_process_group: "app", or
	// "fly_app_console" for a `fly console` machine.
	Group string `json:"group,omitempty"`
}

// NewState is two HotDash apps with credentials set and every flag off.
func NewState() *State {
	s := &State{Apps: map[string]*App{}, Shape: "current", Fail: map[string]string{}, Stdin: map[string]string{}}
	for i, name := range []string{"hotdash-app", "hotdash-app-dev"} {
		a := &App{Secrets: map[string]*Secret{}, Version: 1, Release: 1}
		for k, v := range map[string]string{
			"SUPABASE_URL": "https://hotdash.supabase.co", "SUPABASE_SERVICE_KEY": "sb_service_fake_0123456789",
			"PUBLER_API_KEY": "pub_fake_0123456789", "PUBLER_WORKSPACE_ID": "ws_fake_01",
			"CHATWOOT_API_KEY": "cw_fake_0123456789", "CHATWOOT_ACCOUNT_ID": "7",
		} {
			a.Secrets[k] = &Secret{Value: v, Digest: digest(name, k, v), Version: 1, Created: time.Date(2025, 10, 1, 9, 0, 0, 0, time.UTC)}
		}
		for j, region := range []string{"iad", "ord"} {
			a.Machines = append(a.Machines, &Machine{ID: fmt.Sprintf("%d8d9e1f2b7a48%d", i+3, j), Region: region, State: "started", Version: 1, Release: 1, Env: a.values(), Group: "app"})
		}
		s.Apps[name] = a
	}
	return s
}

func digest(app, name, value string) string {
	sum := sha256.Sum256([]byte(app + "/" + name + "=" + value))
	return hex.EncodeToString(sum[:8])
}

func (a *App) values() map[string]string {
	m := map[string]string{}
	for k, s := range a.Secrets {
		m[k] = s.Value
	}
	return m
}

// Save writes a state file atomically: readers never see half of it.
func Save(path string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load reads a state file.
func Load(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, err
	}
	if s.Fail == nil {
		s.Fail = map[string]string{}
	}
	if s.Stdin == nil {
		s.Stdin = map[string]string{}
	}
	return s, nil
}

// withState runs f with the state locked, saving it when f says so.
func withState(path string, f func(s *State) (save bool, code int)) int {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	defer lock.Close()
	_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	s, err := Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	save, code := f(s)
	if save {
		if err := Save(path, s); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			return 1
		}
	}
	return code
}

// Run is `fly ARGS...`. It returns the exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	path := os.Getenv(StateEnv)
	fail := func(msg string) int {
		prefix := "Error:"
		if c := os.Getenv("CLICOLOR_FORCE"); c != "" && c != "0" {
			prefix = "\x1b[1;31mError:\x1b[0m"
		}
		fmt.Fprintf(stderr, "%s %s\n", prefix, msg)
		return 1
	}
	if path == "" {
		return fail(StateEnv + " is not set")
	}
	if len(args) == 0 {
		fmt.Fprintln(stdout, "This is flyctl, the Fly.io command line interface.")
		return 0
	}
	cmd, flags := parse(args)
	if cmd == "version" {
		fmt.Fprintln(stdout, "fly v0.3.210 linux/amd64 Commit: fake BuildDate: 2026-11-01T00:00:00Z")
		return 0
	}
	var logsApp string
	code := withState(path, func(s *State) (bool, int) {
		s.Calls = append(s.Calls, args)
		if s.RequireToken && os.Getenv("FLY_ACCESS_TOKEN") == "" && os.Getenv("FLY_API_TOKEN") == "" {
			return true, fail("no access token available. Please login with 'flyctl auth login'")
		}
		if msg, ok := s.Fail[cmd]; ok {
			return true, fail(msg)
		}
		if code, ok := s.Exit[cmd]; ok {
			return true, code
		}
		appName := flags["-a"]
		if cmd == "apps restart" && len(flags["_"]) > 0 {
			appName = flags["_"]
		}
		if cmd == "auth whoami" {
			fmt.Fprintln(stdout, "ops@hotdash.example")
			return true, 0
		}
		a := s.Apps[appName]
		if a == nil {
			if appName == "" {
				return true, fail("the apps name must be specified with --app or -a")
			}
			if cmd == "secrets list" { // read through the Machines API
				return true, fail("failed to list app secrets: app not found")
			}
			return true, fail("failed to get app: Could not find App")
		}
		switch cmd {
		case "secrets list":
			return true, secretsList(s, a, stdout)
		case "secrets set":
			return true, secretsSet(s, appName, a, flags, stdin, stdout, stderr, fail)
		case "secrets unset":
			a.Version++
			for _, n := range strings.Fields(flags["_"]) {
				delete(a.Secrets, n)
			}
			if flags["--stage"] == "" {
				return true, deploy(s, a, appName, stdout, fail)
			}
			fmt.Fprintln(stdout, "Secrets have been staged, but not set on VMs. Deploy or update machines in this app for the secrets to take effect.")
			return true, 0
		case "secrets deploy":
			if s.LongLine > 0 {
				fmt.Fprintln(stdout, strings.Repeat("=", s.LongLine))
			}
			return true, deploy(s, a, appName, stdout, fail)
		case "apps restart":
			for _, m := range a.Machines {
				if m.State != "started" {
					continue
				}
				fmt.Fprintf(stdout, "Restarting machine %s\n", m.ID)
				fmt.Fprintf(stdout, "  Waiting for %s to become healthy (started, 1/1)\n", m.ID)
				fmt.Fprintf(stdout, "Machine %s restarted successfully!\n", m.ID)
			}
			return true, 0
		case "status":
			return true, status(a, appName, stdout)
		case "ssh console":
			name := strings.TrimPrefix(flags["-C"], "printenv ")
			for _, m := range a.Machines {
				if m.State == "started" {
					if v, ok := m.Env[name]; ok {
						fmt.Fprintln(stdout, v)
						return true, 0
					}
					return true, 1 // printenv: not set
				}
			}
			return true, fail("no machines are started")
		case "logs":
			logsApp = appName
			return true, 0
		}
		return true, fail(fmt.Sprintf("unknown command %q", cmd))
	})
	if code != 0 || logsApp == "" {
		return code
	}
	return logs(path, logsApp, flags["--no-tail"] != "", stdout)
}

// parse splits flyctl arguments into the command and its flags. Positional
// arguments after the command words are joined under "_".
func parse(args []string) (string, map[string]string) {
	flags := map[string]string{}
	var words, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-a" || a == "--app" || a == "-C" || a == "--command" || a == "-r" || a == "--region" || a == "--machine":
			key := map[string]string{"--app": "-a", "--command": "-C", "--region": "-r"}[a]
			if key == "" {
				key = a
			}
			if i+1 < len(args) {
				flags[key] = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "-"):
			flags[a] = "1"
		case len(words) < 2 && len(pos) == 0 && isWord(a, words):
			words = append(words, a)
		default:
			pos = append(pos, a)
		}
	}
	if flags["-j"] != "" {
		flags["--json"] = "1"
	}
	flags["_"] = strings.Join(pos, " ")
	return strings.Join(words, " "), flags
}

func isWord(a string, words []string) bool {
	switch len(words) {
	case 0:
		return a == "secrets" || a == "apps" || a == "status" || a == "logs" || a == "ssh" || a == "auth" || a == "version"
	case 1:
		switch words[0] {
		case "secrets":
			return a == "list" || a == "set" || a == "unset" || a == "deploy"
		case "apps":
			return a == "restart"
		case "ssh":
			return a == "console"
		case "auth":
			return a == "whoami"
		}
	}
	return false
}

func printJSON(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "    ")
	fmt.Fprintln(w, string(b))
}

func secretsList(s *State, a *App, stdout io.Writer) int {
	names := make([]string, 0, len(a.Secrets))
	for n := range a.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []map[string]any
	for _, n := range names {
		sec := a.Secrets[n]
		shape := s.Shape
		if shape == "current" && len(a.Machines) > 100 {
			shape = "old" // flyctl reads no status above 100 machines
		}
		switch shape {
		case "old":
			out = append(out, map[string]any{"name": n, "digest": sec.Digest})
		case "pascal":
			out = append(out, map[string]any{"Name": n, "Digest": sec.Digest, "CreatedAt": sec.Created.Format(time.RFC3339)})
		default:
			have, own := 0, 0
			for _, m := range a.Machines {
				if m.Group == "fly_app_console" {
					continue
				}
				own++
				if m.Version >= sec.Version {
					have++
				}
			}
			st := "Deployed"
			switch {
			case s.MachinesUnreadable || have == 0:
				st = "Staged"
			case have < own:
				st = "Partial"
			}
			out = append(out, map[string]any{"name": n, "digest": sec.Digest, "status": st})
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	printJSON(stdout, out)
	return 0
}

func secretsSet(s *State, appName string, a *App, flags map[string]string, stdin io.Reader, stdout, stderr io.Writer, fail func(string) int) int {
	pairs := strings.Fields(flags["_"])
	if len(pairs) == 0 {
		fmt.Fprintln(stderr, "Error: requires at least one SECRET=VALUE pair")
		return 1
	}
	a.Version++
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			fmt.Fprintf(stderr, "Error: Secrets must be provided as NAME=VALUE pairs (%s is invalid)\n", p)
			return 1
		}
		if value == "-" {
			b, _ := io.ReadAll(bufio.NewReader(stdin))
			value = strings.TrimRight(string(b), "\r\n")
			s.Stdin[name] = value
		}
		a.Secrets[name] = &Secret{Value: value, Digest: digest(appName, name, value), Version: a.Version, Created: time.Now().UTC()}
	}
	if flags["--stage"] == "" {
		return deploy(s, a, appName, stdout, fail)
	}
	fmt.Fprintln(stdout, "Secrets have been staged, but not set on VMs. Deploy or update machines in this app for the secrets to take effect.")
	return 0
}

// deploy makes a release and rolls the app's machines one at a time,
// printing the progress lines flyctl prints (today's, or the old ones).
// A machine whose health check stays critical stops it: the machines
// after it are skipped.
func deploy(s *State, a *App, appName string, stdout io.Writer, fail func(string) int) int {
	a.Release++
	fmt.Fprintf(stdout, "Updating existing machines in '%s' with rolling strategy\n", appName)
	var own []*Machine
	for _, m := range a.Machines {
		if m.Group != "fly_app_console" {
			own = append(own, m)
		}
	}
	for i, m := range own {
		place := fmt.Sprintf("[%d/%d]", i+1, len(own))
		if s.Progress == "old" {
			fmt.Fprintf(stdout, "  %s Updating %s [app]\n", place, m.ID)
		} else {
			for _, step := range []string{"Acquiring lease for %s", "Acquired lease for %s", "Updating machine config for %s",
				"Updated machine config for %s", "Waiting for machine %s to reach a good state", "Checking health of machine %s"} {
				fmt.Fprintf(stdout, "> %s %s\n", place, fmt.Sprintf(step, m.ID))
			}
		}
		m.Env, m.Version, m.Release, m.State = a.values(), a.Version, a.Release, "started"
		m.Critical = s.Critical[m.ID]
		if m.Critical {
			why := fmt.Sprintf("timeout reached waiting for health checks to pass for machine %s: servicecheck-00-http-3000 critical", m.ID)
			if s.Progress == "old" {
				fmt.Fprintf(stdout, "  %s Machine %s [app] update finished: failed\n", place, m.ID)
			} else {
				fmt.Fprintf(stdout, "✖ %s Failed: %s\n", place, why)
				for j := i + 1; j < len(own); j++ {
					fmt.Fprintf(stdout, "✖ [%d/%d] skipping machine update due to earlier failure\n", j+1, len(own))
				}
			}
			return fail(fmt.Sprintf("failed to update machine %s: %s", m.ID, why))
		}
		if s.Progress == "old" {
			fmt.Fprintf(stdout, "  %s Machine %s [app] update finished: success\n", place, m.ID)
		} else {
			fmt.Fprintf(stdout, "✔ %s Machine %s is now in a good state\n", place, m.ID)
			fmt.Fprintf(stdout, "✔ %s Cleared lease for %s\n", place, m.ID)
		}
	}
	fmt.Fprintf(stdout, "  Finished deploying\n")
	return 0
}

func status(a *App, appName string, stdout io.Writer) int {
	var ms []map[string]any
	for i, m := range a.Machines {
		checkStatus, output := "passing", "HTTP GET http://172.19.0.2:3000/api/health: 200 OK"
		switch {
		case m.State != "started":
			checkStatus, output = "critical", "machine is "+m.State
		case m.Critical:
			checkStatus, output = "critical", "dial tcp 172.19.0.2:3000: connect: connection refused"
		}
		group := m.Group
		if group == "" {
			group = "app"
		}
		ms = append(ms, map[string]any{
			"id": m.ID, "name": fmt.Sprintf("%s-%d", m.Region, i+1), "state": m.State, "region": m.Region,
			"checks": []map[string]any{{"name": "servicecheck-00-http-3000", "status": checkStatus, "output": output}},
			"config": map[string]any{"metadata": map[string]any{"fly_process_group": group, "fly_release_version": fmt.Sprint(m.Release)}},
		})
	}
	printJSON(stdout, map[string]any{"Name": appName, "Status": "deployed", "Deployed": true, "Version": a.Release, "Machines": ms})
	return 0
}

// logs prints log objects as `fly logs --json` does: separate
// pretty-printed objects, one after another. Without --no-tail it goes on
// until killed.
func logs(path, appName string, noTail bool, stdout io.Writer) int {
	n := 0
	for {
		s, err := Load(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			return 1
		}
		if msg, ok := s.Fail["logs"]; ok {
			fmt.Fprintln(os.Stderr, "Error: "+msg)
			return 1
		}
		a := s.Apps[appName]
		for _, m := range a.Machines {
			if s.Quiet {
				break
			}
			n++
			printJSON(stdout, map[string]any{
				"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "message": logLine(m, n),
				"level": "info", "instance": m.ID, "region": m.Region, "meta": map[string]any{"event": map[string]any{"provider": "app"}},
			})
		}
		if s.LogNoise != "" {
			fmt.Fprintln(stdout, s.LogNoise)
		}
		if (noTail && !s.Quiet) || n > 2000 {
			return 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func logLine(m *Machine, n int) string {
	switch n % 3 {
	case 0:
		if m.Env["IDEA_POOL_SUPABASE_ENABLED"] == "true" {
			return "idea-pool: served 24 ideas from supabase in 80ms"
		}
		return "idea-pool: served 12 mock ideas (Supabase disabled)"
	case 1:
		if m.Env["PUBLER_LIVE"] == "true" {
			return "publer-adapter: Using real Publer API (production mode)"
		}
		return "publer-adapter: Using mock Publer adapter (PUBLER_LIVE not true)"
	}
	return "chatwoot: fetched 12 open conversations (40ms)"
}

// AppHandler serves the HotDash app's endpoints for appName from the state file:
// each answer follows the values the first started machine runs with.
func AppHandler(path, appName string) http.Handler {
	mux := http.NewServeMux()
	machineEnv := func() (map[string]string, bool) {
		s, err := Load(path)
		if err != nil {
			return nil, false
		}
		for _, m := range s.Apps[appName].Machines {
			if m.State == "started" {
				return m.Env, true
			}
		}
		return nil, false
	}
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/analytics/idea-pool", func(w http.ResponseWriter, r *http.Request) {
		env, ok := machineEnv()
		if !ok {
			http.Error(w, "no started machines", http.StatusServiceUnavailable)
			return
		}
		source := "mock"
		if env["IDEA_POOL_SUPABASE_ENABLED"] == "true" && env["SUPABASE_SERVICE_KEY"] != "" {
			source = "supabase"
		}
		write(w, map[string]any{"success": true, "source": source, "data": map[string]any{"items": []any{}, "totals": map[string]int{}}, "timestamp": time.Now().UTC().Format(time.RFC3339)})
	})
	mux.HandleFunc("GET /api/analytics/traffic", func(w http.ResponseWriter, r *http.Request) {
		env, _ := machineEnv()
		source := "mock"
		if env["ANALYTICS_REAL_DATA"] == "true" {
			source = "ga4"
		}
		write(w, map[string]any{"success": true, "source": source})
	})
	mux.HandleFunc("POST /api/social/post", func(w http.ResponseWriter, r *http.Request) {
		env, _ := machineEnv()
		id := fmt.Sprintf("mock-job-1-%d", time.Now().UnixMilli())
		if env["PUBLER_LIVE"] == "true" {
			id = fmt.Sprintf("real-job-%d", time.Now().UnixNano())
		}
		write(w, map[string]any{"ok": true, "jobId": id})
	})
	mux.HandleFunc("GET /api/social/status/{id}", func(w http.ResponseWriter, r *http.Request) {
		write(w, map[string]any{"ok": true, "status": map[string]any{"status": "complete", "payload": map[string]any{"failures": map[string]any{}}}})
	})
	return mux
}
