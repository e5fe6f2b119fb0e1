package runbook

import (
	"errors"
	"strings"
	"testing"
)

// throughDevTesting passes everything up to Publer's dev testing.
func throughDevTesting(h *harness) {
	h.t.Helper()
	h.pass(pre...)
	h.pass("1.1", "1.2", "1.3", "1.4", "1.5", "2.1", "2.2", "2.3", "2.4")
}

func heldErr(t *testing.T, err error) *ErrHeld {
	t.Helper()
	var held *ErrHeld
	if !errors.As(err, &held) {
		t.Fatalf("not held: %v", err)
	}
	return held
}

func TestASkipIsNeverAPass(t *testing.T) {
	h := newHarness(t, "healthy", false)
	throughDevTesting(h)
	if err := h.r.Skip("2.5", h.alice, "no dev account today"); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Skip("2.5b", h.alice, "nothing to see"); err != nil {
		t.Fatal(err)
	}
	writes := len(h.st.Sim.Writes())
	_, err := h.r.Run("2.6", h.alice)
	held := heldErr(t, err)
	const want = "held: 2.5 was skipped (reason: no dev account today); the guide says ONLY after dev testing succeeds"
	if !held.Gated() || held.Holds[0].Text != want {
		t.Fatalf("2.6: %v", err)
	}
	s := h.r.State()
	if got := s.Step("2.6").Holds; len(got) != 2 || got[0].Text != want || !strings.HasPrefix(got[1].Text, "held: 2.5b was skipped (reason: nothing to see)") {
		t.Errorf("2.6 holds: %+v", got)
	}
	// The checklist moves past skipped steps, and never onto a held one.
	if next := s.Next(); next != "4.1" {
		t.Errorf("next = %q", next)
	}
	if p := s.Prompt; p != nil || len(h.st.Sim.Writes()) != writes {
		t.Fatalf("a write was offered or made: %+v, %d writes", p, len(h.st.Sim.Writes()))
	}
}

func TestAFailedPreconditionHoldsItsPhaseAndWhatDependsOnIt(t *testing.T) {
	h := newHarness(t, "missing-migration", false)
	h.pass(pre...)
	if s := h.do("1.1", nil); s.State != Blocked {
		t.Fatalf("1.1: %s", s.State)
	}
	s := h.r.State()
	for _, id := range []string{"1.2", "1.3", "1.4", "1.5", "2.1", "2.6"} {
		holds := s.Step(id).Holds
		if len(holds) == 0 || !holds[0].Gate || !strings.HasPrefix(holds[0].Text, "held: 1.1 blocked (") ||
			!strings.HasSuffix(holds[0].Text, "; the guide says Do NOT proceed with activation") {
			t.Errorf("%s holds: %+v", id, holds)
		}
		err := h.r.Skip(id, h.alice, "we'll risk it")
		if err == nil || !strings.Contains(err.Error(), "the guide says Do NOT proceed with activation") {
			t.Errorf("skipping %s past a blocked precondition: %v", id, err)
		}
	}
	if err := h.r.Skip("1.1", h.alice, "we'll risk it"); err == nil {
		t.Error("a blocked precondition was skipped")
	}
	// Chatwoot does not depend on Supabase: it goes on.
	if holds := s.Step("4.1").Holds; len(holds) != 0 {
		t.Errorf("4.1 held: %+v", holds)
	}
	if next := s.Next(); next != "1.1" {
		t.Errorf("next = %q (1.1 can run again once fixed)", next)
	}
}

func TestAnOverrideIsExplicitJournaledAndReported(t *testing.T) {
	h := newHarness(t, "healthy", false)
	throughDevTesting(h)
	_ = h.r.Skip("2.5", h.alice, "no dev account today")
	_ = h.r.Skip("2.5b", h.alice, "nothing to see")

	p, err := h.r.Override("2.6", h.alice)
	if err != nil {
		t.Fatal(err)
	}
	if p.TypeToConfirm != "override hotdash-app" || p.Kind != KindOverride || !strings.Contains(strings.Join(p.Lines, "\n"), "held: 2.5 was skipped") {
		t.Fatalf("override prompt: %+v", p)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", Values: map[string]string{"reason": "x"}, By: h.alice}); err == nil {
		t.Fatal("the app name alone overrode a production gate")
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "override hotdash-app", By: h.alice}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("an override without a reason: %v", err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "override hotdash-app", Values: map[string]string{"reason": "dev workspace down; tested on staging with the manager"}, By: h.alice}); err != nil {
		t.Fatal(err)
	}
	s := h.r.State()
	if st := s.Step("2.6"); len(st.Holds) != 0 || len(st.Overrides) != 1 || strings.Join(st.Overrides[0].Gates, ",") != "2.5,2.5b" {
		t.Fatalf("2.6 after the override: holds %+v, overrides %+v", st.Holds, st.Overrides)
	}
	var rec *Record
	for _, r := range h.records() {
		if r.Action == ActOverride {
			rec = &r
		}
	}
	if rec == nil || rec.Step != "2.6" || rec.Operator != "alice" || rec.Note != "dev workspace down; tested on staging with the manager" ||
		strings.Join(rec.Gates, ",") != "2.5,2.5b" || !strings.HasPrefix(rec.Approver, "waived: local console") {
		t.Fatalf("override record: %+v", rec)
	}
	// The step itself is still confirmed like any production write.
	h.pass("2.6")

	// It survives a restart.
	h.r.Close()
	h.j.Close()
	h2 := newHarnessAt(t, h.path)
	if st := h2.r.State().Step("2.6"); len(st.Overrides) != 1 || st.State != Passed {
		t.Errorf("after a restart: %+v", st)
	}
	if st := h2.r.State().Step("2.5b"); st.State != Skipped {
		t.Errorf("2.5b after a restart: %s", st.State)
	}

	var b strings.Builder
	Report(&b, h.rb, &Loaded{Records: h.records()}, ReportOptions{Journal: h.path})
	out := b.String()
	gi, si := strings.Index(out, "## Gates overridden"), strings.Index(out, "## Steps")
	if gi < 0 || (si >= 0 && si < gi) || !strings.Contains(out, "2.6") || !strings.Contains(out, "dev workspace down; tested on staging with the manager") {
		t.Errorf("report:\n%s", out)
	}
}

func TestAnOverrideOnASharedConsoleNeedsASecondOperator(t *testing.T) {
	h, alice, bob := shared(t, "healthy")
	throughDevTesting(h)
	_ = h.r.Skip("2.5", alice, "no dev account today")
	_ = h.r.Skip("2.5b", alice, "nothing to see")
	p, err := h.r.Override("2.6", alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "override hotdash-app", Values: map[string]string{"reason": "manager says go"}, By: alice}); err != nil {
		t.Fatal(err)
	}
	if st := h.r.State().Step("2.6"); len(st.Holds) == 0 {
		t.Fatal("the override took effect before its approval")
	}
	if err := h.r.Approve(p.ID, bob); err != nil {
		t.Fatal(err)
	}
	if st := h.r.State().Step("2.6"); len(st.Holds) != 0 || st.Overrides[0].Approver != "bob" || st.Overrides[0].By != "alice" {
		t.Fatalf("2.6: %+v", st)
	}
}

func TestAnOverrideOnADevStepDoesNotOpenProduction(t *testing.T) {
	h := newHarness(t, "healthy", false)
	throughDevTesting(h)
	_ = h.r.Skip("2.5", h.alice, "no dev account today")
	h.override("2.5b", "looked at the UI anyway")
	h.pass("2.5b")
	_, err := h.r.Run("2.6", h.alice)
	if held := heldErr(t, err); held.HeldBy()[0] != "2.5" || !held.Gated() {
		t.Fatalf("2.6 opened by a dev override: %v", err)
	}
}

func TestAnOverrideOfABlockedPreconditionGoesOnFromThere(t *testing.T) {
	h := newHarness(t, "missing-migration", false)
	h.pass(pre...)
	h.do("1.1", nil)
	h.override("1.2", "the Data agent applied it by hand; PostgREST cache is stale")
	h.pass("1.2", "1.3")
	if holds := h.r.State().Step("1.4").Holds; len(holds) != 0 {
		t.Errorf("1.4 still held after going on past 1.1: %+v", holds)
	}
	if _, err := h.r.Override("1.4", h.alice); err == nil {
		t.Error("an override with nothing to go past")
	}
}
