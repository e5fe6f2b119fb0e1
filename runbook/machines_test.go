package runbook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/fly/machinesfake"
)

// machinesStack is the console on platform "machines" against the Fly
// Machines API at apiURL (a machinesfake), with a PostgREST that has the
// idea_pool table.
func machinesStack(t *testing.T, apiURL, token string) *connect.Stack {
	t.Helper()
	postgrest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode([]map[string]any{{"id": 1}})
	}))
	t.Cleanup(postgrest.Close)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "source": "mock"})
	}))
	t.Cleanup(app.Close)
	cfg, err := config.Parse("hotdash.toml", []byte(`platform = "machines"
[fly]
machines_url = "`+apiURL+`/v1"
logs_url = "`+apiURL+`"
[watch]
probe_interval = "100ms"
secrets_interval = "100ms"
machines_interval = "100ms"
[[environment]]
name = "production"
app = "hotdash-app"
url = "`+app.URL+`"
production = true
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FLY_ACCESS_TOKEN": token, "SUPABASE_URL": postgrest.URL, "SUPABASE_SERVICE_KEY": "sb_service_key_for_tests"}
	return startStack(t, connect.Options{Config: cfg, Defs: Default().Integrations, Getenv: func(k string) string { return env[k] }})
}

// TestMachinesCrashChild is the console that gets killed on platform
// "machines": it sets the Supabase flag (staged) and says so. It runs only
// as the child of TestResumeAfterAKillBetweenWriteAndApplyPassesTheJournaledVersion.
func TestMachinesCrashChild(t *testing.T) {
	path := os.Getenv("HDC_MACHINES_JOURNAL")
	if path == "" {
		t.Skip("runs as a child process only")
	}
	st := machinesStack(t, os.Getenv("HDC_MACHINES_API"), os.Getenv("HDC_MACHINES_TOKEN"))
	h := harnessOn(t, st, path, "alice", false)
	for _, id := range pre {
		if err := h.r.Skip(id, h.alice, "checked by hand"); err != nil {
			t.Fatal(err)
		}
	}
	h.override("1.1", "pre-activation checked by hand")
	h.pass("1.1", "1.2")
	os.Stdout.WriteString("WRITTEN\n")
	time.Sleep(time.Minute) // killed before this ends
}

// The secrets version of a write lives in the journal: a console killed
// between the write and the apply is resumed by one that deploys at that
// version, not without it.
func TestResumeAfterAKillBetweenWriteAndApplyPassesTheJournaledVersion(t *testing.T) {
	f := machinesfake.New(t)
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	killChildAt(t, "TestMachinesCrashChild", "WRITTEN", "HDC_MACHINES_JOURNAL="+path, "HDC_MACHINES_API="+f.URL(), "HDC_MACHINES_TOKEN="+f.Token)
	written := f.Version(machinesfake.AppName)
	if n := len(f.Recorded(http.MethodPost, "/secrets")); n != 1 || f.Updates(machinesfake.MachineIAD) != 0 {
		t.Fatalf("before the resume: %d secrets writes, %d updates; want the one write and no apply", n, f.Updates(machinesfake.MachineIAD))
	}

	// A new console, a new platform, the same journal.
	st := machinesStack(t, f.URL(), f.Token)
	if v, ok := st.Book.SecretsVersion(machinesfake.AppName); ok {
		t.Fatalf("a fresh console already knows version %d", v)
	}
	h := harnessOn(t, st, path, "bob", false)
	if v, ok := st.Book.SecretsVersion(machinesfake.AppName); !ok || v != written {
		t.Fatalf("after the replay the console knows version %d (%v), want %d", v, ok, written)
	}
	h.pass("1.3")
	for _, id := range []string{machinesfake.MachineIAD, machinesfake.MachineORD} {
		if got := f.MinSecretsVersion(machinesfake.AppName, id); got != written {
			t.Errorf("machine %s updated with min_secrets_version %d, want the journaled %d", id, got, written)
		}
	}
	if n := len(f.Recorded(http.MethodPost, "/secrets")); n != 1 {
		t.Errorf("%d secrets writes: the resumed console had to learn the version again", n)
	}
	var journaled int64
	for _, rec := range h.records() {
		if rec.Action == ActWriteDone && rec.Step == "1.2" {
			journaled = rec.SecretsVersion
		}
	}
	if journaled != written {
		t.Errorf("1.2's write.done journaled secrets version %d, want %d", journaled, written)
	}
}
