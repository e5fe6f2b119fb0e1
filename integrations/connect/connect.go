// Package connect assembles the outside world for a configuration: the
// platform (the operator's flyctl, the Machines API, or the embedded
// simulator), the probes for each integration, and one live watcher per
// environment. The TUI, the SSH share and `check` all start from a Stack.
package connect

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/chatwoot"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/hotdash"
	"github.com/hotdash/hotdash-console/integrations/sim"
)

// Options choose what to connect to.
type Options struct {
	Config *config.Config
	Defs   []*integrations.Definition
	// Sim options for platform "sim" (scenario, rates, speed).
	Sim sim.Options
	// Getenv reads credentials (default os.Getenv).
	Getenv func(string) string
	Clock  integrations.Clock
}

// Env is one environment with its live watcher.
type Env struct {
	Config  config.Environment
	App     string
	BaseURL string
	Watcher *integrations.Watcher
	// App is the client for the app's own endpoints (verify steps use it).
	Client *hotdash.Client
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

	opts   Options
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

// Demo reports whether the stack runs on the simulator.
func (s *Stack) Demo() bool { return s.Sim != nil }

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
		st.Sim, st.Faults, st.Platform = env, env, env.Platform()
		st.Masker.Add(env.SecretValues()...)
	default:
		return nil, fmt.Errorf("platform %q is not available in this build", cfg.Platform)
	}
	for _, ec := range cfg.Environments {
		st.Envs = append(st.Envs, &Env{Config: ec, App: ec.App, BaseURL: ec.URL})
	}
	st.opts = o
	return st, nil
}

// Start starts the simulator (if any) and every environment's watcher.
func (s *Stack) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	o := s.opts
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
		s.Masker.Add(s.Sim.SecretValues()...)
	}
	w := s.Config.Watch
	for _, e := range s.Envs {
		if s.Sim != nil {
			e.BaseURL = s.Sim.AppURL(e.App)
		}
		e.Client = hotdash.New(e.BaseURL, w.CallTimeout.Duration)
		probes := s.probes(e, o)
		e.Watcher = integrations.NewWatcher(integrations.WatcherOptions{
			Env: e.Config.Name, App: e.App, Demo: s.Sim != nil,
			Platform: s.Platform, Defs: o.Defs, Probes: probes,
			Clock: o.Clock, Book: s.Book, Masker: s.Masker,
			ProbeInterval: w.ProbeInterval.Duration, SecretsInterval: w.SecretsInterval.Duration,
			MachinesInterval: w.MachinesInterval.Duration, CallTimeout: w.CallTimeout.Duration,
			RingSize: w.LogBuffer,
		})
		s.wg.Go(func() { e.Watcher.Run(ctx) })
	}
	return nil
}

// probes builds each integration's probe for an environment.
func (s *Stack) probes(e *Env, o Options) map[string]integrations.Probe {
	svc := s.Config.ServicesFor(&e.Config)
	chatwootURL := svc.Chatwoot.URL
	if s.Sim != nil {
		chatwootURL = s.Sim.URL("chatwoot")
	}
	out := map[string]integrations.Probe{}
	for _, d := range o.Defs {
		switch d.Source.Kind {
		case "http":
			out[d.ID] = e.Client.SourceProbe(d.Source)
		case "chatwoot":
			if chatwootURL == "" {
				continue
			}
			out[d.ID] = chatwoot.New(chatwoot.Options{
				BaseURL: chatwootURL, Token: o.Getenv(svc.Chatwoot.TokenEnv), AccountID: o.Getenv(svc.Chatwoot.AccountEnv),
				Timeout: s.Config.Watch.CallTimeout.Duration,
			}).Probe()
		}
	}
	return out
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
