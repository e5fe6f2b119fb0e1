package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

func testCLI() (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cli{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(string) string { return "" },
		runUI:  func(tea.Model) error { return nil },
		clock:  integrations.RealClock{},
	}, &out, &errb
}

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestVersionAndHelp(t *testing.T) {
	c, out, _ := testCLI()
	if err := c.run(context.Background(), []string{"--version"}); err != nil || !strings.HasPrefix(out.String(), "hotdash-console ") {
		t.Errorf("--version: %v %q", err, out)
	}
	out.Reset()
	if err := c.run(context.Background(), []string{"--help"}); err != nil || testkit.Missing(out.String(), "demo ", "check ", "serve ", "report ", "runbook ", "completion ", "chatwoot-rate-limited") != "" {
		t.Errorf("--help: %v %q", err, out)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"frobnicate"}, {"demo", "extra"}, {"--env", "staging"}, {"runbook"}, {"runbook", "frob"}, {"runbook", "show", "a", "b"}, {"demo", "--config", "x.toml"}} {
		c, _, _ := testCLI()
		if err := c.run(context.Background(), args); exitCode(err) != 2 {
			t.Errorf("%v: %v (exit %d)", args, err, exitCode(err))
		}
	}
}

func TestMalformedConfigIsAClearErrorNamingFileLineAndKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hotdash.toml")
	if err := os.WriteFile(path, []byte("platform = \"flyctl\"\n\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\nap_url = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, _ := testCLI()
	err := c.run(context.Background(), []string{"--config", path})
	if exitCode(err) != 2 || err.Error() != path+":6: environment.ap_url: unknown key" {
		t.Errorf("err = %v (exit %d)", err, exitCode(err))
	}
}

func TestUnknownScenarioIsAUsageError(t *testing.T) {
	c, _, _ := testCLI()
	err := c.run(context.Background(), []string{"demo", "--scenario", "sunny"})
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `unknown scenario "sunny"`) {
		t.Errorf("err = %v", err)
	}
}

func TestDemoRunsTheUIOnTheSimulator(t *testing.T) {
	c, _, _ := testCLI()
	var got tea.Model
	c.runUI = func(m tea.Model) error { got = m; return nil }
	if err := c.run(context.Background(), []string{"demo", "--scenario", "flaky", "--journal", filepath.Join(t.TempDir(), "j.jsonl")}); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("no UI ran")
	}
	got, _ = got.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	if !strings.Contains(got.View().Content, "DEMO") || !strings.Contains(got.View().Content, "scenario flaky") {
		t.Errorf("the first frame:\n%s", got.View().Content)
	}
}

func TestRunbookLintExitsOneWithFileLineErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.toml")
	data := "[[integration]]\nid = \"a\"\n[integration.source]\nkind = \"chatwoot\"\n[[phase]]\nid = \"p\"\n[[step]]\nid = \"s\"\nphase = \"p\"\nkind = \"warp\"\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, out, _ := testCLI()
	err := c.run(context.Background(), []string{"runbook", "lint", path})
	if exitCode(err) != 1 || !strings.Contains(out.String(), path+`:10: step.kind: "warp" is not a step kind`) {
		t.Errorf("err %v, output %q", err, out)
	}
	c, out, _ = testCLI()
	if err := c.run(context.Background(), []string{"runbook", "lint"}); err != nil || !strings.Contains(out.String(), "ok") {
		t.Errorf("the embedded runbook: %v %q", err, out)
	}
	// Steps' environments are checked against the configuration's.
	cfg := filepath.Join(t.TempDir(), "hotdash.toml")
	if err := os.WriteFile(cfg, []byte("platform = \"flyctl\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, out, _ = testCLI()
	err = c.run(context.Background(), []string{"runbook", "lint", "--config", cfg})
	if exitCode(err) != 1 || !strings.Contains(out.String(), `step.env: step "2.2" runs on environment "dev", which the configuration does not define (it has production)`) {
		t.Errorf("against a configuration without dev: %v %q", err, out)
	}
	c, out, _ = testCLI()
	if err := c.run(context.Background(), []string{"runbook", "show"}); err != nil || !strings.Contains(out.String(), "- [ ] 2.6 Activate production (set secrets)") || !strings.Contains(out.String(), "⚠ ONLY after dev testing succeeds") {
		t.Errorf("show: %v %q", err, out)
	}
}

func TestReportFromAJournal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.jsonl")
	c, _, _ := testCLI()
	c.runUI = func(m tea.Model) error { return nil }
	if err := c.run(context.Background(), []string{"demo", "--journal", path, "--operator", "alice"}); err != nil {
		t.Fatal(err)
	}
	c, out, _ := testCLI()
	if err := c.run(context.Background(), []string{"report", "--journal", path}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Activation report", "Operators: alice", "| 1.1 Verify migration | not run |", "## Success criteria", "Mock fallback"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestJournalLockedByAnotherConsoleIsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	c, _, _ := testCLI()
	held := make(chan struct{})
	release := make(chan struct{})
	c.runUI = func(m tea.Model) error { close(held); <-release; return nil }
	done := make(chan error)
	go func() {
		done <- c.run(context.Background(), []string{"demo", "--journal", path, "--operator", "alice"})
	}()
	<-held
	c2, _, _ := testCLI()
	err := c2.run(context.Background(), []string{"demo", "--journal", path, "--operator", "bob"})
	close(release)
	<-done
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "is in use by alice") {
		t.Errorf("err = %v", err)
	}
}

func TestMissingFlyTokenIsSaidPlainlyAtStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hotdash.toml")
	_ = os.WriteFile(cfg, []byte("platform = \"machines\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\n"), 0o600)
	c, _, _ := testCLI()
	err := c.run(context.Background(), []string{"--config", cfg, "--journal", filepath.Join(dir, "j.jsonl")})
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "no Fly token: set FLY_ACCESS_TOKEN or FLY_API_TOKEN") {
		t.Errorf("err = %v", err)
	}
	_ = os.WriteFile(cfg, []byte("platform = \"flyctl\"\n[fly]\nbinary = \"/nonexistent/fly\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\n"), 0o600)
	err = c.run(context.Background(), []string{"--config", cfg, "--journal", filepath.Join(dir, "j.jsonl")})
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "flyctl not found") {
		t.Errorf("err = %v", err)
	}
}
