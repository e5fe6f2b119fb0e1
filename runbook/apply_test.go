package runbook

import (
	"slices"
	"testing"
)

// The guide's "fly apps restart" means "apply": the step shows the guide's
// command as the guide wrote it, and runs fly secrets deploy, the one way
// staged secrets reach the machines.
func TestRestartStepsShowTheGuideAndRunADeploy(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.pass(pre...)
	h.pass("1.1", "1.2")
	if g := h.rb.Step("1.3").Guide; !slices.Contains(g, "fly apps restart {app}") {
		t.Errorf("step 1.3 shows the guide's %q", g)
	}
	p, err := h.r.Run("1.3", h.alice)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"fly secrets deploy -a hotdash-app"}; !slices.Equal(p.Lines, want) {
		t.Errorf("the prompt runs %q, want %q", p.Lines, want)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: p.TypeToConfirm, By: h.alice}); err != nil {
		t.Fatal(err)
	}
	h.r.Wait()
	if st := h.r.State().Step("1.3"); st.State != Passed {
		t.Errorf("1.3: %s %q", st.State, st.Result)
	}
}
