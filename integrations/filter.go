package integrations

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Filter selects log lines. Its expression is a case-insensitive regular
// expression; a leading "!" inverts it. An expression without regex
// metacharacters is matched as plain text, which is several times faster.
// The zero of *Filter (nil) matches everything.
type Filter struct {
	expr   string
	invert bool
	lit    []byte // lower-cased literal, when the expression is plain ASCII text
	re     *regexp.Regexp
	// need are lower-cased literals of which a matching line holds at
	// least one: lines without any skip the regex engine.
	need [][]byte
}

// ParseFilter compiles expr. An empty expression (or a lone "!") returns
// nil, nil: no filter.
func ParseFilter(expr string) (*Filter, error) {
	f := &Filter{expr: expr}
	body := expr
	if strings.HasPrefix(body, "!") {
		f.invert = true
		body = body[1:]
	}
	if body == "" {
		return nil, nil
	}
	if regexp.QuoteMeta(body) == body && isASCII(body) {
		f.lit = []byte(strings.ToLower(body))
		return f, nil
	}
	re, err := regexp.Compile("(?i)" + body)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("invalid filter %q: %s", body, se.Code)
		}
		return nil, fmt.Errorf("invalid filter %q: %v", body, err)
	}
	f.re = re
	if tree, err := syntax.Parse("(?i)"+body, syntax.Perl); err == nil {
		for _, l := range requiredLiterals(tree.Simplify()) {
			if !isASCII(l) {
				f.need = nil
				break
			}
			f.need = append(f.need, []byte(strings.ToLower(l)))
		}
	}
	return f, nil
}

// requiredLiterals returns literals of which every match of re contains at
// least one, or nil when it cannot tell.
func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture:
		return requiredLiterals(re.Sub[0])
	case syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Any one part is required: keep the part whose shortest literal
		// is longest (the most selective).
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			lits := requiredLiterals(sub)
			if len(lits) == 0 {
				continue
			}
			shortest := len(lits[0])
			for _, l := range lits {
				shortest = min(shortest, len(l))
			}
			if shortest > bestLen {
				best, bestLen = lits, shortest
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			lits := requiredLiterals(sub)
			if len(lits) == 0 {
				return nil
			}
			all = append(all, lits...)
		}
		return all
	}
	return nil
}

// String is the expression as typed.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.expr
}

// Inverted reports whether the filter keeps the lines that do not match.
func (f *Filter) Inverted() bool { return f != nil && f.invert }

// Match reports whether s passes the filter.
func (f *Filter) Match(s string) bool {
	if f == nil {
		return true
	}
	var hit bool
	switch {
	case f.lit != nil:
		hit = indexFold(s, f.lit) >= 0
	case f.need != nil && !f.mayMatch(s):
		hit = false
	default:
		hit = f.re.MatchString(s)
	}
	return hit != f.invert
}

// mayMatch reports whether s holds one of the literals every match needs.
func (f *Filter) mayMatch(s string) bool {
	for _, n := range f.need {
		if indexFold(s, n) >= 0 {
			return true
		}
	}
	return false
}

// Spans returns the byte ranges of s to highlight: every match of the
// expression (none for an inverted filter, whose lines match nothing).
func (f *Filter) Spans(s string) [][2]int {
	if f == nil || f.invert {
		return nil
	}
	var out [][2]int
	if f.lit != nil {
		for off := 0; off < len(s); {
			i := indexFold(s[off:], f.lit)
			if i < 0 {
				break
			}
			out = append(out, [2]int{off + i, off + i + len(f.lit)})
			off += i + len(f.lit)
		}
		return out
	}
	for _, m := range f.re.FindAllStringIndex(s, -1) {
		if m[1] > m[0] {
			out = append(out, [2]int{m[0], m[1]})
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lowerASCII maps each byte to its ASCII lower case.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

// indexFold finds the lower-case ASCII needle in s, ignoring ASCII case,
// without allocating.
func indexFold(s string, needle []byte) int {
	n := len(needle)
	if n == 0 {
		return 0
	}
	first := needle[0]
	for i := 0; i+n <= len(s); i++ {
		if lowerASCII[s[i]] != first {
			continue
		}
		k := 1
		for ; k < n && lowerASCII[s[i+k]] == needle[k]; k++ {
		}
		if k == n {
			return i
		}
	}
	return -1
}
