package integrations

import (
	"fmt"
	"io"
)

// AnswerLimit is how much of one answer from outside (a command's output,
// a response body) the console reads by default: past it the answer is
// refused, never kept whole in memory.
const AnswerLimit = 4 << 20

// TooLargeError is an answer over its limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("answer too large (over %s)", SizeText(e.Limit))
}

// SizeText is a size as an operator reads it: "4 MB", "512 KB", "900 bytes".
func SizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadLimited reads r to its end, keeping at most limit bytes: an answer
// longer than that stops the reading with a *TooLargeError.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return b[:limit], &TooLargeError{Limit: limit}
	}
	return b, nil
}
