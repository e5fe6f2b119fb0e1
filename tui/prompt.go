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
// reason, or quitting while a step runs. Cancel is always the default;
// esc always cancels.
type dialog struct {
	kind   dialogKind
	title  string
	lines  []string
	warn   string
	inputs []dialogInput
	// typed is the app name to type, for production writes.
	typed   string
	proceed string
	focus   int // inputs first, then Cancel, then Proceed
	err     string
	lead    string // what the lines are: "This will do exactly:"

	promptID uint64 // the runner prompt this dialog answers
	step     string
	cancel   string // the label of the cancel choice; "Cancel" unless said

	awaiting   bool               // dialogPrompt: proposed, waiting for approval
	suggestion runbook.Suggestion // dialogSuggest
	branch     int                // dialogDecision: the question asked
	path       []string           // dialogDecision: the answers so far
}

type dialogKind int

const (
	dialogPrompt dialogKind = iota
	dialogSkip
	dialogQuit
	dialogSuggest  // the guide's clock proposes a rollback
	dialogDecision // the rollback decision tree
	dialogInfo     // something to read, then close
	dialogWatch    // another operator's confirmation, watched
	dialogApprove  // another operator's proposal, to approve or reject
)

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

// promptDialog turns the runner's prompt into a dialog.
func promptDialog(p *runbook.Prompt) *dialog {
	d := &dialog{kind: dialogPrompt, title: p.Title, lines: p.Lines, warn: p.Warning, typed: p.TypeToConfirm, proceed: p.Proceed, promptID: p.ID, step: p.Step}
	switch p.Kind {
	case runbook.KindManual:
		d.lead = "Confirm that:"
	case runbook.KindCommand:
		d.lead = "This will run, on this machine:"
	case runbook.KindRollback:
		d.lead = "This will do exactly, then verify:"
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
	d.focus = len(d.inputs) // Cancel
	if len(d.inputs) > 0 {
		d.focus = 0
	}
	return d
}

func (d *dialog) cancelIndex() int  { return len(d.inputs) }
func (d *dialog) proceedIndex() int { return len(d.inputs) + 1 }

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

// ready reports whether Proceed would do anything.
func (d *dialog) ready() bool {
	for _, in := range d.inputs {
		if in.typed && strings.TrimSpace(in.in.Value()) != d.typed {
			return false
		}
	}
	return true
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

// dialogResult is what a key did to a dialog.
type dialogResult int

const (
	dialogOpen dialogResult = iota
	dialogCancelled
	dialogProceeded
	dialogHidden
)

// key handles a key; it reports whether the dialog was cancelled or
// proceeded.
func (d *dialog) key(msg tea.KeyPressMsg) (dialogResult, tea.Cmd) {
	last := d.proceedIndex()
	if d.awaiting {
		if msg.String() == "esc" {
			return dialogCancelled, nil
		}
		return dialogOpen, nil
	}
	switch msg.String() {
	case "esc":
		switch d.kind {
		case dialogApprove:
			return dialogHidden, nil // not now: the proposal stays open
		case dialogDecision:
			return dialogHidden, nil // leave the tree: nothing answered
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
	case "tab", "down":
		d.focus = (d.focus + 1) % (last + 1)
		return dialogOpen, d.focusInput()
	case "shift+tab", "up":
		d.focus = (d.focus + last) % (last + 1)
		return dialogOpen, d.focusInput()
	case "left", "right":
		if d.focus >= d.cancelIndex() {
			if d.focus == d.cancelIndex() {
				d.focus = d.proceedIndex()
			} else {
				d.focus = d.cancelIndex()
			}
			return dialogOpen, nil
		}
	case "enter":
		switch {
		case d.focus == d.cancelIndex():
			return dialogCancelled, nil
		case d.focus == d.proceedIndex():
			if !d.ready() {
				d.err = "type " + d.typed + " exactly to confirm"
				return dialogOpen, nil
			}
			return dialogProceeded, nil
		default:
			// Enter in an input moves on; after the last input, to Proceed
			// when it can proceed, else stay.
			d.focus++
			if d.focus == d.cancelIndex() && d.ready() {
				d.focus = d.proceedIndex()
			}
			return dialogOpen, d.focusInput()
		}
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

// view draws the dialog in at most w cells wide.
func (d *dialog) view(st *Styles, w int) string {
	inner := min(max(50, longest(d.lines)+4, ansi.StringWidth(d.title)), w-6)
	var b []string
	b = append(b, st.Title.Render(clip(d.title, inner)), "")
	if d.lead != "" && len(d.lines) > 0 {
		b = append(b, st.Dim.Render(d.lead))
		for _, l := range d.lines {
			b = append(b, "  "+st.Bold.Render(clip(l, inner-2)))
		}
		b = append(b, "")
	} else {
		for _, l := range d.lines {
			b = append(b, clip(l, inner))
		}
		if len(d.lines) > 0 {
			b = append(b, "")
		}
	}
	if d.warn != "" {
		b = append(b, st.Bad.Render("⚠ "+d.warn), "")
	}
	for i, in := range d.inputs {
		if d.awaiting {
			break
		}
		label := in.label
		if i == d.focus {
			label = st.Input.Render("› " + label)
		} else {
			label = "  " + label
		}
		b = append(b, label, "    "+in.in.View())
	}
	if len(d.inputs) > 0 {
		b = append(b, "")
	}
	cancelLabel := d.cancel
	if cancelLabel == "" {
		cancelLabel = "Cancel"
	}
	cancel, proceed := " "+cancelLabel+" ", " "+d.proceed+" "
	cs, ps := st.Dim, st.Dim
	if d.focus == d.cancelIndex() {
		cs = st.Selected
	}
	if d.focus == d.proceedIndex() {
		ps = st.Selected
	}
	if !d.ready() {
		proceed = " " + d.proceed + " (type the app name) "
	}
	if d.awaiting {
		b = append(b, st.Dim.Render("[ esc withdraws the proposal ]"))
	} else if d.kind == dialogInfo || d.kind == dialogWatch {
		b = append(b, ps.Render("["+proceed+"]"))
	} else {
		b = append(b, cs.Render("["+cancel+"]")+"   "+ps.Render("["+proceed+"]"))
	}
	if d.err != "" {
		b = append(b, "", st.BadCell.Render(d.err))
	}
	return st.Overlay.Render(strings.Join(b, "\n"))
}

func longest(lines []string) int {
	n := 0
	for _, l := range lines {
		n = max(n, ansi.StringWidth(l))
	}
	return n
}
