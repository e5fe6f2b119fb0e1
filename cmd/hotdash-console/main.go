// Command hotdash-console is the terminal console for activating and
// monitoring HotDash's production integrations. Without a configuration it
// runs on an embedded simulated environment.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
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

func (e exitError) Unwrap() error { return e.err }

// cli is the command line's dependencies, injected so every command runs in
// tests without a terminal.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// runUI runs a Bubble Tea program; tests replace it.
	runUI func(m tea.Model) error
	// clock paces check --watch; tests replace it.
	clock integrations.Clock
	// onServe is told where serve listens and what it shares (tests).
	onServe func(addr string, r *runbook.Runner, s *connect.Stack)
}

func main() {
	c := &cli{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, clock: integrations.RealClock{},
		runUI: func(m tea.Model) error {
			_, err := tea.NewProgram(m).Run()
			return err
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := c.run(ctx, os.Args[1:])
	stop()
	if err != nil {
		os.Exit(c.fail(err))
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

// globalFlags are the flags the console's commands share: which
// configuration, runbook and journal, and how the console runs. Each
// command registers the ones it reads (commands.go).
type globalFlags struct {
	config, env, runbook, scenario, operator, journal string
	dryRun, newJournal                                bool
	persist                                           time.Duration
	since                                             string
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
	path := g.runbook
	if path == "" {
		path = cfg.Runbook
	}
	var rb *runbook.Runbook
	if path == "" {
		rb = runbook.Default()
	} else {
		var err error
		if rb, err = runbook.Load(path); err != nil {
			return nil, nil, exitError{2, err}
		}
	}
	if err := rb.Configure(cfg); err != nil {
		return nil, nil, exitError{2, err}
	}
	if g.persist > 0 {
		rb.Decision.Persist = g.persist
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

// engine is everything a console view runs on: the stack, the journal,
// the runner watching for breaches. The local console and serve share it.
type engine struct {
	cfg     *config.Config
	rb      *runbook.Runbook
	stack   *connect.Stack
	journal *runbook.Journal
	runner  *runbook.Runner
	hist    string
	closers []func()
}

// close stops everything, last started first.
func (e *engine) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// start builds and starts the engine; operator holds the journal's lock.
func (c *cli) start(ctx context.Context, g globalFlags, demo bool, operator func(*config.Config) string) (*engine, error) {
	cfg, rb, err := c.load(g, demo)
	if err != nil {
		return nil, err
	}
	e := &engine{cfg: cfg, rb: rb}
	e.stack, err = connect.Build(connect.Options{Config: cfg, Defs: rb.Integrations, Getenv: c.getenv})
	if err != nil {
		return nil, exitError{2, err}
	}
	journal, history, err := c.openJournal(g, cfg, rb, e.stack, demo, operator(cfg))
	if err != nil {
		return nil, err
	}
	e.journal, e.hist = journal, historyPath(journal.Path(), demo)
	e.closers = append(e.closers, func() { journal.Close() })
	if err := e.stack.Start(ctx); err != nil {
		e.close()
		return nil, err
	}
	e.closers = append(e.closers, e.stack.Close)
	if demo {
		restoreDemo(ctx, e.stack, history.records)
	}
	e.runner = runbook.NewRunner(runbook.Options{
		Runbook: rb, Stack: e.stack, Journal: journal, Operator: operator(cfg), DryRun: g.dryRun, History: history.History,
	})
	watchCtx, stopWatch := context.WithCancel(ctx)
	e.runner.Watch(watchCtx)
	e.closers = append(e.closers, e.runner.Close, stopWatch) // stop the watchers, then wait for them
	return e, nil
}

func (c *cli) console(ctx context.Context, g globalFlags, demo bool) error {
	var operator string
	e, err := c.start(ctx, g, demo, func(cfg *config.Config) string {
		operator = c.operator(g, cfg)
		return operator
	})
	if err != nil {
		return err
	}
	defer e.close()
	session := runbook.Record{Time: time.Now().UTC(), Operator: operator, Runbook: e.rb.Hash, Action: runbook.ActSession, DryRun: g.dryRun,
		Note: fmt.Sprintf("console opened (platform %s, pid %d)", e.cfg.Platform, os.Getpid())}
	if err := e.journal.Append(session); err != nil {
		return err
	}
	m := tui.New(tui.Options{Stack: e.stack, Runbook: e.rb, Env: g.env, Scenario: e.cfg.Sim.Scenario, Runner: e.runner, Operator: operator,
		HistoryPath: e.hist})
	defer m.Close()
	err = c.runUI(m)
	session.Time, session.Action, session.Note = time.Now().UTC(), runbook.ActSessionEnd, "console closed"
	_ = e.journal.Append(session)
	return err
}

// operator is who is at the console: --operator, the config, $USER.
func (c *cli) operator(g globalFlags, cfg *config.Config) string {
	for _, v := range []string{g.operator, cfg.Operator, c.getenv("USER"), c.getenv("LOGNAME")} {
		if v != "" {
			return v
		}
	}
	return "operator"
}

// journalPath is --journal, the config's, or the state directory's.
func (c *cli) journalPath(g globalFlags, cfg *config.Config, demo bool) (string, error) {
	switch {
	case g.journal != "":
		return g.journal, nil
	case cfg.Journal != "" && !demo:
		return cfg.Journal, nil
	case demo:
		return runbook.DefaultJournalPath("demo-journal.jsonl")
	}
	return runbook.DefaultJournalPath("journal.jsonl")
}

type loadedHistory struct {
	*runbook.History
	records []runbook.Record
}

// openJournal locks the journal and reads its history for this runbook.
func (c *cli) openJournal(g globalFlags, cfg *config.Config, rb *runbook.Runbook, stack *connect.Stack, demo bool, operator string) (*runbook.Journal, loadedHistory, error) {
	path, err := c.journalPath(g, cfg, demo)
	if err != nil {
		return nil, loadedHistory{}, err
	}
	if g.newJournal {
		moved, err := runbook.Rotate(path, time.Now())
		if err != nil {
			return nil, loadedHistory{}, exitError{2, err}
		}
		if moved != "" {
			fmt.Fprintf(c.stderr, "the previous journal is now %s\n", moved)
		}
	}
	host, _ := os.Hostname()
	j, loaded, err := runbook.OpenJournal(path, runbook.Holder{Operator: operator, PID: os.Getpid(), Host: host, Since: time.Now()}, stack.Masker)
	if err != nil {
		return nil, loadedHistory{}, exitError{2, err}
	}
	h, err := runbook.Replay(rb, path, loaded, g.dryRun, stack.Book)
	if err != nil {
		j.Close()
		return nil, loadedHistory{}, exitError{2, err}
	}
	return j, loadedHistory{History: h, records: loaded.Records}, nil
}

// restoreDemo replays the journal's writes into a fresh simulator, so a
// restarted demo is in the state the journal says (the real platform keeps
// its own state).
func restoreDemo(ctx context.Context, stack *connect.Stack, records []runbook.Record) {
	restart := stack.Sim.RestartTime()
	stack.Sim.SetRestartTime(0)
	defer stack.Sim.SetRestartTime(restart)
	p := stack.Platform
	for _, r := range records {
		if r.DryRun || r.App == "" {
			continue
		}
		switch r.Action {
		case runbook.ActWriteDone:
			values := map[string]string{}
			for name, fd := range r.Flags {
				values[name] = fd.Value
			}
			if len(values) > 0 {
				_ = p.SetSecrets(ctx, r.App, values, true, nil)
			}
		case runbook.ActApplyDone:
			_ = p.Apply(ctx, r.App, integrations.ApplyDeploy, nil)
		}
	}
	stack.Refresh()
}

// runbookCmd is `runbook lint` and `runbook show` (action) of file, or of
// the embedded runbook when file is "". Lint checks the steps'
// environments against those of the configuration cfg names, when it does.
func (c *cli) runbookCmd(action, file, cfg string) error {
	name, data := runbook.DefaultName, runbook.DefaultBytes()
	if file != "" {
		var err error
		name = file
		if data, err = os.ReadFile(name); err != nil {
			return exitError{2, fmt.Errorf("runbook: %w", err)}
		}
	}
	if action == "lint" {
		var envs []string
		if cfg != "" {
			conf, err := config.Load(cfg)
			if err != nil {
				return exitError{2, err}
			}
			for _, e := range conf.Environments {
				envs = append(envs, e.Name)
			}
		}
		errs := runbook.Lint(name, data, envs...)
		for _, e := range errs {
			fmt.Fprintln(c.stdout, e)
		}
		if len(errs) > 0 {
			return exitError{1, fmt.Errorf("%s: %d problem(s)", name, len(errs))}
		}
		fmt.Fprintf(c.stdout, "%s: ok\n", name)
		return nil
	}
	rb, err := runbook.Parse(name, data)
	if err != nil {
		return exitError{1, err}
	}
	runbook.Show(c.stdout, rb)
	return nil
}

// report writes the activation report from the journal.
func (c *cli) report(g globalFlags) error {
	demo := g.config == ""
	cfg, rb, err := c.load(g, demo)
	if err != nil {
		return err
	}
	path, err := c.journalPath(g, cfg, demo)
	if err != nil {
		return err
	}
	loaded, err := runbook.ReadJournal(path)
	if err != nil {
		return exitError{2, err}
	}
	o := runbook.ReportOptions{Journal: path}
	if g.since != "" {
		since, err := config.ParseDuration(g.since)
		if err != nil || since <= 0 {
			return usageError("--since: %q is not a period (write it like 7d or 24h)", g.since)
		}
		hist, err := runbook.ReadHistory(historyPath(path, demo))
		if err != nil {
			return exitError{2, err}
		}
		env, _ := cfg.Env(cfg.DefaultEnv)
		o.Extra = append(o.Extra, func(w io.Writer) {
			runbook.WeeklyHealth(w, hist.Checks, loaded.Records, env.App, since, c.clock.Now(), hist.Warnings)
		})
	}
	runbook.Report(c.stdout, rb, loaded, o)
	return nil
}

// historyPath is the check history beside a journal.
func historyPath(journal string, demo bool) string { return runbook.HistoryPath(journal, demo) }
