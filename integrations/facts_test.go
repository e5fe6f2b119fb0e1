package integrations

import (
	"testing"
	"time"
)

// A line states a fact only in a field: the status of the request it
// records, the service it went to, the job it follows. A number elsewhere
// in the text is no status.
func TestReadFactsFromFieldsNeverFromNumbersInTheText(t *testing.T) {
	tests := []struct {
		msg  string
		want LineFacts
	}{
		{"publer-adapter: POST /posts/schedule upstream=publer status=401 (Unauthorized: check PUBLER_API_KEY)",
			LineFacts{Status: 401, Upstream: "publer"}},
		{"chatwoot: Rate limit reached: GET /api/v1/accounts/3/conversations upstream=chatwoot status=429 (Retry later), retrying in 400ms",
			LineFacts{Status: 429, Upstream: "chatwoot"}},
		{"publer-adapter: POST /posts/schedule upstream=publer status=202 job=real-job-1a2b outcome=scheduled workspace=5f1b…",
			LineFacts{Status: 202, Upstream: "publer", Job: "real-job-1a2b", Outcome: OutcomeScheduled}},
		{"publer: job real-job-1a2b complete job=real-job-1a2b outcome=complete took=312s",
			LineFacts{Job: "real-job-1a2b", Outcome: OutcomeComplete, Took: 312 * time.Second}},
		{"[error]publer: job real-job-9 failed (Publer answered 502 Bad Gateway) job=real-job-9 outcome=failed took=4s",
			LineFacts{Job: "real-job-9", Outcome: OutcomeFailed, Took: 4 * time.Second}},
		// The app's own access lines: the status column.
		{"GET /api/analytics/idea-pool 503 source=mock", LineFacts{Status: 503}},
		{"publer: GET /api/social/status/mock-job-401-1700000000000 200 job_status=complete", LineFacts{Status: 200}},
		{"POST /api/session 204 12ms", LineFacts{Status: 204}},
		// Numbers that are no status.
		{"publer: mock job mock-job-401-1700000000000 accepted (401 chars)", LineFacts{}},
		{"publer: mock job mock-job-403-1700000000000 accepted (403 chars)", LineFacts{}},
		{"chatwoot: fetched 401 open conversations (403ms)", LineFacts{}},
		{"idea-pool: served 500 ideas from supabase in 401ms", LineFacts{}},
		{"Listening on 0.0.0.0:3000 (release v401)", LineFacts{}},
		{"chatwoot: 401 Invalid Access Token (check CHATWOOT_API_KEY)", LineFacts{}},
		{"GET /app 20 12ms", LineFacts{}},
		{"status=4010 upstream=publer", LineFacts{Upstream: "publer"}},
		{"status=complete", LineFacts{}},
		{"publer: took=soon job= outcome=", LineFacts{}},
	}
	for _, tt := range tests {
		if got := ReadFacts(tt.msg); got != tt.want {
			t.Errorf("ReadFacts(%q)\n = %+v\nwant %+v", tt.msg, got, tt.want)
		}
	}
}

func BenchmarkReadFacts(b *testing.B) {
	lines := []string{
		"chatwoot: fetched 12 open conversations upstream=chatwoot status=200 (80ms)",
		"idea-pool: served 24 ideas from supabase in 83ms",
		"GET /app/dashboard 200 14ms",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = ReadFacts(lines[i%len(lines)])
	}
}
