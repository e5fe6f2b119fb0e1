package config

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Config is the console's configuration file. Credentials are never in it:
// it names the environment variables that hold them.
type Config struct {
	// Platform is how the console reaches Fly: "flyctl" (the operator's
	// own fly binary), "machines" (the Machines API) or "sim".
	Platform string `toml:"platform"`
	// DefaultEnv is the environment the console opens on.
	DefaultEnv string `toml:"default_env"`
	Runbook    string `toml:"runbook"`  // path; empty: the embedded guide
	Journal    string `toml:"journal"`  // path; empty: the state directory
	Operator   string `toml:"operator"` // empty: $USER

	Fly          Fly           `toml:"fly"`
	Watch        Watch         `toml:"watch"`
	Sim          Sim           `toml:"sim"`
	Environments []Environment `toml:"environment"`
	Services
	Integrations map[string]IntegrationSettings `toml:"integration"`

	// File is where the config was read from.
	File string `toml:"-"`
	// Warnings are problems that do not stop the console: a file readable
	// by others that names a token file.
	Warnings []string `toml:"-"`

	data []byte // the file, to say where a key is
}

// Services are the outside services the console checks directly.
type Services struct {
	Supabase Supabase `toml:"supabase"`
	Publer   Publer   `toml:"publer"`
	Chatwoot Chatwoot `toml:"chatwoot"`
	GA4      GA4      `toml:"ga4"`
}

// Fly configures both Fly platforms.
type Fly struct {
	Binary string `toml:"binary"` // flyctl path; default "fly"
	// Apply is how staged secrets reach the machines: "deploy" (`fly
	// secrets deploy`), the only way. "restart" is refused: a restart sends
	// no secrets version and makes no release.
	Apply string `toml:"apply"`
	// TokenEnv names the variables holding the Fly token, first set wins.
	TokenEnv []string `toml:"token_env"`
	// TokenFile is a file holding the Fly token, used when no variable is
	// set.
	TokenFile   string `toml:"token_file"`
	MachinesURL string `toml:"machines_url"`
	LogsURL     string `toml:"logs_url"`
}

// Watch tunes the live engine.
type Watch struct {
	ProbeInterval    Duration `toml:"probe_interval"`
	SecretsInterval  Duration `toml:"secrets_interval"`
	MachinesInterval Duration `toml:"machines_interval"`
	CallTimeout      Duration `toml:"call_timeout"`
	LogBuffer        int      `toml:"log_buffer"`
}

// Sim configures the embedded simulator.
type Sim struct {
	Scenario string  `toml:"scenario"`
	LogRate  float64 `toml:"log_rate"` // lines per second
}

// Environment is one Fly app the console can act on.
type Environment struct {
	Name       string `toml:"name"`
	App        string `toml:"app"`
	URL        string `toml:"url"` // the app's public base URL
	Production bool   `toml:"production"`
	// TwoPerson requires a second operator's approval for writes; default
	// on for production.
	TwoPerson *bool `toml:"two_person"`
	// Services override the top-level service settings for this app (the
	// dev Publer workspace, say).
	Services
}

// Supabase is checked for the idea_pool migration.
type Supabase struct {
	URLEnv         string `toml:"url_env"`
	KeyEnv         string `toml:"key_env"`
	DatabaseURLEnv string `toml:"database_url_env"`
}

// Publer is checked for authentication and job status.
type Publer struct {
	URL          string `toml:"url"`
	KeyEnv       string `toml:"key_env"`
	WorkspaceEnv string `toml:"workspace_env"`
}

// Chatwoot is checked for health, authentication and conversations.
type Chatwoot struct {
	URL        string `toml:"url"`
	TokenEnv   string `toml:"token_env"`
	AccountEnv string `toml:"account_env"`
}

// GA4 is checked through the Data API when a property is configured. The
// token comes from TokenEnv, else TokenCommand's output, else TokenFile;
// the command and the file are read again whenever the API answers 401
// (access tokens last about an hour).
type GA4 struct {
	PropertyID   string `toml:"property_id"`
	TokenEnv     string `toml:"token_env"`
	TokenFile    string `toml:"token_file"`
	TokenCommand string `toml:"token_command"`
}

// IntegrationSettings override the runbook for one integration.
type IntegrationSettings struct {
	// AutoRollback rolls the integration back by itself when a threshold
	// stays breached past the guide's 15 minutes.
	AutoRollback bool `toml:"auto_rollback"`
	// Thresholds by name override the runbook's limits ("error rate" = 0.02).
	Thresholds map[string]float64 `toml:"thresholds"`
	// ProbeInterval is how often the console checks the integration
	// itself; empty: the service's own pace (Publer every 2 minutes, GA4
	// every 5), else watch.probe_interval.
	ProbeInterval Duration `toml:"probe_interval"`
}

// ProbeIntervals are the probe intervals the configuration sets, by
// integration.
func (c *Config) ProbeIntervals() map[string]time.Duration {
	out := map[string]time.Duration{}
	for id, set := range c.Integrations {
		if d := set.ProbeInterval.Duration; d > 0 {
			out[id] = d
		}
	}
	return out
}

// The variables the dev Publer workspace's key and ID are read from (README,
// config.toml.example).
const (
	DevPublerKeyEnv       = "PUBLER_DEV_API_KEY"
	DevPublerWorkspaceEnv = "PUBLER_DEV_WORKSPACE_ID"
)

// Platforms the console knows.
var Platforms = []string{"flyctl", "machines", "sim"}

// Default is the configuration the console uses without a file: the
// embedded simulator with the real apps' names.
func Default() *Config {
	c := &Config{Platform: "sim"}
	c.fill()
	return c
}

// Load reads and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	c.Warnings = permissionWarnings(c)
	return c, nil
}

// permissionWarnings warns when a file readable by other users names a
// token file, or a token file is readable by them.
func permissionWarnings(c *Config) []string {
	var files []string
	for _, f := range []string{c.Fly.TokenFile, c.Services.GA4.TokenFile} {
		if f != "" {
			files = append(files, f)
		}
	}
	for _, e := range c.Environments {
		if e.Services.GA4.TokenFile != "" {
			files = append(files, e.Services.GA4.TokenFile)
		}
	}
	if len(files) == 0 {
		return nil
	}
	var out []string
	if st, err := os.Stat(c.File); err == nil && st.Mode().Perm()&0o044 != 0 {
		out = append(out, fmt.Sprintf("%s is readable by other users (%s) and names a token file (%s): chmod 600 %s",
			c.File, st.Mode().Perm(), strings.Join(files, ", "), c.File))
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().Perm()&0o044 != 0 {
			out = append(out, fmt.Sprintf("token file %s is readable by other users (%s): chmod 600 %s", f, st.Mode().Perm(), f))
		}
	}
	return out
}

// ReadToken reads a token file, trimmed.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Parse decodes and validates config data read from file.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{}
	if err := DecodeStrict(file, data, c); err != nil {
		return nil, err
	}
	c.File, c.data = file, data
	if err := c.validate(data); err != nil {
		return nil, err
	}
	c.fill()
	return c, nil
}

func (c *Config) validate(data []byte) error {
	bad := func(key, format string, args ...any) error {
		return &FileError{File: c.File, Line: KeyLine(data, strings.Split(key, ".")), Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if c.Platform == "" {
		return bad("platform", "missing: say \"flyctl\", \"machines\" or \"sim\"")
	}
	if !slices.Contains(Platforms, c.Platform) {
		return bad("platform", "%q is not one of %s", c.Platform, strings.Join(Platforms, ", "))
	}
	switch c.Fly.Apply {
	case "", "deploy":
	case "restart":
		return bad("fly.apply", "\"restart\" is refused: a restart sends no secrets version and makes no release, so staged secrets never reach the machines; say \"deploy\" (fly secrets deploy) or remove the key")
	default:
		return bad("fly.apply", "%q: say \"deploy\"", c.Fly.Apply)
	}
	if c.Platform != "sim" && len(c.Environments) == 0 {
		return bad("environment", "at least one [[environment]] is needed for platform %q", c.Platform)
	}
	seen := map[string]bool{}
	for _, e := range c.Environments {
		switch {
		case e.Name == "":
			return bad("environment.name", "every [[environment]] needs a name")
		case seen[e.Name]:
			return bad("environment.name", "%q is defined twice", e.Name)
		case e.App == "":
			return bad("environment.app", "environment %q has no app", e.Name)
		}
		seen[e.Name] = true
		if e.URL != "" {
			if u, err := url.Parse(e.URL); err != nil || u.Scheme == "" || u.Host == "" {
				return bad("environment.url", "%q is not an absolute URL", e.URL)
			}
		}
	}
	if c.DefaultEnv != "" && !seen[c.DefaultEnv] && c.Platform != "sim" {
		return bad("default_env", "%q is not a defined environment", c.DefaultEnv)
	}
	return c.checkBounds(bad)
}

// Bounds of the configuration's numbers and durations. Zero (or leaving a
// key out) means the default.
var (
	IntervalRange    = DurationRange{100 * time.Millisecond, time.Hour}
	CallTimeoutRange = DurationRange{100 * time.Millisecond, 5 * time.Minute}
	LogBufferRange   = IntRange{10, 100_000}
	LogRateRange     = NumberRange{Min: 0, Max: 1000, What: "lines a second"}
	// ThresholdRange bounds an override in the file; the runbook's kind of
	// threshold narrows it (a share is from 0 to 1).
	ThresholdRange = NumberRange{Min: 0, Max: 1_000_000}
	// ProbeIntervalRange bounds an integration's own probe interval: more
	// often than every 5 seconds spends the services' budgets (shared with
	// the app), less often than hourly leaves the console blind.
	ProbeIntervalRange = DurationRange{5 * time.Second, time.Hour}
)

// checkBounds refuses numbers and durations out of their range, naming
// the range.
func (c *Config) checkBounds(bad func(key, format string, args ...any) error) error {
	for _, iv := range []struct {
		key string
		d   time.Duration
	}{
		{"watch.probe_interval", c.Watch.ProbeInterval.Duration},
		{"watch.secrets_interval", c.Watch.SecretsInterval.Duration},
		{"watch.machines_interval", c.Watch.MachinesInterval.Duration},
	} {
		if msg := IntervalRange.Check(iv.d); iv.d != 0 && msg != "" {
			return bad(iv.key, "%s", msg)
		}
	}
	if d := c.Watch.CallTimeout.Duration; d != 0 {
		if msg := CallTimeoutRange.Check(d); msg != "" {
			return bad("watch.call_timeout", "%s", msg)
		}
	}
	if n := c.Watch.LogBuffer; n != 0 {
		if msg := LogBufferRange.Check(int64(n)); msg != "" {
			return bad("watch.log_buffer", "%s", msg)
		}
	}
	if msg := LogRateRange.Check(c.Sim.LogRate); msg != "" {
		return bad("sim.log_rate", "%s", msg)
	}
	for _, id := range slices.Sorted(maps.Keys(c.Integrations)) {
		set := c.Integrations[id]
		for _, name := range slices.Sorted(maps.Keys(set.Thresholds)) {
			if msg := ThresholdRange.Check(set.Thresholds[name]); msg != "" {
				return bad("integration."+id+".thresholds", "%q: %s", name, msg)
			}
		}
		if d := set.ProbeInterval.Duration; d != 0 {
			if msg := ProbeIntervalRange.Check(d); msg != "" {
				return bad("integration."+id+".probe_interval", "%s", msg)
			}
		}
	}
	return nil
}

// Line is the line of the file where key (dotted) is set, or 0: for
// errors found after reading, such as a threshold the runbook bounds.
func (c *Config) Line(key string) int {
	return KeyLine(c.data, strings.Split(key, "."))
}

// fill sets defaults for everything left out.
func (c *Config) fill() {
	if c.Fly.Binary == "" {
		c.Fly.Binary = "fly"
	}
	if c.Fly.Apply == "" {
		c.Fly.Apply = "deploy"
	}
	if len(c.Fly.TokenEnv) == 0 {
		c.Fly.TokenEnv = []string{"FLY_ACCESS_TOKEN", "FLY_API_TOKEN"}
	}
	if c.Fly.MachinesURL == "" {
		c.Fly.MachinesURL = "https://api.machines.dev/v1"
	}
	if c.Fly.LogsURL == "" {
		c.Fly.LogsURL = "https://api.fly.io"
	}
	dur := func(d *Duration, v time.Duration) {
		if d.Duration == 0 {
			d.Duration = v
		}
	}
	dur(&c.Watch.ProbeInterval, 10*time.Second)
	dur(&c.Watch.SecretsInterval, 15*time.Second)
	dur(&c.Watch.MachinesInterval, 5*time.Second)
	dur(&c.Watch.CallTimeout, 10*time.Second)
	if c.Watch.LogBuffer == 0 {
		c.Watch.LogBuffer = 2000
	}
	if c.Sim.Scenario == "" {
		c.Sim.Scenario = "healthy"
	}
	if c.Sim.LogRate == 0 {
		c.Sim.LogRate = 12
	}
	if c.Platform == "sim" && len(c.Environments) == 0 {
		// As config.toml.example: the dev app's Publer workspace has its
		// own key, read from PUBLER_DEV_API_KEY and PUBLER_DEV_WORKSPACE_ID.
		dev := Environment{Name: "dev", App: "hotdash-app-dev"}
		dev.Publer.KeyEnv, dev.Publer.WorkspaceEnv = DevPublerKeyEnv, DevPublerWorkspaceEnv
		c.Environments = []Environment{{Name: "production", App: "hotdash-app", Production: true}, dev}
	}
	if c.DefaultEnv == "" && len(c.Environments) > 0 {
		c.DefaultEnv = c.Environments[0].Name
		for _, e := range c.Environments {
			if e.Production {
				c.DefaultEnv = e.Name
				break
			}
		}
	}
	s := &c.Services
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.Supabase.URLEnv, "SUPABASE_URL")
	def(&s.Supabase.KeyEnv, "SUPABASE_SERVICE_KEY")
	if c.Platform != "sim" {
		// The real apps' migration check uses the database when this
		// variable is set (else PostgREST); the simulator never reaches
		// a real database.
		def(&s.Supabase.DatabaseURLEnv, "SUPABASE_DB_URL")
	}
	def(&s.Publer.URL, "https://app.publer.com/api/v1")
	def(&s.Publer.KeyEnv, "PUBLER_API_KEY")
	def(&s.Publer.WorkspaceEnv, "PUBLER_WORKSPACE_ID")
	def(&s.Chatwoot.TokenEnv, "CHATWOOT_API_KEY")
	def(&s.Chatwoot.AccountEnv, "CHATWOOT_ACCOUNT_ID")
	def(&s.GA4.TokenEnv, "GA4_ACCESS_TOKEN")
}

// Env returns the named environment.
func (c *Config) Env(name string) (*Environment, bool) {
	for i := range c.Environments {
		if c.Environments[i].Name == name {
			return &c.Environments[i], true
		}
	}
	return nil, false
}

// ServicesFor merges an environment's service overrides onto the defaults.
func (c *Config) ServicesFor(e *Environment) Services {
	s := c.Services
	o := e.Services
	pick := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	pick(&s.Supabase.URLEnv, o.Supabase.URLEnv)
	pick(&s.Supabase.KeyEnv, o.Supabase.KeyEnv)
	pick(&s.Supabase.DatabaseURLEnv, o.Supabase.DatabaseURLEnv)
	pick(&s.Publer.URL, o.Publer.URL)
	pick(&s.Publer.KeyEnv, o.Publer.KeyEnv)
	pick(&s.Publer.WorkspaceEnv, o.Publer.WorkspaceEnv)
	pick(&s.Chatwoot.URL, o.Chatwoot.URL)
	pick(&s.Chatwoot.TokenEnv, o.Chatwoot.TokenEnv)
	pick(&s.Chatwoot.AccountEnv, o.Chatwoot.AccountEnv)
	pick(&s.GA4.PropertyID, o.GA4.PropertyID)
	pick(&s.GA4.TokenEnv, o.GA4.TokenEnv)
	pick(&s.GA4.TokenFile, o.GA4.TokenFile)
	pick(&s.GA4.TokenCommand, o.GA4.TokenCommand)
	return s
}

// RequiresTwoPerson reports whether writes to e need a second operator.
func (e *Environment) RequiresTwoPerson() bool {
	if e.TwoPerson != nil {
		return *e.TwoPerson
	}
	return e.Production
}
