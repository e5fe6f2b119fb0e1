package runbook

import (
	"strings"
	"testing"
	"time"
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
