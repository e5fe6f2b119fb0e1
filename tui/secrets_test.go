package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/runbook"
)

// TestNoSecretValueReachesTheScreenTheJournalOrTheLogs sets Publer's
// secrets through the checklist, has the app log its own key, and reads
// every screen and the journal for any secret value.
func TestNoSecretValueReachesTheScreenTheJournalOrTheLogs(t *testing.T) {
	st, rb := testStack(t, "healthy")
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _, err := runbook.OpenJournal(path, runbook.Holder{Operator: "alice", PID: os.Getpid()}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := runbook.NewRunner(runbook.Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice"})
	defer r.Close()
	alice := r.Join("alice")
	for _, id := range []string{"pre.1", "pre.2", "pre.3", "pre.4", "pre.5", "1.1", "1.2", "1.3", "1.4", "1.5", "2.1"} {
		if err := r.Skip(id, alice, "not under test"); err != nil {
			t.Fatal(err)
		}
	}
	// A skip is not a pass: 2.2 (dev) goes on past 2.1 by an override.
	p, err := r.Override("2.2", alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Answer(p.ID, runbook.Answer{By: alice, Values: map[string]string{"reason": "secrets test"}}); err != nil {
		t.Fatal(err)
	}
	if p, err = r.Run("2.2", alice); err != nil {
		t.Fatal(err)
	}
	// A value typed into the masked field is a secret too.
	typed := "pub_typed_by_the_operator_123"
	if err := r.Answer(p.ID, runbook.Answer{By: alice, Values: map[string]string{"PUBLER_API_KEY": typed}}); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	secrets := append(st.Sim.SecretValues(), typed)
	// The app logs its key, as apps sometimes do.
	env := st.Env("dev")
	env.Watcher.Ingest([]integrations.LogLine{{Time: time.Now(), Message: "publer-adapter: using key " + typed + " for workspace " + st.Sim.Credentials()["PUBLER_WORKSPACE_ID"]}})
	env.Watcher.Publish()

	m := New(Options{Stack: st, Runbook: rb, Runner: r, Seat: alice})
	defer m.Close()
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	for _, ev := range m.envs {
		m.apply(0, integrations.Update{Snap: ev.snap, Lines: ev.sub.Backlog})
	}
	var screens []string
	screens = append(screens, m.View().Content)
	m.Update(keyMsg("e")) // dev
	m.Update(keyMsg("2"))
	m.Update(keyMsg("enter"))
	screens = append(screens, m.View().Content)
	m.Update(keyMsg("esc"))
	m.Update(keyMsg("c"))
	m.sel = m.stepIndex("2.2")
	screens = append(screens, m.View().Content)
	data, _ := os.ReadFile(path)
	for _, s := range secrets {
		if len(s) < 6 {
			continue
		}
		for i, screen := range screens {
			if strings.Contains(screen, s) {
				t.Errorf("screen %d shows a secret value", i)
			}
		}
		if strings.Contains(string(data), s) {
			t.Errorf("the journal holds a secret value")
		}
		for _, l := range env.Watcher.Backlog()[1] {
			if strings.Contains(l.Message, s) {
				t.Errorf("a log line holds a secret value: %q", l.Message)
			}
		}
	}
	if !strings.Contains(screens[1], "using key "+integrations.Mask) {
		t.Errorf("the logged key is not shown masked:\n%s", screens[1])
	}
}
