package runbook

import (
	"strings"
	"testing"
)

// shared is a harness on a shared console with alice driving and bob
// watching; the harness acts as alice.
func shared(t *testing.T, scenario string) (*harness, *Seat, *Seat) {
	h := newHarness(t, scenario, false)
	h.alice.Leave() // the local seat: a shared console seats its sessions
	h.r.Share()
	alice, bob := h.r.Join("alice"), h.r.Join("bob")
	h.alice, h.second = alice, bob
	return h, alice, bob
}

func TestSharedConsoleOneDriverTwoPersonRule(t *testing.T) {
	h, alice, bob := shared(t, "healthy")
	r := h.r
	if !alice.Driving() || bob.Driving() || Presence(r.State().Seats) != "alice driving, bob watching" {
		t.Fatalf("presence: %q", Presence(r.State().Seats))
	}
	if err := r.Skip("pre.2", bob, "x"); err == nil || !strings.Contains(err.Error(), "alice is driving: ctrl+t takes control") {
		t.Fatalf("bob skipped while alice drives: %v", err)
	}
	h.pass(pre...)
	if _, err := r.Run("1.1", bob); err == nil {
		t.Fatal("bob ran a step while alice drives")
	}
	h.pass("1.1")
	// A production write: alice proposes, bob approves.
	p, err := r.Run("1.2", alice)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsApproval || p.By != "alice" || p.Seat != alice.ID() {
		t.Fatalf("prompt: %+v", p)
	}
	if err := r.Answer(p.ID, Answer{Typed: "hotdash-app", By: bob}); err == nil {
		t.Fatal("a watcher answered the driver's confirmation")
	}
	if err := r.Answer(p.ID, Answer{Typed: "hotdash-app", By: alice}); err != nil {
		t.Fatal(err)
	}
	s := r.State()
	if s.Prompt == nil || !s.Prompt.Awaiting || s.Step("1.2").State != Pending || len(h.st.Sim.Writes()) != 0 {
		t.Fatalf("the write did not wait for approval: %+v", s.Prompt)
	}
	if s.Reviewable(alice) || !s.Reviewable(bob) {
		t.Errorf("reviewable: alice %v, bob %v", s.Reviewable(alice), s.Reviewable(bob))
	}
	if err := r.Approve(p.ID, alice); err == nil || !strings.Contains(err.Error(), "another operator approves") {
		t.Fatalf("alice approved her own proposal: %v", err)
	}
	if err := r.Approve(p.ID, bob); err != nil {
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
	if _, err := r.Run("1.3", alice); err == nil || !strings.Contains(err.Error(), "bob is driving") {
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

// proposeAsBob brings a shared console to bob driving with his proposal
// for 1.3 awaiting approval, and returns it.
func proposeAsBob(t *testing.T, h *harness, bob *Seat) *Prompt {
	t.Helper()
	h.pass(pre...)
	h.pass("1.1", "1.2")
	bob.TakeControl()
	h.alice, h.second = bob, h.r.Join("carol")
	p, err := h.r.Run("1.3", bob)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", By: bob}); err != nil {
		t.Fatal(err)
	}
	if s := h.r.State(); s.Prompt == nil || !s.Prompt.Awaiting {
		t.Fatalf("no proposal awaiting: %+v", s.Prompt)
	}
	return p
}

func TestAProposalDiesWithItsProposer(t *testing.T) {
	for _, tt := range []struct {
		name, reason string
		end          func(alice, bob *Seat)
	}{
		{"disconnect", "proposer disconnected", func(_, bob *Seat) { bob.Leave() }},
		{"hand over", "bob handed over control", func(_, bob *Seat) { bob.Release() }},
		{"control taken", "bob lost control to alice", func(alice, _ *Seat) { alice.TakeControl() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, alice, bob := shared(t, "healthy")
			p := proposeAsBob(t, h, bob)
			tt.end(alice, bob)
			s := h.r.State()
			if s.Prompt != nil {
				t.Fatalf("the proposal outlived its proposer: %+v", s.Prompt)
			}
			want := "bob's proposal for 1.3 was withdrawn: " + tt.reason
			if n := len(s.Notices); n == 0 || s.Notices[n-1].Text != want {
				t.Errorf("notices %+v, want %q", s.Notices, want)
			}
			if err := h.r.Approve(p.ID, alice); err == nil {
				t.Fatal("alice approved a withdrawn proposal")
			}
			h.r.Wait()
			if st := s.Step("1.3"); st.State != Pending || len(h.st.Sim.Writes()) != 1 {
				t.Fatalf("1.3 %s; %d writes", st.State, len(h.st.Sim.Writes()))
			}
			var journaled bool
			for _, rec := range h.records() {
				journaled = journaled || (rec.Action == ActWithdraw && rec.Step == "1.3" && rec.Operator == "bob" && rec.Note == "reason: "+tt.reason)
			}
			if !journaled {
				t.Error("the withdrawal is not journaled")
			}
		})
	}
}

func TestNoSessionOfTheProposerApproves(t *testing.T) {
	h, _, bob := shared(t, "healthy")
	bob2 := h.r.Join("bob") // bob's second terminal
	p := proposeAsBob(t, h, bob)
	if h.r.State().Reviewable(bob2) {
		t.Fatal("bob's second session is offered his own proposal")
	}
	if err := h.r.Approve(p.ID, bob2); err == nil || !strings.Contains(err.Error(), "bob proposed it: another operator approves") {
		t.Fatalf("bob approved his own proposal from another session: %v", err)
	}
	if err := h.r.Reject(p.ID, bob2, "x"); err == nil {
		t.Fatal("bob rejected his own proposal from another session")
	}
}

func TestAWatchingSessionOfTheDriverCannotAct(t *testing.T) {
	h, alice, _ := shared(t, "healthy")
	alice2 := h.r.Join("alice") // alice's second terminal, watching
	h.pass(pre...)
	h.pass("1.1")
	if _, err := h.r.Run("1.2", alice2); err == nil || !strings.Contains(err.Error(), "alice drives from another session: ctrl+t takes control here") {
		t.Fatalf("a watching session of the driver opened a production write: %v", err)
	}
	if _, err := h.r.Rollback(RollbackRequest{Env: "production", Emergency: true, By: alice2}); err == nil {
		t.Fatal("a watching session rolled back")
	}
	p, err := h.r.Run("1.2", alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", By: alice2}); err == nil {
		t.Fatal("another session answered the driver's confirmation")
	}
}

// Only the first seat of a shared console's life drives on arrival: once
// it had a driver, whoever connects while nobody drives watches until they
// take control.
func TestDrivingIsTakenNeverGivenOnArrival(t *testing.T) {
	for _, tt := range []struct {
		name    string
		nobody  func(alice *Seat) // how the console came to have no driver
		arrives string
	}{
		{"the driver disconnected", func(alice *Seat) { alice.Leave() }, "bob"},
		{"the driver handed over", func(alice *Seat) { alice.Release() }, "bob"},
		{"the driver reconnects", func(alice *Seat) { alice.Leave() }, "alice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, alice, watcher := shared(t, "healthy")
			if !alice.Driving() {
				t.Fatal("the first seat does not drive")
			}
			tt.nobody(alice)
			late := h.r.Join(tt.arrives)
			if late.Driving() || watcher.Driving() {
				t.Fatalf("a seat drives without taking control: %q", Presence(h.r.State().Seats))
			}
			if got := Presence(h.r.State().Seats); !strings.HasPrefix(got, "nobody driving") {
				t.Errorf("presence %q", got)
			}
			if err := h.r.Skip("pre.1", late, "x"); err == nil || !strings.Contains(err.Error(), "nobody drives: ctrl+t takes control") {
				t.Fatalf("a seat that arrived acted: %v", err)
			}
			late.TakeControl()
			if !late.Driving() {
				t.Fatal("ctrl+t did not give control")
			}
			if err := h.r.Skip("pre.1", late, "x"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAProposalWhoseInputsChangedIsWithdrawn(t *testing.T) {
	h, alice, bob := shared(t, "healthy")
	env := map[string]string{}
	getenv := h.st.Getenv
	h.st.Getenv = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	}
	// An unchanged proposal is approved.
	p := proposeAsBob(t, h, bob)
	var err error
	if err = h.r.Approve(p.ID, alice); err != nil {
		t.Fatalf("an unchanged proposal was refused: %v", err)
	}
	h.r.Wait()

	// A proposal made with one key in the environment and approved after
	// the key there changed is withdrawn: the approver saw another basis.
	h.pass("1.4", "1.5", "2.1", "2.2", "2.3", "2.4", "2.5", "2.5b")
	env["PUBLER_API_KEY"] = "old-production-key"
	p, err = h.r.Run("2.6", bob)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", By: bob}); err != nil {
		t.Fatal(err)
	}
	env["PUBLER_API_KEY"] = "rotated-production-key"
	if err := h.r.Approve(p.ID, alice); err == nil || !strings.Contains(err.Error(), "inputs changed") {
		t.Fatalf("approved a proposal whose inputs changed: %v", err)
	}
	if s := h.r.State(); s.Prompt != nil || !strings.Contains(s.Notices[len(s.Notices)-1].Text, "bob's proposal for 2.6 was withdrawn: the step's inputs changed") {
		t.Fatalf("prompt %+v, notices %+v", s.Prompt, s.Notices)
	}
}

func TestADriverWhoDisconnectsMidPromptClosesIt(t *testing.T) {
	h, alice, _ := shared(t, "healthy")
	h.pass(pre...)
	h.pass("1.1")
	if _, err := h.r.Run("1.2", alice); err != nil {
		t.Fatal(err)
	}
	n := len(h.records())
	alice.Leave()
	s := h.r.State()
	if s.Prompt != nil || Presence(s.Seats) != "nobody driving, bob watching" || len(h.st.Sim.Writes()) != 0 {
		t.Fatalf("after alice left: prompt %+v, %q", s.Prompt, Presence(s.Seats))
	}
	// An unanswered confirmation leaves no record; the departure does.
	for _, rec := range h.records()[n:] {
		if rec.Step == "1.2" {
			t.Errorf("a confirmation never answered was journaled: %+v", rec)
		}
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
