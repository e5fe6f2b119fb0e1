package runbook

import (
	"strings"
	"testing"
)

func TestSharedConsoleOneDriverTwoPersonRule(t *testing.T) {
	h := newHarness(t, "healthy", false)
	r := h.r
	r.Share()
	alice := r.Join("alice")
	bob := r.Join("bob")
	if !alice.Driving() || bob.Driving() || Presence(r.State().Seats) != "alice driving, bob watching" {
		t.Fatalf("presence: %q", Presence(r.State().Seats))
	}
	for _, id := range pre {
		if err := r.Skip(id, "bob", "x"); err == nil || !strings.Contains(err.Error(), "alice is driving: ctrl+t takes control") {
			t.Fatalf("bob skipped while alice drives: %v", err)
		}
		if err := r.Skip(id, "alice", "rehearsed"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Run("1.1", "bob"); err == nil {
		t.Fatal("bob ran a step while alice drives")
	}
	if _, err := r.Run("1.1", "alice"); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	// A production write: alice proposes, bob approves.
	p, err := r.Run("1.2", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsApproval || p.By != "alice" {
		t.Fatalf("prompt: %+v", p)
	}
	if err := r.Answer(p.ID, Answer{Typed: "hotdash-app", By: "bob"}); err == nil {
		t.Fatal("a watcher answered the driver's confirmation")
	}
	if err := r.Answer(p.ID, Answer{Typed: "hotdash-app", By: "alice"}); err != nil {
		t.Fatal(err)
	}
	s := r.State()
	if s.Prompt == nil || !s.Prompt.Awaiting || s.Step("1.2").State != Pending || len(h.st.Sim.Writes()) != 0 {
		t.Fatalf("the write did not wait for approval: %+v", s.Prompt)
	}
	if err := r.Approve(p.ID, "alice"); err == nil || !strings.Contains(err.Error(), "another operator approves") {
		t.Fatalf("alice approved her own proposal: %v", err)
	}
	if err := r.Approve(p.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	st := r.State().Step("1.2")
	if st.State != Passed || st.Operator != "alice" || st.Approver != "bob" {
		t.Fatalf("1.2: %s by %q approved by %q", st.State, st.Operator, st.Approver)
	}
	var named bool
	for _, rec := range h.records() {
		if rec.Step == "1.2" && rec.Action == ActWriteDone && rec.Operator == "alice" && rec.Approver == "bob" {
			named = true
		}
	}
	if !named {
		t.Error("the journal does not name both operators on the write")
	}

	// Handover is explicit and journaled.
	bob.TakeControl()
	if alice.Driving() || !bob.Driving() {
		t.Fatal("bob did not take control")
	}
	if _, err := r.Run("1.3", "alice"); err == nil || !strings.Contains(err.Error(), "bob is driving") {
		t.Fatalf("alice acted after the handover: %v", err)
	}
	bob.Release()
	if Presence(r.State().Seats) != "nobody driving, alice, bob watching" {
		t.Errorf("presence after release: %q", Presence(r.State().Seats))
	}
	var took, released bool
	for _, rec := range h.records() {
		took = took || (rec.Action == ActDriverTake && rec.Operator == "bob" && rec.Note == "took control from alice")
		released = released || (rec.Action == ActDriverGive && rec.Operator == "bob" && rec.Note == "handed over")
	}
	if !took || !released {
		t.Errorf("handover journal: took %v released %v", took, released)
	}
}

func TestADriverWhoDisconnectsMidPromptCancelsIt(t *testing.T) {
	h := newHarness(t, "healthy", false)
	r := h.r
	r.Share()
	alice := r.Join("alice")
	r.Join("bob")
	for _, id := range pre {
		_ = r.Skip(id, "alice", "rehearsed")
	}
	if _, err := r.Run("1.1", "alice"); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if _, err := r.Run("1.2", "alice"); err != nil {
		t.Fatal(err)
	}
	alice.Leave()
	s := r.State()
	if s.Prompt != nil || Presence(s.Seats) != "nobody driving, bob watching" || len(h.st.Sim.Writes()) != 0 {
		t.Fatalf("after alice left: prompt %+v, %q", s.Prompt, Presence(s.Seats))
	}
	recs := h.records()
	var cancelled bool
	for _, rec := range recs {
		cancelled = cancelled || (rec.Action == ActCancel && rec.Step == "1.2" && rec.Note == "the operator's session ended")
	}
	if !cancelled {
		t.Error("the cancelled prompt is not journaled")
	}
}

func TestALocalConsoleWaivesApprovalAndSaysSo(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.pass(pre...)
	h.pass("1.1", "1.2")
	if st := h.r.State().Step("1.2"); !strings.HasPrefix(st.Approver, "waived: local console") {
		t.Errorf("approver %q", st.Approver)
	}
}
