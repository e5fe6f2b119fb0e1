// Package connect assembles the outside world for a configuration: the
// platform (the operator's flyctl, the Machines API, or the embedded
// simulator), the probes for each integration, and one live watcher per
// environment. The TUI, the SSH share and `check` all start from a Stack.
package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/chatwoot"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/fly"
	"github.com/hotdash/hotdash-console/integrations/ga4"
	"github.com/hotdash/hotdash-console/integrations/hotdash"
	"github.com/hotdash/hotdash-console/integrations/publer"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/integrations/supabase"
)

// Options choose what to connect to.
type Options struct {
	Config *config.Config
	Defs   []*integrations.Definition
	// Sim options for platform "sim" (scenario, rates, speed).
	Sim sim.Options
	// Getenv reads credentials (default os.Getenv).
	Getenv func(string) string
	// Environ is the environment flyctl runs with (default os.Environ()).
	Environ []string
	Clock   integrations.Clock
}

// Env is one environment with its live watcher.
type Env struct {
	Config  config.Environment
	App     string
	Watcher *integrations.Watcher
	// Client calls the app's own endpoints (verify steps use it).
	Client *hotdash.Client
	// Probes are the integrations' checks, by integration id.
	Probes map[string]integrations.Probe
	// Migrations checks the Supabase migration, or is nil with the reason
	// in MigrationsErr.
	Migrations    integrations.MigrationChecker
	MigrationsErr string
	// Services are the service settings for this environment.
	Services config.Services
}

// Stack is everything the views need.
type Stack struct {
	Config   *config.Config
	Platform integrations.Platform
	Envs     []*Env
	Book     *integrations.DigestBook
	Masker   *integrations.Masker
	// Sim is the simulated world when running the demo, else nil.
	Sim *sim.Env
	// Faults is the simulator's fault panel, else nil.
	Faults integrations.FaultInjector
	// Commands runs the guide's local commands.
	Commands integrations.CommandRunner
	// Getenv reads the operator's environment (in the demo, with the
	// simulator's credentials in it).
	Getenv func(string) string

	opts   Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Env returns the named environment.
func (s *Stack) Env(name string) *Env {
	for _, e := range s.Envs {
		if e.Config.Name == name {
			return e
		}
	}
	return nil
}

// Build connects to everything the configuration names. Nothing runs until
// Start.
func Build(o Options) (*Stack, error) {
	cfg := o.Config
	if cfg == nil {
		cfg = config.Default()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	st := &Stack{Config: cfg, Book: integrations.NewDigestBook(), Masker: &integrations.Masker{}}
	switch cfg.Platform {
	case "sim":
		so := o.Sim
		if so.Scenario == "" {
			so.Scenario = cfg.Sim.Scenario
		}
		if so.LogRate == 0 {
			so.LogRate = cfg.Sim.LogRate
		}
		env, err := sim.New(so)
		if err != nil {
			return nil, err
		}
		st.Sim, st.Faults, st.Platform, st.Commands = env, env, env.Platform(), env.Commands()
		st.Masker.Add(env.SecretValues()...)
	case "flyctl":
		f, err := fly.NewFlyctl(fly.FlyctlOptions{Binary: cfg.Fly.Binary, Env: o.Environ})
		if err != nil {
			return nil, err
		}
		st.Platform = f
	case "machines":
		token := ""
		for _, name := range cfg.Fly.TokenEnv {
			if token = o.Getenv(name); token != "" {
				break
			}
		}
		if token == "" && cfg.Fly.TokenFile != "" {
			t, err := config.ReadToken(cfg.Fly.TokenFile)
			if err != nil {
				return nil, err
			}
			token = t
		}
		if token == "" {
			return nil, fmt.Errorf("no Fly token: set %s (or fly.token_file in %s) for platform \"machines\"", strings.Join(cfg.Fly.TokenEnv, " or "), cfg.File)
		}
		st.Masker.Add(token, strings.TrimPrefix(token, "FlyV1 "))
		st.Platform = fly.NewMachines(fly.MachinesOptions{BaseURL: cfg.Fly.MachinesURL, LogsURL: cfg.Fly.LogsURL, Token: token, Timeout: cfg.Watch.CallTimeout.Duration, Book: st.Book})
	default:
		return nil, fmt.Errorf("platform %q is not available in this build", cfg.Platform)
	}
	if st.Sim == nil {
		st.Masker.Add(st.credentialValues(o.Getenv)...)
	}
	if st.Commands == nil {
		st.Commands = integrations.ShellRunner{}
	}
	for _, ec := range cfg.Environments {
		st.Envs = append(st.Envs, &Env{Config: ec, App: ec.App, Services: cfg.ServicesFor(&ec)})
	}
	st.Getenv = o.Getenv
	st.opts = o
	return st, nil
}

// Refresh asks every environment's watcher to look again now, after a
// write that changed what they show.
func (s *Stack) Refresh() {
	for _, e := range s.Envs {
		e.Watcher.Refresh()
	}
}

// Start starts the simulator (if any) and every environment's watcher.
func (s *Stack) Start(ctx context.Context) error {
	if err := s.Prepare(ctx); err != nil {
		return err
	}
	for _, e := range s.Envs {
		s.wg.Go(func() { e.Watcher.Run(s.ctx) })
	}
	return nil
}

// Prepare connects everything without starting the watchers: one-shot
// checks poll them once instead.
func (s *Stack) Prepare(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.ctx = ctx
	o := s.opts
	if f, ok := s.Platform.(*fly.Flyctl); ok {
		if err := f.CheckAuth(ctx); err != nil {
			return err
		}
	}
	if s.Sim != nil {
		if err := s.Sim.Start(ctx); err != nil {
			return err
		}
		creds := s.Sim.Credentials()
		getenv := o.Getenv
		o.Getenv = func(k string) string {
			if v, ok := creds[k]; ok {
				return v
			}
			return getenv(k)
		}
		s.Getenv = o.Getenv
	}
	w := s.Config.Watch
	for _, e := range s.Envs {
		appURL := e.Config.URL
		if s.Sim != nil {
			appURL = s.Sim.AppURL(e.App)
		}
		e.Client = hotdash.New(appURL, w.CallTimeout.Duration)
		e.Probes = s.probes(e, o)
		e.Migrations, e.MigrationsErr = s.migrations(e, o)
		probes := e.Probes
		e.Watcher = integrations.NewWatcher(integrations.WatcherOptions{
			Env: e.Config.Name, App: e.App, Demo: s.Sim != nil,
			Platform: s.Platform, Defs: o.Defs, Probes: probes, Migrations: e.Migrations,
			Clock: o.Clock, Book: s.Book, Masker: s.Masker,
			ProbeInterval: w.ProbeInterval.Duration, ProbeIntervals: s.Config.ProbeIntervals(), SecretsInterval: w.SecretsInterval.Duration,
			MachinesInterval: w.MachinesInterval.Duration, CallTimeout: w.CallTimeout.Duration,
			RingSize: w.LogBuffer,
		})
	}
	return nil
}

// probes builds each integration's probe for an environment: the app's
// own answer for the source, and the service's own checks beside it.
func (s *Stack) probes(e *Env, o Options) map[string]integrations.Probe {
	svc := e.Services
	timeout := s.Config.Watch.CallTimeout.Duration
	chatwootURL, publerURL := svc.Chatwoot.URL, svc.Publer.URL
	if s.Sim != nil {
		chatwootURL, publerURL = s.Sim.URL("chatwoot"), s.Sim.URL("publer")+"/api/v1"
	}
	out := map[string]integrations.Probe{}
	for _, d := range o.Defs {
		var p integrations.Probe
		switch d.Source.Kind {
		case "http":
			p = e.Client.SourceProbe(d.Source)
		case "chatwoot":
			if chatwootURL == "" {
				p = failing("chatwoot.url is not configured")
				break
			}
			p = chatwoot.New(chatwoot.Options{
				BaseURL: chatwootURL, Token: o.Getenv(svc.Chatwoot.TokenEnv), AccountID: o.Getenv(svc.Chatwoot.AccountEnv),
				TokenEnv: svc.Chatwoot.TokenEnv, AccountEnv: svc.Chatwoot.AccountEnv, Timeout: timeout,
			}).Probe()
		case "logs":
			// The source is read from the app's logs; the probe checks the
			// service the integration talks to.
			if d.ID == "publer" {
				p = publer.New(publer.Options{
					BaseURL: publerURL, APIKey: o.Getenv(svc.Publer.KeyEnv), WorkspaceID: o.Getenv(svc.Publer.WorkspaceEnv),
					KeyEnv: svc.Publer.KeyEnv, WorkspaceEnv: svc.Publer.WorkspaceEnv, Timeout: timeout,
				}).Probe()
			}
		}
		if d.ID == "ga4" && p != nil {
			if svc.GA4.PropertyID != "" {
				p = both(p, ga4Probe(svc.GA4, o.Getenv, timeout))
			}
			// The app's traffic report spends the same property quota.
			p = integrations.WithInterval(p, ga4.ProbeInterval)
		}
		if p != nil {
			out[d.ID] = integrations.SafeProbe(p)
		}
	}
	return out
}

// ga4Probe checks the GA4 Data API with the token from its variable or,
// when that is empty, from its token command or token file, read again
// whenever the API answers 401. A token source that cannot be read is
// what the probe reports.
func ga4Probe(g config.GA4, getenv func(string) string, timeout time.Duration) integrations.Probe {
	o := ga4.Options{PropertyID: g.PropertyID, Token: getenv(g.TokenEnv), TokenEnv: g.TokenEnv, Timeout: timeout}
	switch {
	case o.Token != "":
	case g.TokenCommand != "":
		o.Source = func(ctx context.Context) (string, error) { return commandToken(ctx, g.TokenCommand, timeout) }
	case g.TokenFile != "":
		o.Source = func(context.Context) (string, error) { return config.ReadToken(g.TokenFile) }
	}
	return ga4.New(o).Probe()
}

// commandToken runs a token command (`gcloud auth print-access-token`) in
// its own process group, stopped with everything it started after
// timeout, and returns the last word it printed on stdout.
func commandToken(ctx context.Context, command string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var errOut limited
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stderr = &errOut
	g, out, err := integrations.StartGroup(ctx, cmd)
	if err != nil {
		return "", fmt.Errorf("token_command %q: %w", command, err)
	}
	b, rerr := integrations.ReadLimited(out, tokenLimit)
	out.Close()
	werr := g.Wait()
	switch {
	case g.Stopped() != nil:
		return "", fmt.Errorf("token_command %q timed out after %s", command, timeout)
	case rerr != nil:
		// Before the exit status: closing the output stops a command that
		// prints without end.
		return "", fmt.Errorf("token_command %q: %w", command, rerr)
	case werr != nil:
		return "", fmt.Errorf("token_command %q failed: %v: %s", command, werr, integrations.Clip(errOut.String(), 200))
	}
	words := strings.Fields(string(b))
	if len(words) == 0 {
		return "", fmt.Errorf("token_command %q printed no token", command)
	}
	return words[len(words)-1], nil
}

// tokenLimit bounds what a token command may print: a token is short.
const tokenLimit = 64 << 10

// limited keeps the first tokenLimit bytes written to it: a command that
// complains without end is not kept without end.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := tokenLimit - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// failing is a probe that always reports the same problem: a service the
// configuration does not say how to reach, or a setting it cannot use.
func failing(why string) integrations.Probe {
	return integrations.ProbeFunc(func(context.Context) integrations.ProbeResult {
		return integrations.ProbeResult{Err: errors.New(why)}
	})
}

// both runs two probes at once: the first says the source, the second adds
// its detail; either one's failure fails the check.
func both(source, extra integrations.Probe) integrations.Probe {
	return integrations.ProbeFunc(func(ctx context.Context) integrations.ProbeResult {
		var wg sync.WaitGroup
		var x integrations.ProbeResult
		wg.Go(func() { x = extra.Check(ctx) })
		r := source.Check(ctx)
		wg.Wait()
		if x.Detail != "" {
			r.Detail = strings.TrimPrefix(r.Detail+"; "+x.Detail, "; ")
		}
		if r.Err == nil && x.Err != nil {
			r.Err = x.Err
		}
		return r
	})
}

// credentialValues are the values of every credential variable the
// configuration names, so they are masked wherever text is shown.
func (s *Stack) credentialValues(getenv func(string) string) []string {
	var names []string
	add := func(sv config.Services) {
		names = append(names, sv.Supabase.KeyEnv, sv.Supabase.DatabaseURLEnv, sv.Publer.KeyEnv, sv.Publer.WorkspaceEnv,
			sv.Chatwoot.TokenEnv, sv.GA4.TokenEnv)
	}
	add(s.Config.Services)
	for i := range s.Config.Environments {
		add(s.Config.ServicesFor(&s.Config.Environments[i]))
	}
	names = append(names, s.Config.Fly.TokenEnv...)
	var values []string
	for _, n := range names {
		if n == "" {
			continue
		}
		if v := getenv(n); v != "" {
			values = append(values, v)
		}
	}
	return values
}

// migrations picks how the Supabase migration is checked for e: a direct
// Postgres connection when a database URL is set, else PostgREST.
func (s *Stack) migrations(e *Env, o Options) (integrations.MigrationChecker, string) {
	sb := e.Services.Supabase
	if sb.DatabaseURLEnv != "" {
		if dsn := o.Getenv(sb.DatabaseURLEnv); dsn != "" {
			return supabase.NewPostgres(dsn, s.Config.Watch.CallTimeout.Duration), ""
		}
	}
	url, key := o.Getenv(sb.URLEnv), o.Getenv(sb.KeyEnv)
	switch {
	case url == "":
		return nil, sb.URLEnv + " is not set"
	case key == "":
		return nil, sb.KeyEnv + " is not set"
	}
	return supabase.NewREST(supabase.RESTOptions{URL: url, Key: key, URLEnv: sb.URLEnv, KeyEnv: sb.KeyEnv,
		Timeout: s.Config.Watch.CallTimeout.Duration}), ""
}

// CredentialEnv names the environment variable that holds secret name for
// environment e: the service settings map the app's secret names to the
// operator's variables (PUBLER_API_KEY from PUBLER_DEV_API_KEY on dev).
func (e *Env) CredentialEnv(name string) string {
	s := e.Services
	switch name {
	case "SUPABASE_URL":
		return s.Supabase.URLEnv
	case "SUPABASE_SERVICE_KEY":
		return s.Supabase.KeyEnv
	case "PUBLER_API_KEY":
		return s.Publer.KeyEnv
	case "PUBLER_WORKSPACE_ID":
		return s.Publer.WorkspaceEnv
	case "CHATWOOT_API_KEY":
		return s.Chatwoot.TokenEnv
	case "CHATWOOT_ACCOUNT_ID":
		return s.Chatwoot.AccountEnv
	}
	return name
}

// Close stops the watchers and the simulator.
func (s *Stack) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.Sim != nil {
		s.Sim.Close()
	}
}
