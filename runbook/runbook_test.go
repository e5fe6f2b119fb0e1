package runbook

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/integrations/config"
)

func TestDefaultRunbookHasTheGuidesIntegrations(t *testing.T) {
	rb := Default()
	var ids []string
	for _, d := range rb.Integrations {
		ids = append(ids, d.ID)
	}
	if strings.Join(ids, ",") != "supabase,publer,ga4,chatwoot" {
		t.Fatalf("integrations in order: %v", ids)
	}
	flags := map[string]string{"supabase": "IDEA_POOL_SUPABASE_ENABLED", "publer": "PUBLER_LIVE", "ga4": "ANALYTICS_REAL_DATA", "chatwoot": ""}
	for id, flag := range flags {
		if d := rb.Integration(id); d.Flag != flag {
			t.Errorf("%s flag = %q, want %q", id, d.Flag, flag)
		}
	}
	if ga4 := rb.Integration("ga4"); ga4.Ready || !strings.Contains(ga4.NotReady, "pending implementation") {
		t.Errorf("ga4 ready=%v %q", ga4.Ready, ga4.NotReady)
	}
	if d := rb.Integration("supabase"); d.ErrorThreshold() != 0.01 || len(d.Diagnoses) < 3 {
		t.Errorf("supabase thresholds/diagnoses: %v %d", d.ErrorThreshold(), len(d.Diagnoses))
	}
	if len(rb.Hash) != 16 {
		t.Errorf("hash %q", rb.Hash)
	}
}

func TestRunbookErrorsNameTheLine(t *testing.T) {
	base := "[[integration]]\nid = \"a\"\nlog_tags = [\"a\"]\n[integration.source]\nkind = \"chatwoot\"\n"
	tests := []struct{ name, in, want string }{
		{"unknown key", base + "colour = \"red\"\n", "rb.toml:6: integration.source.colour: unknown key"},
		{"bad kind", "[[integration]]\nid = \"a\"\n[integration.source]\nkind = \"ftp\"\n", `rb.toml:4: integration.source.kind: "ftp"`},
		{"bad when", base + "[[integration.diagnosis]]\nwhen = \"sometimes\"\ntext = \"x\"\n", `rb.toml:7: integration.diagnosis.when: "sometimes" is not one of always`},
		{"duplicate", base + base, `integration.id: integration "a" is defined twice`},
		{"bad id", "[[integration]]\nid = \"A B\"\n", `rb.toml:2: integration.id: "A B" is not an id`},
		{"http incomplete", "[[integration]]\nid = \"a\"\n[integration.source]\nkind = \"http\"\npath = \"/x\"\n", "an http source needs path, field and live"},
		{"bad regex", base + "[[integration.threshold]]\nkind = \"count\"\nmatch = \"(\"\n", "missing closing )"},
		{"empty", "", "no [[integration]] defined"},
		{"logs without integration", base + "[[phase]]\nid = \"p\"\n[[step]]\nid = \"s\"\nphase = \"p\"\nkind = \"verify\"\n[[step.check]]\ncall = \"logs\"\ntext = \"x\"\n", "needs an integration (whose log it reads)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("rb.toml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLintFindsEveryProblemWithItsLine(t *testing.T) {
	src := `[[integration]]
id = "supabase"
flag = "IDEA_POOL_SUPABASE_ENABLED"
log_tags = ["idea-pool"]
[integration.source]
kind = "http"
path = "/api/analytics/idea-pool"
field = "source"
live = ["supabase"]

[[phase]]
id = "one"
integration = "supabase"

[[step]]
id = "a"
phase = "one"
kind = "teleport"

[[step]]
id = "b"
phase = "one"
kind = "manual"
confirm = "ok"
after = ["nope"]

[[step]]
id = "c"
phase = "one"
kind = "set_flag"
flag = "MYSTERY_ENABLED"
value = "true"
after = ["d"]

[[step]]
id = "d"
phase = "one"
kind = "manual"
confirm = "ok"
after = ["c"]
`
	errs := Lint("broken.toml", []byte(src))
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`broken.toml:18: step.kind: "teleport" is not a step kind`,
		`broken.toml:31: step.flag: step "c" sets flag MYSTERY_ENABLED, which no integration declares`,
		`broken.toml:25: step.after: step "b" waits for step "nope", which is not defined`,
		`broken.toml:33: step.after: steps wait for each other in a circle: c → d → c`,
		`broken.toml:2: integration.id: integration "supabase" has no troubleshooting`,
	}
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("missing %q in:\n%s", w, joined)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(errs), len(want), joined)
	}
}

func TestDefaultRunbookLintsClean(t *testing.T) {
	if errs := Lint(DefaultName, DefaultBytes()); len(errs) > 0 {
		t.Fatalf("the embedded runbook has problems: %v", errs)
	}
	rb := Default()
	if len(rb.Steps) < 20 || rb.Step("2.6").Warning != "ONLY after dev testing succeeds" || len(rb.Success) != 6 || len(rb.Contacts) != 6 || len(rb.Decision.Branches) != 4 || len(rb.Monitoring) != 3 {
		t.Errorf("steps %d, success %d, contacts %d, branches %d, monitoring %d", len(rb.Steps), len(rb.Success), len(rb.Contacts), len(rb.Decision.Branches), len(rb.Monitoring))
	}
	if rb.Step("2.2").Env != "dev" || rb.Step("2.6").Env != "" {
		t.Error("Publer runs on dev first, then production")
	}
}

// The runbook file points to README's "Runbook format": the section is
// there and names every key the file may hold.
func TestREADMEDescribesEveryRunbookKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Runbook format\n")
	if !ok {
		t.Fatal(`README has no "## Runbook format" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	if !strings.Contains(string(DefaultBytes()), `README.md ("Runbook format")`) {
		t.Error("the runbook file no longer points to the section")
	}
	var missing []string
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Slice || ty.Kind() == reflect.Pointer {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || (ty.Name() != "" && ty.PkgPath() != reflect.TypeFor[file]().PkgPath()) {
			return
		}
		for f := range ty.Fields() {
			key := f.Tag.Get("toml")
			if key == "" {
				continue
			}
			if !strings.Contains(section, "`"+key+"`") && !strings.Contains(section, "["+key+"]") && !strings.Contains(section, "."+key+"]") {
				missing = append(missing, key)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[file]())
	if len(missing) > 0 {
		t.Errorf("README's Runbook format does not name %v", missing)
	}
}

// lintBase is a runbook with one integration, a phase and a step that
// name it, and a success criterion: what a problem in the integration
// must not make report again.
const lintBase = `[[integration]]
id = "publer"
flag = "PUBLER_LIVE"
credentials = ["PUBLER_API_KEY"]
[integration.source]
kind = "logs"
live_marker = "Using real Publer API"
[[integration.threshold]]
name = "jobs failing"
kind = "share"
match = "job failed"
of = "job"
max = 0.05

[[phase]]
id = "publer"
integration = "publer"

[[step]]
id = "2.4"
phase = "publer"
kind = "set_flag"
value = "true"
env = "dev"

[[success]]
id = "publer-fallback"
integration = "publer"
check = "fallback_test"
break = "PUBLER_API_KEY"

[[troubleshooting]]
title = "Posts stay mock"
integrations = ["publer"]
cause = "PUBLER_LIVE is not deployed"
fix = ["fly secrets deploy -a {app}"]
`

func TestLintReportsOneErrorPerCause(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"a bad regex", `match = "job failed"`, `match = "job (failed"`,
			"rb.toml:11: integration.threshold.match: threshold \"jobs failing\": error parsing regexp: missing closing )"},
		{"a bad regex in of", `of = "job"`, `of = "[job"`, "rb.toml:12: integration.threshold.of: threshold \"jobs failing\""},
		{"a share over 1", "max = 0.05", "max = 5.0", `rb.toml:13: integration.threshold.max: threshold "jobs failing": 5 is out of range: from 0 to 1 (a share: 0.01 is 1%)`},
		{"a negative share", "max = 0.05", "max = -0.05", `rb.toml:13: integration.threshold.max: threshold "jobs failing": -0.05 is out of range: from 0 to 1`},
		{"a window over an hour", "max = 0.05", "max = 0.05\nwindow = \"2h\"", `rb.toml:14: integration.threshold.window: threshold "jobs failing": 2h is out of range: from 1s to 1h`},
		{"an unknown source kind", `kind = "logs"`, `kind = "ftp"`, `rb.toml:6: integration.source.kind: "ftp"`},
		{"an undefined env", `env = "dev"`, `env = "staging"`, `rb.toml:24: step.env: step "2.4" runs on environment "staging", which the default configuration does not define (it has production, dev)`},
		{"a step timeout of a millisecond", `env = "dev"`, "env = \"dev\"\ntimeout = \"1ms\"", `rb.toml:25: step.timeout: step "2.4": 1ms is out of range: from 1s to 1d`},
		{"a break that is no credential", `break = "PUBLER_API_KEY"`, `break = "PUBLER_KEY"`, `rb.toml:30: success.break: criterion "publer-fallback" breaks PUBLER_KEY, which is not one of publer's credentials (PUBLER_API_KEY)`},
	}
	if errs := Lint("rb.toml", []byte(lintBase)); len(errs) != 0 {
		t.Fatalf("the base lints with %v", errs)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(lintBase, tt.from, tt.to, 1)
			errs := Lint("rb.toml", []byte(src))
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
				t.Errorf("got %d errors %v\nwant one: %q", len(errs), errs, tt.want)
			}
		})
	}
}

func TestLintChecksEnvironmentsAgainstTheConfigurationsAndPlaceholdersAgainstInputs(t *testing.T) {
	src := strings.Replace(lintBase, `env = "dev"`, `env = "staging"`, 1)
	if errs := Lint("rb.toml", []byte(src), "production", "staging"); len(errs) != 0 {
		t.Errorf("staging is defined: %v", errs)
	}
	post := lintBase + `
[[step]]
id = "2.5"
phase = "publer"
kind = "verify"
[[step.input]]
name = "account"
[[step.check]]
call = "post"
text = "Test for {acount}"
accounts = ["{account}", "{app}"]
want = ["real-job-*"]
`
	errs := Lint("rb.toml", []byte(post))
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{`step.check: check "post" of step "2.5" uses {acount}, which no [[step.input]] of the step names`,
		`step.check: check "post" of step "2.5" uses {app}, which no [[step.input]] of the step names`}
	if len(got) != 2 || !strings.HasSuffix(got[0], want[0]) || !strings.HasSuffix(got[1], want[1]) {
		t.Errorf("got %q", got)
	}
}

func TestConfigureBoundsOverridesAndWarnsOfUndefinedEnvironments(t *testing.T) {
	rb, err := Parse("rb.toml", []byte(lintBase))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("hotdash.toml", []byte("platform = \"flyctl\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\n\n[integration.publer]\nthresholds = { \"jobs failing\" = 5.0 }\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = rb.Configure(cfg)
	if want := `hotdash.toml:7: integration.publer.thresholds: "jobs failing": 5 is out of range: from 0 to 1`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v\nwant %q", err, want)
	}
	cfg.Integrations["publer"].Thresholds["jobs failing"] = 0.5
	if err := rb.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	if rb.Integration("publer").Thresholds[0].Max != 0.5 {
		t.Error("the override is not applied")
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0] != `rb.toml: step(s) 2.4 run on environment "dev", which hotdash.toml does not define (it has production): they cannot run` {
		t.Errorf("warnings %q", cfg.Warnings)
	}
}
