package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/fly/flyfake"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
)

// The test binary doubles as the fake fly when run through a link named fly.
func init() {
	if os.Getenv(flyfake.StateEnv) != "" && filepath.Base(os.Args[0]) == "fly" {
		os.Exit(flyfake.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

// fakeFly links the test binary as fly in a new directory, and returns the
// directory, the fly and where its state goes.
func fakeFly(t *testing.T) (dir, fly, state string) {
	t.Helper()
	dir = t.TempDir()
	exe, _ := os.Executable()
	fly = filepath.Join(dir, "fly")
	if err := os.Symlink(exe, fly); err != nil {
		t.Fatal(err)
	}
	return dir, fly, filepath.Join(dir, "state.json")
}

func checkCLI(t *testing.T) (*cli, *strings.Builder, string) {
	t.Helper()
	c, _, _ := testCLI()
	var out strings.Builder
	c.stdout = &out
	dir := t.TempDir()
	c.getenv = func(k string) string {
		if k == "XDG_STATE_HOME" {
			return dir
		}
		return ""
	}
	return c, &out, dir
}

func TestCheckDemoJSONShapeAndExitZero(t *testing.T) {
	c, out, dir := checkCLI(t)
	hist := filepath.Join(dir, "h.jsonl")
	if err := c.run(context.Background(), []string{"check", "--demo", "--json", "--history", hist, "--journal", filepath.Join(dir, "j.jsonl")}); err != nil {
		t.Fatalf("healthy demo: %v", err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(out.String()), &obj); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"env", "app", "checked_at", "ok", "integrations"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("no %q in %s", k, out)
		}
	}
	if _, err := time.Parse(time.RFC3339, obj["checked_at"].(string)); err != nil {
		t.Errorf("checked_at: %v", err)
	}
	ints := obj["integrations"].([]any)
	first := ints[0].(map[string]any)
	for _, k := range []string{"name", "flag", "source", "expected_source", "healthy", "error_rate", "latency_ms", "problems"} {
		if _, ok := first[k]; !ok {
			t.Errorf("integration has no %q: %v", k, first)
		}
	}
	if f := first["flag"].(map[string]any); f["name"] != "IDEA_POOL_SUPABASE_ENABLED" || f["state"] != "unset" {
		t.Errorf("flag: %v", f)
	}
	if _, ok := first["problems"].([]any); !ok {
		t.Errorf("problems is not a list: %v", first["problems"])
	}
	h, _ := runbook.ReadHistory(hist)
	if len(h.Checks) != 1 {
		t.Errorf("history has %d checks", len(h.Checks))
	}
}

func TestCheckDegradedExitsOneNamingTheBreach(t *testing.T) {
	c, out, dir := checkCLI(t)
	err := c.run(context.Background(), []string{"check", "--demo", "--scenario", "chatwoot-rate-limited", "--journal", filepath.Join(dir, "j.jsonl")})
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "chatwoot: rate limited") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("colour when the output is not a terminal")
	}
	if !strings.Contains(out.String(), "NOT OK") || !strings.Contains(out.String(), "↳ rate limited") {
		t.Errorf("table:\n%s", out)
	}
}

func TestCheckUsageAndConfigErrorsExitTwo(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	_ = os.WriteFile(bad, []byte("platform = \"flyctl\"\nplatfrom = 1\n"), 0o600)
	for _, args := range [][]string{
		{"check"},
		{"check", "--demo", "--config", bad},
		{"check", "--config", bad},
		{"check", "--demo", "--watch", "5ms"},
		{"check", "--demo", "--bogus"},
	} {
		c, _, _ := checkCLI(t)
		if err := c.run(context.Background(), args); exitCode(err) != 2 {
			t.Errorf("%v: %v (exit %d)", args, err, exitCode(err))
		}
	}
}

// TestCheckOnMockWhenLiveExitsOne runs check against flyctl (a fake fly on
// a fake app) where the flag is deployed true but the app serves mock: the
// credentials the live path needs are gone.
func TestCheckOnMockWhenLiveExitsOne(t *testing.T) {
	dir, fly, state := fakeFly(t)
	s := flyfake.NewState()
	a := s.Apps["hotdash-app"]
	delete(a.Secrets, "SUPABASE_SERVICE_KEY")
	a.Secrets["IDEA_POOL_SUPABASE_ENABLED"] = &flyfake.Secret{Value: "true", Digest: "aa11bb22cc33dd44", Version: 2}
	a.Version = 2
	for _, m := range a.Machines {
		m.Env = map[string]string{"IDEA_POOL_SUPABASE_ENABLED": "true"}
		m.Version = 2
	}
	_ = flyfake.Save(state, s)
	app := httptest.NewServer(flyfake.AppHandler(state, "hotdash-app"))
	defer app.Close()
	cfg := filepath.Join(dir, "hotdash.toml")
	_ = os.WriteFile(cfg, []byte("platform = \"flyctl\"\n[fly]\nbinary = \""+fly+"\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\nurl = \""+app.URL+"\"\nproduction = true\n[chatwoot]\nurl = \""+app.URL+"\"\n"), 0o600)
	journal := filepath.Join(dir, "journal.jsonl")
	j, _, _ := runbook.OpenJournal(journal, runbook.Holder{Operator: "alice"}, nil)
	_ = j.Append(runbook.Record{Time: time.Now(), Operator: "alice", Action: runbook.ActWriteDone, App: "hotdash-app", Step: "1.2",
		Flags: map[string]runbook.FlagDigest{"IDEA_POOL_SUPABASE_ENABLED": {Value: "true", Digest: "aa11bb22cc33dd44"}}})
	j.Close()
	t.Setenv(flyfake.StateEnv, state)
	t.Setenv("FLY_ACCESS_TOKEN", "fo1_test")
	c, out, _ := checkCLI(t)
	err := c.run(context.Background(), []string{"check", "--config", cfg, "--journal", journal, "--json", "--history", filepath.Join(dir, "h.jsonl")})
	if exitCode(err) != 1 {
		t.Fatalf("err = %v\n%s", err, out)
	}
	var r runbook.CheckResult
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		t.Fatal(err)
	}
	sb := r.Integrations[0]
	if sb.Source != "mock" || sb.ExpectedSource != "live" || !strings.Contains(strings.Join(sb.Problems, "|"), "on mock while IDEA_POOL_SUPABASE_ENABLED (true) says live") {
		t.Errorf("supabase: %+v", sb)
	}
	if !strings.Contains(strings.Join(sb.Problems, "|"), "Supabase creds missing") {
		t.Errorf("the guide's diagnosis is missing: %q", sb.Problems)
	}
}

func TestCheckWatchAppendsHistoryOnTheClock(t *testing.T) {
	c, _, dir := checkCLI(t)
	clk := integrations.NewFakeClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	c.clock = clk
	hist := filepath.Join(dir, "h.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- c.run(ctx, []string{"check", "--demo", "--watch", "1h", "--history", hist, "--journal", filepath.Join(dir, "j.jsonl")})
	}()
	checks := func() int {
		h, _ := runbook.ReadHistory(hist)
		return len(h.Checks)
	}
	for want := 1; want <= 3; want++ {
		testkit.Eventually(t, 20*time.Second, func() error {
			if checks() < want || clk.Waiters() == 0 {
				return fmt.Errorf("check %d never came", want)
			}
			return nil
		})
		if want < 3 {
			clk.Advance(time.Hour)
		}
	}
	cancel()
	<-done
	h, _ := runbook.ReadHistory(hist)
	if len(h.Checks) != 3 || h.Checks[1].CheckedAt.Sub(h.Checks[0].CheckedAt) != time.Hour {
		t.Errorf("history: %d checks, first two %v apart", len(h.Checks), h.Checks[1].CheckedAt.Sub(h.Checks[0].CheckedAt))
	}
}

func TestNoColorIsHonoured(t *testing.T) {
	c, _, _ := checkCLI(t)
	if c.colour() {
		t.Error("colour for a buffer")
	}
	t.Setenv("NO_COLOR", "1")
	c.stdout = os.Stdout
	if c.colour() {
		t.Error("colour with NO_COLOR set")
	}
}

// fakeFlyApp is a fake fly and the app it runs, with the flag deployed
// true on every machine, and a config for them. The journal records the
// flag's digest only when recorded is true.
func fakeFlyApp(t *testing.T, recorded bool, flyScript string, callTimeout string) (cfg, journal string) {
	t.Helper()
	dir := t.TempDir()
	exe, _ := os.Executable()
	fly := filepath.Join(dir, "fly")
	_ = os.Symlink(exe, fly)
	if flyScript != "" {
		wrapper := filepath.Join(dir, "fly-wrapper")
		_ = os.WriteFile(wrapper, []byte("#!/bin/sh\n"+flyScript+"\nexec "+fly+" \"$@\"\n"), 0o700)
		fly = wrapper
	}
	state := filepath.Join(dir, "state.json")
	s := flyfake.NewState()
	a := s.Apps["hotdash-app"]
	a.Secrets["IDEA_POOL_SUPABASE_ENABLED"] = &flyfake.Secret{Value: "true", Digest: "aa11bb22cc33dd44", Version: 2}
	a.Version = 2
	for _, m := range a.Machines {
		m.Env = map[string]string{"IDEA_POOL_SUPABASE_ENABLED": "true", "SUPABASE_SERVICE_KEY": "k"}
		m.Version = 2
	}
	_ = flyfake.Save(state, s)
	app := httptest.NewServer(flyfake.AppHandler(state, "hotdash-app"))
	t.Cleanup(app.Close)
	cfg = filepath.Join(dir, "hotdash.toml")
	_ = os.WriteFile(cfg, []byte("platform = \"flyctl\"\n[fly]\nbinary = \""+fly+"\"\n[watch]\ncall_timeout = \""+callTimeout+"\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\nurl = \""+app.URL+"\"\nproduction = true\n[chatwoot]\nurl = \""+app.URL+"\"\n"), 0o600)
	journal = filepath.Join(dir, "journal.jsonl")
	j, _, _ := runbook.OpenJournal(journal, runbook.Holder{Operator: "alice"}, nil)
	if recorded {
		_ = j.Append(runbook.Record{Time: time.Now(), Operator: "alice", Action: runbook.ActWriteDone, App: "hotdash-app", Step: "1.2",
			Flags: map[string]runbook.FlagDigest{"IDEA_POOL_SUPABASE_ENABLED": {Value: "true", Digest: "aa11bb22cc33dd44"}}})
	}
	j.Close()
	t.Setenv(flyfake.StateEnv, state)
	t.Setenv("FLY_ACCESS_TOKEN", "fo1_test")
	return cfg, journal
}

// What check cannot verify makes it fail, with the reason: a flag set
// outside the console (the guide's own troubleshooting does that), and a
// fly secrets list that answers after the deadline.
func TestCheckExitsOneWhenItCannotVerify(t *testing.T) {
	tests := []struct {
		name, script, timeout string
		recorded              bool
		want                  string
	}{
		{name: "flag set outside the console", timeout: "10s",
			want: "cannot verify: IDEA_POOL_SUPABASE_ENABLED is unknown (changed outside the console"},
		{name: "secrets list after the deadline", recorded: true, timeout: "1s",
			script: `case "$1 $2" in "secrets list") sleep 2 ;; esac`,
			want:   "cannot verify: IDEA_POOL_SUPABASE_ENABLED unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, journal := fakeFlyApp(t, tt.recorded, tt.script, tt.timeout)
			c, out, _ := checkCLI(t)
			err := c.run(context.Background(), []string{"check", "--config", cfg, "--journal", journal, "--json", "--history", filepath.Join(t.TempDir(), "h.jsonl")})
			if exitCode(err) != 1 {
				t.Fatalf("err = %v (exit %d)\n%s", err, exitCode(err), out)
			}
			var r runbook.CheckResult
			if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
				t.Fatal(err)
			}
			if sb := r.Integrations[0]; sb.Healthy || len(sb.Problems) == 0 || !strings.HasPrefix(sb.Problems[0], tt.want) {
				t.Errorf("supabase problems %q, want the first to start %q", sb.Problems, tt.want)
			}
		})
	}
}
