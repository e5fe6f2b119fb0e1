package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `platform = "flyctl"
default_env = "production"

[fly]
binary = "/usr/local/bin/fly"

[watch]
probe_interval = "5s"

[[environment]]
name = "production"
app = "hotdash-app"
url = "https://hotdash-app.fly.dev"
production = true

[[environment]]
name = "dev"
app = "hotdash-app-dev"
url = "https://hotdash-app-dev.fly.dev"

  [environment.publer]
  key_env = "PUBLER_DEV_API_KEY"

[integration.publer]
auto_rollback = true
thresholds = { "jobs failing" = 0.02 }
probe_interval = "5m"
`

func TestParseGoodConfig(t *testing.T) {
	c, err := Parse("hotdash.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Platform != "flyctl" || c.Fly.Binary != "/usr/local/bin/fly" || c.Fly.Apply != "deploy" {
		t.Errorf("fly: %+v", c.Fly)
	}
	if c.Watch.ProbeInterval.Duration != 5*time.Second || c.Watch.SecretsInterval.Duration != 15*time.Second {
		t.Errorf("watch: %+v", c.Watch)
	}
	dev, ok := c.Env("dev")
	if !ok || dev.RequiresTwoPerson() {
		t.Fatalf("dev: %+v", dev)
	}
	if prod, _ := c.Env("production"); !prod.RequiresTwoPerson() {
		t.Error("production needs two people by default")
	}
	if s := c.ServicesFor(dev); s.Publer.KeyEnv != "PUBLER_DEV_API_KEY" || s.Publer.WorkspaceEnv != "PUBLER_WORKSPACE_ID" {
		t.Errorf("dev publer: %+v", s.Publer)
	}
	if it := c.Integrations["publer"]; !it.AutoRollback || it.Thresholds["jobs failing"] != 0.02 {
		t.Errorf("integration settings: %+v", it)
	}
	if p := c.ProbeIntervals(); len(p) != 1 || p["publer"] != 5*time.Minute {
		t.Errorf("probe intervals: %v", p)
	}
}

func TestMalformedConfigNamesFileLineAndKey(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown key", "platform = \"flyctl\"\n[[environment]]\nname = \"p\"\napp = \"a\"\napps = \"b\"\n", "c.toml:5: environment.apps: unknown key"},
		{"unknown table", "platform = \"sim\"\n[watcher]\nx = 1\n", "c.toml:2: watcher: unknown key"},
		{"wrong type", "platform = \"sim\"\n[watch]\nlog_buffer = \"big\"\n", "c.toml:3: watch.log_buffer: wrong type: got string, want an integer"},
		{"bad duration", "platform = \"sim\"\n[watch]\nprobe_interval = \"soon\"\n", `c.toml:3: watch.probe_interval: "soon" is not a duration`},
		{"syntax", "platform = \"sim\"\nplatform\n", "c.toml:2: expected"},
		{"bad platform", "platform = \"heroku\"\n", `c.toml:1: platform: "heroku" is not one of flyctl, machines, sim`},
		{"no platform", "[watch]\n", "platform: missing"},
		{"no env", "platform = \"flyctl\"\n", "c.toml: environment: at least one [[environment]]"},
		{"duplicate env", "platform = \"flyctl\"\n[[environment]]\nname = \"p\"\napp = \"a\"\n[[environment]]\nname = \"p\"\napp = \"b\"\n", `environment.name: "p" is defined twice`},
		{"bad url", "platform = \"flyctl\"\n[[environment]]\nname = \"p\"\napp = \"a\"\nurl = \"hotdash-app.fly.dev\"\n", `c.toml:5: environment.url: "hotdash-app.fly.dev" is not an absolute URL`},
		{"bad apply", "platform = \"flyctl\"\n[fly]\napply = \"yolo\"\n", `c.toml:3: fly.apply: "yolo"`},
		{"restart cannot apply staged secrets", "platform = \"flyctl\"\n[fly]\napply = \"restart\"\n",
			`c.toml:3: fly.apply: "restart" is refused: a restart sends no secrets version and makes no release, so staged secrets never reach the machines`},
		{"probe too often", "platform = \"sim\"\n[integration.publer]\nprobe_interval = \"1s\"\n",
			"c.toml:3: integration.publer.probe_interval: 1s is out of range: from 5s to 1h"},
		{"probe too rarely", "platform = \"sim\"\n[integration.ga4]\nprobe_interval = \"2h\"\n",
			"c.toml:3: integration.ga4.probe_interval: 2h is out of range: from 5s to 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadMissingFileSaysWhich(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Errorf("err = %v", err)
	}
}

// example is config.toml.example, parsed.
func example(t *testing.T) *Config {
	t.Helper()
	data, err := os.ReadFile("../../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("config.toml.example", data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExampleConfigIsValid(t *testing.T) {
	c := example(t)
	if c.Platform != "flyctl" || len(c.Environments) != 2 {
		t.Errorf("example: platform %q, %d environments", c.Platform, len(c.Environments))
	}
}

func TestDefaultIsTheSimulatorWithTheRealAppNames(t *testing.T) {
	c := Default()
	if c.Platform != "sim" || c.DefaultEnv != "production" || c.Environments[0].App != "hotdash-app" || c.Environments[1].App != "hotdash-app-dev" {
		t.Errorf("default: %+v", c)
	}
}

// Step 2.2 sets the dev app's Publer key from the dev workspace's variables:
// the simulator, config.toml.example and README name the same ones.
func TestTheDevPublerWorkspaceIsReadFromTheVariablesREADMENames(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Config{Default(), example(t)} {
		dev, ok := c.Env("dev")
		if !ok {
			t.Fatalf("%s: no dev environment", c.File)
		}
		if s := c.ServicesFor(dev).Publer; s.KeyEnv != DevPublerKeyEnv || s.WorkspaceEnv != DevPublerWorkspaceEnv {
			t.Errorf("%q: dev Publer from %s and %s", c.File, s.KeyEnv, s.WorkspaceEnv)
		}
		prod, _ := c.Env("production")
		if s := c.ServicesFor(prod).Publer; s.KeyEnv != "PUBLER_API_KEY" || s.WorkspaceEnv != "PUBLER_WORKSPACE_ID" {
			t.Errorf("%q: production Publer from %s and %s", c.File, s.KeyEnv, s.WorkspaceEnv)
		}
	}
	want := "export " + DevPublerKeyEnv + "=... " + DevPublerWorkspaceEnv + "=..."
	if !strings.Contains(string(readme), want) {
		t.Errorf("README does not say %q", want)
	}
}

func TestAConfigReadableByOthersNamingATokenFileWarns(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "fly.token")
	if err := os.WriteFile(token, []byte("fo1_x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hotdash.toml")
	data := "platform = \"machines\"\n[fly]\ntoken_file = \"" + token + "\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0], "is readable by other users (-rw-r--r--) and names a token file") || !strings.Contains(c.Warnings[1], "token file "+token+" is readable by other users") {
		t.Errorf("warnings: %q", c.Warnings)
	}
	_ = os.Chmod(path, 0o600)
	_ = os.Chmod(token, 0o600)
	if c, _ := Load(path); len(c.Warnings) != 0 {
		t.Errorf("after chmod 600: %q", c.Warnings)
	}
	if v, _ := ReadToken(token); v != "fo1_x" {
		t.Errorf("token %q", v)
	}
}

func TestNumbersAndDurationsOutOfRangeAreRefusedWithTheRange(t *testing.T) {
	sim := "platform = \"sim\"\n"
	tests := []struct{ name, in, want string }{
		{"huge log buffer", sim + "[watch]\nlog_buffer = 9223372036854775807\n", "c.toml:3: watch.log_buffer: 9223372036854775807 is out of range: from 10 to 100000"},
		{"negative log buffer", sim + "[watch]\nlog_buffer = -1\n", "c.toml:3: watch.log_buffer: -1 is out of range: from 10 to 100000"},
		{"days overflowing", sim + "[watch]\nprobe_interval = \"999999999999d\"\n", `c.toml:3: watch.probe_interval: "999999999999d" is too long (at most 106751d)`},
		{"weeks overflowing", sim + "[watch]\nprobe_interval = \"99999999999999999999w\"\n", `c.toml:3: watch.probe_interval: "99999999999999999999w" is too long (at most 15250w)`},
		{"negative duration", sim + "[watch]\nsecrets_interval = \"-5s\"\n", `c.toml:3: watch.secrets_interval: "-5s" is negative`},
		{"an interval too short", sim + "[watch]\nmachines_interval = \"1ms\"\n", "c.toml:3: watch.machines_interval: 1ms is out of range: from 100ms to 1h"},
		{"a call timeout of a nanosecond", sim + "[watch]\ncall_timeout = \"1ns\"\n", "c.toml:3: watch.call_timeout: 1ns is out of range: from 100ms to 5m"},
		{"a call timeout of a day", sim + "[watch]\ncall_timeout = \"1d\"\n", "c.toml:3: watch.call_timeout: 1d is out of range: from 100ms to 5m"},
		{"negative log rate", sim + "[sim]\nlog_rate = -3.0\n", "c.toml:3: sim.log_rate: -3 is out of range: from 0 to 1000 (lines a second)"},
		{"negative threshold", sim + "[integration.publer]\nauto_rollback = true\nthresholds = { \"jobs failing\" = -0.5 }\n", `c.toml:4: integration.publer.thresholds: "jobs failing": -0.5 is out of range: from 0 to 1000000`},
		{"not a number", sim + "[integration.publer]\nthresholds = { \"jobs failing\" = nan }\n", `c.toml:3: integration.publer.thresholds: "jobs failing": NaN is out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"[watch]\nprobe_interval = \"100ms\"\ncall_timeout = \"5m\"\nlog_buffer = 100000\n", "[watch]\nsecrets_interval = \"1h\"\n", "[sim]\nlog_rate = 1000.0\n"} {
		if _, err := Parse("c.toml", []byte(sim+ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

func TestParseDurationReadsDaysAndWeeks(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90s": 90 * time.Second, "106751d": 106751 * 24 * time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
}
