package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/glamour/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/integrations"
)

// troubleHint is how a pane's diagnosis points to the troubleshooting.
const troubleHint = "t for what to try"

// troubleState is the troubleshooting view: one integration's
// troubleshooting from the runbook on the app shown, rendered as Markdown
// to the screen's width and scrolled in a viewport.
type troubleState struct {
	open bool
	env  string // the environment it was opened on
	id   string // the integration

	title  string
	source string // the Markdown last rendered, and at which width
	width  int
	vp     viewport.Model
}

// openTrouble opens the troubleshooting of the focused integration (in
// the checklist: the selected step's), on the environment it concerns.
func (m *Model) openTrouble() {
	env, id := m.target()
	m.trouble = troubleState{open: true, env: env, id: id, vp: viewport.New()}
	m.refreshTrouble()
}

// refreshTrouble brings the view's text up to date with the pane and the
// width, rendering the Markdown again only when either changed.
func (m *Model) refreshTrouble() {
	t := &m.trouble
	title, md := m.troubleMarkdown()
	t.title = title
	if md == t.source && m.width == t.width {
		return
	}
	t.source, t.width = md, m.width
	t.vp.SetWidth(m.width)
	t.vp.SetContent(renderMarkdown(&m.st, md, m.width))
}

// troubleKey scrolls the view; esc, t or q close it. The rollback keys
// mean what they mean everywhere: the view closes and they act.
func (m *Model) troubleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	vp := &m.trouble.vp
	switch {
	case key.Matches(msg, k.Back, k.Trouble, k.Quit):
		m.trouble.open = false
	case key.Matches(msg, k.Rollback, k.Emergency, k.Decide):
		m.trouble.open = false
		return m.key(msg)
	case key.Matches(msg, k.Up):
		vp.ScrollUp(1)
	case key.Matches(msg, k.Down):
		vp.ScrollDown(1)
	case key.Matches(msg, k.PageUp):
		vp.PageUp()
	case key.Matches(msg, k.PageDown) || msg.String() == "space":
		vp.PageDown()
	case key.Matches(msg, k.Top):
		vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		vp.GotoBottom()
	}
	return m, nil
}

// troubleMarkdown is the view's text: what the integration's pane says
// now, then its troubleshooting from the runbook.
func (m *Model) troubleMarkdown() (title, md string) {
	t := &m.trouble
	rb := m.o.Runbook
	name, app := t.id, ""
	if d := rb.Integration(t.id); d != nil {
		name = d.Name
	}
	var diag []string
	for _, ev := range m.envs {
		if ev.env.Config.Name != t.env {
			continue
		}
		app = ev.env.App
		if s := ev.snap.Integration(t.id); s != nil {
			diag = s.Diagnosis
		}
	}
	var b strings.Builder
	if len(diag) > 0 {
		b.WriteString("**The pane says now**\n\n")
		for _, d := range diag {
			fmt.Fprintf(&b, "- %s\n", integrations.Sanitize([]byte(d)))
		}
		b.WriteString("\n")
	}
	b.WriteString(rb.TroubleMarkdown(t.id, app))
	return fmt.Sprintf("Troubleshooting · %s · %s (%s)", name, app, t.env), b.String()
}

// renderMarkdown draws Markdown wrapped to width with the console's style.
// Glamour's word wrap lets a line run a cell or two over at punctuation: what
// still does not fit is broken, so nothing is cut.
func renderMarkdown(st *Styles, md string, width int) string {
	r, err := glamour.NewTermRenderer(glamour.WithStyles(st.Markdown), glamour.WithWordWrap(width))
	if err == nil {
		var out string
		if out, err = r.Render(md); err == nil {
			lines := strings.Split(strings.Trim(out, "\n"), "\n")
			for i, l := range lines {
				if ansi.StringWidth(l) > width {
					lines[i] = ansi.Hardwrap(strings.TrimRight(l, " "), width, true)
				}
			}
			return strings.Join(lines, "\n")
		}
	}
	// Unreadable Markdown is still worth reading as it is.
	return strings.Join(wrapText(md, width), "\n") + "\n\n" + st.BadCell.Render(err.Error())
}

// troubleView draws the view in a w x h body: a title, the rendered text
// and where the scroll stands.
func (m *Model) troubleView(h int) string {
	st := &m.st
	t := &m.trouble
	t.vp.SetHeight(max(1, h-2))
	out := []string{fit(st.Title.Render(t.title), m.width)}
	for _, l := range strings.Split(t.vp.View(), "\n") {
		out = append(out, fit(l, m.width))
	}
	for len(out) < h-1 {
		out = append(out, strings.Repeat(" ", m.width))
	}
	total := t.vp.TotalLineCount()
	where := fmt.Sprintf("lines %d-%d of %d", t.vp.YOffset()+1, min(total, t.vp.YOffset()+t.vp.Height()), total)
	switch {
	case total <= t.vp.Height():
		where = "all shown"
	case t.vp.AtBottom():
		where += " · the end"
	default:
		where += " · more below (↓ pgdn)"
	}
	out = append(out[:h-1], fit(st.Dim.Render(where+" · from "+m.o.Runbook.File), m.width))
	return strings.Join(out, "\n")
}
