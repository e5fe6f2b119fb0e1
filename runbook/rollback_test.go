package runbook

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/sim"
)

// activate turns flags on directly, the way an earlier session would have,
// recording their digests.
func (h *harness) activate(app string, flags ...string) {
	h.t.Helper()
	ctx := context.Background()
	p := h.st.Platform
	values := map[string]string{}
	for _, f := range flags {
		values[f] = "true"
	}
	if err := p.SetSecrets(ctx, app, values, true, nil); err != nil {
		h.t.Fatal(err)
	}
	secrets, _ := p.Secrets(ctx, app)
	for _, s := range secrets {
		if values[s.Name] != "" {
			h.st.Book.Record(app, s.Name, s.Digest, "true")
		}
	}
	if err := p.Apply(ctx, app, integrations.ApplyDeploy, nil); err != nil {
		h.t.Fatal(err)
	}
	env := h.st.Env(map[string]string{sim.ProdApp: "production", sim.DevApp: "dev"}[app])
	env.Watcher.Refresh()
	waitUntil(h.t, func() bool {
		snap := env.Watcher.Latest()
		for _, f := range flags {
			for _, st := range snap.Integrations {
				if st.Def.Flag == f && st.Flag.State != integrations.FlagTrue {
					return false
				}
			}
		}
		return true
	})
}

// rollback confirms a rollback and waits for it to end.
func (h *harness) rollback(ids []string, emergency bool) RollbackStatus {
	h.t.Helper()
	p, err := h.r.Rollback(RollbackRequest{Env: "production", IDs: ids, Emergency: emergency, By: h.alice})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: p.TypeToConfirm, By: h.alice}); err != nil {
		h.t.Fatal(err)
	}
	h.r.Wait()
	s := h.r.State()
	return s.Rollbacks[len(s.Rollbacks)-1]
}

func TestRollbackEachIntegrationVerifiesTheFallback(t *testing.T) {
	tests := []struct {
		id, flag, evidence string
	}{
		{"supabase", "IDEA_POOL_SUPABASE_ENABLED", `source = "mock"`},
		{"publer", "PUBLER_LIVE", `jobId = "mock-job-`},
		{"ga4", "ANALYTICS_REAL_DATA", `source = "mock"`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			h := newHarness(t, "healthy", false)
			h.activate(sim.ProdApp, tt.flag)
			p, err := h.r.Rollback(RollbackRequest{Env: "production", IDs: []string{tt.id}, By: h.alice})
			if err != nil {
				t.Fatal(err)
			}
			want := "fly secrets set " + tt.flag + "=false -a hotdash-app --stage"
			if p.TypeToConfirm != "hotdash-app" || p.Lines[0] != want || p.Lines[1] != "fly secrets deploy -a hotdash-app" {
				t.Errorf("prompt: %+v", p)
			}
			if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", By: h.alice}); err != nil {
				t.Fatal(err)
			}
			h.r.Wait()
			rb := h.r.State().Rollbacks[0]
			if rb.Phase != "verified" || !strings.Contains(rb.Verified[tt.id], tt.evidence) || !strings.HasPrefix(rb.Result, "verified mock in ") {
				t.Fatalf("rollback: %+v", rb)
			}
			if rb.Took(time.Now()) <= 0 || rb.Confirmed.Before(rb.Requested) {
				t.Errorf("timing: requested %v confirmed %v ended %v", rb.Requested, rb.Confirmed, rb.Ended)
			}
			var done bool
			for _, rec := range h.records() {
				if rec.Action == ActRollbackDone && rec.Step == "rollback" && strings.Contains(rec.Result, "verified mock") && strings.Contains(rec.Note, "from the key press") {
					done = true
				}
			}
			if !done {
				t.Error("the rollback is not in the journal")
			}
			waitUntil(t, func() bool {
				st := h.st.Env("production").Watcher.Latest().Integration(tt.id)
				return st.Flag.State == integrations.FlagFalse
			})
		})
	}
}

func TestChatwootHasNothingToRollBack(t *testing.T) {
	h := newHarness(t, "healthy", false)
	if _, err := h.r.Rollback(RollbackRequest{Env: "production", IDs: []string{"chatwoot"}, By: h.alice}); !errors.Is(err, ErrNoFlag) || !strings.Contains(err.Error(), "Chatwoot (Customer Support) has no flag: it cannot fall back to mock; its troubleshooting says what to do instead") {
		t.Errorf("err = %v", err)
	}
}

func TestEmergencyRollbackIsOneApply(t *testing.T) {
	h := newHarness(t, "healthy", false)
	// Until the secrets are read, an emergency counts every flag as on.
	waitUntil(t, func() bool {
		return h.st.Env("production").Watcher.Latest().Integration("supabase").Flag.State == integrations.FlagUnset
	})
	if _, err := h.r.Rollback(RollbackRequest{Env: "production", Emergency: true, By: h.alice}); err == nil || !strings.Contains(err.Error(), "every flag is already off") {
		t.Fatalf("nothing activated: %v", err)
	}
	h.activate(sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED", "PUBLER_LIVE")
	before := len(h.st.Sim.Writes())
	rb := h.rollback(nil, true)
	if rb.Phase != "verified" || len(rb.IDs) != 2 || len(rb.Verified) != 2 {
		t.Fatalf("emergency: %+v", rb)
	}
	writes := h.st.Sim.Writes()[before:]
	if len(writes) != 2 || writes[0].Kind != integrations.OpSet || len(writes[0].Values) != 2 || writes[1].Kind != integrations.OpApply {
		t.Errorf("writes: %+v", writes)
	}
}

func TestAMachineFailingMidwayIsToldStraight(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.activate(sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	h.st.Sim.SetFaults(sim.Faults{MachineFails: true})
	rb := h.rollback([]string{"supabase"}, false)
	if rb.Phase != "failed" || !strings.Contains(rb.Result, "NOT verified") || !strings.Contains(rb.Result, "retry with r") {
		t.Fatalf("result: %+v", rb)
	}
	if !strings.Contains(rb.State, "failed") || !strings.Contains(rb.State, "IDEA_POOL_SUPABASE_ENABLED") {
		t.Errorf("half-done state: %q", rb.State)
	}
	if len(rb.Verified) != 0 {
		t.Errorf("claims a verification: %+v", rb.Verified)
	}
	// Retry: the fault was one-shot, the machine comes back, mock verified.
	rb = h.rollback([]string{"supabase"}, false)
	if rb.Phase != "verified" {
		t.Fatalf("retry: %+v", rb)
	}
}

func TestBreachProposesARollbackOnlyAfterTheGuidesClock(t *testing.T) {
	h := newHarness(t, "healthy", false)
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	def := h.rb.Integration("supabase")
	snap := func(at time.Duration, flag integrations.FlagState) *integrations.Snapshot {
		return &integrations.Snapshot{At: t0.Add(at), App: "hotdash-app", Integrations: []integrations.Status{{
			Def: def, Flag: integrations.FlagStatus{Name: def.Flag, State: flag},
			Breaches: []integrations.Breach{{Threshold: def.Thresholds[0], Value: 0.032, Since: t0}},
		}}}
	}
	h.r.Suggest("production", snap(14*time.Minute, integrations.FlagTrue))
	if n := len(h.r.State().Suggestions); n != 0 {
		t.Fatalf("%d suggestions after 14 minutes", n)
	}
	h.r.Suggest("production", snap(15*time.Minute, integrations.FlagTrue))
	s := h.r.State().Suggestions
	if len(s) != 1 || s[0].Reason != "Supabase (Idea Pool): error rate 3.2% > 1% over 5m, for 15m (the guide: roll back if issues persist > 15 min)" {
		t.Fatalf("suggestions: %+v", s)
	}
	if err := h.r.Dismiss(s[0], h.alice); err != nil {
		t.Fatal(err)
	}
	h.r.Suggest("production", snap(20*time.Minute, integrations.FlagTrue))
	if n := len(h.r.State().Suggestions); n != 0 {
		t.Errorf("a dismissed breach came back: %d", n)
	}
	// A flag that is off has nothing to roll back.
	h2 := newHarness(t, "healthy", false)
	h2.r.Suggest("production", snap(30*time.Minute, integrations.FlagFalse))
	if n := len(h2.r.State().Suggestions); n != 0 {
		t.Errorf("suggested for an off flag: %d", n)
	}
}

func TestAutoRollbackOnAPersistentBreachIsJournaled(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.activate(sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	def := h.rb.Integration("supabase")
	def.AutoRollback = true
	t0 := time.Now()
	h.r.Suggest("production", &integrations.Snapshot{At: t0.Add(16 * time.Minute), App: "hotdash-app", Integrations: []integrations.Status{{
		Def: def, Flag: integrations.FlagStatus{Name: def.Flag, State: integrations.FlagTrue},
		Breaches: []integrations.Breach{{Threshold: def.Thresholds[0], Value: 0.05, Since: t0}},
	}}})
	h.r.Wait()
	s := h.r.State()
	if len(s.Suggestions) != 0 || len(s.Rollbacks) != 1 || !s.Rollbacks[0].Auto || s.Rollbacks[0].Phase != "verified" {
		t.Fatalf("state: %+v", s.Rollbacks)
	}
	var intent bool
	for _, rec := range h.records() {
		if rec.Action == ActRollbackIntent && strings.Contains(rec.Note, "rollback of supabase; asked by auto_rollback: Supabase (Idea Pool): error rate") {
			intent = true
		}
	}
	if !intent {
		t.Error("the automatic rollback is not journaled as one")
	}
}

func TestSuccessCriteriaRunAndAreRecorded(t *testing.T) {
	h := newHarness(t, "healthy", false)
	if _, err := h.r.RunCriterion("rollback-tested", h.alice); err == nil || !strings.Contains(err.Error(), "activate Supabase (Idea Pool) on hotdash-app first") {
		t.Fatalf("before activation: %v", err)
	}
	h.activate(sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED")
	waitUntil(t, func() bool {
		return h.st.Env("production").Watcher.Latest().Integration("supabase").Source == integrations.SourceLive
	})
	for _, id := range []string{"mock-fallback", "rollback-tested"} {
		p, err := h.r.RunCriterion(id, h.alice)
		if err != nil {
			t.Fatal(err)
		}
		if p.TypeToConfirm != "hotdash-app" {
			t.Errorf("%s: production writes need the app's name", id)
		}
		if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", By: h.alice}); err != nil {
			t.Fatal(err)
		}
		h.r.Wait()
		// Wait for the live source to be seen again before the next test.
		h.st.Env("production").Watcher.Refresh()
		waitUntil(t, func() bool {
			return h.st.Env("production").Watcher.Latest().Integration("supabase").Source == integrations.SourceLive
		})
	}
	var fallback, rollback *CriterionStatus
	s := h.r.State()
	for i := range s.Criteria {
		switch s.Criteria[i].Criterion.ID {
		case "mock-fallback":
			fallback = &s.Criteria[i]
		case "rollback-tested":
			rollback = &s.Criteria[i]
		}
	}
	if !fallback.Done || !strings.Contains(fallback.Evidence, "broken (fault revoked): fell back to mock, back live after") {
		t.Errorf("fallback criterion: %+v", fallback)
	}
	if !rollback.Done || !strings.Contains(rollback.Evidence, "flag=false → apply → mock verified in") {
		t.Errorf("rollback criterion: %+v", rollback)
	}
	if f := h.st.Sim.Faults(); f.CredentialsRevoked {
		t.Error("the fault was left on")
	}
	// Both are in the report's table.
	var b strings.Builder
	Report(&b, h.rb, &Loaded{Records: h.records()}, ReportOptions{Journal: h.path})
	if !strings.Contains(b.String(), "| Mock fallback: temporarily break one integration, verify mock fallback works | ✅ |") ||
		!strings.Contains(b.String(), "| Rollback: test rollback procedure (flag=false → restart → verify mock mode) | ✅ |") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestARollbackSupersedesAnOpenConfirmationAndNeverRunsBesideAStep(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.activate(sim.ProdApp, "PUBLER_LIVE")
	h.pass(pre...)
	h.pass("1.1")
	p, err := h.r.Run("1.2", h.alice)
	if err != nil {
		t.Fatal(err)
	}
	def := h.rb.Integration("publer")
	def.AutoRollback = true
	t0 := time.Now()
	h.r.Suggest("production", &integrations.Snapshot{At: t0.Add(16 * time.Minute), App: "hotdash-app", Integrations: []integrations.Status{{
		Def: def, Flag: integrations.FlagStatus{Name: def.Flag, State: integrations.FlagTrue},
		Breaches: []integrations.Breach{{Threshold: def.Thresholds[0], Value: 0.05, Since: t0}},
	}}})
	if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", By: h.alice}); err == nil {
		t.Fatal("a confirmation was answered after a rollback superseded it")
	}
	h.r.Wait()
	s := h.r.State()
	if s.Step("1.2").State != Pending || s.Rollbacks[0].Phase != "verified" || s.Closed.How != "closed: superseded by a rollback" {
		t.Fatalf("1.2 %s, rollback %s, closed %q", s.Step("1.2").State, s.Rollbacks[0].Phase, s.Closed.How)
	}
}

func TestTwoAutomaticRollbacksBothHappen(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.activate(sim.ProdApp, "IDEA_POOL_SUPABASE_ENABLED", "PUBLER_LIVE")
	t0 := time.Now()
	var sts []integrations.Status
	for _, id := range []string{"supabase", "publer"} {
		d := h.rb.Integration(id)
		d.AutoRollback = true
		sts = append(sts, integrations.Status{Def: d, Flag: integrations.FlagStatus{Name: d.Flag, State: integrations.FlagTrue},
			Breaches: []integrations.Breach{{Threshold: d.Thresholds[0], Value: 0.05, Since: t0}}})
	}
	snap := &integrations.Snapshot{At: t0.Add(16 * time.Minute), App: "hotdash-app", Integrations: sts}
	h.r.Suggest("production", snap) // the first starts; the second waits for it
	h.r.Wait()
	h.r.Suggest("production", snap) // the next snapshot: the second starts
	h.r.Wait()
	var done []string
	for _, rb := range h.r.State().Rollbacks {
		if rb.Phase == "verified" {
			done = append(done, rb.IDs...)
		}
	}
	if strings.Join(done, ",") != "supabase,publer" {
		t.Errorf("rolled back: %v", done)
	}
}
