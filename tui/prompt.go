package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/runbook"
)

// dialog is a modal question: the runner's confirmation prompt, a skip
// reason, an approval, quitting while a step runs. The first button is
// always the one that does nothing, and it has the focus unless there is
// something to type first; esc always does nothing either. What the lines
// say is never cut: they wrap, and when they cannot all fit they scroll,
// and the proceeding button waits until the end has been seen.
type dialog struct {
	kind   dialogKind
	title  string
	lines  []string
	warn   string
	inputs []dialogInput
	// typed is the text to type, for production writes: the app's name.
	typed   string
	buttons []button
	focus   int // inputs first, then the buttons
	err     string
	lead    string // what the lines are: "This will do exactly:"

	promptID uint64 // the runner prompt this dialog answers
	step     string

	scroll  int  // the first line of the lines shown
	seenEnd bool // every line has been on screen

	awaiting   bool               // dialogPrompt: proposed, waiting for approval
	suggestion runbook.Suggestion // dialogSuggest
	branch     int                // dialogDecision: the question asked
	path       []string           // dialogDecision: the answers so far
	action     string             // dialogDecided: where the answers lead
	env        string             // dialogDecided: the environment they are about
	id         string             // dialogDecided: the integration in focus
	// live, when set, gives the lines afresh at each frame: figures that
	// move while the dialog is open.
	live func() []string
}

type dialogKind int

const (
	dialogPrompt dialogKind = iota
	dialogSkip
	dialogQuit
	dialogSuggest  // the guide's clock proposes a rollback
	dialogDecision // the rollback decision tree, one question at a time
	dialogDecided  // the decision tree's outcome, to record
	dialogInfo     // something to read, then close
	dialogWatch    // another operator's confirmation, watched
	dialogApprove  // another operator's proposal, to approve or reject
	dialogControl  // taking or handing over control of a shared console
)

// dialogResult is what a key did to a dialog.
type dialogResult int

const (
	dialogOpen      dialogResult = iota
	dialogCancelled              // the do-nothing button, or esc
	dialogProceeded              // the last button
	dialogHidden                 // set aside; nothing answered
	dialogAlt                    // a middle button: reject, dismiss
)

// button is one choice at the bottom of a dialog.
type button struct {
	label string
	res   dialogResult
}

type dialogInput struct {
	key   string
	label string
	typed bool // the typed-confirmation input
	in    textinput.Model
}

func newInput(masked bool, placeholder string) textinput.Model {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholder
	in.SetWidth(40)
	if masked {
		in.EchoMode = textinput.EchoPassword
		in.EchoCharacter = '•'
	}
	return in
}

// choices are a dialog's buttons: cancel (doing nothing) and proceed.
func choices(cancel, proceed string) []button {
	return []button{{cancel, dialogCancelled}, {proceed, dialogProceeded}}
}

// newDialog is a dialog of kind with its buttons, the focus on the first.
func newDialog(kind dialogKind, title string, lines []string, buttons ...button) *dialog {
	return &dialog{kind: kind, title: title, lines: lines, buttons: buttons}
}

// promptDialog turns the runner's prompt into a dialog.
func promptDialog(p *runbook.Prompt) *dialog {
	d := &dialog{kind: dialogPrompt, title: p.Title, lines: p.Lines, warn: p.Warning, typed: p.TypeToConfirm,
		buttons: choices("Cancel", p.Proceed), promptID: p.ID, step: p.Step}
	switch p.Kind {
	case runbook.KindManual:
		d.lead = "Confirm that:"
	case runbook.KindCommand:
		d.lead = "This will run, on this machine:"
	case runbook.KindRollback:
		d.lead = "This will do exactly, then verify:"
	case runbook.KindOverride:
		d.lead = "Go on anyway past:"
	case runbook.KindVerify, runbook.KindPrecondition, runbook.KindObserve:
		d.lead = "This will check:"
	default:
		d.lead = "This will do exactly:"
	}
	if p.DryRun {
		d.title = "DRY RUN: " + d.title
	}
	for _, f := range p.Fields {
		if f.FromEnv != "" {
			d.lines = append(d.lines, fmt.Sprintf("%s: from $%s", f.Label, f.FromEnv))
			continue
		}
		placeholder := f.Default
		if !f.Required && placeholder == "" {
			placeholder = "optional"
		}
		d.inputs = append(d.inputs, dialogInput{key: f.Key, label: f.Label, in: newInput(f.Masked, placeholder)})
	}
	if p.TypeToConfirm != "" {
		d.inputs = append(d.inputs, dialogInput{key: "", label: "Type " + p.TypeToConfirm + " to confirm", typed: true, in: newInput(false, p.TypeToConfirm)})
	}
	return d
}

func (d *dialog) firstButton() int { return len(d.inputs) }
func (d *dialog) lastButton() int  { return len(d.inputs) + len(d.buttons) - 1 }

// focusInput focuses the current input, if the focus is on one.
func (d *dialog) focusInput() tea.Cmd {
	var cmd tea.Cmd
	for i := range d.inputs {
		if i == d.focus {
			cmd = d.inputs[i].in.Focus()
		} else {
			d.inputs[i].in.Blur()
		}
	}
	return cmd
}

// ready reports whether the proceeding button would do anything: the
// confirmation typed exactly, and every line seen.
func (d *dialog) ready() bool {
	if !d.seenEnd {
		return false
	}
	for _, in := range d.inputs {
		if in.typed && strings.TrimSpace(in.in.Value()) != d.typed {
			return false
		}
	}
	return true
}

// notReady says why proceeding does nothing yet.
func (d *dialog) notReady() string {
	if !d.seenEnd {
		return "read to the end first (pgdn)"
	}
	return "type " + d.typed + " exactly to confirm"
}

func (d *dialog) values() (typed string, values map[string]string) {
	values = map[string]string{}
	for _, in := range d.inputs {
		if in.typed {
			typed = in.in.Value()
		} else {
			values[in.key] = in.in.Value()
		}
	}
	return typed, values
}

// setAside reports whether esc sets the dialog aside rather than
// answering it: it was not asked for, or answering it is a choice.
func (d *dialog) setAside() bool {
	switch d.kind {
	case dialogApprove, dialogDecision, dialogSuggest, dialogWatch:
		return true
	}
	return false
}

// key handles a key and says what it did to the dialog.
func (d *dialog) key(msg tea.KeyPressMsg) (dialogResult, tea.Cmd) {
	last := d.lastButton()
	if d.awaiting {
		if msg.String() == "esc" {
			return dialogCancelled, nil
		}
		return dialogOpen, nil
	}
	switch msg.String() {
	case "esc":
		if d.setAside() {
			return dialogHidden, nil
		}
		return dialogCancelled, nil
	case "y":
		if d.kind == dialogDecision {
			return dialogProceeded, nil
		}
	case "n":
		if d.kind == dialogDecision {
			return dialogCancelled, nil
		}
	case "pgdown", "ctrl+d":
		d.scroll += 5
		return dialogOpen, nil
	case "pgup", "ctrl+u":
		d.scroll = max(0, d.scroll-5)
		return dialogOpen, nil
	case "tab", "down":
		d.focus = (d.focus + 1) % (last + 1)
		return dialogOpen, d.focusInput()
	case "shift+tab", "up":
		d.focus = (d.focus + last) % (last + 1)
		return dialogOpen, d.focusInput()
	case "left", "right":
		if d.focus >= d.firstButton() {
			step := 1
			if msg.String() == "left" {
				step = len(d.buttons) - 1
			}
			d.focus = d.firstButton() + (d.focus-d.firstButton()+step)%len(d.buttons)
			return dialogOpen, nil
		}
	case "enter":
		if d.focus >= d.firstButton() {
			b := d.buttons[d.focus-d.firstButton()]
			if b.res == dialogProceeded && !d.ready() {
				d.err = d.notReady()
				return dialogOpen, nil
			}
			return b.res, nil
		}
		// Enter in an input moves on; after the last input, to the
		// proceeding button when it can proceed, else to the first.
		d.focus++
		if d.focus == d.firstButton() && d.ready() {
			d.focus = last
		}
		return dialogOpen, d.focusInput()
	}
	if d.focus < len(d.inputs) {
		d.err = ""
		return dialogOpen, d.update(msg)
	}
	return dialogOpen, nil
}

// update passes a message to the focused input, if the focus is on one:
// the others are blurred and answer nothing.
func (d *dialog) update(msg tea.Msg) tea.Cmd {
	if d.focus >= len(d.inputs) {
		return nil
	}
	var cmd tea.Cmd
	d.inputs[d.focus].in, cmd = d.inputs[d.focus].in.Update(msg)
	return cmd
}

// view draws the dialog in at most w x h cells. The lines wrap to the
// width; those that do not fit scroll.
func (d *dialog) view(st *Styles, w, h int) string {
	if d.live != nil {
		d.lines = d.live()
	}
	// The overlay's border and padding take 4 columns and 2 rows.
	inner := min(max(50, longest(d.lines)+4, ansi.StringWidth(d.title)), w-6)
	if inner < 10 || h < 8 {
		d.seenEnd = false
		return st.Overlay.Render(clip("window too small for this dialog", max(1, w-6)))
	}
	var top, body, bottom []string
	for _, l := range wrapText(outside(d.title), inner) {
		top = append(top, st.Title.Render(l))
	}
	top = append(top, "")
	indent := ""
	if d.lead != "" && len(d.lines) > 0 {
		top = append(top, st.Dim.Render(d.lead))
		indent = "  "
	}
	for _, l := range d.lines {
		if l == "" {
			body = append(body, "")
			continue
		}
		for _, wl := range wrapLine(outside(l), inner-len(indent)) {
			if indent != "" {
				body = append(body, indent+st.Bold.Render(wl))
			} else {
				body = append(body, wl)
			}
		}
	}
	if len(body) > 0 {
		body = append(body, "")
	}
	if d.warn != "" {
		for _, l := range wrapText("⚠ "+outside(d.warn), inner) {
			bottom = append(bottom, st.Bad.Render(l))
		}
		bottom = append(bottom, "")
	}
	for i, in := range d.inputs {
		if d.awaiting {
			break
		}
		label := clip(in.label, inner-2)
		if i == d.focus {
			label = st.Input.Render("› " + label)
		} else {
			label = "  " + label
		}
		in.in.SetWidth(max(1, min(40, inner-5)))
		bottom = append(bottom, label, "    "+in.in.View())
	}
	if len(d.inputs) > 0 && !d.awaiting {
		bottom = append(bottom, "")
	}
	bottom = append(bottom, d.buttonRow(st, inner))
	if d.err != "" {
		for _, l := range wrapText(outside(d.err), inner) {
			bottom = append(bottom, st.BadCell.Render(l))
		}
	}
	// What does not fit scrolls: the lines, between the title and the
	// inputs, which always show.
	room := h - 2 - len(top) - len(bottom)
	if room < 1 {
		top = top[:min(len(top), 1)]
		room = h - 2 - len(top) - len(bottom)
	}
	if room < 1 {
		d.seenEnd = false
		return st.Overlay.Render(clip("window too small for this dialog", inner))
	}
	if len(body) <= room {
		d.scroll = 0
		d.seenEnd = true
	} else {
		view := room - 1 // one row says where the view is
		d.scroll = min(d.scroll, len(body)-view)
		end := d.scroll + view
		if end >= len(body) {
			d.seenEnd = true
		}
		more := fmt.Sprintf("lines %d-%d of %d · pgup/pgdn scroll", d.scroll+1, end, len(body))
		if !d.seenEnd {
			more += " · read to the end to go on"
		}
		body = append(body[d.scroll:end], st.Dim.Render(clip(more, inner)))
	}
	all := append(append(top, body...), bottom...)
	for i, l := range all {
		all[i] = fit(l, inner)
	}
	return st.Overlay.Render(strings.Join(all, "\n"))
}

// buttonRow draws the buttons, the focused one highlighted; they wrap
// onto more rows only when they cannot share one.
func (d *dialog) buttonRow(st *Styles, inner int) string {
	if d.awaiting {
		return st.Dim.Render("[ esc withdraws the proposal ]")
	}
	var parts []string
	for i, b := range d.buttons {
		label := " " + b.label + " "
		if b.res == dialogProceeded && !d.ready() {
			label = " " + b.label + " (" + d.notReadyShort() + ") "
		}
		s := st.Dim
		if d.focus == d.firstButton()+i {
			s = st.Selected
		}
		parts = append(parts, s.Render("["+label+"]"))
	}
	return clip(strings.Join(parts, "   "), inner)
}

func (d *dialog) notReadyShort() string {
	if !d.seenEnd {
		return "read to the end"
	}
	return "type " + d.typed
}

// wrapLine breaks a line of plain text into lines of at most w cells,
// at spaces where it can and inside a word where it must: a command is
// never cut, only continued.
func wrapLine(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var out []string
	for _, l := range wrapText(s, w) {
		for ansi.StringWidth(l) > w {
			head := ansi.Truncate(l, w, "")
			out = append(out, head)
			l = l[len(head):]
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		out = append(out, "")
	}
	return out
}

func longest(lines []string) int {
	n := 0
	for _, l := range lines {
		n = max(n, ansi.StringWidth(l))
	}
	return n
}
