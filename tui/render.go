package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/hotdash/hotdash-console/integrations"
)

// fit truncates s (which may hold styles) to w cells and pads it with
// spaces to exactly w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// clip truncates plain text to w cells, with an ellipsis.
// outside is text that came from outside the console (a service, fly,
// the runner's account of them, the journal) made safe as it is drawn: the
// last guard, after the snapshot was sanitised on arrival.
func outside(s string) string { return integrations.SanitizeString(s) }

func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// box draws lines inside a rounded border whose top edge carries the
// title on the left and a note on the right, with one column of padding
// each side (lines get w-4 cells). The result is exactly w x h.
func box(st *Styles, title, note string, focused, alarm bool, w, h int, lines []string) string {
	if w < 4 || h < 2 {
		return ""
	}
	bs, ts := st.Border, st.PaneTitle
	if focused {
		bs, ts = st.BorderFocused, st.PaneTitleOn
	}
	if alarm {
		bs, ts = st.Bad, st.Bad
	}
	inner := w - 2
	var b strings.Builder
	b.Grow((w + 16) * h)
	title = clip(title, max(0, inner-4))
	top := bs.Render("╭─ ") + ts.Render(title) + " "
	used := 4 + ansi.StringWidth(title)
	if note != "" {
		note = clip(note, max(0, inner-used-3))
	}
	fill := inner - used + 1 - ansi.StringWidth(note)
	if note != "" {
		fill -= 2
	}
	top += bs.Render(strings.Repeat("─", max(0, fill)))
	if note != "" {
		top += " " + note + " "
	}
	top += bs.Render("╮")
	b.WriteString(top)
	side := bs.Render("│")
	for i := range h - 2 {
		b.WriteByte('\n')
		b.WriteString(side)
		b.WriteByte(' ')
		if i < len(lines) {
			b.WriteString(fit(lines[i], inner-2))
		} else {
			b.WriteString(strings.Repeat(" ", inner-2))
		}
		b.WriteByte(' ')
		b.WriteString(side)
	}
	b.WriteByte('\n')
	b.WriteString(bs.Render("╰" + strings.Repeat("─", inner) + "╯"))
	return b.String()
}

// joinColumns places blocks of equal height side by side.
func joinColumns(blocks ...string) string {
	split := make([][]string, len(blocks))
	rows := 0
	for i, b := range blocks {
		split[i] = strings.Split(b, "\n")
		rows = max(rows, len(split[i]))
	}
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteByte('\n')
		}
		for _, col := range split {
			if r < len(col) {
				b.WriteString(col[r])
			}
		}
	}
	return b.String()
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkline draws values scaled so the limit sits half-way up: a breach
// shows as a tall bar however small the limit.
func sparkline(values []float64, limit float64) string {
	top := limit * 2
	for _, v := range values {
		top = math.Max(top, v)
	}
	if top == 0 {
		top = 1
	}
	r := make([]rune, len(values))
	for i, v := range values {
		k := int(math.Round(v / top * float64(len(sparkRunes)-1)))
		r[i] = sparkRunes[min(max(k, 0), len(sparkRunes)-1)]
	}
	return string(r)
}

// pct formats a share as a percentage with one decimal under 10%.
func pct(v float64) string {
	p := v * 100
	switch {
	case p == 0:
		return "0%"
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// ago says how long ago t was, briefly.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh ago", int(d.Hours()))
}

// ms formats a latency.
func ms(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// logLine renders one log line in w cells: time, level marker, optional
// instance, message with the filter's matches highlighted. A leading
// "<tag>: " of one of strip is left out (the pane already says whose log
// it is). Only the visible part of the message is styled.
func logLine(st *Styles, l *integrations.LogLine, f *integrations.Filter, w int, instance bool, strip []string) string {
	var b strings.Builder
	b.WriteString(st.LogTime.Render(l.Time.Local().Format("15:04:05")))
	b.WriteByte(' ')
	used := 9
	switch l.Level {
	case integrations.LevelError:
		b.WriteString(st.LogError.Render("E"))
		b.WriteByte(' ')
		used += 2
	case integrations.LevelWarn:
		b.WriteString(st.LogWarn.Render("W"))
		b.WriteByte(' ')
		used += 2
	}
	if instance && l.Instance != "" {
		id := outside(l.Instance)
		if len(id) > 6 {
			id = id[:6]
		}
		b.WriteString(st.Dim.Render(id))
		b.WriteByte(' ')
		used += len(id) + 1
	}
	msg := l.Message
	for _, tag := range strip {
		if rest, ok := strings.CutPrefix(msg, tag); ok && strings.HasPrefix(rest, ": ") {
			msg = rest[2:]
			break
		}
	}
	msg = outside(clip(msg, max(0, w-used)))
	msgStyle := st.App
	switch l.Level {
	case integrations.LevelError:
		msgStyle = st.LogError
	case integrations.LevelWarn:
		msgStyle = st.LogWarn
	}
	spans := f.Spans(msg)
	if len(spans) == 0 {
		b.WriteString(msgStyle.Render(msg))
		return b.String()
	}
	at := 0
	for _, sp := range spans {
		if sp[0] > at {
			b.WriteString(msgStyle.Render(msg[at:sp[0]]))
		}
		b.WriteString(st.Match.Render(msg[sp[0]:sp[1]]))
		at = sp[1]
	}
	if at < len(msg) {
		b.WriteString(msgStyle.Render(msg[at:]))
	}
	return b.String()
}
