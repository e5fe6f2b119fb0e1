package integrations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// hostile is what a misbehaving service or a compromised log can send: a
// window title change, a screen clear, colours and a fake green verdict.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[32mOK all good\x1b[0m"

func TestSanitizeKeepsTerminalSafe(t *testing.T) {
	tests := map[string]string{
		"plain":                          "plain",
		"tab\there":                      "tab here",
		"two\nlines\r\n":                 "two lines  ",
		"\x1b[31mred\x1b[0m":             "red",
		"title\x1b]0;pwned\x07 after":    "title after",
		"bell\x07 and \x00nul":           "bell and nul",
		"café ☕":                         "café ☕",
		"bad \xff utf8":                  "bad \ufffd utf8",
		"c1 \u009b31m":                   "c1 31m",
		"cursor \x1b[2J\x1b[H home":      "cursor  home",
		"osc st \x1b]8;;http://x\x1b\\l": "osc st l",
		"sos \x1bXhidden\x1b\\ shown":    "sos  shown",
		"right-to-left \u202eevil\u202c": "right-to-left evil",
		"isolate \u2067x\u2069":          "isolate x",
		hostile:                          "OK all good",
		"trailing escape \x1b":           "trailing escape ",
		"open osc \x1b]0;never ends":     "open osc ",
	}
	for in, want := range tests {
		if got := Sanitize([]byte(in)); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
		if got := SanitizeString(in); got != want {
			t.Errorf("SanitizeString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSanitizeStringKeepsSafeTextWithoutACopy(t *testing.T) {
	s := strings.Repeat("machine 3d8d started in iad; ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = SanitizeString(s) }); n != 0 {
		t.Errorf("SanitizeString of safe text: %v allocations, want 0", n)
	}
}

func TestClipIsOneSafeBoundedLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"  a\n\tb  c ", 10, "a b c"},
		{"abcdef", 6, "abcdef"},
		{"abcdef", 3, "abc…"},
		{"héllo wörld", 4, "héll…"},
		{"", 3, ""},
		{"500: " + hostile + "\n<html>", 40, "500: OK all good <html>"},
	} {
		if got := Clip(c.in, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestSanitizeErrorKeepsWhatItWraps(t *testing.T) {
	err := SanitizeError(fmt.Errorf("GET /api: %s: %w", hostile, io.ErrUnexpectedEOF), 100)
	if err.Error() != "GET /api: OK all good: unexpected EOF" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %q (is EOF: %v)", err, errors.Is(err, io.ErrUnexpectedEOF))
	}
	plain := errors.New("connection refused")
	if SanitizeError(plain, 100) != plain || SanitizeError(nil, 10) != nil {
		t.Error("a safe error is returned as it is, nil as nil")
	}
}

func TestParseFlyTextSanitisesInstanceAndRegion(t *testing.T) {
	var l LogLine
	in := "2025-10-19T09:30:00Z app[3d8d\x1b[2J] i\x1b]0;x\x07ad [info]served \x1b[32mOK"
	if err := ParseFlyText([]byte(in), &l); err != nil {
		t.Fatal(err)
	}
	if l.Instance != "3d8d" || l.Region != "iad" || l.Message != "served OK" {
		t.Errorf("parsed %q %q %q", l.Instance, l.Region, l.Message)
	}
}

func TestSafeProbeSanitisesWhatEntersTheModel(t *testing.T) {
	raw := ProbeFunc(func(context.Context) ProbeResult {
		return ProbeResult{
			Answer: "supabase" + hostile, Source: SourceLive, Warning: hostile, Detail: strings.Repeat(hostile, 100),
			Err: fmt.Errorf("GET /api: HTTP 500: %s: %w", hostile, context.DeadlineExceeded),
		}
	})
	r := SafeProbe(raw).Check(context.Background())
	for what, s := range map[string]string{"answer": r.Answer, "warning": r.Warning, "detail": r.Detail, "error": r.Problem()} {
		if strings.ContainsAny(s, "\x1b\x07") {
			t.Errorf("%s: %q", what, s)
		}
	}
	if r.Answer != "supabaseOK all good" || r.Source != SourceLive || len([]rune(r.Detail)) > MaxText+1 || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("got %+v", r)
	}
}

func TestASafeSnapshotIsKeptAndAnUnsafeOneCopied(t *testing.T) {
	def := &Definition{ID: "supabase"}
	snap := &Snapshot{App: "hotdash-app", Machines: []Machine{{ID: "3d8d", State: "started", Region: "iad"}},
		Integrations: []Status{{Def: def, Detail: "auth ok (workspace 5f1b…)", Diagnosis: []string{"Check logs → fly logs"}}}}
	if got := snap.Sanitized(); got != snap {
		t.Error("a safe snapshot was copied")
	}
	if n := testing.AllocsPerRun(100, func() { _ = snap.Sanitized() }); n != 0 {
		t.Errorf("checking a safe snapshot: %v allocations", n)
	}
	bad := &Snapshot{App: "hotdash-app", MachinesErr: "fly status: " + hostile,
		Machines:     []Machine{{ID: "3d8d", State: "started" + hostile, Region: "i\x1b[2Jad", Version: "v2" + hostile}},
		Integrations: []Status{{Def: def, Answer: hostile, CheckErr: hostile, Flag: FlagStatus{Detail: hostile}}}}
	got := bad.Sanitized()
	if got == bad || bad.Machines[0].Region != "i\x1b[2Jad" {
		t.Fatal("the shared snapshot was changed")
	}
	m, st := got.Machines[0], got.Integrations[0]
	if m.Region != "iad" || m.State != "startedOK all good" || got.MachinesErr != "fly status: OK all good" || st.CheckErr != "OK all good" || st.Flag.Detail != "OK all good" || st.Def != def {
		t.Errorf("got %+v %+v", m, st)
	}
}
