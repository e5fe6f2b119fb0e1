package runbook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// fastRunbook is the embedded guide with short monitoring windows.
func fastRunbook() *Runbook {
	rb := Default()
	for _, s := range rb.Steps {
		if s.Kind == KindObserve {
			s.Window = 300 * time.Millisecond
		}
		s.Interval = 20 * time.Millisecond
		if s.Timeout > 10*time.Second {
			s.Timeout = 10 * time.Second
		}
	}
	return rb
}

func testStack(t *testing.T, scenario string) *connect.Stack {
	t.Helper()
	cfg := config.Default()
	for _, d := range []*config.Duration{&cfg.Watch.ProbeInterval, &cfg.Watch.SecretsInterval, &cfg.Watch.MachinesInterval} {
		d.Duration = 50 * time.Millisecond
	}
	cfg.Watch.CallTimeout.Duration = 3 * time.Second
	return startStack(t, connect.Options{Config: cfg, Defs: Default().Integrations,
		Sim: sim.Options{Scenario: scenario, Seed: 5, RestartTime: 15 * time.Millisecond, JobTime: 40 * time.Millisecond, LogRate: 40}})
}

// startStack builds and starts a stack, stopped when the test ends.
func startStack(t *testing.T, o connect.Options) *connect.Stack {
	t.Helper()
	st, err := connect.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); st.Close() })
	return st
}

type harness struct {
	t     *testing.T
	st    *connect.Stack
	rb    *Runbook
	j     *Journal
	r     *Runner
	alice *Seat // the operator at the console
	// second approves alice's proposals on a shared console.
	second *Seat
	path   string
}

func newHarness(t *testing.T, scenario string, dryRun bool) *harness {
	t.Helper()
	return harnessOn(t, testStack(t, scenario), filepath.Join(t.TempDir(), "journal.jsonl"), "alice", dryRun)
}

// harnessOn opens a runner for operator on st, with the journal at path
// (new or not) replayed.
func harnessOn(t *testing.T, st *connect.Stack, path, operator string, dryRun bool) *harness {
	t.Helper()
	rb := fastRunbook()
	j, loaded, err := OpenJournal(path, Holder{Operator: operator, PID: os.Getpid(), Host: "test"}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h, err := Replay(rb, path, loaded, dryRun, st.Book)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(Options{Runbook: rb, Stack: st, Journal: j, Operator: operator, DryRun: dryRun, History: h})
	t.Cleanup(r.Close)
	return &harness{t: t, st: st, rb: rb, j: j, r: r, alice: r.Join(operator), path: path}
}

// do runs a step to its end the way an operator would: confirm what it
// asks (typing the app name on production) and wait.
func (h *harness) do(id string, values map[string]string) *StepStatus {
	h.t.Helper()
	p, err := h.r.Run(id, h.alice)
	if err != nil {
		h.t.Fatalf("run %s: %v", id, err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: p.TypeToConfirm, Values: values, By: h.alice}); err != nil {
		h.t.Fatalf("answer %s: %v", id, err)
	}
	if q := h.r.State().Prompt; q != nil && q.ID == p.ID && q.Awaiting && h.second != nil {
		if err := h.r.Approve(p.ID, h.second); err != nil {
			h.t.Fatalf("approve %s: %v", id, err)
		}
	}
	h.r.Wait()
	return h.r.State().Step(id)
}

func (h *harness) pass(ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		st := h.do(id, map[string]string{"note": "ok"})
		if st.State != Passed {
			h.t.Fatalf("step %s: %s: %s\n%s", id, st.State, st.Result, strings.Join(st.Output, "\n"))
		}
	}
}

// override goes on past what holds a step, the way a local operator
// would: a reason, and on production the app's name typed with the word
// override.
func (h *harness) override(id, reason string) {
	h.t.Helper()
	p, err := h.r.Override(id, h.alice)
	if err != nil {
		h.t.Fatalf("override %s: %v", id, err)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: p.TypeToConfirm, Values: map[string]string{"reason": reason}, By: h.alice}); err != nil {
		h.t.Fatalf("answer the override of %s: %v", id, err)
	}
}

func (h *harness) records() []Record {
	h.t.Helper()
	l, err := ReadJournal(h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	return l.Records
}

var pre = []string{"pre.1", "pre.2", "pre.3", "pre.4", "pre.5"}

func TestSupabaseActivationEndToEnd(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.pass(pre...)
	h.pass("1.1")
	if s := h.do("1.2", nil); s.State != Passed || !strings.Contains(s.Result, "IDEA_POOL_SUPABASE_ENABLED=true (staged)") {
		t.Fatalf("1.2: %s %s", s.State, s.Result)
	}
	// Staged, not deployed: the app still reports mock.
	if res := h.st.Env("production").Client.Source(context.Background(), &h.rb.Integration("supabase").Source); res.Source != integrations.SourceMock {
		t.Fatalf("staged flag already live: %+v", res)
	}
	h.pass("1.3", "1.4", "1.5")
	s := h.r.State().Step("1.4")
	if !strings.Contains(s.Result, `source = "supabase"`) {
		t.Errorf("1.4 result: %q", s.Result)
	}
	// The journal has every action, and the flag's digest with its value.
	var sawIntent, sawDone bool
	for _, rec := range h.records() {
		if rec.Step == "1.2" && rec.Action == ActWriteIntent && rec.Result == "pending" && rec.Before == "IDEA_POOL_SUPABASE_ENABLED=unset" {
			sawIntent = true
		}
		if rec.Step == "1.2" && rec.Action == ActWriteDone && rec.Flags["IDEA_POOL_SUPABASE_ENABLED"].Value == "true" && rec.Flags["IDEA_POOL_SUPABASE_ENABLED"].Digest != "" {
			sawDone = true
		}
		if rec.Operator != "alice" || rec.Runbook != h.rb.Hash || rec.Time.IsZero() {
			t.Errorf("record without who/runbook/time: %+v", rec)
		}
	}
	if !sawIntent || !sawDone {
		t.Errorf("journal lacks the write intent (%v) or done (%v)", sawIntent, sawDone)
	}
	// The watcher now knows the flag is true from the recorded digest.
	waitUntil(t, func() bool {
		st := h.st.Env("production").Watcher.Latest().Integration("supabase")
		return st.Flag.State == integrations.FlagTrue && st.Source == integrations.SourceLive
	})
}

func TestPublerActivationDevFirstThenProduction(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.pass(pre...)
	h.pass("1.1", "1.2", "1.3", "1.4", "1.5", "2.1")
	// 2.2 sets the dev secrets from the environment: nothing to type, and
	// the values never appear.
	p, err := h.r.Run("2.2", h.alice)
	if err != nil {
		t.Fatal(err)
	}
	// The dev workspace's key, from the variable README names.
	if p.TypeToConfirm != "" || len(p.Fields) != 2 || p.Fields[0].FromEnv != "PUBLER_DEV_API_KEY" || p.Fields[1].FromEnv != "PUBLER_DEV_WORKSPACE_ID" {
		t.Errorf("dev prompt: %+v", p)
	}
	for _, l := range p.Lines {
		if strings.Contains(l, h.st.Sim.Credentials()["PUBLER_DEV_API_KEY"]) {
			t.Fatalf("secret value in the prompt: %q", l)
		}
	}
	if !strings.Contains(strings.Join(p.Lines, "\n"), "fly secrets set PUBLER_API_KEY=••••••") || !strings.Contains(p.Title, "hotdash-app-dev (dev)") {
		t.Errorf("prompt lines: %q title %q", p.Lines, p.Title)
	}
	if err := h.r.Answer(p.ID, Answer{By: h.alice}); err != nil {
		t.Fatal(err)
	}
	h.r.Wait()
	h.pass("2.3", "2.4", "2.5", "2.5b")
	// Production was untouched until now.
	prod := h.st.Env("production").Client
	if id, _, _ := prod.Post(context.Background(), "Test", []string{"mock-1"}); !strings.HasPrefix(id, "mock-job-") {
		t.Fatalf("production went live before 2.6: %s", id)
	}
	// 2.6 on production needs the app's name typed.
	p, _ = h.r.Run("2.6", h.alice)
	if p.TypeToConfirm != "hotdash-app" || p.Warning != "ONLY after dev testing succeeds" {
		t.Fatalf("production prompt: %+v", p)
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app-dev", By: h.alice}); err == nil {
		t.Fatal("the wrong app name was accepted")
	}
	if h.r.State().Prompt == nil || h.r.State().Step("2.6").State != Pending {
		t.Fatal("wrong text must do nothing")
	}
	if err := h.r.Answer(p.ID, Answer{Typed: "hotdash-app", By: h.alice}); err != nil {
		t.Fatal(err)
	}
	h.r.Wait()
	if s := h.r.State().Step("2.6"); s.State != Passed {
		t.Fatalf("2.6: %s %s", s.State, s.Result)
	}
	h.pass("2.7", "2.8")
	if id, _, _ := prod.Post(context.Background(), "Test", []string{"acct"}); !strings.HasPrefix(id, "real-job-") {
		t.Errorf("production not live after 2.6: %s", id)
	}
	for _, rec := range h.records() {
		for _, v := range h.st.Sim.SecretValues() {
			if len(v) >= 6 && strings.Contains(rec.Before+rec.After+rec.Note+strings.Join(rec.Commands, " "), v) {
				t.Fatalf("secret value in the journal: %+v", rec)
			}
		}
	}
}

func TestMissingMigrationBlocksWithDoNotProceed(t *testing.T) {
	h := newHarness(t, "missing-migration", false)
	h.pass(pre...)
	s := h.do("1.1", nil)
	if s.State != Blocked || !strings.Contains(s.Result, "Do NOT proceed") || !strings.Contains(s.Result, "PGRST205") {
		t.Fatalf("1.1: %s %q", s.State, s.Result)
	}
	if !strings.Contains(strings.Join(s.Diagnosis, "|"), "Contact Data agent") {
		t.Errorf("diagnosis: %q", s.Diagnosis)
	}
	_, err := h.r.Run("1.2", h.alice)
	var held *ErrHeld
	if err == nil || !asHeld(err, &held) || held.HeldBy()[0] != "1.1" {
		t.Fatalf("1.2 ran past a blocked precondition: %v", err)
	}
	if err := h.r.Skip("1.1", h.alice, "we'll risk it"); err == nil {
		t.Error("a blocked precondition was skipped")
	}
}

func TestAGateHoldsUntilItsStepsPass(t *testing.T) {
	h := newHarness(t, "healthy", false)
	_, err := h.r.Run("2.6", h.alice)
	var held *ErrHeld
	if !asHeld(err, &held) || strings.Join(held.HeldBy(), ",") != "2.5,2.5b" || held.Gated() {
		t.Fatalf("2.6 before dev testing: %v", err)
	}
	if got := holdSteps(h.r.State().Step("2.6").Holds); strings.Join(got, ",") != "2.5,2.5b" {
		t.Errorf("held by %v", got)
	}
	if err := h.r.Skip("pre.2", h.alice, ""); err == nil {
		t.Error("skipped without a reason")
	}
	if err := h.r.Skip("pre.2", h.alice, "checked in the GitHub UI yesterday"); err != nil {
		t.Fatal(err)
	}
	if s := h.r.State().Step("pre.2"); s.State != Skipped || s.Note != "checked in the GitHub UI yesterday" {
		t.Errorf("skip: %+v", s)
	}
}

func TestGA4IsNotReady(t *testing.T) {
	h := newHarness(t, "healthy", false)
	if _, err := h.r.Run("3.1", h.alice); err == nil || !strings.Contains(err.Error(), "pending implementation") {
		t.Fatalf("3.1: %v", err)
	}
}

func TestDryRunMakesNoWrites(t *testing.T) {
	h := newHarness(t, "healthy", true)
	h.pass(pre...)
	h.pass("1.1", "1.2", "1.3")
	if w := h.st.Sim.Writes(); len(w) != 0 {
		t.Fatalf("dry run wrote: %+v", w)
	}
	s := h.r.State().Step("1.2")
	if !strings.Contains(strings.Join(s.Output, "\n"), "dry run: would run fly secrets set IDEA_POOL_SUPABASE_ENABLED=true -a hotdash-app --stage") {
		t.Errorf("1.2 output: %q", s.Output)
	}
	for _, rec := range h.records() {
		if !rec.DryRun {
			t.Errorf("a dry-run record not marked: %+v", rec)
		}
	}
}

func TestJournalRecordIsOnDiskBeforeTheStepShowsPassed(t *testing.T) {
	h := newHarness(t, "healthy", false)
	ch, stop := h.r.Subscribe()
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
			if st := h.r.State().Step("pre.3"); st.State == Passed {
				// The UI learns the step passed: the record is already on disk.
				data, _ := os.ReadFile(h.path)
				if !strings.Contains(string(data), `"step":"pre.3","action":"step.pass"`) {
					t.Error("the step showed passed before its record was on disk")
				}
				return
			}
		}
	}()
	h.pass("pre.3")
	<-done
}

func TestCancelAndEscapeDoNothing(t *testing.T) {
	h := newHarness(t, "healthy", false)
	h.pass(pre...)
	h.pass("1.1")
	n := len(h.records())
	p, _ := h.r.Run("1.2", h.alice)
	h.r.CancelPrompt(p.ID, h.alice, "esc")
	if len(h.st.Sim.Writes()) != 0 || h.r.State().Prompt != nil || h.r.State().Step("1.2").State != Pending {
		t.Fatal("cancel did something")
	}
	// Opening and cancelling a confirmation writes nothing, not even to
	// the journal.
	if recs := h.records(); len(recs) != n {
		t.Errorf("a cancelled confirmation was journaled: %+v", recs[n:])
	}
}

func asHeld(err error, target **ErrHeld) bool {
	h, ok := err.(*ErrHeld)
	if ok {
		*target = h
	}
	return ok
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !cond() {
			return errors.New("condition not reached")
		}
		return nil
	})
}

// refusingDatabase is a database that refuses the password, counting the
// logins it is asked for.
type refusingDatabase struct{ logins atomic.Int64 }

func (d *refusingDatabase) CheckMigration(context.Context, string) (bool, string, error) {
	d.logins.Add(1)
	return false, "", integrations.Final(errors.New("the Supabase database refused the password for user postgres"))
}

func TestAWrongDatabasePasswordIsTriedOnce(t *testing.T) {
	h := newHarness(t, "healthy", false)
	db := &refusingDatabase{}
	h.st.Env("production").Migrations = db
	h.pass(pre...)
	s := h.do("1.1", nil)
	if s.State == Passed || !strings.Contains(s.Result, "refused the password") {
		t.Fatalf("1.1: %s %s", s.State, s.Result)
	}
	if n := db.logins.Load(); n != 1 {
		t.Errorf("%d logins with a refused password, want 1", n)
	}
}
