package integrations

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Level is a log line's severity.
type Level uint8

const (
	LevelInfo Level = iota
	LevelDebug
	LevelWarn
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return "info"
}

// ParseLevel maps Fly's level words (and common variants) to a Level.
func ParseLevel(s string) Level {
	switch s {
	case "error", "ERROR", "err", "fatal", "FATAL", "crit", "critical":
		return LevelError
	case "warn", "WARN", "warning", "WARNING":
		return LevelWarn
	case "debug", "DEBUG", "trace":
		return LevelDebug
	}
	return LevelInfo
}

// LogLine is one line of the app's log. Message is sanitized: it holds no
// terminal control sequences, and known secret values are masked.
type LogLine struct {
	Seq      uint64 // position in the engine's stream, from 1
	Time     time.Time
	Level    Level
	Instance string
	Region   string
	Message  string
}

// IsError reports whether the line counts as an error event.
func (l *LogLine) IsError() bool { return l.Level == LevelError }

// ErrBadLogLine is returned for text that is not a Fly log line.
var ErrBadLogLine = errors.New("not a fly log line")

// ParseFlyText parses flyctl's text form:
//
//	<RFC3339> app[<instance>] <region> [<level>]<message>
//
// The instance and region strings are interned, so a stream of lines costs
// one allocation a line (the message).
func ParseFlyText(b []byte, l *LogLine) error {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return ErrBadLogLine
	}
	t, ok := parseRFC3339(b[:sp])
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, string(b[:sp])); err != nil {
			return ErrBadLogLine
		}
	}
	rest := b[sp+1:]
	// app[<instance>] or <process>[<instance>]
	lb := bytes.IndexByte(rest, '[')
	rb := bytes.IndexByte(rest, ']')
	if lb < 0 || rb < lb {
		return ErrBadLogLine
	}
	instance := rest[lb+1 : rb]
	rest = rest[rb+1:]
	if len(rest) == 0 || rest[0] != ' ' {
		return ErrBadLogLine
	}
	rest = rest[1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return ErrBadLogLine
	}
	region := rest[:sp]
	rest = rest[sp+1:]
	level := LevelInfo
	if len(rest) > 0 && rest[0] == '[' {
		if e := bytes.IndexByte(rest, ']'); e > 0 {
			level = ParseLevel(string(rest[1:e]))
			rest = rest[e+1:]
		}
	}
	l.Time = t
	l.Level = level
	l.Instance = intern(instance)
	l.Region = intern(region)
	l.Message = Sanitize(rest)
	return nil
}

// parseRFC3339 is the fast path for the timestamps Fly prints:
// 2006-01-02T15:04:05[.fraction](Z|±hh:mm). It reports false for anything
// else, and the caller falls back to time.Parse.
func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	rest := b[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := 100000000
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			nsec += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 {
			return time.Time{}, false
		}
		off := oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
		t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
		return t.Add(-time.Duration(off) * time.Second), true
	}
	return time.Time{}, false
}

var (
	interned  sync.Map // raw string -> sanitised string
	internedN atomic.Int64
)

// maxInterned bounds the interned strings: a stream that makes up a new
// instance on every line costs an allocation a line, not memory for ever.
const maxInterned = 4096

// intern returns a shared, sanitised copy of b: instances and regions
// repeat on every line, and there are only a handful of each, so each is
// sanitised once.
func intern(b []byte) string {
	if v, ok := interned.Load(string(b)); ok { // no allocation for the lookup
		return v.(string)
	}
	s := Sanitize(b)
	if internedN.Load() >= maxInterned {
		return s
	}
	v, loaded := interned.LoadOrStore(string(b), s)
	if !loaded {
		internedN.Add(1)
	}
	return v.(string)
}

// FormatFlyText renders a line in flyctl's text form, to the second: what
// ParseFlyText reads.
func FormatFlyText(dst []byte, l *LogLine) []byte {
	dst = l.Time.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, " app["...)
	dst = append(dst, l.Instance...)
	dst = append(dst, "] "...)
	dst = append(dst, l.Region...)
	dst = append(dst, " ["...)
	dst = append(dst, l.Level.String()...)
	dst = append(dst, ']')
	dst = append(dst, l.Message...)
	return dst
}
