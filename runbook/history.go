package runbook

import (
	"fmt"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// History is what a journal says about earlier sessions of a runbook.
type History struct {
	Records  int
	Last     time.Time
	LastBy   string
	Steps    map[string]StepRecord
	InFlight *InFlight
	// Overrides are the gates gone past, oldest first.
	Overrides []Override
	// Rollback says a rollback was under way and not verified.
	Rollback string
	Warnings []string
}

// StepRecord is a step's last known end.
type StepRecord struct {
	State    StepState
	Started  time.Time
	Ended    time.Time
	Operator string
	Result   string
	Note     string
}

// InFlight is a step that was running when the last session ended
// without finishing it: a crash, a kill -9, a lost connection.
type InFlight struct {
	Step     string
	Message  string
	Started  time.Time
	Operator string
}

// ErrOtherRunbook is returned when a journal was written for a different
// runbook: its steps cannot be matched with this one's.
type ErrOtherRunbook struct {
	Journal      string
	JournalHash  string
	RunbookHash  string
	RunbookFile  string
	FirstWritten time.Time
}

func (e *ErrOtherRunbook) Error() string {
	return fmt.Sprintf("journal %s was written for another runbook (hash %s, first record %s); %s is %s: not resuming. Use the runbook it was written for, or start a new journal with --new-journal or --journal FILE",
		e.Journal, e.JournalHash, e.FirstWritten.Local().Format("Jan 2 15:04"), e.RunbookFile, e.RunbookHash)
}

// Replay reads a journal's records for rb: step states, what was in
// flight, and the flag digests the console recorded (into book). Records of
// a dry run count only for a dry run, and the other way round.
func Replay(rb *Runbook, journal string, loaded *Loaded, dryRun bool, book *integrations.DigestBook) (*History, error) {
	h := &History{Steps: map[string]StepRecord{}, Warnings: loaded.Warnings}
	type flight struct {
		started                time.Time
		by                     string
		writeIntent, writeDone bool
		applyIntent, applyDone bool
		intentCmds             []string
		app                    string
	}
	open := map[string]*flight{}
	var order []string
	for _, rec := range loaded.Records {
		if rec.Runbook != "" && rec.Runbook != rb.Hash {
			return nil, &ErrOtherRunbook{Journal: journal, JournalHash: rec.Runbook, RunbookHash: rb.Hash, RunbookFile: rb.File, FirstWritten: loaded.Records[0].Time}
		}
		if rec.DryRun != dryRun {
			continue
		}
		h.Records++
		h.Last, h.LastBy = rec.Time, rec.Operator
		rec.learnDigests(book)
		switch rec.Action {
		case ActRollbackIntent:
			what := rec.Note
			if i := strings.LastIndex(what, " of "); i >= 0 {
				what = what[i+len(" of "):]
			}
			h.Rollback = fmt.Sprintf("a rollback (%s) on %s started at %s was in flight, not verified: check the panes and roll back again (r) to finish it", what, rec.App, rec.Time.Local().Format("15:04:05"))
		case ActRollbackDone, ActRollbackFail:
			h.Rollback = ""
		}
		if rec.Step == "" || rb.Step(rec.Step) == nil {
			continue
		}
		if rec.Action == ActOverride {
			h.Overrides = append(h.Overrides, Override{Step: rec.Step, Gates: rec.Gates, Holds: rec.Commands, Reason: rec.Note,
				By: rec.Operator, Approver: rec.Approver, Time: rec.Time})
		}
		f := open[rec.Step]
		switch rec.Action {
		case ActStepStart:
			open[rec.Step] = &flight{started: rec.Time, by: rec.Operator, app: rec.App}
			order = append(order, rec.Step)
		case ActWriteIntent:
			if f != nil && rec.Result != "dry-run" {
				f.writeIntent, f.intentCmds = true, rec.Commands
			}
		case ActWriteDone:
			if f != nil {
				f.writeDone = true
			}
		case ActApplyIntent:
			if f != nil {
				f.applyIntent = true
			}
		case ActApplyDone:
			if f != nil {
				f.applyDone = true
			}
		case ActStepPass, ActStepFail, ActStepBlock, ActStepSkip:
			st := map[string]StepState{ActStepPass: Passed, ActStepFail: Failed, ActStepBlock: Blocked, ActStepSkip: Skipped}[rec.Action]
			sr := StepRecord{State: st, Ended: rec.Time, Operator: rec.Operator, Result: rec.Result, Note: rec.Note}
			if f != nil {
				sr.Started = f.started
			}
			h.Steps[rec.Step] = sr
			delete(open, rec.Step)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		id := order[i]
		f := open[id]
		if f == nil {
			continue
		}
		s := rb.Step(id)
		msg := fmt.Sprintf("%s was running at %s and did not finish", s, f.started.Local().Format("15:04:05"))
		switch {
		case f.applyIntent && !f.applyDone:
			msg = fmt.Sprintf("%s: apply on %s was in flight (machines may be mid-restart), not confirmed: re-apply (enter) or roll back (r)?", s, f.app)
		case f.writeDone && (s.Apply || s.Kind == KindApply):
			msg = fmt.Sprintf("%s: flag set, apply not confirmed: re-apply (enter) or roll back (r)?", s)
		case f.writeIntent && !f.writeDone:
			msg = fmt.Sprintf("%s: %s was in flight, not confirmed: Fly may or may not have it (see the flag row): run it again (enter) or roll back (r)?", s, strings.Join(f.intentCmds, "; "))
		case f.writeDone:
			msg = fmt.Sprintf("%s: written, the step not confirmed: run it again (enter) to confirm", s)
		}
		h.InFlight = &InFlight{Step: id, Message: msg, Started: f.started, Operator: f.by}
		break
	}
	return h, nil
}

// Summary is the line the console shows on resuming, or "".
func (h *History) Summary() string {
	if h == nil || (len(h.Steps) == 0 && h.InFlight == nil && h.Rollback == "") {
		return "" // nothing was done: nothing to resume
	}
	s := fmt.Sprintf("Resumed from the journal: %d records, last at %s by %s.", h.Records, h.Last.Local().Format("15:04:05"), h.LastBy)
	if h.InFlight != nil {
		s += " In flight: " + h.InFlight.Message
	}
	if h.Rollback != "" {
		s += " Also: " + h.Rollback
	}
	return s
}

// LearnDigests records the flag digests a journal holds into book, so a
// console or check that did not set them still reads true and false.
func LearnDigests(records []Record, book *integrations.DigestBook) {
	for _, rec := range records {
		if !rec.DryRun {
			rec.learnDigests(book)
		}
	}
}

// learnDigests records the flag digests rec saw, and the secrets version
// its write made, into book.
func (rec *Record) learnDigests(book *integrations.DigestBook) {
	for name, fd := range rec.Flags {
		book.Record(rec.App, name, fd.Digest, fd.Value)
	}
	book.RecordSecretsVersion(rec.App, rec.SecretsVersion)
}
