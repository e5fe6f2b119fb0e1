package sim

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// Platform is the simulated Fly.io: it implements integrations.Platform
// and integrations.EnvReader over the Env.
type Platform struct{ e *Env }

// Platform returns the environment's platform.
func (e *Env) Platform() *Platform { return &Platform{e} }

var _ integrations.Platform = (*Platform)(nil)
var _ integrations.EnvReader = (*Platform)(nil)
var _ integrations.ApplyReporter = (*Platform)(nil)

func (p *Platform) Name() string { return "sim" }

func (p *Platform) appLocked(name string) (*app, error) {
	a := p.e.apps[name]
	if a == nil {
		return nil, fmt.Errorf("could not find app %q: %w", name, integrations.ErrNotFound)
	}
	return a, nil
}

// Secrets lists secrets with Fly's statuses: Deployed when every machine
// runs the secret's version, Staged when none does, Partial in between.
func (p *Platform) Secrets(ctx context.Context, appName string) ([]integrations.Secret, error) {
	if err := p.e.wait(ctx); err != nil {
		return nil, err
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	a, err := p.appLocked(appName)
	if err != nil {
		return nil, err
	}
	out := make([]integrations.Secret, 0, len(a.secrets))
	for name, s := range a.secrets {
		have := 0
		for _, m := range a.machines {
			if m.version >= s.version {
				have++
			}
		}
		st := integrations.SecretDeployed
		switch {
		case have == 0:
			st = integrations.SecretStaged
		case have < len(a.machines):
			st = integrations.SecretPartial
		}
		out = append(out, integrations.Secret{Name: name, Digest: s.digest, Status: st, Created: s.created})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetSecrets sets values; without stage it rolls the machines at once.
func (p *Platform) SetSecrets(ctx context.Context, appName string, values map[string]string, stage bool, progress integrations.Progress) error {
	p.e.mu.Lock()
	a, err := p.appLocked(appName)
	if err != nil {
		p.e.mu.Unlock()
		return err
	}
	p.e.writes = append(p.e.writes, integrations.Op{Kind: integrations.OpSet, App: appName, Values: maps.Clone(values), Stage: stage})
	a.version++
	for k, v := range values {
		a.secrets[k] = &secret{value: v, digest: digest(appName, k, v), version: a.version, created: p.e.now()}
	}
	p.e.mu.Unlock()
	if stage {
		return nil
	}
	return p.deploy(ctx, appName, progress)
}

// UnsetSecrets removes names; missing names are not an error.
func (p *Platform) UnsetSecrets(ctx context.Context, appName string, names []string, stage bool, progress integrations.Progress) error {
	p.e.mu.Lock()
	a, err := p.appLocked(appName)
	if err != nil {
		p.e.mu.Unlock()
		return err
	}
	p.e.writes = append(p.e.writes, integrations.Op{Kind: integrations.OpUnset, App: appName, Names: append([]string(nil), names...), Stage: stage})
	a.version++
	for _, n := range names {
		delete(a.secrets, n)
	}
	p.e.mu.Unlock()
	if stage {
		return nil
	}
	return p.deploy(ctx, appName, progress)
}

// Apply deploys staged secrets, one machine at a time, as `fly secrets
// deploy` does. It succeeds only when every machine is then started,
// healthy and on the app's secrets version.
func (p *Platform) Apply(ctx context.Context, appName string, mode integrations.ApplyMode, progress integrations.Progress) error {
	p.e.mu.Lock()
	_, err := p.appLocked(appName)
	if err == nil {
		p.e.writes = append(p.e.writes, integrations.Op{Kind: integrations.OpApply, App: appName, Mode: mode})
	}
	p.e.mu.Unlock()
	if err != nil {
		return err
	}
	return p.deploy(ctx, appName, progress)
}

// deploy rolls every machine to the current secrets, then verifies them.
func (p *Platform) deploy(ctx context.Context, appName string, progress integrations.Progress) error {
	progress, end := p.e.applies.Track(appName, progress)
	defer end()
	if err := p.e.roll(ctx, appName, true, progress); err != nil {
		return err
	}
	ms, err := p.Machines(ctx, appName)
	if err != nil {
		return &integrations.ApplyError{App: appName, Cause: fmt.Errorf("every machine was updated, but they could not be listed to verify it: %w", err)}
	}
	return integrations.VerifyMachines(appName, ms)
}

// Restart is `fly apps restart APP`: each machine restarts with what it
// had. It applies no staged secret (a restart sends no secrets version and
// makes no release); no console step uses it, it stands for an operator's
// own restart.
func (p *Platform) Restart(ctx context.Context, appName string, progress integrations.Progress) error {
	p.e.mu.Lock()
	_, err := p.appLocked(appName)
	p.e.mu.Unlock()
	if err != nil {
		return err
	}
	return p.e.roll(ctx, appName, false, progress)
}

// ApplyProgress is the apply running on app, if one is.
func (p *Platform) ApplyProgress(app string) (integrations.ApplyProgress, bool) {
	return p.e.applies.ApplyProgress(app)
}

// roll takes the machines one at a time, as Fly does. A deploy updates
// each machine to the current secrets; a restart keeps what it had. It
// stops at the first machine that fails, saying where each one stands.
func (e *Env) roll(ctx context.Context, appName string, deploy bool, progress integrations.Progress) error {
	if progress == nil {
		progress = func(integrations.MachineEvent) {}
	}
	busy, begin, done := "updating", "Updating machine %s", "Machine %s is now in a good state"
	if !deploy {
		busy, begin, done = "restarting", "Restarting machine %s", "Machine %s restarted successfully!"
	}
	e.mu.Lock()
	a := e.apps[appName]
	ids := make([]*machine, len(a.machines))
	copy(ids, a.machines)
	failLast := e.faults.MachineFails
	e.faults.MachineFails = false
	restart := e.o.RestartTime
	e.mu.Unlock()
	standings := make([]integrations.MachineStanding, len(ids))
	for i, m := range ids {
		standings[i] = integrations.MachineStanding{Machine: m.id, Region: m.region}
	}
	of := len(ids)
	for i, m := range ids {
		e.mu.Lock()
		m.state = busy
		e.logLocked(a, m, "[info]"+fmt.Sprintf(begin, m.id))
		e.mu.Unlock()
		progress(integrations.MachineEvent{Machine: m.id, Region: m.region, State: busy, Message: fmt.Sprintf(begin, m.id), Of: of})
		select {
		case <-ctx.Done():
			e.mu.Lock()
			m.state = "started" // Fly finishes what it started; the caller stopped watching
			e.mu.Unlock()
			standings[i].Stand, standings[i].Detail = integrations.StandUnverified, "left "+busy+": the console stopped watching"
			return &integrations.ApplyError{App: appName, Cause: ctx.Err(), Machines: standings}
		case <-time.After(restart):
		}
		e.mu.Lock()
		if failLast && i == len(ids)-1 {
			m.state = "failed"
			msg := fmt.Sprintf("machine %s failed to start: health check servicecheck-00-http-3000 critical", m.id)
			e.logLocked(a, m, "[error]"+msg)
			e.mu.Unlock()
			err := fmt.Errorf("%s", msg)
			progress(integrations.MachineEvent{Machine: m.id, Region: m.region, State: "failed", Message: msg, Err: err, Done: true, Of: of})
			standings[i].Stand, standings[i].Detail = integrations.StandFailed, "failed: health check servicecheck-00-http-3000 critical"
			return &integrations.ApplyError{App: appName, Cause: err, Machines: standings}
		}
		m.state = "started"
		if deploy {
			m.env = a.values()
			m.version = a.version
		}
		e.startupLogsLocked(a, m)
		e.mu.Unlock()
		standings[i].Stand = integrations.StandDone
		progress(integrations.MachineEvent{Machine: m.id, Region: m.region, State: "started", Message: fmt.Sprintf(done, m.id), Done: true, Of: of})
	}
	return nil
}

// Machines lists the app's machines.
func (p *Platform) Machines(ctx context.Context, appName string) ([]integrations.Machine, error) {
	if err := p.e.wait(ctx); err != nil {
		return nil, err
	}
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	a, err := p.appLocked(appName)
	if err != nil {
		return nil, err
	}
	out := make([]integrations.Machine, len(a.machines))
	for i, m := range a.machines {
		mc := integrations.Machine{
			ID: m.id, Name: fmt.Sprintf("%s-%d", m.region, i+1), State: m.state, Region: m.region,
			Version: fmt.Sprintf("v%d", m.version), Checks: "1/1 passing", Passing: 1, Total: 1, Current: integrations.Current,
		}
		if m.state != "started" {
			mc.Checks, mc.Passing = "0/1 passing", 0
			mc.Trouble = "servicecheck-00-http-3000 critical: machine is " + m.state
		}
		if m.version < a.version {
			mc.Current = integrations.Behind
		}
		out[i] = mc
	}
	return out, nil
}

// ReadEnv is `fly ssh console -C 'printenv NAME'` on a started machine.
func (p *Platform) ReadEnv(ctx context.Context, appName, name string) (string, error) {
	if err := p.e.wait(ctx); err != nil {
		return "", err
	}
	p.e.mu.Lock()
	_, err := p.appLocked(appName)
	p.e.mu.Unlock()
	if err != nil {
		return "", err
	}
	v, ok := p.e.MachineEnv(appName, name)
	if !ok {
		return "", nil
	}
	return v, nil
}

// Describe renders writes as the flyctl commands they stand for.
func (p *Platform) Describe(op integrations.Op) []string { return integrations.FlyCommands(op) }

// wait applies the latency and timeout faults to platform reads too.
func (e *Env) wait(ctx context.Context) error {
	e.mu.Lock()
	f := e.faults
	e.mu.Unlock()
	if f.Timeouts {
		<-ctx.Done()
		return fmt.Errorf("fly API: %w", ctx.Err())
	}
	return ctx.Err()
}
