// Package runbooktest drives a runner the way an operator would, for the
// tests of the views and commands built on it.
package runbooktest

import (
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/runbook"
)

// Pre are the pre-activation steps.
var Pre = []string{"pre.1", "pre.2", "pre.3", "pre.4", "pre.5"}

// Pass runs each step from seat by to its end, confirming what it asks
// (typing what production asks to be typed), and fails the test unless it
// passes. On a shared console a proposal is approved from approver.
func Pass(t testing.TB, r *runbook.Runner, by, approver *runbook.Seat, ids ...string) {
	t.Helper()
	for _, id := range ids {
		p, err := r.Run(id, by)
		if err != nil {
			t.Fatalf("run %s: %v", id, err)
		}
		if err := r.Answer(p.ID, runbook.Answer{Typed: p.TypeToConfirm, Values: map[string]string{"note": "ok"}, By: by}); err != nil {
			t.Fatalf("answer %s: %v", id, err)
		}
		if q := r.State().Prompt; q != nil && q.ID == p.ID && q.Awaiting {
			if approver == nil {
				t.Fatalf("%s awaits a second operator's approval", id)
			}
			if err := r.Approve(p.ID, approver); err != nil {
				t.Fatalf("approve %s: %v", id, err)
			}
		}
		r.Wait()
		if st := r.State().Step(id); st.State != runbook.Passed {
			t.Fatalf("step %s: %s: %s\n%s", id, st.State, st.Result, strings.Join(st.Output, "\n"))
		}
	}
}
