package runbook

import (
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// Each integration carries the guide's troubleshooting: its own notes
// first ("If source is mock", "Issues"), then the Troubleshooting
// section's entries that concern it, with the guide's commands on the app
// shown.
func TestEveryIntegrationCarriesTheGuidesTroubleshooting(t *testing.T) {
	rb := Default()
	for _, tc := range []struct {
		id    string
		first string
		want  []string
	}{
		{"supabase", "The idea pool answers mock", []string{
			"`fly logs -a hotdash-app | grep idea-pool`",
			"`fly secrets list -a hotdash-app` should show IDEA_POOL_SUPABASE_ENABLED",
			"`cd ~/HotDash/hot-dash && supabase migration list`",
			"contact the Data agent and do NOT proceed",
			"SUPABASE_URL and SUPABASE_SERVICE_KEY",
			"## All integrations return mock data", "**Cause:** Feature flags not activated",
			"## Credentials invalid", "## Rate limiting", "## Network timeouts",
		}},
		{"publer", "Publer still runs the mock adapter", []string{
			`"Using real Publer API (production mode)"`,
			"`fly secrets set PUBLER_API_KEY=<production-api-key> PUBLER_WORKSPACE_ID=<production-workspace-id> PUBLER_LIVE=true -a hotdash-app`",
			"More than 5% of jobs failing", "Jobs taking more than 5 minutes", "401/403 errors (a credential issue)",
			`the jobId starts with "mock-job-"`,
		}},
		{"ga4", "GA4 traffic answers mock", []string{
			"pending implementation (Task 6)", "`fly secrets set ANALYTICS_REAL_DATA=true -a hotdash-app`",
		}},
		{"chatwoot", "Chatwoot: 401 Unauthorized", []string{
			"`fly secrets list -a hotdash-app | grep CHATWOOT`: verify CHATWOOT_API_KEY and CHATWOOT_ACCOUNT_ID",
			`Logs show "Rate limit reached"`, "token bucket (10 req/s)", "more than 10% of requests",
			"./scripts/ops/check-chatwoot-health.sh", "no mock to fall back to", "## Network timeouts",
		}},
	} {
		entries := rb.TroubleFor(tc.id)
		if len(entries) == 0 || entries[0].Title != tc.first {
			t.Errorf("%s: first entry %v, want %q", tc.id, entries, tc.first)
		}
		md := rb.TroubleMarkdown(tc.id, "hotdash-app")
		if m := testkit.Missing(md, tc.want...); m != "" {
			t.Errorf("%s lacks %q:\n%s", tc.id, m, md)
		}
		if strings.Contains(md, "{app}") {
			t.Errorf("%s: {app} left unexpanded:\n%s", tc.id, md)
		}
	}
	// Only the integrations an entry names see it.
	if md := rb.TroubleMarkdown("chatwoot", "hotdash-app"); strings.Contains(md, "All integrations return mock data") {
		t.Error("chatwoot has no flag: the flags' entry is not its")
	}
	// The app is the one on screen.
	if md := rb.TroubleMarkdown("publer", "hotdash-app-dev"); !strings.Contains(md, "`fly secrets set PUBLER_LIVE=true -a hotdash-app-dev`") {
		t.Errorf("dev:\n%s", md)
	}
}

func TestTroubleshootingTextIsSanitised(t *testing.T) {
	src := minimal + "[[troubleshooting]]\ntitle = \"bad \\u001b[2Jtitle\"\nsymptoms = [\"x\\u001b]0;owned\\u0007y\"]\nfix = [\"z\"]\n"
	rb, err := Parse("rb.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	md := rb.TroubleMarkdown("a", "app")
	if strings.ContainsRune(md, 0x1b) || strings.ContainsRune(md, 0x07) || !strings.Contains(md, "## bad title") || !strings.Contains(md, "- xy") {
		t.Errorf("%q", md)
	}
}

// minimal is a runbook of one integration, "a".
const minimal = "[[integration]]\nid = \"a\"\nname = \"Alpha\"\n[integration.source]\nkind = \"chatwoot\"\n"

func TestLintChecksTheTroubleshooting(t *testing.T) {
	src := minimal + `[[integration]]
id = "b"
[integration.source]
kind = "chatwoot"

[[troubleshooting]]
title = "No fix"
integrations = ["a"]
symptoms = ["it breaks"]

[[troubleshooting]]
title = "Someone else's"
integrations = ["zeta"]
symptoms = ["it breaks"]
fix = ["mend it"]

[[troubleshooting]]
title = "Typo"
integrations = ["a"]
cause = "the {ap} is down"
fix = ["run ` + "`fly apps restart {app}" + `"]

[[troubleshooting]]
integrations = ["a"]
fix = ["x"]
`
	var got []string
	for _, e := range Lint("rb.toml", []byte(src)) {
		got = append(got, e.Error())
	}
	joined := strings.Join(got, "\n")
	want := []string{
		`rb.toml:11: troubleshooting.fix: "No fix" needs fix: what to do`,
		`rb.toml:18: troubleshooting.integrations: "Someone else's" names integration "zeta", which is not defined`,
		`rb.toml:25: troubleshooting.cause: "Typo": {ap} is not a placeholder here (only {app} is)`,
		"rb.toml:26: troubleshooting.fix: \"Typo\": a ` is not closed",
		`rb.toml:28: troubleshooting.title: every [[troubleshooting]] needs a title`,
		`rb.toml:7: integration.id: integration "b" has no troubleshooting: add a [[troubleshooting]] with integrations = ["b"]`,
	}
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("missing %q in:\n%s", w, joined)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), joined)
	}
	// Loading asks less than lint: an integration without troubleshooting
	// still loads, and `t` says there is none.
	rb, err := Parse("rb.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if md := rb.TroubleMarkdown("a", "app"); !strings.Contains(md, "The runbook has no troubleshooting for Alpha.") {
		t.Errorf("%q", md)
	}
}
