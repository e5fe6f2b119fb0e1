package integrations

import (
	"errors"
	"strings"
	"testing"
)

// "Done" means every machine: started and healthy (or idle), on the new
// release or secrets version.
func TestVerifyMachinesNamesWhereEachStands(t *testing.T) {
	ok := func(id, region string) Machine {
		return Machine{ID: id, Region: region, State: "started", Passing: 1, Total: 1, Current: Current}
	}
	tests := []struct {
		name string
		ms   []Machine
		want string // "" when every machine is done
	}{
		{"every machine done", []Machine{ok("a1", "iad"), ok("b2", "ord")}, ""},
		{"a stopped machine carrying the new version is done", []Machine{ok("a1", "iad"), {ID: "c3", Region: "ams", State: "stopped", Total: 1, Current: Current}}, ""},
		{"no machines", nil, "the app has no machines"},
		{"failed", []Machine{ok("a1", "iad"), {ID: "b2", Region: "ord", State: "failed", Trouble: "servicecheck critical: refused", Current: Current}},
			"[a1 (iad) done; b2 (ord) failed: failed: servicecheck critical: refused]"},
		{"started, a check critical", []Machine{{ID: "a1", Region: "iad", State: "started", Passing: 0, Total: 1, Trouble: "http critical", Current: Current}},
			"a1 (iad) failed: started, 0/1 checks passing: http critical"},
		{"still updating", []Machine{{ID: "a1", State: "updating", Current: Current}}, "a1 not verified: still updating"},
		{"an older release", []Machine{{ID: "a1", State: "started", Passing: 1, Total: 1, Version: "v7", Current: Behind}}, "a1 not verified: started on an older version (v7)"},
		{"cannot tell", []Machine{{ID: "a1", State: "started", Passing: 1, Total: 1}}, "a1 not verified: started: which version it carries cannot be told"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyMachines("hotdash-app", tt.ms)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want it to say %q", err, tt.want)
			}
			var ae *ApplyError
			if err != nil && !errors.As(err, &ae) {
				t.Errorf("error %T is not an *ApplyError", err)
			}
		})
	}
}

func TestApplyBoardFollowsAnApply(t *testing.T) {
	var b ApplyBoard
	var passed int
	progress, end := b.Track("hotdash-app", func(MachineEvent) { passed++ })
	if _, ok := b.ApplyProgress("hotdash-app-dev"); ok {
		t.Error("another app has an apply")
	}
	steps := []struct {
		ev   MachineEvent
		want string
	}{
		{MachineEvent{Machine: "a1", Region: "iad", State: "updating", Of: 3}, "0/3 machines good · a1 (iad) updating"},
		{MachineEvent{Machine: "a1", State: "started", Done: true}, "1/3 machines good · a1 (iad) started"},
		{MachineEvent{Machine: "b2", State: "updating"}, "1/3 machines good · b2 updating"},
		{MachineEvent{Machine: "b2", Region: "ord", State: "failed", Done: true, Err: errors.New("x")}, "1/3 machines good, 1 failed · b2 (ord) failed"},
	}
	for _, s := range steps {
		progress(s.ev)
		p, ok := b.ApplyProgress("hotdash-app")
		if !ok || p.Line() != s.want {
			t.Errorf("after %+v: %q (%v), want %q", s.ev, p.Line(), ok, s.want)
		}
	}
	if passed != len(steps) {
		t.Errorf("%d events passed on, want %d", passed, len(steps))
	}
	end()
	if _, ok := b.ApplyProgress("hotdash-app"); ok {
		t.Error("the apply is still shown after it ended")
	}
}

func TestSecretsVersionsOnlyGrow(t *testing.T) {
	b := NewDigestBook()
	if _, ok := b.SecretsVersion("hotdash-app"); ok {
		t.Error("a version before any write")
	}
	b.RecordSecretsVersion("hotdash-app", 7)
	b.RecordSecretsVersion("hotdash-app", 5) // an older record replayed later
	b.RecordSecretsVersion("hotdash-app", 0) // a record without one
	if v, ok := b.SecretsVersion("hotdash-app"); !ok || v != 7 {
		t.Errorf("version %d (%v), want 7", v, ok)
	}
}
