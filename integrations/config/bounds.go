package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DurationRange is the span a duration in a file may take.
type DurationRange struct{ Min, Max time.Duration }

// Check says why d is outside the range, or "" when it is inside.
func (r DurationRange) Check(d time.Duration) string {
	if d < r.Min || d > r.Max {
		return fmt.Sprintf("%s is out of range: from %s to %s", HumanDuration(d), HumanDuration(r.Min), HumanDuration(r.Max))
	}
	return ""
}

// NumberRange is the span a number in a file may take.
type NumberRange struct {
	Min, Max float64
	// What the number is, when the range alone does not say ("a share of
	// lines, from 0 to 1").
	What string
}

// Check says why v is outside the range, or "" when it is inside; NaN and
// the infinities are outside every range.
func (r NumberRange) Check(v float64) string {
	if math.IsNaN(v) || v < r.Min || v > r.Max {
		what := ""
		if r.What != "" {
			what = " (" + r.What + ")"
		}
		return fmt.Sprintf("%s is out of range: from %s to %s%s", number(v), number(r.Min), number(r.Max), what)
	}
	return ""
}

// number writes v as a file would: 0.05, 2000, 9223372036854775807.
func number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// IntRange is NumberRange for whole numbers, exact at any size.
type IntRange struct{ Min, Max int64 }

// Check says why v is outside the range, or "" when it is inside.
func (r IntRange) Check(v int64) string {
	if v < r.Min || v > r.Max {
		return fmt.Sprintf("%d is out of range: from %d to %d", v, r.Min, r.Max)
	}
	return ""
}

// HumanDuration writes d the way a file does: "100ms", "5m", "1h30m", "7d".
func HumanDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
