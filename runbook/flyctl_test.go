package runbook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/fly/flyfake"
)

// The test binary doubles as the fake fly: run through a link named
// "fly", it is flyctl over a state file.
func init() {
	if os.Getenv(flyfake.StateEnv) != "" && filepath.Base(os.Args[0]) == "fly" {
		os.Exit(flyfake.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

// TestSupabaseActivationThroughFlyctl runs the guide's Supabase activation
// with platform "flyctl" and a fly on the PATH: secrets read, the flag set
// on stdin and deployed, the logs tailed, the source verified on the app.
func TestSupabaseActivationThroughFlyctl(t *testing.T) {
	dir := t.TempDir()
	exe, _ := os.Executable()
	if err := os.Symlink(exe, filepath.Join(dir, "fly")); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state.json")
	if err := flyfake.Save(state, flyfake.NewState()); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(flyfake.AppHandler(state, "hotdash-app"))
	defer app.Close()
	dev := httptest.NewServer(flyfake.AppHandler(state, "hotdash-app-dev"))
	defer dev.Close()
	postgrest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apikey") != "sb_service_key_for_tests" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode([]map[string]any{{"id": 1}})
	}))
	defer postgrest.Close()

	cfgText := `platform = "flyctl"
[fly]
binary = "` + filepath.Join(dir, "fly") + `"
[watch]
probe_interval = "100ms"
secrets_interval = "100ms"
machines_interval = "100ms"
[[environment]]
name = "production"
app = "hotdash-app"
url = "` + app.URL + `"
production = true
[[environment]]
name = "dev"
app = "hotdash-app-dev"
url = "` + dev.URL + `"
`
	cfg, err := config.Parse("hotdash.toml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SUPABASE_URL": postgrest.URL, "SUPABASE_SERVICE_KEY": "sb_service_key_for_tests", "FLY_ACCESS_TOKEN": "fo1_token_for_tests"}
	rb := fastRunbook()
	st, err := connect.Build(connect.Options{Config: cfg, Defs: rb.Integrations,
		Getenv:  func(k string) string { return env[k] },
		Environ: append(os.Environ(), flyfake.StateEnv+"="+state, "FLY_ACCESS_TOKEN=fo1_token_for_tests")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := filepath.Join(dir, "journal.jsonl")
	j, loaded, err := OpenJournal(path, Holder{Operator: "alice"}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	hist, _ := Replay(rb, path, loaded, false, st.Book)
	r := NewRunner(Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice", History: hist})
	defer r.Close()
	h := &harness{t: t, st: st, rb: rb, j: j, r: r, alice: r.Join("alice"), path: path}
	// The contract tests and the manual checks are not this machine's to
	// run: skipped, and 1.1 goes on past them by an override.
	for _, id := range pre {
		if err := r.Skip(id, h.alice, "checked by hand"); err != nil {
			t.Fatal(err)
		}
	}
	h.override("1.1", "pre-activation checked by hand with the manager")
	h.pass("1.1")
	p, err := r.Run("1.2", h.alice)
	if err != nil {
		t.Fatal(err)
	}
	if p.Lines[0] != "fly secrets set IDEA_POOL_SUPABASE_ENABLED=- -a hotdash-app --stage   (stdin: true)" {
		t.Errorf("the prompt shows %q", p.Lines)
	}
	if err := r.Answer(p.ID, Answer{Typed: "hotdash-app", By: h.alice}); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	h.pass("1.3", "1.4")
	if s := r.State().Step("1.4"); !strings.Contains(s.Result, `source = "supabase"`) {
		t.Errorf("1.4: %q", s.Result)
	}
	w := st.Env("production").Watcher
	waitUntil(t, func() bool {
		s := w.Latest().Integration("supabase")
		return s.Flag.State == integrations.FlagTrue && s.Source == integrations.SourceLive && len(w.Latest().Machines) == 2
	})
	// The log stream is flyctl's: lines from fly logs --json reach the pane.
	waitUntil(t, func() bool {
		for _, l := range w.Backlog()[0] {
			if strings.Contains(l.Message, "served 24 ideas from supabase") {
				return true
			}
		}
		return false
	})
	// The flag went in on stdin, never on a command line.
	s, err := flyfake.Load(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.Calls {
		if strings.Contains(strings.Join(c, " "), "=true") {
			t.Errorf("a value on a command line: %q", c)
		}
	}
	if s.Stdin["IDEA_POOL_SUPABASE_ENABLED"] != "true" {
		t.Errorf("stdin: %+v", s.Stdin)
	}
}
