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
}

// IntegrationCheck is one integration in a check.
type IntegrationCheck struct {
	Name           string    `json:"name"`
	Flag           FlagCheck `json:"flag"`
	Source         string    `json:"source"`
	ExpectedSource string    `json:"expected_source"`
	Healthy        bool      `json:"healthy"`
	ErrorRate      float64   `json:"error_rate"`
	LatencyMS      float64   `json:"latency_ms"`
	Problems       []string  `json:"problems"`
}

// FlagCheck is a flag in a check.
type FlagCheck struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// RunCheck asks every integration's probes once, concurrently, with the app's
// secrets and recent logs, and compares each with its thresholds and with
// the source its flag implies. It never writes. The environment's watcher
// must not be running (the stack is prepared, not started).
func RunCheck(ctx context.Context, env *connect.Env, now func() time.Time) CheckResult {
	env.Watcher.Poll(ctx)
	snap := env.Watcher.Latest()
	res := CheckResult{Env: env.Config.Name, App: env.App, CheckedAt: now().UTC(), OK: true}
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
	r.Env, r.App = text(r.Env), text(r.App)
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

// judge decides whether one integration is healthy, and says why not in
// the guide's words.
func judge(st *integrations.Status, snap *integrations.Snapshot) IntegrationCheck {
	ic := IntegrationCheck{
		Name:           st.Def.ID,
		Flag:           FlagCheck{Name: st.Flag.Name, State: st.Flag.State.String()},
		Source:         st.Source.String(),
		ExpectedSource: st.Expected.String(),
		ErrorRate:      st.Rates.M15.Ratio(),
		LatencyMS:      float64(st.Latency.Microseconds()) / 1000,
		Problems:       []string{},
	}
	switch {
	case st.CheckErr != "":
		ic.Problems = append(ic.Problems, "check failed: "+st.CheckErr)
	case st.Flag.State == integrations.FlagUnreadable:
		ic.Problems = append(ic.Problems, "flag unreadable: "+st.Flag.Detail)
	case st.Mismatch() && st.Expected == integrations.SourceLive:
		ic.Problems = append(ic.Problems, fmt.Sprintf("on %s while %s says live", st.Source, flagWords(st)))
	case st.Mismatch():
		ic.Problems = append(ic.Problems, fmt.Sprintf("reports %s while %s says %s", st.Source, flagWords(st), st.Expected))
	case st.Source == integrations.SourceUnknown && st.Def.Source.Kind == "logs":
		// Seen only in the logs: not a problem until the logs say otherwise.
	case st.Source == integrations.SourceUnknown && st.Expected != integrations.SourceUnknown:
		ic.Problems = append(ic.Problems, "source unknown: the app's answer was neither live nor mock")
	}
	if len(ic.Problems) > 0 {
		ic.Problems = append(ic.Problems, st.Diagnosis...)
	}
	for _, b := range st.Breaches {
		ic.Problems = append(ic.Problems, fmt.Sprintf("%s over the last %s", b.Plain(), shortDur(b.Threshold.Window)))
	}
	if st.Flag.State == integrations.FlagStaged {
		ic.Problems = append(ic.Problems, st.Flag.Name+" is staged, not deployed")
	}
	ic.Healthy = len(ic.Problems) == 0
	return ic
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
