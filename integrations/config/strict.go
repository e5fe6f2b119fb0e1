// Package config reads the console's TOML files strictly: an unknown key or
// a value of the wrong type is an error naming the file, the line and the
// key, never a silent default.
package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// FileError is a problem at a place in a file.
type FileError struct {
	File string
	Line int    // 0 when unknown
	Key  string // dotted key, when the problem is a key
	Msg  string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// DecodeStrict decodes TOML data from file into v. Syntax errors, wrong
// types and keys v does not declare are reported as *FileError.
func DecodeStrict(file string, data []byte, v any) error {
	md, err := toml.Decode(string(data), v)
	if err != nil {
		return decodeError(file, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return &FileError{File: file, Line: KeyLine(data, k), Key: k.String(), Msg: "unknown key"}
	}
	return nil
}

var lineKeyRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

func decodeError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &FileError{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	}
	if m := lineKeyRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FileError{File: file, Line: line, Key: m[2], Msg: friendlyType(m[3])}
	}
	return &FileError{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// friendlyType rewrites the decoder's type complaint in the file's terms.
func friendlyType(msg string) string {
	msg = strings.Replace(msg, "incompatible types: TOML value has type ", "expected ", 1)
	if i := strings.Index(msg, "; destination has type "); i >= 0 {
		got, want := msg[len("expected "):i], msg[i+len("; destination has type "):]
		return fmt.Sprintf("wrong type: got %s, want %s", got, tomlKind(want))
	}
	return msg
}

func tomlKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"), strings.HasPrefix(goType, "array"):
		return "an array"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "struct"):
		return "a table"
	}
	return goType
}

// KeyLine finds the line where a dotted key is defined, by reading the file
// as text: the decoder does not say where unknown keys are. It returns 0
// when it cannot tell.
func KeyLine(data []byte, key toml.Key) int {
	if len(key) == 0 {
		return 0
	}
	table, want := "", strings.Join(key, ".")
	for n, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "[") {
			name := strings.Trim(strings.SplitN(line, "#", 2)[0], "[] \t")
			table = unquoteKey(name)
			if table == want {
				return n + 1 // the key is itself a table
			}
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq <= 0 || strings.HasPrefix(line, "#") {
			continue
		}
		k := unquoteKey(strings.TrimSpace(line[:eq]))
		full := k
		if table != "" {
			full = table + "." + k
		}
		if full == want {
			return n + 1
		}
	}
	return 0
}

func unquoteKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// Duration is a time.Duration written as "10s" or "1m30s" in TOML.
type Duration struct{ time.Duration }

// ParseDuration reads a Go duration ("90s", "2h30m") or a whole number of
// days or weeks ("7d", "2w"). A duration too long to hold (over about 292
// years) is an error, never a wrapped-around value.
func ParseDuration(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if errors.Is(err, strconv.ErrRange) || err == nil && (v > math.MaxInt64/int64(unit) || v < math.MinInt64/int64(unit)) {
				return 0, fmt.Errorf("%q is too long (at most %d%s)", s, math.MaxInt64/int64(unit), suffix)
			}
			if err == nil {
				return time.Duration(v) * unit, nil
			}
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write it like \"10s\", \"2m\" or \"7d\")", s)
	}
	return v, nil
}

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
