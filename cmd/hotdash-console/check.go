package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/runbook"
)

// check is `hotdash-console check`: every integration's probes once (or
// every --watch), compared with its thresholds and with the source its
// flag implies. Read-only. Exit 0 when all are healthy, 1 when any is
// not, 2 on a usage or configuration error.
func (c *cli) check(ctx context.Context, o checkOptions) error {
	gl := o.globalFlags
	if gl.config == "" && !o.demo {
		return usageError("check needs --config FILE (or --demo to check the simulator)")
	}
	if gl.config != "" && o.demo {
		return usageError("check: --demo and --config exclude each other")
	}
	if o.watch < 0 || (o.watch > 0 && o.watch < time.Second) {
		return usageError("check: --watch takes an interval of a second or more (--watch 1h)")
	}
	cfg, rb, err := c.load(gl, o.demo)
	if err != nil {
		return err
	}
	envName := cfg.DefaultEnv
	if gl.env != "" {
		envName = gl.env
	}
	jp, err := c.journalPath(gl, cfg, o.demo)
	if err != nil {
		return err
	}
	histPath := o.history
	if histPath == "" {
		histPath = historyPath(jp, o.demo)
	}
	stack, err := connect.Build(connect.Options{Config: cfg, Defs: rb.Integrations, Getenv: c.getenv})
	if err != nil {
		return exitError{2, err}
	}
	// The flags' meaning comes from the digests the console recorded.
	var records []runbook.Record
	if loaded, err := runbook.ReadJournal(jp); err == nil {
		records = loaded.Records
		runbook.LearnDigests(records, stack.Book)
	}
	if err := stack.Prepare(ctx); err != nil {
		return exitError{2, err}
	}
	if o.demo {
		restoreDemo(ctx, stack, records) // the demo's world as its journal left it
	}
	defer stack.Close()
	env := stack.Env(envName)
	colour := c.colour()
	for _, w := range cfg.Warnings {
		fmt.Fprintln(c.stderr, "warning:", w)
	}
	var last runbook.CheckResult
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*cfg.Watch.CallTimeout.Duration)
		last = runbook.RunCheck(cctx, env, c.clock.Now)
		cancel()
		if ctx.Err() != nil {
			break
		}
		if err := runbook.AppendHistory(histPath, last); err != nil {
			fmt.Fprintln(c.stderr, "warning:", err)
		}
		if o.json {
			b, _ := json.Marshal(last)
			fmt.Fprintln(c.stdout, string(b))
		} else {
			runbook.WriteTable(c.stdout, last, colour)
		}
		if o.watch == 0 {
			break
		}
		if !o.json {
			fmt.Fprintf(c.stdout, "\nnext check at %s (every %s; history in %s)\n\n", c.clock.Now().Add(o.watch).Local().Format("15:04:05"), o.watch, histPath)
		}
		select {
		case <-ctx.Done():
		case <-c.clock.After(o.watch):
		}
		if ctx.Err() != nil {
			break
		}
	}
	if !last.OK && !last.CheckedAt.IsZero() {
		return exitError{1, fmt.Errorf("%s: %s", last.App, unhealthy(last))}
	}
	return nil
}

// unhealthy names the integrations that are not healthy, with their first
// problem.
func unhealthy(r runbook.CheckResult) string {
	s := ""
	for _, ic := range r.Integrations {
		if ic.Healthy {
			continue
		}
		if s != "" {
			s += "; "
		}
		s += ic.Name
		if len(ic.Problems) > 0 {
			s += ": " + ic.Problems[0]
		}
	}
	return s
}

// colour reports whether output goes to a terminal that wants colour.
func (c *cli) colour() bool {
	if _, off := os.LookupEnv("NO_COLOR"); off || c.getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := c.stdout.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}
