package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/runbook/runbooktest"
)

// seatScreen is a console for one seat of a runner, at 200x50.
func seatScreen(t *testing.T, m *Model) *screen {
	t.Helper()
	s := &screen{t: t, m: m}
	s.tm = teatest.NewTestModel(t, recorder{m, s}, teatest.WithInitialTermSize(200, 50))
	t.Cleanup(func() {
		_ = s.tm.Quit()
		s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		m.Close()
	})
	return s
}

// skipDevTesting skips 2.5 and 2.5b from the checklist, with reasons.
func skipDevTesting(s *screen) {
	s.t.Helper()
	s.press("c")
	s.waitUntil("2.4 passed", func(txt string) bool { return strings.Contains(line(txt, "2.4   Activate dev environment"), "passed") })
	s.press("n")
	s.waitFor("2.5 Test real API (dev workspace) · verify")
	s.press("s")
	s.waitFor("Skip 2.5 Test real API (dev workspace)", "A skip is not a pass")
	s.typeText("dev workspace is down")
	s.press("enter", "enter")
	s.waitFor("2.5b Verify in Publer UI · manual")
	s.press("s")
	s.waitFor("Skip 2.5b Verify in Publer UI")
	s.typeText("nothing to see")
	s.press("enter", "enter")
	s.waitFor("2.6 Activate production · set secrets")
}

func TestASkippedStepHoldsAndAnOverrideGoesOn(t *testing.T) {
	s, r, st := checklistStack(t)
	seat := s.m.o.Seat
	runbooktest.Pass(t, r, seat, nil, "1.2", "1.3", "1.4", "1.5", "2.1", "2.2", "2.3", "2.4")
	skipDevTesting(s)
	s.waitFor("held: 2.5 was skipped (reason: dev workspace is down); the guide says ONLY after dev testing succeeds",
		"o goes on anyway", "o override")
	writes := len(st.Sim.Writes())
	s.press("enter")
	s.waitFor("2.6 is held: 2.5, 2.5b did not pass (see below) · o goes on anyway (override)")
	if r.State().Prompt != nil || len(st.Sim.Writes()) != writes {
		t.Fatal("a held production write was offered")
	}

	s.press("o")
	s.waitFor("Override: go on with 2.6 Activate production on hotdash-app (production)", "Go on anyway past:",
		"Why go on anyway", "Type override hotdash-app to confirm")
	s.typeText("dev tested on staging with the manager")
	s.press("enter")
	s.typeText("override hotdash-app")
	s.press("enter", "enter")
	s.waitFor("⤳ overridden", "alice overrode 2.5, 2.5b on 2.6: dev tested on staging with the manager")

	// The step itself is confirmed like any production write.
	s.press("enter")
	s.waitFor("2.6 Activate production on hotdash-app (production)", "Type hotdash-app to confirm")
	s.typeText("hotdash-app")
	s.press("enter", "enter")
	s.waitUntil("2.6 passed", func(txt string) bool { return strings.Contains(line(txt, "2.6   Activate production"), "passed") })

	var b strings.Builder
	runbook.Report(&b, s.m.o.Runbook, &runbook.Loaded{Records: r.Records()}, runbook.ReportOptions{})
	if !strings.Contains(b.String(), "## Gates overridden") || !strings.Contains(b.String(), "dev tested on staging with the manager") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestPairingOverrideAndWithdrawnProposals(t *testing.T) {
	st, rb := testStack(t, "healthy")
	r, _ := newRunner(t, st, rb)
	r.Share()
	alice, bob := r.Join("alice"), r.Join("bob")
	alice2 := r.Join("alice") // alice's second terminal
	runbooktest.Pass(t, r, alice, bob, append(runbooktest.Pre, "1.1", "1.2", "1.3", "1.4", "1.5", "2.1", "2.2", "2.3", "2.4")...)
	a := seatScreen(t, New(Options{Stack: st, Runbook: rb, Runner: r, Seat: alice, Tick: 50 * time.Millisecond}))
	b := seatScreen(t, New(Options{Stack: st, Runbook: rb, Runner: r, Seat: bob, Tick: 50 * time.Millisecond}))
	a2 := seatScreen(t, New(Options{Stack: st, Runbook: rb, Runner: r, Seat: alice2, Tick: 50 * time.Millisecond}))

	skipDevTesting(a)
	a.press("o")
	a.waitFor("Type override hotdash-app to confirm")
	a.typeText("manager approved on the call")
	a.press("enter")
	a.typeText("override hotdash-app")
	a.press("enter", "enter")
	a.waitFor("Proposed: waiting for a second operator's approval")
	// bob reviews it; no session of alice's is offered it.
	b.waitFor("alice proposes: Override: go on with 2.6", "[ Not now ]   [ Reject ]   [ Approve ]")
	a2.waitFor("your proposal Override: go on with 2.6")
	if strings.Contains(a2.text(), "[ Approve ]") || strings.Contains(a2.text(), "a to review") {
		t.Fatalf("alice's second session is offered her own proposal:\n%s", a2.text())
	}
	b.press("enter") // Not now: nothing
	b.waitFor("alice proposes Override")
	if held := r.State().Step("2.6").Holds; len(held) == 0 {
		t.Fatal("Not now approved the override")
	}
	b.press("a")
	b.waitFor("[ Approve ]")
	b.press("right", "right", "enter")
	a.waitFor("your proposal was approved by bob")
	b.waitFor("alice overrode 2.5, 2.5b on 2.6: manager approved on the call")
	if st := r.State().Step("2.6"); len(st.Holds) != 0 || st.Overrides[0].Approver != "bob" {
		t.Fatalf("2.6 after the approval: %+v", st)
	}

	// bob takes over and proposes 2.6; his connection dies: the proposal
	// dies with it, and alice is told.
	b.press("ctrl+t")
	b.waitFor("Take control?")
	b.press("right", "enter")
	b.waitFor("you drive now")
	b.press("c")
	b.waitFor("Production Integration Activation Guide")
	p, err := r.Run("2.6", bob)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Answer(p.ID, runbook.Answer{Typed: "hotdash-app", By: bob}); err != nil {
		t.Fatal(err)
	}
	a.waitFor("bob proposes: 2.6 Activate production")
	bob.Leave()
	a.waitFor("bob's proposal for 2.6 was withdrawn: proposer disconnected")
	if r.State().Prompt != nil {
		t.Fatal("the proposal outlived its proposer")
	}
}
