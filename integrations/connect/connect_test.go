package connect

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/fly/flyfake"
	"github.com/hotdash/hotdash-console/integrations/hotdash"
	"github.com/hotdash/hotdash-console/integrations/supabase"
)

func TestGA4TokenFileThatCannotBeReadIsReported(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	if err := flyfake.Save(state, flyfake.NewState()); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(flyfake.AppHandler(state, "hotdash-app"))
	defer app.Close()

	cfg := config.Default()
	tokenFile := filepath.Join(dir, "ga4-token")
	cfg.Services.GA4.PropertyID = "123456789"
	cfg.Services.GA4.TokenFile = tokenFile
	ec := cfg.Environments[0]
	e := &Env{Config: ec, App: ec.App, Client: hotdash.New(app.URL, 5*time.Second), Services: cfg.ServicesFor(&ec)}
	defs := []*integrations.Definition{{ID: "ga4", Source: integrations.SourceSpec{
		Kind: "http", Method: "GET", Path: "/api/analytics/traffic", Field: "source", Live: []string{"ga4"}, Mock: []string{"mock"},
	}}}
	st := &Stack{Config: cfg}
	probes := st.probes(e, Options{Defs: defs, Getenv: func(string) string { return "" }})

	res := probes["ga4"].Check(t.Context())
	if res.Err == nil || !strings.Contains(res.Err.Error(), "GA4 token: token file: open "+tokenFile) {
		t.Errorf("err = %v, want the token file's own error", res.Err)
	}
	if res.Source != integrations.SourceMock {
		t.Errorf("source = %v: the app's answer is still read", res.Source)
	}
}

func TestSupabaseDBURLIsUsedWhenSet(t *testing.T) {
	cfg, err := config.Parse("hotdash.toml", []byte("platform = \"flyctl\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_SERVICE_KEY": "sb_key"}
	getenv := func(k string) string { return env[k] }
	ec := cfg.Environments[0]
	e := &Env{Config: ec, App: ec.App, Services: cfg.ServicesFor(&ec)}
	st := &Stack{Config: cfg}
	if m, why := st.migrations(e, Options{Getenv: getenv}); !isREST(m) {
		t.Errorf("without SUPABASE_DB_URL: %T %q, want PostgREST", m, why)
	}
	env["SUPABASE_DB_URL"] = "postgres://postgres:pw@db.abc.supabase.co:5432/postgres"
	if m, why := st.migrations(e, Options{Getenv: getenv}); !isPostgres(m) {
		t.Errorf("with SUPABASE_DB_URL: %T %q, want the database", m, why)
	}
	// The simulator never reaches a database the operator's shell names.
	sim := config.Default()
	se := sim.Environments[0]
	if m, _ := (&Stack{Config: sim}).migrations(&Env{Config: se, App: se.App, Services: sim.ServicesFor(&se)}, Options{Getenv: getenv}); isPostgres(m) {
		t.Error("the demo checks the operator's database")
	}
}

func isREST(m integrations.MigrationChecker) bool     { _, ok := m.(*supabase.REST); return ok }
func isPostgres(m integrations.MigrationChecker) bool { _, ok := m.(*supabase.Postgres); return ok }

// A GA4 token command (gcloud auth print-access-token) is run for the
// token: its last line on stdout, whatever it says on stderr; a failing or
// hanging command is a readable error.
func TestGA4TokenCommand(t *testing.T) {
	tests := []struct {
		name, command, want, wantErr string
	}{
		{name: "prints a token", command: `echo "WARNING: update available" >&2; printf 'ya29.fresh\n'`, want: "ya29.fresh"},
		{name: "fails", command: `echo "not logged in" >&2; exit 1`, wantErr: "exit status 1: not logged in"},
		{name: "prints nothing", command: `true`, wantErr: "printed no token"},
		{name: "hangs", command: `sleep 30`, wantErr: "timed out after 200ms"},
		{name: "prints without end", command: `yes`, wantErr: "answer too large (over 64 KB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := commandToken(t.Context(), tt.command, 200*time.Millisecond)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("token %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// Each integration's probe runs at its configured interval, else at its
// service's pace (Publer 2m, GA4 5m), else at the common interval.
func TestProbeIntervals(t *testing.T) {
	cfg := config.Default()
	cfg.Integrations = map[string]config.IntegrationSettings{"chatwoot": {ProbeInterval: config.Duration{Duration: 30 * time.Second}}}
	defs := []*integrations.Definition{
		{ID: "supabase", Source: integrations.SourceSpec{Kind: "http", Path: "/api/analytics/idea-pool", Field: "source"}},
		{ID: "publer", Source: integrations.SourceSpec{Kind: "logs"}},
		{ID: "ga4", Source: integrations.SourceSpec{Kind: "http", Path: "/api/analytics/traffic", Field: "source"}},
		{ID: "chatwoot", Source: integrations.SourceSpec{Kind: "chatwoot"}},
	}
	st, err := Build(Options{Config: cfg, Defs: defs})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := st.Env("production").Watcher
	want := map[string]time.Duration{"supabase": 10 * time.Second, "publer": 2 * time.Minute, "ga4": 5 * time.Minute, "chatwoot": 30 * time.Second}
	for id, d := range want {
		if got := w.ProbeInterval(id); got != d {
			t.Errorf("%s probes every %s, want %s", id, got, d)
		}
	}
}
