package sim

import (
	"fmt"

	"github.com/hotdash/hotdash-console/integrations"
	"strings"
	"time"
)

// Faults are the failures the simulator injects. They can be changed while
// it runs (the console's demo fault panel, or tests).
type Faults struct {
	// ErrorRate is the share of calls to Supabase, Publer and GA4 that fail
	// upstream; the app falls back to mock for that call and logs an error.
	ErrorRate float64
	// ServerErrors is the share of the app's own answers that are 5xx.
	ServerErrors float64
	// Latency is added to every answer; SlowRate is the share of answers
	// that get it (0 with Latency set means every answer).
	Latency  time.Duration
	SlowRate float64
	// Timeouts makes every answer hang until the caller gives up.
	Timeouts bool
	// ChatwootRateLimit is the share of Chatwoot requests answered 429.
	ChatwootRateLimit float64
	// Publer401 makes Publer reject the API key.
	Publer401 bool
	// PublerScope takes the scopes the console's checks need away from
	// the key: Publer answers them 403 "Missing required scope".
	PublerScope bool
	// CredentialsRevoked makes Supabase and Publer reject the app's keys,
	// as if a credential were revoked: the "temporarily break one
	// integration" of the guide's success criteria.
	CredentialsRevoked bool
	// MachineFails makes the next apply leave its last machine failed.
	MachineFails bool
	// LogDrops ends log streams every 30 seconds, as a dying `fly logs` does.
	LogDrops bool
}

// Faults returns the faults in force.
func (e *Env) Faults() Faults {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults
}

// SetFaults replaces the faults in force.
func (e *Env) SetFaults(f Faults) {
	e.mu.Lock()
	e.faults = f
	e.mu.Unlock()
}

var switches = []struct {
	key, name string
	get       func(*Env) bool
	set       func(*Env, bool)
}{
	{"errors", "upstream errors (5% of calls fail, app falls back to mock)",
		func(e *Env) bool { return e.faults.ErrorRate > 0 },
		func(e *Env, on bool) { e.faults.ErrorRate = pick(on, 0.05) }},
	{"latency", "latency (1.5s on every answer)",
		func(e *Env) bool { return e.faults.Latency > 0 && e.faults.SlowRate == 0 },
		func(e *Env, on bool) { e.faults.Latency, e.faults.SlowRate = time.Duration(pick(on, 1.5e9)), 0 }},
	{"timeouts", "timeouts (answers hang)",
		func(e *Env) bool { return e.faults.Timeouts },
		func(e *Env, on bool) { e.faults.Timeouts = on }},
	{"chatwoot-429", "Chatwoot rate limiting (30% answered 429)",
		func(e *Env) bool { return e.faults.ChatwootRateLimit > 0 },
		func(e *Env, on bool) { e.faults.ChatwootRateLimit = pick(on, 0.3) }},
	{"publer-401", "Publer rejects the API key (401)",
		func(e *Env) bool { return e.faults.Publer401 },
		func(e *Env, on bool) { e.faults.Publer401 = on }},
	{"publer-scope", "Publer key without the accounts scope (403)",
		func(e *Env) bool { return e.faults.PublerScope },
		func(e *Env, on bool) { e.faults.PublerScope = on }},
	{"revoked", "credentials revoked (Supabase and Publer answer 401)",
		func(e *Env) bool { return e.faults.CredentialsRevoked },
		func(e *Env, on bool) { e.faults.CredentialsRevoked = on }},
	{"migration", "idea_pool migration missing",
		func(e *Env) bool { return !e.migration },
		func(e *Env, on bool) { e.migration = !on }},
	{"machine", "next apply leaves a machine failed",
		func(e *Env) bool { return e.faults.MachineFails },
		func(e *Env, on bool) { e.faults.MachineFails = on }},
	{"logs", "log stream drops every 30s",
		func(e *Env) bool { return e.faults.LogDrops },
		func(e *Env, on bool) { e.faults.LogDrops = on }},
}

func pick(on bool, v float64) float64 {
	if on {
		return v
	}
	return 0
}

var _ integrations.FaultInjector = (*Env)(nil)

// FaultSwitches lists the toggleable faults and whether each is on.
func (e *Env) FaultSwitches() []integrations.FaultSwitch {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]integrations.FaultSwitch, len(switches))
	for i, s := range switches {
		out[i] = integrations.FaultSwitch{Key: s.key, Name: s.name, On: s.get(e)}
	}
	return out
}

// ToggleFault flips a named fault and returns its new state.
func (e *Env) ToggleFault(key string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range switches {
		if s.key == key {
			on := !s.get(e)
			s.set(e, on)
			state := "off"
			if on {
				state = "on"
			}
			for _, a := range e.apps {
				e.logLocked(a, nil, fmt.Sprintf("[warn]sim: fault %q switched %s", key, state))
			}
			return on, nil
		}
	}
	return false, fmt.Errorf("unknown fault %q", key)
}

// Scenario is a named starting state.
type Scenario struct {
	Name  string
	About string
	apply func(*Env)
}

// Scenarios are the named starting states for --scenario.
var Scenarios = []Scenario{
	{"healthy", "migration present, credentials set, every flag off: everything reports mock", func(*Env) {}},
	{"missing-migration", "the idea_pool migration is not applied: Supabase stays on mock even when enabled",
		func(e *Env) { e.migration = false }},
	{"supabase-creds-missing", "SUPABASE_SERVICE_KEY is not set on either app",
		func(e *Env) {
			for _, a := range e.apps {
				delete(a.secrets, "SUPABASE_SERVICE_KEY")
			}
		}},
	{"publer-401", "Publer rejects the API key: live posting fails with 401",
		func(e *Env) { e.faults.Publer401 = true }},
	{"chatwoot-rate-limited", "Chatwoot answers 429 to 30% of requests",
		func(e *Env) { e.faults.ChatwootRateLimit = 0.3 }},
	{"flaky", "random 5xx answers, slow answers and upstream errors",
		func(e *Env) {
			e.faults.ServerErrors = 0.04
			e.faults.ErrorRate = 0.08
			e.faults.Latency = 1200 * time.Millisecond
			e.faults.SlowRate = 0.25
		}},
}

func scenarioByName(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// ScenarioNames lists the scenario names, comma separated.
func ScenarioNames() string {
	names := make([]string, len(Scenarios))
	for i, s := range Scenarios {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}
