package integrations

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Sanitize turns raw bytes from outside (a log line, an HTTP body, a field
// of a service's answer, fly's output) into text that is safe to put on a
// terminal, in a journal or in a report: escape sequences and control
// characters are dropped, tabs and line breaks become spaces (the text is
// one line), bidirectional overrides are dropped, invalid UTF-8 becomes
// U+FFFD. It is the one sanitiser: every string from outside goes through
// it (or SanitizeString, or Clip) before any output. The common case
// (printable ASCII) costs one scan and one copy.
func Sanitize(b []byte) string {
	if clean(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			sb.WriteByte(' ')
			i++
		case c == 0x1b: // ESC: skip the whole sequence
			i = skipEscape(b, i)
		case c < 0x20 || c == 0x7f:
			i++
		case c < 0x80:
			sb.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			i += n
			if r >= 0x80 && r < 0xa0 || bidiControl(r) { // C1 controls, text reordering
				continue
			}
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// SanitizeString is Sanitize for a string; a string that is already safe
// is returned as it is, without a copy.
func SanitizeString(s string) string {
	if safe(s) {
		return s
	}
	return Sanitize([]byte(s))
}

// safe reports whether Sanitize would leave s as it is: valid UTF-8
// without control characters, escapes, C1 controls or bidirectional
// overrides.
func safe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r < 0xa0 || bidiControl(r) {
			return false
		}
		i += n
	}
	return true
}

// Clip is outside text sanitised, on one line with its white space
// collapsed, and cut to n runes with "…" marking the cut: what an error
// message or a table cell quotes. It never splits a UTF-8 sequence.
func Clip(s string, n int) string {
	s = strings.Join(strings.Fields(SanitizeString(s)), " ")
	runes := 0
	for i := range s {
		if runes == n {
			return s[:i] + "…"
		}
		runes++
	}
	return s
}

// SanitizeError is err with its text sanitised and cut to n runes (see
// Clip); errors.Is and errors.As still see err. nil stays nil.
func SanitizeError(err error, n int) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if safe := Clip(msg, n); safe != msg {
		return sanitizedError{err, safe}
	}
	return err
}

type sanitizedError struct {
	err error
	msg string
}

func (e sanitizedError) Error() string { return e.msg }
func (e sanitizedError) Unwrap() error { return e.err }

// clean reports whether b is printable ASCII only.
func clean[T ~string | ~[]byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return false
		}
	}
	return true
}

// bidiControl reports whether r reorders the text around it (the marks,
// embeddings, overrides and isolates of Unicode's bidirectional
// algorithm): a line could be made to read differently from what it holds.
func bidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// skipEscape returns the index after the escape sequence starting at i.
func skipEscape(b []byte, i int) int {
	i++ // ESC
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '[': // CSI: parameters then a final byte in 0x40-0x7e
		for i++; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				return i + 1
			}
		}
		return i
	case ']', 'P', '_', '^', 'X': // OSC, DCS, APC, PM, SOS: until BEL or ST
		for i++; i < len(b); i++ {
			if b[i] == 0x07 {
				return i + 1
			}
			if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
				return i + 2
			}
		}
		return i
	}
	return i + 1
}

// LineWriter sanitises what is written through it a line at a time: each
// line is Sanitize'd and ends with "\n". It guards a whole output made of
// outside text (a Markdown report); Flush writes a last unfinished line.
type LineWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// NewLineWriter returns a LineWriter writing to w.
func NewLineWriter(w io.Writer) *LineWriter { return &LineWriter{w: w} }

// Write sanitises the whole lines of b and keeps the rest for later.
func (l *LineWriter) Write(b []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) == 0 {
		l.buf = nil
	}
	return len(b), l.err
}

// Flush writes what is left of an unfinished line.
func (l *LineWriter) Flush() error {
	if len(l.buf) > 0 {
		l.line(l.buf)
		l.buf = nil
	}
	return l.err
}

func (l *LineWriter) line(b []byte) {
	if l.err == nil {
		_, l.err = io.WriteString(l.w, Sanitize(b)+"\n")
	}
}

// Sanitized is s with every text that came from outside sanitised and
// bounded: machine fields and the platform's errors as the platform gave
// them, probe results, flag details. A snapshot that is already safe (the
// usual case) is returned as it is; otherwise a copy is, since snapshots
// are shared.
func (s *Snapshot) Sanitized() *Snapshot {
	if s == nil || s.safe() {
		return s
	}
	c := *s
	text := func(p *string) { *p = Clip(*p, MaxText) }
	for _, p := range []*string{&c.Env, &c.App, &c.Platform, &c.MachinesErr, &c.SecretsErr, &c.LogErr, &c.LogGap} {
		text(p)
	}
	c.Machines = slices.Clone(s.Machines)
	for i := range c.Machines {
		m := &c.Machines[i]
		for _, p := range []*string{&m.ID, &m.Name, &m.State, &m.Region, &m.Version, &m.Checks, &m.Trouble} {
			text(p)
		}
	}
	c.Integrations = slices.Clone(s.Integrations)
	for i := range c.Integrations {
		st := &c.Integrations[i]
		for _, p := range []*string{&st.Flag.Name, &st.Flag.Digest, &st.Flag.Pending, &st.Flag.Detail, &st.Answer, &st.Warning, &st.CheckErr, &st.Detail} {
			text(p)
		}
		st.Diagnosis = slices.Clone(st.Diagnosis)
		for k := range st.Diagnosis {
			text(&st.Diagnosis[k])
		}
	}
	return &c
}

// safe reports whether every text of s is safe and short already.
func (s *Snapshot) safe() bool {
	ok := func(ss ...string) bool {
		for _, v := range ss {
			if len(v) > MaxText || !safe(v) {
				return false
			}
		}
		return true
	}
	if !ok(s.Env, s.App, s.Platform, s.MachinesErr, s.SecretsErr, s.LogErr, s.LogGap) {
		return false
	}
	for _, m := range s.Machines {
		if !ok(m.ID, m.Name, m.State, m.Region, m.Version, m.Checks, m.Trouble) {
			return false
		}
	}
	for _, st := range s.Integrations {
		if !ok(st.Flag.Name, st.Flag.Digest, st.Flag.Pending, st.Flag.Detail, st.Answer, st.Warning, st.CheckErr, st.Detail) || !ok(st.Diagnosis...) {
			return false
		}
	}
	return true
}
