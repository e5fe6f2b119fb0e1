package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/sim"
)

// The command line's shape: the commands, their flags, their help and
// completion. Each command's work is a body function of its own (console,
// report, runbookCmd, check, serve) called with the options its flags
// filled; nothing here decides what a command does.

// run parses args and runs the command they name. A mistake on the command
// line (an unknown command or flag, a missing argument) is an exitError
// with code 2 that carries the command's usage; `--help` prints the usage
// and runs nothing.
func (c *cli) run(ctx context.Context, args []string) error {
	ran := false
	root := c.commands(func() { ran = true })
	root.SetArgs(args)
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	// Before a body starts, every error is cobra's: an unknown command or
	// flag, a flag's bad value, a stray argument.
	var ue usageErr
	if errors.As(err, &ue) {
		err = ue.error
	} else if ran {
		return err // the command's own failure
	}
	if cmd == nil {
		cmd = root
	}
	return exitError{2, withUsage{err, cmd.UsageString()}}
}

// withUsage is a usage mistake and the usage of the command it was made
// on, printed after the message.
type withUsage struct {
	error
	usage string
}

func (w withUsage) Unwrap() error { return w.error }

// fail reports err the way main ends: the message and, for a usage
// mistake, the command's usage on stderr; it returns the exit code.
func (c *cli) fail(err error) int {
	fmt.Fprintln(c.stderr, "hotdash-console:", err)
	var wu withUsage
	if errors.As(err, &wu) {
		fmt.Fprint(c.stderr, "\n", wu.usage)
	}
	var ee exitError
	if !errors.As(err, &ee) {
		return 1
	}
	return ee.code
}

// usageErr is a mistake on the command line found by a command's body
// ("check needs --config FILE"): run answers it like a bad flag, with exit
// 2 and the command's usage.
type usageErr struct{ error }

func usageError(format string, args ...any) error {
	return usageErr{fmt.Errorf(format, args...)}
}

const consoleKeys = `

Keys inside the console: ? shows them all.`

// commands builds the command tree; started is called when a command's
// body starts, so that what fails before it is a usage error.
func (c *cli) commands(started func()) *cobra.Command {
	body := func(f func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			started()
			return f(cmd.Context(), args)
		}
	}
	var g globalFlags
	root := &cobra.Command{
		Use:   "hotdash-console",
		Short: "Live activation and monitoring of HotDash's integrations",
		Long: `hotdash-console opens the console over HotDash's integrations on Fly.io:
one pane per integration (Supabase idea pool, Publer, GA4, Chatwoot) with
its flag, the source the app reports, error rates against the runbook's
limits and its log; the activation checklist; rollback. Without --config
it runs on an embedded simulated HotDash, marked DEMO.` + consoleKeys,
		Example: `  hotdash-console                               # the simulator
  hotdash-console --config hotdash.toml         # the real apps (see config.toml.example)
  hotdash-console --config hotdash.toml --dry-run`,
		Version:           versionString(),
		Args:              noArgs,
		SilenceErrors:     true,
		SilenceUsage:      true,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: body(func(ctx context.Context, _ []string) error {
			return c.console(ctx, g, g.config == "")
		}),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	g.addLoad(root)
	g.addJournal(root)
	g.addConsole(root)
	g.addOperator(root)
	root.AddCommand(
		c.demoCmd(body),
		c.checkCmd(body),
		c.serveCmd(body),
		c.reportCmd(body),
		c.runbookCmds(body),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  noArgs,
			RunE: body(func(context.Context, []string) error {
				fmt.Fprintln(c.stdout, versionString())
				return nil
			}),
		},
	)
	return root
}

type bodyFunc = func(f func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error

func (c *cli) demoCmd(body bodyFunc) *cobra.Command {
	var g globalFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Open the console on the simulator",
		Long: `demo opens the console on the embedded simulated HotDash (two Fly apps,
their secrets and machines, the app's endpoints, Chatwoot, Supabase and
Publer, and a live log stream), on loopback and with no credentials.
F in the console breaks things while it runs.` + consoleKeys,
		Example: `  hotdash-console demo --scenario missing-migration
  hotdash-console demo --scenario flaky --persist 1m   # a breach proposes a rollback after 1m`,
		Args: noArgs,
		RunE: body(func(ctx context.Context, _ []string) error {
			if g.config != "" {
				return usageError("demo runs on the simulator: drop --config, or run without 'demo'")
			}
			return c.console(ctx, g, true)
		}),
	}
	g.addLoad(cmd)
	_ = cmd.Flags().MarkHidden("config") // kept to say why it does not belong here
	g.addJournal(cmd)
	g.addConsole(cmd)
	g.addOperator(cmd)
	return cmd
}

// checkOptions are check's flags.
type checkOptions struct {
	globalFlags
	json    bool
	watch   time.Duration
	demo    bool
	history string
}

func (c *cli) checkCmd(body bodyFunc) *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check (--config FILE | --demo)",
		Short: "Check every integration once (or every --watch), read-only",
		Long: `check asks every integration at once, compares it with the runbook's
thresholds and with the source its flag implies, and never writes. Each
result goes to the check history beside the journal.

Exit status: 0 when every integration is healthy, 1 when one is not,
2 on a usage or configuration error.`,
		Example: `  hotdash-console check --config hotdash.toml
  hotdash-console check --config hotdash.toml --json
  hotdash-console check --config hotdash.toml --watch 2h
  hotdash-console check --demo --scenario chatwoot-rate-limited`,
		Args: noArgs,
		RunE: body(func(ctx context.Context, _ []string) error { return c.check(ctx, o) }),
	}
	o.addLoad(cmd)
	o.addJournal(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON object per check")
	f.DurationVar(&o.watch, "watch", 0, "check again every `DUR` until interrupted (e.g. 2h)")
	f.BoolVar(&o.demo, "demo", false, "check the simulator instead of a configuration")
	f.StringVar(&o.history, "history", "", "the check history `FILE` (default: history.jsonl beside the journal)")
	_ = cmd.MarkFlagFilename("history", "jsonl")
	return cmd
}

// serveOptions are serve's flags.
type serveOptions struct {
	globalFlags
	listen, keys, hostKey string
}

func (c *cli) serveCmd(body bodyFunc) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --authorized-keys FILE",
		Short: "Share the console over SSH (the simulator without --config)",
		Long: `serve shares one console over SSH: every operator's session sees the same
live panes, checklist, journal and runner, with its own focus and filters.
One session drives at a time (ctrl+t takes control; only the first
session drives on arriving); production writes wait for a second
operator's approval. Operators are named by their key's comment in the
authorized keys file, read at every login and every second: a removed key's
sessions end, and a file that cannot be used lets nobody in. Logins time
out after 10s; at most 32 connections are open at once.`,
		Example: `  cat alice.pub bob.pub > operators
  hotdash-console serve --authorized-keys operators --listen 127.0.0.1:2222
  hotdash-console serve --config hotdash.toml --authorized-keys operators
  ssh -p 2222 alice@127.0.0.1`,
		Args: noArgs,
		RunE: body(func(ctx context.Context, _ []string) error { return c.serve(ctx, o) }),
	}
	o.addLoad(cmd)
	o.addJournal(cmd)
	o.addConsole(cmd) // no --operator: each session is named by its key
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:2222", "the `ADDRESS` to listen on")
	f.StringVar(&o.keys, "authorized-keys", "", "authorized_keys `FILE`: the operators allowed in, each named by its key's comment")
	f.StringVar(&o.hostKey, "host-key", "", "host key `FILE`, generated on first run (default: beside the journal)")
	_ = cmd.MarkFlagFilename("authorized-keys")
	_ = cmd.MarkFlagFilename("host-key")
	return cmd
}

func (c *cli) reportCmd(body bodyFunc) *cobra.Command {
	var g globalFlags
	cmd := &cobra.Command{
		Use:   "report",
		Short: "The activation report, in Markdown, from the journal",
		Long: `report writes the activation report from the journal: who did what and
when, each step's result, rollbacks and the success criteria. --since adds
the integrations' health over that period from the check history.`,
		Example: `  hotdash-console report --config hotdash.toml --since 7d
  hotdash-console report --journal ~/.local/state/hotdash-console/demo-journal.jsonl`,
		Args: noArgs,
		RunE: body(func(context.Context, []string) error { return c.report(g) }),
	}
	g.addLoad(cmd)
	g.addJournal(cmd)
	cmd.Flags().StringVar(&g.since, "since", "", "add the integrations' health over this `PERIOD` (7d, 24h)")
	return cmd
}

func (c *cli) runbookCmds(body bodyFunc) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runbook",
		Short: "Check or print a runbook (default: the embedded activation guide)",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError("runbook: say lint or show")
		},
	}
	file := func(args []string) string {
		if len(args) == 0 {
			return ""
		}
		return args[0]
	}
	var cfg string // lint: the configuration whose environments the steps run on
	lint := &cobra.Command{
		Use:   "lint [FILE]",
		Short: "Check a runbook: file:line for every problem",
		Long: `runbook lint checks a runbook file (default: the embedded guide) and prints
every problem with its file and line, one per cause: unknown keys, undefined
references (a step's environment, a placeholder no input fills), values out
of their range. Steps' environments are checked against --config's, or the
default configuration's (production, dev). Exit status: 0 when it is sound,
1 when it has problems, 2 when it cannot be read.`,
		Args: maxArgs(1),
		RunE: body(func(_ context.Context, args []string) error { return c.runbookCmd("lint", file(args), cfg) }),
	}
	lint.Flags().StringVar(&cfg, "config", "", "check the steps' environments against this configuration `FILE`")
	_ = lint.MarkFlagFilename("config", "toml")
	cmd.AddCommand(
		lint,
		&cobra.Command{
			Use:   "show [FILE]",
			Short: "Print a runbook as a checklist",
			Long: `runbook show prints a runbook file (default: the embedded guide) as a
Markdown checklist: its phases and steps with the guide's commands.`,
			Args: maxArgs(1),
			RunE: body(func(_ context.Context, args []string) error { return c.runbookCmd("show", file(args), "") }),
		},
	)
	return cmd
}

// noArgs refuses arguments: an unknown command at the top, a stray word
// elsewhere.
func noArgs(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return nil
	case cmd.HasSubCommands():
		return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return fmt.Errorf("unexpected argument %q", args[0])
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return fmt.Errorf("unexpected argument %q", args[n])
		}
		return nil
	}
}

// addLoad adds the flags that choose the configuration, the environment,
// the runbook and the simulator's scenario.
func (g *globalFlags) addLoad(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&g.config, "config", "", "configuration `FILE` (see config.toml.example; default: the simulator)")
	f.StringVar(&g.env, "env", "", "the environment `NAME` (default: the configured default)")
	f.StringVar(&g.runbook, "runbook", "", "the runbook `FILE` (default: the embedded activation guide)")
	f.StringVar(&g.scenario, "scenario", "", "the simulator's scenario `NAME`: "+sim.ScenarioNames())
	_ = cmd.MarkFlagFilename("config", "toml")
	_ = cmd.MarkFlagFilename("runbook", "toml")
	_ = cmd.RegisterFlagCompletionFunc("scenario", completeScenario)
	_ = cmd.RegisterFlagCompletionFunc("env", completeEnv)
}

// addJournal adds --journal.
func (g *globalFlags) addJournal(cmd *cobra.Command) {
	cmd.Flags().StringVar(&g.journal, "journal", "", "the journal `FILE` (default: in $XDG_STATE_HOME/hotdash-console)")
	_ = cmd.MarkFlagFilename("journal", "jsonl")
}

// addConsole adds the flags of a running console: a new journal, dry run,
// and how long a breach lasts before a rollback is proposed.
func (g *globalFlags) addConsole(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&g.newJournal, "new-journal", false, "move the journal aside and start a new one")
	f.BoolVar(&g.dryRun, "dry-run", false, "make no writes: show each as it would be made")
	f.DurationVar(&g.persist, "persist", 0, "a breach lasting `DUR` proposes a rollback (default: the runbook's 15m)")
}

// addOperator adds --operator: who is at this console.
func (g *globalFlags) addOperator(cmd *cobra.Command) {
	cmd.Flags().StringVar(&g.operator, "operator", "", "the operator's `NAME`, for the journal (default: $USER)")
}

func completeScenario(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, s := range sim.Scenarios {
		out = append(out, cobra.CompletionWithDesc(s.Name, s.About))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeEnv offers the environments of the configuration --config names
// (the simulator's without one).
func completeEnv(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg := config.Default()
	if path, _ := cmd.Flags().GetString("config"); path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
	var out []cobra.Completion
	for _, e := range cfg.Environments {
		out = append(out, cobra.CompletionWithDesc(e.Name, e.App))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
