package runbook

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// Two criteria of the same kind are each credited with their own test only.
func TestCriteriaOfOneKindAreCreditedSeparately(t *testing.T) {
	rb := &Runbook{Success: []Criterion{
		{ID: "supabase-rollback", Integration: "supabase", Check: "rollback_test"},
		{ID: "publer-rollback", Integration: "publer", Check: "rollback_test"},
	}}
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	recs := []Record{{Time: at, Operator: "alice", Action: "criterion.rollback_test", Step: rb.Success[1].step(), Result: "ok", Note: "mock in 12s, live again"}}
	got := Criteria(rb, recs)
	if got[0].Done || !strings.HasPrefix(got[0].Evidence, "not run yet") {
		t.Errorf("Supabase's rollback test is credited with Publer's: %+v", got[0])
	}
	if !got[1].Done || !strings.Contains(got[1].Evidence, "by alice: mock in 12s") {
		t.Errorf("Publer's rollback test: %+v", got[1])
	}
}

func TestTheReportQuotesOutsideTextInert(t *testing.T) {
	rb := Default()
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	esc := testkit.Escapes
	loaded := &Loaded{Warnings: []string{"journal.jsonl:3: " + esc}, Records: []Record{
		{Time: at, Operator: "alice" + esc, Action: ActStepPass, Step: "pre.1", Result: "fly secrets list shows " + esc, Note: esc},
		{Time: at, Operator: "alice", Action: ActApplyDone, App: "hotdash-app", Step: "1.3", Commands: []string{"fly secrets deploy " + esc}, Result: esc, After: "iad" + esc},
		{Time: at, Operator: "alice", Action: "rollback.done", App: "hotdash-app", Step: "1.3", Result: "verified", Note: "machine in \x1b[31mams\x1b[0m failed"},
	}}
	var b strings.Builder
	Report(&b, rb, loaded, ReportOptions{Journal: "journal.jsonl", Extra: []func(io.Writer){func(w io.Writer) { fmt.Fprintf(w, "## Health\n%s", esc) }}})
	out := b.String()
	testkit.AssertInert(t, "report", out)
	if n := strings.Count(out, "OK all good"); n < 6 {
		t.Errorf("the quoted text is lost (%d times):\n%s", n, out)
	}
	if !strings.Contains(out, "machine in ams failed") || !strings.HasSuffix(out, "## Health\nOK all good\n") {
		t.Errorf("report:\n%s", out)
	}
}
