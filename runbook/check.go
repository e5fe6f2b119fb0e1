package runbook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/connect"
)

// CheckResult is one post-activation check of an environment: the object
// `hotdash-console check --json` prints and the history file keeps.
type CheckResult struct {
	Env          string             `json:"env"`
	App          string             `json:"app"`
	CheckedAt    time.Time          `json:"checked_at"`
	OK           bool               `json:"ok"`
	Integrations []IntegrationCheck `json:"integrations"`
	// Logs is the span of the app's log the check read (at most the last
	// hour) and the errors in it: the history's evidence for "no errors in
	// the past hour".
	Logs LogWindow `json:"logs"`
}

// LogWindow is a span of the app's log and what it held.
type LogWindow struct {
	From   time.Time `json:"from"` // the oldest line read, or the check's time when none
	To     time.Time `json:"to"`
	Lines  int64     `json:"lines"`
	Errors int64     `json:"errors"` // lines at error level, or recording a 5xx
	// Unread says why the log could not be read, when it could not.
	Unread string `json:"unread,omitempty"`
}

// IntegrationCheck is one integration in a check.
type IntegrationCheck struct {
	Name           string    `json:"name"`
	Flag           FlagCheck `json:"flag"`
	Source         string    `json:"source"`
	ExpectedSource string    `json:"expected_source"`
	Healthy        bool      `json:"healthy"`
	// ErrorRate is the app's error share over the error-rate threshold's
	// window (ErrorWindow); the console's own failed calls are never in it.
	ErrorRate   float64        `json:"error_rate"`
	ErrorWindow string         `json:"error_window"`
	LatencyMS   float64        `json:"latency_ms"`
	Measures    []MeasureCheck `json:"measures"`
	Problems    []string       `json:"problems"`
}

// MeasureCheck is one of the runbook's thresholds as the check measured it.
type MeasureCheck struct {
	Name   string `json:"name"`
	Value  string `json:"value"` // "2.5% (1 of 40)", "0", "4s"
	Limit  string `json:"limit"`
	Window string `json:"window"`
	Over   bool   `json:"over"`
}

// FlagCheck is a flag in a check.
type FlagCheck struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// RunCheck asks every integration's probes once, concurrently, with the
// app's secrets, its recent logs and the console's own migration check, and
// compares each with its thresholds and with the source its flag implies.
// What it cannot verify (a check that failed or answered late, a flag it
// cannot read, a source it cannot tell) is a problem, never healthy. It
// never writes. The environment's watcher must not be running (the stack is
// prepared, not started).
func RunCheck(ctx context.Context, env *connect.Env, now func() time.Time) CheckResult {
	env.Watcher.Poll(ctx)
	snap := env.Watcher.Latest()
	at := now().UTC()
	res := CheckResult{Env: env.Config.Name, App: env.App, CheckedAt: at, OK: true, Logs: logWindow(snap, at)}
	for _, st := range snap.Integrations {
		ic := judge(&st, snap)
		res.OK = res.OK && ic.Healthy
		res.Integrations = append(res.Integrations, ic)
	}
	return res.Sanitized()
}

// Sanitized is r with every text sanitised and bounded: problems quote
// what services and fly said, and a history file may come from an older
// console.
func (r CheckResult) Sanitized() CheckResult {
	text := func(s string) string { return integrations.Clip(s, integrations.MaxText) }
	r.Env, r.App, r.Logs.Unread = text(r.Env), text(r.App), text(r.Logs.Unread)
	r.Integrations = slices.Clone(r.Integrations)
	for i := range r.Integrations {
		ic := &r.Integrations[i]
		ic.Name, ic.Source, ic.ExpectedSource = text(ic.Name), text(ic.Source), text(ic.ExpectedSource)
		ic.Flag = FlagCheck{Name: text(ic.Flag.Name), State: text(ic.Flag.State)}
		problems := make([]string, len(ic.Problems))
		for k, p := range ic.Problems {
			problems[k] = text(p)
		}
		ic.Problems = problems
	}
	return r
}

// logWindow is the span of the log the check read, up to an hour back.
func logWindow(snap *integrations.Snapshot, at time.Time) LogWindow {
	lw := LogWindow{From: at, To: at, Lines: snap.LogsHour.Total, Errors: snap.LogsHour.Errors, Unread: snap.LogErr}
	if from := snap.LogsFrom; !from.IsZero() && lw.Lines > 0 {
		lw.From = from.UTC()
		if hour := at.Add(-time.Hour); lw.From.Before(hour) {
			lw.From = hour
		}
	}
	return lw
}

// judge decides whether one integration is healthy, and says why not in
// the guide's words. Whatever the console could not verify is a problem.
func judge(st *integrations.Status, snap *integrations.Snapshot) IntegrationCheck {
	ic := IntegrationCheck{
		Name:           st.Def.ID,
		Flag:           FlagCheck{Name: st.Flag.Name, State: st.Flag.State.String()},
		Source:         st.Source.String(),
		ExpectedSource: st.Expected.String(),
		ErrorRate:      st.Rates.M15.Ratio(),
		ErrorWindow:    "15m",
		LatencyMS:      float64(st.Latency.Microseconds()) / 1000,
		Measures:       []MeasureCheck{},
		Problems:       []string{},
	}
	problem := func(format string, args ...any) { ic.Problems = append(ic.Problems, fmt.Sprintf(format, args...)) }
	logs := st.Def.Source.Kind == "logs"
	switch {
	case st.CheckErr != "":
		problem("cannot verify: the console's check failed: %s", st.CheckErr)
	case st.Flag.State == integrations.FlagUnreadable:
		problem("cannot verify: %s unreadable: %s", st.Flag.Name, st.Flag.Detail)
	case st.Flag.State == integrations.FlagUnknown && st.Flag.Detail == "reading secrets…":
		problem("cannot verify: %s unknown: fly secrets list gave no answer", st.Flag.Name)
	case st.Flag.State == integrations.FlagUnknown:
		problem("cannot verify: %s is unknown (%s: its digest matches no value the console set): set it from the console, or read it on a machine (v)", st.Flag.Name, st.Flag.Detail)
	case st.Mismatch() && st.Expected == integrations.SourceLive:
		problem("on %s while %s says live", st.Source, flagWords(st))
	case st.Mismatch():
		problem("reports %s while %s says %s", st.Source, flagWords(st), st.Expected)
	case st.Source == integrations.SourceUnknown && logs && st.Expected == integrations.SourceLive:
		problem("cannot verify: no %s line in the log the check read", strings.Join(st.Def.LogTags, "/"))
	case st.Source == integrations.SourceUnknown && logs:
		// Off, and seen only in the logs: nothing says it is on.
	case st.Source == integrations.SourceUnknown && st.Checked.IsZero():
		problem("cannot verify: the check gave no answer")
	case st.Source == integrations.SourceUnknown:
		problem("cannot verify: the app's answer was neither live nor mock")
	}
	if st.CheckLate != "" {
		problem("cannot verify in time: the check %s", st.CheckLate)
	}
	if snap.SecretsLate != "" && st.Def.HasFlag() {
		problem("cannot verify in time: %s", snap.SecretsLate)
	}
	if len(ic.Problems) > 0 || st.Migration.Missing() {
		ic.Problems = append(ic.Problems, st.Diagnosis...)
	}
	if m := st.Migration; m != nil {
		switch {
		case !m.Known():
			problem("cannot verify the %s migration: %s", m.Table, m.Err)
		case m.Missing() && !slices.ContainsFunc(ic.Problems, mentionsMigration):
			problem("%s", migrationMissing(st.Def, m))
		}
	}
	if snap.LogErr != "" {
		problem("cannot verify the error rates: the log could not be read: %s", snap.LogErr)
	}
	for _, m := range st.Measures {
		t := m.Threshold
		ic.Measures = append(ic.Measures, MeasureCheck{Name: t.Name, Value: m.Figure(), Limit: t.Limit(), Window: t.WindowText(), Over: m.Over})
		if t.Kind == "error_rate" {
			ic.ErrorRate, ic.ErrorWindow = m.Value, t.WindowText()
		}
		if m.Over {
			problem("%s", m.Plain())
		}
	}
	if st.Flag.State == integrations.FlagStaged {
		problem("%s is staged, not deployed", st.Flag.Name)
	}
	ic.Healthy = len(ic.Problems) == 0
	return ic
}

// migrationMissing says the table is missing in the runbook's words, when
// it has them.
func migrationMissing(d *integrations.Definition, m *integrations.MigrationFact) string {
	for _, dg := range d.Diagnoses {
		if dg.When == integrations.WhenMigrationMissing {
			return dg.Text
		}
	}
	return "Migration missing: " + m.Detail
}

// mentionsMigration reports whether a problem already says the migration
// is missing (the runbook's own diagnosis).
func mentionsMigration(p string) bool {
	return strings.Contains(strings.ToLower(p), "migration missing")
}

func flagWords(st *integrations.Status) string {
	if st.Flag.Name == "" {
		return "the integration (no flag)"
	}
	return fmt.Sprintf("%s (%s)", st.Flag.Name, st.Flag.State)
}

// WriteTable prints a check for a person: one line per integration, and
// its problems under it. colour adds ANSI colours.
func WriteTable(w io.Writer, r CheckResult, colour bool) {
	r = r.Sanitized() // the only escapes in the table are its own colours
	paint := func(code, s string) string {
		if !colour {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	verdict := paint("32", "OK")
	if !r.OK {
		verdict = paint("31", "NOT OK")
	}
	fmt.Fprintf(w, "%s · %s (%s) · %s\n\n", verdict, r.App, r.Env, r.CheckedAt.Local().Format("2006-01-02 15:04:05"))
	fmt.Fprintf(w, "%-10s %-34s %-8s %-8s %7s %9s  %s\n", "", "FLAG", "SOURCE", "EXPECTED", "ERRORS", "LATENCY", "")
	for _, ic := range r.Integrations {
		mark := paint("32", "✓")
		if !ic.Healthy {
			mark = paint("31", "✗")
		}
		flag := ic.Flag.State
		if ic.Flag.Name != "" {
			flag = ic.Flag.Name + "=" + ic.Flag.State
		}
		fmt.Fprintf(w, "%-10s %-34s %-8s %-8s %6.1f%% %7.0fms  %s\n", ic.Name, flag, ic.Source, ic.ExpectedSource, ic.ErrorRate*100, ic.LatencyMS, mark)
		for _, p := range ic.Problems {
			fmt.Fprintf(w, "           %s\n", paint("33", "↳ "+p))
		}
	}
}

// AppendHistory adds a check to the history file (JSON lines).
func AppendHistory(path string, r CheckResult) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("history %s: %w", path, err)
	}
	return f.Sync()
}

// History is the checks a history file holds, and what could not be read.
type CheckHistory struct {
	Checks   []CheckResult
	Warnings []string
}

// ReadHistory reads a history file. A missing file is an empty history;
// unreadable lines are skipped and reported, never fatal.
func ReadHistory(path string) (*CheckHistory, error) {
	h := &CheckHistory{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	err = eachLine(f, MaxRecord, func(n int, line []byte, long int64, _ bool) {
		switch {
		case long > 0:
			h.Warnings = append(h.Warnings, fmt.Sprintf("%s:%d: a line of %s, over the %d MB a check may be; skipped", path, n, megabytes(long), MaxRecord>>20))
			return
		case len(bytes.TrimSpace(line)) == 0:
			return
		}
		var r CheckResult
		if err := json.Unmarshal(line, &r); err != nil || r.CheckedAt.IsZero() {
			h.Warnings = append(h.Warnings, fmt.Sprintf("%s:%d: not a check result; skipped", path, n))
			return
		}
		h.Checks = append(h.Checks, r.Sanitized())
	})
	if err != nil {
		h.Warnings = append(h.Warnings, fmt.Sprintf("%s: %v", path, err))
	}
	return h, nil
}
