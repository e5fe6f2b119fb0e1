package integrations

import (
	"reflect"
	"testing"
)

func TestFilter(t *testing.T) {
	tests := []struct {
		expr  string
		line  string
		match bool
	}{
		{"", "anything", true},
		{"error", "idea-pool: Supabase ERROR 503", true},
		{"Error", "all good", false},
		{"!error", "all good", true},
		{"!error", "an error", false},
		{"rate limit reached", "chatwoot: Rate limit reached (429)", true},
		{`job \S+ failed`, "publer: job real-job-1 failed: 502", true},
		{`job \S+ failed`, "publer: job real-job-1 complete", false},
		{"^publer", "PUBLER-adapter: x", true},
		{"!^publer", "idea-pool: x", true},
		{"401|403", "answered 403 Forbidden", true},
		{"é", "café", true},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.expr)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.expr, err)
		}
		if got := f.Match(tt.line); got != tt.match {
			t.Errorf("%q on %q = %v, want %v", tt.expr, tt.line, got, tt.match)
		}
	}
}

func TestFilterRejectsBadRegexReadably(t *testing.T) {
	_, err := ParseFilter("job (")
	if err == nil || err.Error() != `invalid filter "job (": missing closing )` {
		t.Fatalf("err = %v", err)
	}
	if f, err := ParseFilter("!"); f != nil || err != nil {
		t.Errorf("a lone ! is no filter, got %v %v", f, err)
	}
}

func TestFilterSpansHighlightEveryMatch(t *testing.T) {
	f, _ := ParseFilter("ab")
	if got := f.Spans("xABxab"); !reflect.DeepEqual(got, [][2]int{{1, 3}, {4, 6}}) {
		t.Errorf("literal spans = %v", got)
	}
	f, _ = ParseFilter("a+")
	if got := f.Spans("baab a"); !reflect.DeepEqual(got, [][2]int{{1, 3}, {5, 6}}) {
		t.Errorf("regex spans = %v", got)
	}
	f, _ = ParseFilter("!a")
	if f.Spans("a") != nil {
		t.Error("an inverted filter highlights nothing")
	}
}

func TestRequiredLiteralsNeverRejectAMatch(t *testing.T) {
	lines := []string{
		"publer: job real-job-1 failed: 502", "publer: job real-job-1 complete after 312s",
		"answered 403 Forbidden", "HTTP 401", "JOB X FAILED", "nothing here", "job failed",
	}
	for _, expr := range []string{`job \S+ failed`, `job \S+ complete after ([3-9][0-9]{2}|[0-9]{4,})s`, `\b(401|403)\b`, `(error|warn)`, `x?y*`, `fail(ed)?`, `[a-z]+ing`} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if got, want := f.Match(l), f.re.MatchString(l); got != want {
				t.Errorf("%q on %q: %v, the regex says %v (need %q)", expr, l, got, want, f.need)
			}
		}
	}
	f, _ := ParseFilter(`job \S+ failed`)
	if len(f.need) != 1 || string(f.need[0]) != " failed" {
		t.Errorf("need = %q", f.need)
	}
}
