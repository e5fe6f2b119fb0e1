package tui

import "testing"

// The focused input of a dialog keeps its cursor blinking when it is not
// the last input: the blink comes back to it, and its next blink is asked.
func TestDialogFocusedInputKeepsBlinking(t *testing.T) {
	st, rb := testStack(t, "healthy")
	m := New(Options{Stack: st, Runbook: rb})
	t.Cleanup(m.Close)
	d := &dialog{kind: dialogSkip, title: "Two inputs", buttons: choices("Cancel", "Go"), inputs: []dialogInput{
		{key: "first", label: "First", in: newInput(false, "")},
		{key: "second", label: "Second", in: newInput(false, "")},
	}}
	m.dlg = d
	blink := d.focusInput()
	if blink == nil {
		t.Fatal("focusing the first input asked for no blink")
	}
	msg := blink() // waits one blink
	if _, cmd := m.Update(msg); cmd == nil {
		t.Fatalf("the blink %T of the focused first input asked for no next blink: its cursor stops", msg)
	}
}
