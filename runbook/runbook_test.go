package runbook

import (
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
