package tui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
)

// hostileSnapshot is snap with escape sequences in every field that comes
// from outside: machines and the platform's errors, probe answers and
// details, flag details.
func hostileSnapshot(snap *integrations.Snapshot) *integrations.Snapshot {
	esc := testkit.Escapes
	s := *snap
	s.MachinesErr, s.SecretsErr, s.LogErr = "fly status: "+esc, "fly secrets list: "+esc, "fly logs: "+esc
	s.Machines = []integrations.Machine{{ID: "3d8d" + esc, State: "started" + esc, Region: "iad" + esc, Version: "v2" + esc}}
	s.Integrations = append([]integrations.Status(nil), snap.Integrations...)
	for i := range s.Integrations {
		st := &s.Integrations[i]
		st.Answer, st.Warning, st.Detail = esc, esc, esc
		st.Source, st.Expected = integrations.SourceMock, integrations.SourceLive
		st.Diagnosis = []string{esc}
		st.Checked = time.Now()
		if st.Def.HasFlag() {
			st.Flag = integrations.FlagStatus{Name: st.Def.Flag, State: integrations.FlagUnknown, Detail: esc}
		}
	}
	s.Integrations[0].CheckErr = "GET /api: HTTP 500: " + esc
	return &s
}

// TestTheConsoleDrawsOutsideTextInert draws every view with escape
// sequences in each external field, with styles that add no escapes of
// their own: whatever escape is left came from outside.
func TestTheConsoleDrawsOutsideTextInert(t *testing.T) {
	st, rb := testStack(t, "healthy")
	j, loaded, err := runbook.OpenJournal(filepath.Join(t.TempDir(), "journal.jsonl"), runbook.Holder{Operator: "alice", PID: os.Getpid()}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h, _ := runbook.Replay(rb, j.Path(), loaded, false, st.Book)
	r := runbook.NewRunner(runbook.Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice", History: h})
	t.Cleanup(r.Close)

	esc := testkit.Escapes
	for _, entry := range []bool{true, false} {
		m := New(Options{Stack: st, Runbook: rb, Runner: r, Operator: "alice", Tick: time.Hour})
		t.Cleanup(m.Close)
		m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
		m.st = Styles{}
		ev := m.cur()
		hostile := hostileSnapshot(ev.snap)
		if entry {
			m.apply(m.env, integrations.Update{Snap: hostile}) // sanitised as it arrives
		} else {
			ev.snap = hostile // only the guard where it is drawn
		}
		ev.logs[0].append([]integrations.LogLine{{Seq: 1, Time: time.Now(), Level: integrations.LevelError, Instance: "3d8d" + esc, Region: "iad" + esc, Message: "idea-pool: " + esc}})
		m.flash = "live value: " + esc

		views := map[string]string{"dashboard": m.View().Content}
		m.mode = modeLog
		views["log"] = m.View().Content
		m.mode = modeChecklist
		run := *m.run // the runner's own state is not the test's to change
		run.Steps = slices.Clone(run.Steps)
		run.Resume, run.Warnings = "in flight: "+esc, []string{esc}
		m.run = &run
		s := &m.run.Steps[0]
		s.State, s.Result, s.Note, s.Operator, s.Output, s.Diagnosis = runbook.Failed, esc, esc, "bob"+esc, []string{esc}, []string{esc}
		m.sel = 0
		views["checklist"] = m.View().Content
		for name, v := range views {
			testkit.AssertInert(t, name, v)
			if !strings.Contains(v, "OK all good") {
				t.Errorf("%s (entry %v): the quoted text is not shown:\n%s", name, entry, v)
			}
		}
		if !strings.Contains(views["dashboard"], "iadOK all good startedOK all good v2OK all good") {
			t.Errorf("machines row (entry %v):\n%s", entry, views["dashboard"])
		}
	}
}
