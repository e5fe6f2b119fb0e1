package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
)

// sideEffects is a command line's world, watched for anything a command
// did: a console opened, a server listening, a fly call, a file written
// in the state directory.
type sideEffects struct {
	state, flyCalls, config, keys string
	ui, served                    bool
}

func watchSideEffects(t *testing.T) *sideEffects {
	t.Helper()
	dir := t.TempDir()
	w := &sideEffects{state: filepath.Join(dir, "state"), flyCalls: filepath.Join(dir, "fly-calls")}
	t.Setenv("XDG_STATE_HOME", w.state)
	fly := filepath.Join(dir, "fly")
	if err := os.WriteFile(fly, []byte("#!/bin/sh\necho \"$@\" >> "+w.flyCalls+"\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	w.config = filepath.Join(dir, "hotdash.toml")
	cfg := "platform = \"flyctl\"\n[fly]\nbinary = \"" + fly + "\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\nproduction = true\n"
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w.keys = filepath.Join(dir, "operators")
	if err := os.WriteFile(w.keys, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyFakeKeyFakeKeyFakeKeyFakeKeyFakeKey alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// cli is a command line whose UI and server report that they ran.
func (w *sideEffects) cli() (*cli, *strings.Builder, *strings.Builder) {
	c, _, _ := testCLI()
	var out, errb strings.Builder
	c.stdout, c.stderr = &out, &errb
	c.getenv = os.Getenv
	c.runUI = func(tea.Model) error { w.ui = true; return nil }
	c.onServe = func(string, *runbook.Runner, *connect.Stack) { w.served = true }
	return c, &out, &errb
}

// what lists what the command did, or "" when it did nothing.
func (w *sideEffects) what(t *testing.T) string {
	t.Helper()
	var did []string
	if w.ui {
		did = append(did, "opened the console")
	}
	if w.served {
		did = append(did, "listened")
	}
	if b, err := os.ReadFile(w.flyCalls); err == nil {
		did = append(did, "called fly "+strings.TrimSpace(string(b)))
	}
	_ = filepath.WalkDir(w.state, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			did = append(did, "wrote "+path)
		}
		return nil
	})
	return strings.Join(did, "; ")
}

// Every command, asked for its help, prints its usage and does nothing
// else: no console, no journal, no listener, no fly call.
func TestEveryCommandsHelpPrintsItsUsageAndRunsNothing(t *testing.T) {
	w := watchSideEffects(t)
	for _, tc := range []struct {
		name  string
		args  []string
		usage string
	}{
		{"the console", []string{"--config", w.config, "--help"}, "hotdash-console [flags]"},
		{"the console, -h", []string{"-h"}, "hotdash-console [flags]"},
		{"demo", []string{"demo", "--scenario", "flaky", "--help"}, "hotdash-console demo [flags]"},
		{"check", []string{"check", "--config", w.config, "--help"}, "hotdash-console check (--config FILE | --demo) [flags]"},
		{"check --demo", []string{"check", "--demo", "--help"}, "hotdash-console check (--config FILE | --demo) [flags]"},
		{"check --watch", []string{"check", "--demo", "--watch", "1h", "--help"}, "hotdash-console check"},
		{"serve", []string{"serve", "--authorized-keys", w.keys, "--listen", "127.0.0.1:0", "--help"}, "hotdash-console serve --authorized-keys FILE [flags]"},
		{"serve on the real apps", []string{"serve", "--config", w.config, "--authorized-keys", w.keys, "--help"}, "hotdash-console serve"},
		{"report", []string{"report", "--config", w.config, "--help"}, "hotdash-console report [flags]"},
		{"runbook", []string{"runbook", "--help"}, "hotdash-console runbook [flags]\n  hotdash-console runbook [command]"},
		{"runbook lint", []string{"runbook", "lint", "--help"}, "hotdash-console runbook lint [FILE] [flags]"},
		{"runbook show", []string{"runbook", "show", "--help"}, "hotdash-console runbook show [FILE] [flags]"},
		{"version", []string{"version", "--help"}, "hotdash-console version [flags]"},
		{"completion", []string{"completion", "--help"}, "hotdash-console completion [command]"},
		{"completion bash", []string{"completion", "bash", "--help"}, "hotdash-console completion bash"},
		{"help check", []string{"help", "check"}, "hotdash-console check (--config FILE | --demo) [flags]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, out, errb := w.cli()
			err := c.run(context.Background(), tc.args)
			if err != nil {
				t.Fatalf("%v: %v (exit %d)\n%s", tc.args, err, exitCode(err), errb)
			}
			if !strings.Contains(out.String(), "Usage:\n  "+tc.usage) || !strings.Contains(out.String(), "-h, --help") {
				t.Errorf("%v printed no usage %q:\n%s", tc.args, tc.usage, out)
			}
			if did := w.what(t); did != "" {
				t.Errorf("%v %s", tc.args, did)
			}
		})
	}
}

// An unknown flag, on any command, is answered with the message, the
// command's usage and exit 2, and nothing runs.
func TestUnknownFlagsExitTwoWithTheUsage(t *testing.T) {
	w := watchSideEffects(t)
	for _, tc := range []struct {
		args  []string
		usage string
	}{
		{nil, "hotdash-console [flags]"},
		{[]string{"demo"}, "hotdash-console demo [flags]"},
		{[]string{"check", "--demo"}, "hotdash-console check (--config FILE | --demo) [flags]"},
		{[]string{"serve", "--authorized-keys", w.keys}, "hotdash-console serve --authorized-keys FILE [flags]"},
		{[]string{"report"}, "hotdash-console report [flags]"},
		{[]string{"runbook"}, "hotdash-console runbook [flags]"},
		{[]string{"runbook", "lint"}, "hotdash-console runbook lint [FILE] [flags]"},
		{[]string{"runbook", "show"}, "hotdash-console runbook show [FILE] [flags]"},
		{[]string{"version"}, "hotdash-console version [flags]"},
	} {
		c, _, errb := w.cli()
		args := append(tc.args, "--bogus")
		err := c.run(context.Background(), args)
		if code := c.fail(err); code != 2 {
			t.Errorf("%v: %v (exit %d)", args, err, code)
			continue
		}
		if m := testkit.Missing(errb.String(), "hotdash-console: unknown flag: --bogus", "Usage:\n  "+tc.usage); m != "" {
			t.Errorf("%v: stderr lacks %q:\n%s", args, m, errb)
		}
		if did := w.what(t); did != "" {
			t.Errorf("%v %s", args, did)
		}
	}
}

// The watch above sees a command that does run.
func TestSideEffectsAreSeen(t *testing.T) {
	w := watchSideEffects(t)
	c, _, _ := w.cli()
	_ = c.run(context.Background(), []string{"check", "--config", w.config})
	if did := w.what(t); !strings.Contains(did, "called fly") {
		t.Errorf("check on the real apps did %q", did)
	}
	w = watchSideEffects(t)
	c, _, _ = w.cli()
	_ = c.run(context.Background(), []string{"demo"})
	if did := w.what(t); !strings.Contains(did, "opened the console") || !strings.Contains(did, "wrote") {
		t.Errorf("demo did %q", did)
	}
}

// The guide's own mistake: `runbook show --help` used to open a file
// called --help.
func TestRunbookShowHelpOpensNoFile(t *testing.T) {
	c, out, _ := testCLI()
	if err := c.run(context.Background(), []string{"runbook", "show", "--help"}); err != nil || strings.Contains(out.String(), "no such file") {
		t.Errorf("err %v, output %q", err, out)
	}
	c, out, _ = testCLI()
	path := filepath.Join(t.TempDir(), "mine.toml")
	_ = os.WriteFile(path, runbook.DefaultBytes(), 0o600)
	if err := c.run(context.Background(), []string{"runbook", "show", path}); err != nil || !strings.Contains(out.String(), "2.6 Activate production") {
		t.Errorf("show FILE: %v %q", err, out)
	}
}

// A usage mistake found by a command's body (check without a
// configuration) is answered like a bad flag: exit 2 and the usage.
func TestCheckWithoutConfigShowsTheUsage(t *testing.T) {
	w := watchSideEffects(t)
	c, _, errb := w.cli()
	err := c.run(context.Background(), []string{"check"})
	if code := c.fail(err); code != 2 || testkit.Missing(errb.String(), "check needs --config FILE", "Usage:\n  hotdash-console check") != "" {
		t.Errorf("exit %d:\n%s", code, errb)
	}
	// A configuration error is not a usage mistake: the message alone.
	bad := filepath.Join(t.TempDir(), "bad.toml")
	_ = os.WriteFile(bad, []byte("platfrom = 1\n"), 0o600)
	c, _, errb = w.cli()
	err = c.run(context.Background(), []string{"check", "--config", bad})
	if code := c.fail(err); code != 2 || strings.Contains(errb.String(), "Usage:") {
		t.Errorf("exit %d:\n%s", code, errb)
	}
}

func TestShellCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_hotdash-console",
		"zsh":  "#compdef hotdash-console",
		"fish": "complete -c hotdash-console",
	} {
		c, out, _ := testCLI()
		if err := c.run(context.Background(), []string{"completion", shell}); err != nil || !strings.Contains(out.String(), want) {
			t.Errorf("completion %s: %v, no %q in %d bytes", shell, err, want, out.Len())
		}
	}
	// The shells ask the binary itself: scenarios and environments complete.
	c, out, _ := testCLI()
	if err := c.run(context.Background(), []string{"__complete", "demo", "--scenario", ""}); err != nil ||
		testkit.Missing(out.String(), "healthy\t", "missing-migration\t", "chatwoot-rate-limited\t") != "" {
		t.Errorf("scenarios: %v %q", err, out)
	}
	c, out, _ = testCLI()
	if err := c.run(context.Background(), []string{"__complete", "check", "--env", ""}); err != nil ||
		testkit.Missing(out.String(), "production\thotdash-app", "dev\thotdash-app-dev") != "" {
		t.Errorf("environments: %v %q", err, out)
	}
	c, out, _ = testCLI()
	if err := c.run(context.Background(), []string{"__complete", ""}); err != nil ||
		testkit.Missing(out.String(), "check\t", "demo\t", "serve\t", "report\t", "runbook\t", "completion\t") != "" {
		t.Errorf("commands: %v %q", err, out)
	}
}
