package tui

import (
	"charm.land/bubbles/v2/key"
)

// keyMap is every key the console answers to, with its help text. The
// footer shows the short list for the current view; `?` shows them all.
type keyMap struct {
	Next, Prev            key.Binding
	Left, Right, Up, Down key.Binding
	Jump                  key.Binding
	Open                  key.Binding
	Filter                key.Binding
	Back                  key.Binding
	Env                   key.Binding
	Faults                key.Binding
	Help                  key.Binding
	Quit                  key.Binding
	Follow                key.Binding
	PageUp, PageDown      key.Binding
	Top, Bottom           key.Binding
	ClearFilter           key.Binding
	Checklist             key.Binding
	Skip                  key.Binding
	Override              key.Binding
	NextStep              key.Binding
	Rollback              key.Binding
	Emergency             key.Binding
	Decide                key.Binding
	LiveValue             key.Binding
	Health                key.Binding
	Control               key.Binding
	Approve               key.Binding
	Trouble               key.Binding // the focused integration's troubleshooting
	// Toggle and Run are enter as the fault switches and the checklist
	// name it in the footer; the keys themselves are matched elsewhere.
	Toggle, Run key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Next:        key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Prev:        key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Left:        key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "pane left")),
		Right:       key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "pane right")),
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Jump:        key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "go to pane")),
		Open:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open log")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter log (regex, !inverts)")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Env:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "switch environment")),
		Faults:      key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "inject faults (demo)")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Follow:      key.NewBinding(key.WithKeys("f", "space"), key.WithHelp("f/space", "follow / pause")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "oldest")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "newest (follow)")),
		ClearFilter: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "clear filter")),
		Checklist:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "activation checklist")),
		Skip:        key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "skip step (reason; not a pass)")),
		Override:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "override a held step's gate")),
		NextStep:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "go to next step")),
		Rollback:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "roll back the focused integration")),
		Emergency:   key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "emergency rollback of all")),
		Decide:      key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "rollback decision tree")),
		LiveValue:   key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "read the flag's live value (fly ssh)")),
		Health:      key.NewBinding(key.WithKeys("H"), key.WithHelp("H", "monitoring schedule and check history")),
		Control:     key.NewBinding(key.WithKeys("ctrl+t"), key.WithHelp("ctrl+t", "take / hand over control (shared)")),
		Approve:     key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "review a proposal to approve (shared)")),
		Trouble:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "troubleshooting: what to try")),
		Toggle:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "toggle")),
		Run:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run step")),
	}
}

// helpSection is a titled group of keys in `?`.
type helpSection struct {
	title, short string // short: for narrow terminals
	keys         []key.Binding
}

// helpSections are the bindings `?` shows, by what they act on.
func (k keyMap) helpSections(demo bool) []helpSection {
	run := k.Run
	run.SetHelp("enter", "run the selected step (after its dialog)")
	general := []key.Binding{k.Health, k.Control, k.Approve, k.Back, k.Help, k.Quit}
	if demo {
		general = append(general, k.Faults)
	}
	return []helpSection{
		{"Rollback", "Rollback", []key.Binding{k.Rollback, k.Emergency, k.Decide}},
		{"Panes", "Panes", []key.Binding{k.Next, k.Prev, k.Left, k.Right, k.Jump, k.Open, k.Env, k.LiveValue, k.Trouble}},
		{"Log (the focused pane's, or full screen)", "Log (pane or full)", []key.Binding{k.Filter, k.ClearFilter, k.Follow, k.PageUp, k.PageDown, k.Top, k.Bottom}},
		{"Checklist (c)", "Checklist (c)", []key.Binding{k.Checklist, run, k.Skip, k.Override, k.NextStep, k.Up, k.Down}},
		{"General", "General", general},
	}
}
