// Command hotdash-console is the terminal console for activating and
// monitoring HotDash's production integrations. Without a configuration it
// runs on an embedded simulated environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/tui"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = ""

// exitError carries an exit code: 2 for usage and configuration errors.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func usageError(format string, args ...any) error {
	return exitError{2, fmt.Errorf(format, args...)}
}

// cli is the command line's dependencies, injected so every command runs in
// tests without a terminal.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// runUI runs a Bubble Tea program; tests replace it.
	runUI func(m tea.Model) error
}

func main() {
	c := &cli{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		runUI: func(m tea.Model) error {
			_, err := tea.NewProgram(m).Run()
			return err
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := c.run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotdash-console:", err)
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

func versionString() string {
	v := version
	if v == "" {
		v = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return "hotdash-console " + v
}

const usage = `hotdash-console: live activation and monitoring of HotDash's integrations

Usage:
  hotdash-console [flags]                 open the console (the simulator when no --config)
  hotdash-console demo [--scenario NAME]  open the console on the simulator

Flags:
  --config FILE     configuration (see config.toml.example); without it, the simulator
  --env NAME        environment to open on (default: the configured default)
  --runbook FILE    runbook to follow (default: the embedded activation guide)
  --scenario NAME   simulator scenario: %s
  --version         print the version
  --help            this text

Keys inside the console: ? shows them all.
`

// globalFlags are accepted by every command.
type globalFlags struct {
	config, env, runbook, scenario string
	version, help                  bool
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", "", "configuration file")
	fs.StringVar(&g.env, "env", "", "environment")
	fs.StringVar(&g.runbook, "runbook", "", "runbook file")
	fs.StringVar(&g.scenario, "scenario", "", "simulator scenario")
	fs.BoolVar(&g.version, "version", false, "print the version")
	fs.BoolVar(&g.help, "help", false, "show help")
	fs.BoolVar(&g.help, "h", false, "show help")
}

func (c *cli) run(ctx context.Context, args []string) error {
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var g globalFlags
	fs := flag.NewFlagSet("hotdash-console", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError("%v (see --help)", err)
	}
	if g.help {
		fmt.Fprintf(c.stdout, usage, sim.ScenarioNames())
		return nil
	}
	if g.version {
		fmt.Fprintln(c.stdout, versionString())
		return nil
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q (see --help)", fs.Arg(0))
	}
	switch cmd {
	case "":
		return c.console(ctx, g, g.config == "")
	case "demo":
		if g.config != "" {
			return usageError("demo runs on the simulator: drop --config, or run without 'demo'")
		}
		return c.console(ctx, g, true)
	case "help":
		fmt.Fprintf(c.stdout, usage, sim.ScenarioNames())
		return nil
	case "version":
		fmt.Fprintln(c.stdout, versionString())
		return nil
	}
	return usageError("unknown command %q (see --help)", cmd)
}

// load reads the configuration and runbook the flags name.
func (c *cli) load(g globalFlags, demo bool) (*config.Config, *runbook.Runbook, error) {
	var cfg *config.Config
	if demo {
		cfg = config.Default()
	} else {
		var err error
		if cfg, err = config.Load(g.config); err != nil {
			return nil, nil, exitError{2, err}
		}
	}
	if g.scenario != "" {
		if cfg.Platform != "sim" {
			return nil, nil, usageError("--scenario is for the simulator; %s uses platform %q", cfg.File, cfg.Platform)
		}
		cfg.Sim.Scenario = g.scenario
	}
	rb := runbook.Default()
	path := g.runbook
	if path == "" {
		path = cfg.Runbook
	}
	if path != "" {
		var err error
		if rb, err = runbook.Load(path); err != nil {
			return nil, nil, exitError{2, err}
		}
	}
	if g.env != "" {
		if _, ok := cfg.Env(g.env); !ok {
			var names []string
			for _, e := range cfg.Environments {
				names = append(names, e.Name)
			}
			return nil, nil, usageError("no environment %q (have: %s)", g.env, strings.Join(names, ", "))
		}
	}
	return cfg, rb, nil
}

func (c *cli) console(ctx context.Context, g globalFlags, demo bool) error {
	cfg, rb, err := c.load(g, demo)
	if err != nil {
		return err
	}
	stack, err := connect.Build(connect.Options{Config: cfg, Defs: rb.Integrations, Getenv: c.getenv})
	if err != nil {
		return exitError{2, err}
	}
	if err := stack.Start(ctx); err != nil {
		return err
	}
	defer stack.Close()
	m := tui.New(tui.Options{Stack: stack, Runbook: rb, Env: g.env, Scenario: cfg.Sim.Scenario})
	defer m.Close()
	return c.runUI(m)
}
