package runbook

import (
	"os"
	"reflect"
	"strings"
	"testing"
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
