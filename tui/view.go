package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/runbook"
)

var contextBackground = context.Background()

// grid is the dashboard's pane layout: two columns when there is room.
func (m *Model) grid() (cols, rows int) { return m.gridFor(m.width) }

func (m *Model) gridFor(w int) (cols, rows int) {
	n := len(m.defs())
	cols = 1
	if w >= 70 && n > 1 {
		cols = 2
	}
	rows = (n + cols - 1) / cols
	return cols, rows
}

// The smallest screen the console draws; below it, it says so.
const minWidth, minHeight = 60, 15

// render draws the whole screen, exactly width x height.
func (m *Model) render() string {
	if m.width < minWidth || m.height < minHeight {
		return tooSmall(m.width, m.height)
	}
	header := m.header()
	alerts := m.alerts()
	footer := m.footer()
	bodyH := m.height - 1 - len(alerts) - 1
	var body string
	switch {
	case m.showHelp:
		body = m.helpView(bodyH)
	case m.showFaults:
		body = m.faultsView(bodyH)
	case m.trouble.open:
		body = m.troubleView(bodyH)
	case m.showHealth:
		body = m.healthView(bodyH)
	case m.mode == modeLog:
		body = m.logView(bodyH)
	case m.mode == modeChecklist:
		body = m.checklist(bodyH)
	default:
		body = m.dashboard(bodyH)
	}
	if m.dlg != nil {
		body = m.overlay(body, m.dlg.view(&m.st, m.width, bodyH), bodyH)
	}
	parts := append([]string{header}, alerts...)
	parts = append(parts, body, footer)
	return frame(strings.Join(parts, "\n"), m.width, m.height)
}

// frame makes s exactly w x h: what a view drew too wide is cut (with an
// ellipsis), rows past h dropped, missing rows blank. A view that
// overflows loses its edge, never the screen's layout.
func frame(s string, w, h int) string {
	lines := strings.SplitN(s, "\n", h+1)
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// tooSmall is the whole screen when it is smaller than the console needs:
// one line saying so, the rest blank, exactly w x h.
func tooSmall(w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	lines := make([]string, h)
	msg := fmt.Sprintf("window too small (need %dx%d)", minWidth, minHeight)
	if w < len(msg) {
		msg = fmt.Sprintf("need %dx%d", minWidth, minHeight)
	}
	lines[0] = fit(msg, w)
	for i := 1; i < h; i++ {
		lines[i] = strings.Repeat(" ", w)
	}
	return strings.Join(lines, "\n")
}

func (m *Model) header() string {
	st := &m.st
	snap := m.cur().snap
	left := st.Title.Render("hotdash-console")
	if snap.Demo {
		left += " " + st.Demo.Render(" DEMO ")
	}
	if m.run != nil && m.run.DryRun {
		left += " " + st.Demo.Render(" DRY RUN ")
	}
	if m.run != nil && m.run.Shared {
		who := runbook.Presence(m.run.Seats)
		if m.o.Seat.Driving() {
			left += " " + st.Live.Render("▶ you drive") + st.Dim.Render(" ("+who+")")
		} else {
			left += " " + st.Warn.Render("◉ "+who)
		}
	}
	for i, e := range m.envs {
		name := e.env.Config.Name
		if m.width >= 120 {
			name += ":" + e.env.App
		}
		if i == m.env {
			left += "  " + st.EnvActive.Render(name)
		} else {
			left += "  " + st.Env.Render(name)
		}
	}
	right := []string{snap.Platform}
	if snap.Demo && m.o.Scenario != "" {
		right = append(right, "scenario "+m.o.Scenario)
	}
	right = append(right, fmt.Sprintf("logs %.0f/s", snap.LogRate), m.now.Format("15:04:05"))
	r := st.Dim.Render(strings.Join(right, " · "))
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(r)
	if gap < 1 {
		return fit(left, m.width)
	}
	return left + strings.Repeat(" ", gap) + r
}

// alerts are the red lines under the header: what the console cannot
// see right now, and why. They never take the body's room: past a
// quarter of the screen, the first ones and a count.
func (m *Model) alerts() []string {
	out := m.allAlerts()
	if most := max(1, (m.height-2)/4); len(out) > most {
		more := len(out) - most + 1
		out = append(out[:most-1], fit(m.st.BadCell.Render(fmt.Sprintf("✗ %d more problems: see the panes", more)), m.width))
	}
	return out
}

func (m *Model) allAlerts() []string {
	snap := m.cur().snap
	var out []string
	add := func(what, why string) {
		out = append(out, fit(m.st.BadCell.Render("✗ "+what+": "+outside(why)), m.width))
	}
	if snap.SecretsErr != "" {
		add("secrets", snap.SecretsErr)
	}
	if snap.SecretsLate != "" {
		out = append(out, fit(m.st.Warn.Render("⚠ secrets: "+snap.SecretsLate), m.width))
	}
	if snap.MachinesErr != "" {
		add("machines", snap.MachinesErr)
	}
	if snap.LogErr != "" {
		add("logs", snap.LogErr)
	}
	for _, w := range m.o.Stack.Config.Warnings {
		out = append(out, fit(m.st.Warn.Render("⚠ "+w), m.width))
	}
	return out
}

func (m *Model) footer() string {
	st := &m.st
	if m.flash != "" && m.dlg == nil && !m.filtering {
		return fit(st.Warn.Render(outside(m.flash)), m.width)
	}
	if p := m.pendingApproval(); p != nil && m.dlg == nil && !m.filtering {
		return fit(st.Warn.Render(p.By+" proposes "+p.Title+": a to review and approve"), m.width)
	}
	if m.run != nil && m.dlg == nil && !m.filtering {
		if p := m.run.Prompt; p != nil && p.Awaiting && p.Seat != m.o.Seat.ID() && !m.run.Reviewable(m.o.Seat) {
			return fit(st.Warn.Render("your proposal "+p.Title+" waits for another operator's approval (from your other session)"), m.width)
		}
	}
	if m.run != nil && len(m.run.Suggestions) > 0 && m.dlg == nil && (m.run.Shared && !m.o.Seat.Driving() || m.laterAll()) {
		how := " (r rolls back · d decision tree)"
		if m.run.Shared && !m.o.Seat.Driving() {
			how = " (the driver decides)"
		}
		return fit(st.Bad.Render("rollback proposed: "+m.run.Suggestions[0].Reason+how), m.width)
	}
	if m.filtering {
		line := m.input.View()
		hint := st.Dim.Render("  enter apply · esc cancel · ↑↓ history")
		if m.filterErr != "" {
			hint = "  " + st.BadCell.Render(m.filterErr)
		}
		return fit(line+hint, m.width)
	}
	if m.dlg != nil {
		return fit(st.Dim.Render("tab moves · enter chooses · esc does nothing"), m.width)
	}
	return fit(m.keyHints(m.footerKeys()), m.width)
}

// footerKeys are the keys that matter most in the current view, most
// important first: the rollback keys and help lead wherever they work.
func (m *Model) footerKeys() []key.Binding {
	k := m.keys
	var lead []key.Binding
	if m.run != nil {
		lead = append(lead, k.Rollback, k.Emergency)
	}
	lead = append(lead, k.Help)
	switch {
	case m.showHelp:
		return []key.Binding{k.Back}
	case m.showHealth:
		return append(lead, k.Health, k.Back, k.Quit)
	case m.showFaults:
		return []key.Binding{k.Up, k.Down, k.Toggle, k.Back}
	case m.trouble.open:
		return append(lead, k.Down, k.PageDown, k.Back)
	case m.mode == modeLog:
		return append(lead, k.Up, k.PageUp, k.Follow, k.Filter, k.ClearFilter, k.Next, k.Back)
	case m.mode == modeChecklist:
		binds := append(lead, k.Run)
		if st := m.selected(); st != nil && st.State == runbook.Pending && gated(st) {
			binds = append(binds, k.Override)
		}
		return append(binds, k.Skip, k.NextStep, k.Decide, k.Up, k.Back, k.Quit)
	}
	binds := lead
	if m.run != nil {
		binds = append(binds, k.Checklist, k.Decide)
	}
	binds = append(binds, k.Next, k.Open, k.Filter, k.Env, k.Health)
	if m.o.Stack.Faults != nil {
		binds = append(binds, k.Faults)
	}
	return append(binds, k.Quit)
}

// keyHints draws bindings in order, short descriptions when narrow,
// dropping from the end what does not fit (every key is in ?).
func (m *Model) keyHints(binds []key.Binding) string {
	st := &m.st
	var parts []string
	for _, b := range binds {
		h := b.Help()
		desc := h.Desc
		if s, ok := shortHelp[desc]; ok && m.width < 120 {
			desc = s
		}
		parts = append(parts, st.Key.Render(h.Key)+" "+st.KeyDesc.Render(desc))
	}
	for len(parts) > 1 && ansi.StringWidth(strings.Join(parts, "  ")) > m.width {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "  ")
}

// laterAll reports whether every proposed rollback was set aside.
func (m *Model) laterAll() bool {
	for _, s := range m.run.Suggestions {
		if !m.later[s.Env+s.Integration+s.Since.String()] {
			return false
		}
	}
	return true
}

// pendingApproval is another operator's proposal this view can approve.
func (m *Model) pendingApproval() *runbook.Prompt {
	if m.run == nil || !m.run.Reviewable(m.o.Seat) {
		return nil
	}
	return m.run.Prompt
}

// shortHelp are footer descriptions for narrow terminals.
var shortHelp = map[string]string{
	"previous pane":                        "previous pane",
	"pane left":                            "pane left",
	"pane right":                           "pane right",
	"go to pane":                           "go to pane",
	"read the flag's live value (fly ssh)": "live value",
	"troubleshooting: what to try":         "what to try",
	"oldest":                               "oldest",
	"newest (follow)":                      "newest",
	"page down":                            "page down",
	"run the selected step (after its dialog)": "run step",
	"down":                                  "down",
	"take / hand over control (shared)":     "take control",
	"review a proposal to approve (shared)": "review",
	"back":                                  "back",
	"help":                                  "help",
	"quit":                                  "quit",
	"roll back the focused integration":     "roll back",
	"emergency rollback of all":             "emergency",
	"activation checklist":                  "checklist",
	"run step":                              "run",
	"skip step (reason; not a pass)":        "skip",
	"override a held step's gate":           "override",
	"go to next step":                       "next",
	"rollback decision tree":                "decide",
	"monitoring schedule and check history": "history",
	"up":                                    "up",
	"next pane":                             "pane",
	"open log":                              "open",
	"filter log (regex, !inverts)":          "filter",
	"switch environment":                    "env",
	"inject faults (demo)":                  "faults",
	"follow / pause":                        "follow",
	"clear filter":                          "clear",
	"page up":                               "page up",
}

// pausedNote says a pane's log is held, and what arrived since.
func (m *Model) pausedNote(i int) string {
	sc := m.scroll[i]
	switch {
	case !sc.paused:
		return ""
	case sc.unseen > 0:
		return fmt.Sprintf("❚❚ paused +%d new (f follows)", sc.unseen)
	}
	return "❚❚ paused (f follows)"
}

// paneNote is the top-right note on a pane: its number and filter.
func (m *Model) paneNote(i int) string {
	note := fmt.Sprintf("%d", i+1)
	if m.scroll[i].paused {
		note = "❚❚ " + note
	}
	if f := m.filters[i]; f != nil {
		note = m.st.Input.Render("/"+f.String()) + " " + m.st.Dim.Render(fmt.Sprintf("%d", m.cur().logs[i].count())) + " " + note
	}
	return note
}

func (m *Model) dashboard(h int) string { return m.dashboardIn(m.width, h) }

// dashboardIn draws the panes in a w x h area.
func (m *Model) dashboardIn(w, h int) string {
	cols, rows := m.gridFor(w)
	ev := m.cur()
	defs := m.defs()
	var rowsOut []string
	for r := range rows {
		ph := h / rows
		if r < h%rows {
			ph++
		}
		var blocks []string
		for c := range cols {
			i := r*cols + c
			pw := w / cols
			if c == cols-1 {
				pw = w - pw*(cols-1)
			}
			if i >= len(defs) {
				blocks = append(blocks, strings.TrimSuffix(strings.Repeat(strings.Repeat(" ", pw)+"\n", ph), "\n"))
				continue
			}
			blocks = append(blocks, m.pane(ev, i, pw, ph))
		}
		rowsOut = append(rowsOut, joinColumns(blocks...))
	}
	return strings.Join(rowsOut, "\n")
}

// pane draws integration i in a w x h box: status rows, then its log tail.
func (m *Model) pane(ev *envView, i, w, h int) string {
	st := &m.st
	s := &ev.snap.Integrations[i]
	inner, innerH := w-4, h-2
	compact := innerH < 12 || inner < 48
	maxDiag := 2
	if compact {
		maxDiag = 1
	}
	lines := statusLines(st, s, ev.snap, m.now, inner, compact, maxDiag)
	if l, ok := m.applyLine(ev.env.App, compact); ok {
		lines = append(lines, fit(l, inner))
	}
	lines = append(lines, breachLines(st, s, m.now, compact)...)
	if l, ok := m.rollbackLine(ev.env.Config.Name, s.Def.ID, compact); ok {
		lines = append(lines, l)
	}
	if compact && len(lines) > innerH-2 {
		lines = lines[:max(0, innerH-2)]
	}
	if !compact {
		sep := fmt.Sprintf("─ log · %s ", strings.Join(s.Def.LogTags, ", "))
		if p := m.pausedNote(i); p != "" {
			sep += "· " + p + " "
		}
		lines = append(lines, st.Dim.Render(sep+strings.Repeat("─", max(0, inner-ansi.StringWidth(sep)))))
	}
	room := innerH - len(lines)
	m.paneRows[i] = room
	var strip []string
	if compact {
		strip = s.Def.LogTags
	}
	for _, l := range ev.logs[i].window(room, m.scroll[i].at()) {
		lines = append(lines, logLine(st, l, m.filters[i], inner, false, strip))
	}
	if room > 0 && ev.logs[i].count() == 0 {
		msg := "no log lines yet"
		if m.filters[i] != nil {
			msg = "no line matches /" + m.filters[i].String() + "/"
		}
		lines = append(lines, st.Dim.Render(msg))
	}
	return box(st, s.Def.Name, m.paneNote(i), i == m.focus, len(s.Breaches) > 0, w, h, lines)
}

// logHeight is the number of log rows in the full-screen log view: the
// body (the screen less header, alerts and footer) less the rows above the
// log and the status bar, as logView lays it out.
func (m *Model) logHeight() int {
	return max(1, m.height-2-len(m.alerts())-len(m.logViewHead())-1)
}

// logViewHead is what the log view draws above the log: the title, the
// status rows, breaches and rollback, and the log's separator.
func (m *Model) logViewHead() []string {
	st := &m.st
	ev := m.cur()
	s := &ev.snap.Integrations[m.focus]
	var out []string
	title := st.PaneTitleOn.Render(s.Def.Name) + st.Dim.Render(fmt.Sprintf(" · %s · risk %s", ev.env.App, s.Def.Risk))
	out = append(out, fit(title, m.width))
	out = append(out, statusLines(st, s, ev.snap, m.now, m.width, false, 8)...)
	if l, ok := m.applyLine(ev.env.App, false); ok {
		out = append(out, fit(l, m.width))
	}
	out = append(out, breachLines(st, s, m.now, false)...)
	if l, ok := m.rollbackLine(ev.env.Config.Name, s.Def.ID, false); ok {
		out = append(out, fit(l, m.width))
		if rb := m.lastRollback(ev.env.Config.Name, s.Def.ID); rb != nil {
			for _, rl := range rb.Lines[max(0, len(rb.Lines)-6):] {
				out = append(out, fit(st.Dim.Render("         "+rl), m.width))
			}
			if rb.State != "" && rb.Phase == "failed" {
				out = append(out, fit(st.Warn.Render("         now: "+rb.State), m.width))
			}
		}
	}
	sep := fmt.Sprintf("─ log · %s ", strings.Join(s.Def.LogTags, ", "))
	return append(out, st.Dim.Render(sep+strings.Repeat("─", max(0, m.width-ansi.StringWidth(sep)))))
}

func (m *Model) logView(h int) string {
	st := &m.st
	ev := m.cur()
	i := m.focus
	out := m.logViewHead()
	logH := max(1, h-len(out)-1)
	store := ev.logs[i]
	lines := store.window(logH, m.scroll[i].at())
	for _, l := range lines {
		out = append(out, fit(logLine(st, l, m.filters[i], m.width, true, nil), m.width))
	}
	for len(out) < h-1 {
		out = append(out, strings.Repeat(" ", m.width))
	}
	out = append(out, m.logStatus(ev, i))
	return strings.Join(out[:h], "\n")
}

// logStatus is the log view's bottom bar: follow or paused, filter, counts,
// drops.
func (m *Model) logStatus(ev *envView, i int) string {
	st := &m.st
	var parts []string
	if sc := m.scroll[i]; !sc.paused {
		parts = append(parts, st.Follow.Render("● FOLLOW"))
	} else {
		p := " ❚❚ PAUSED "
		if sc.unseen > 0 {
			p = fmt.Sprintf(" ❚❚ PAUSED +%d new ", sc.unseen)
		}
		parts = append(parts, st.Paused.Render(p))
	}
	store := ev.logs[i]
	if f := m.filters[i]; f != nil {
		kind := "filter"
		if f.Inverted() {
			kind = "filter (inverted)"
		}
		parts = append(parts, fmt.Sprintf("%s %s: %d of %d lines", kind, st.Input.Render("/"+f.String()+"/"), store.count(), store.total()))
	} else {
		parts = append(parts, fmt.Sprintf("%d lines", store.total()))
	}
	dropped := ev.dropped + ev.snap.LogDropped
	if dropped > 0 {
		parts = append(parts, st.Warn.Render(fmt.Sprintf("%d dropped under load", dropped)))
	} else {
		parts = append(parts, st.Dim.Render("0 dropped"))
	}
	if ev.snap.LogGap != "" {
		parts = append(parts, st.Dim.Render(ev.snap.LogGap))
	}
	return fit(strings.Join(parts, st.Dim.Render(" · ")), m.width)
}

// helpView is every key, by section, in as many columns as the width
// holds; what the height cannot hold scrolls (↑↓ pgup pgdn), and the last
// row says so.
func (m *Model) helpView(h int) string {
	st := &m.st
	inner := max(1, m.width-4) // the overlay's border and padding
	sections := m.keys.helpSections(m.o.Stack.Faults != nil)
	keyW := 0
	for _, sec := range sections {
		for _, k := range sec.keys {
			keyW = max(keyW, ansi.StringWidth(k.Help().Key))
		}
	}
	var blocks [][]string // one per section: its title, then its keys
	colW := 0
	narrow := m.width < 120
	for _, sec := range sections {
		title := sec.title
		if narrow {
			title = sec.short
		}
		b := []string{st.Title.Render(title)}
		for _, k := range sec.keys {
			hp := k.Help()
			desc := hp.Desc
			if short, ok := shortHelp[desc]; ok && narrow {
				desc = short
			}
			row := st.Key.Render(fmt.Sprintf("%-*s", keyW, hp.Key)) + " " + st.KeyDesc.Render(desc)
			b = append(b, row)
			colW = max(colW, ansi.StringWidth(row))
		}
		blocks = append(blocks, b)
	}
	colW = min(colW, inner)
	cols := max(1, min(len(blocks), (inner+3)/(colW+3)))
	// Sections fill the columns in order, each column about as tall.
	total := 0
	for _, b := range blocks {
		total += len(b) + 1
	}
	per := (total + cols - 1) / cols
	columns := make([][]string, 1, cols)
	for _, b := range blocks {
		c := &columns[len(columns)-1]
		if len(*c) > 0 && len(*c)+len(b) > per && len(columns) < cols {
			columns = append(columns, nil)
			c = &columns[len(columns)-1]
		}
		if len(*c) > 0 {
			*c = append(*c, "")
		}
		*c = append(*c, b...)
	}
	rows := 0
	for _, c := range columns {
		rows = max(rows, len(c))
	}
	width := len(columns)*colW + 3*(len(columns)-1)
	var lines []string
	for r := range rows {
		var parts []string
		for _, c := range columns {
			cell := ""
			if r < len(c) {
				cell = c[r]
			}
			parts = append(parts, fit(cell, colW))
		}
		lines = append(lines, strings.Join(parts, "   "))
	}
	lines = append(lines, "")
	for _, l := range wrapText("Filters are case-insensitive regular expressions; a leading ! keeps the lines that do not match.", width) {
		lines = append(lines, st.Dim.Render(l))
	}
	room := max(1, h-2) // the overlay's border
	if len(lines) > room {
		view := max(1, room-1)
		m.helpScroll = min(max(0, m.helpScroll), len(lines)-view)
		shown := lines[m.helpScroll : m.helpScroll+view]
		more := fmt.Sprintf("rows %d-%d of %d · ↑↓ pgup pgdn scroll", m.helpScroll+1, m.helpScroll+view, len(lines))
		lines = append(shown, st.Dim.Render(more))
	} else {
		m.helpScroll = 0
	}
	for i, l := range lines {
		lines[i] = fit(l, width)
	}
	return m.center(st.Overlay.Render(strings.Join(lines, "\n")), h)
}

func (m *Model) faultsView(h int) string {
	sw := m.o.Stack.Faults.FaultSwitches()
	var rows []string
	for i, s := range sw {
		mark := "[ ]"
		if s.On {
			mark = m.st.Bad.Render("[x]")
		}
		row := fmt.Sprintf("%s %s", mark, s.Name)
		if i == m.faultSel {
			row = m.st.Selected.Render("›") + " " + row
		} else {
			row = "  " + row
		}
		rows = append(rows, row)
	}
	content := m.st.Title.Render("Inject faults into the simulated environment") + "\n\n" + strings.Join(rows, "\n")
	if m.faultMsg != "" {
		content += "\n\n" + m.st.Dim.Render(m.faultMsg)
	}
	return m.center(m.st.Overlay.Render(content), h)
}

// overlay draws block centered over body.
func (m *Model) overlay(body, block string, h int) string {
	bw, bh := lipgloss.Size(block)
	c := lipgloss.NewCanvas(m.width, h)
	c.Compose(lipgloss.NewCompositor(
		lipgloss.NewLayer(body),
		lipgloss.NewLayer(block).X(max(0, (m.width-bw)/2)).Y(max(0, (h-bh)/2)).Z(1),
	))
	lines := strings.Split(c.Render(), "\n") // Render trims trailing blanks
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines[:h], "\n")
}

// center places a block in the middle of the body area.
func (m *Model) center(block string, h int) string {
	return lipgloss.Place(m.width, h, lipgloss.Center, lipgloss.Center, block)
}
