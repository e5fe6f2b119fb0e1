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
// longer than that stops the reading with a *TooLargeError, and none of
// it is returned. It reads in chunks that grow to 1 MB and joins them once
// at the end, so reading n bytes allocates about 2n at most (io.ReadAll,
// growing one slice, allocates several times n), and refusing an endless
// answer about the limit.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	var chunks [][]byte
	var total int64
	next := int64(4 << 10)
	for {
		c := make([]byte, min(next, limit+1-total))
		n, err := io.ReadFull(r, c)
		chunks, total = append(chunks, c[:n]), total+int64(n)
		if total > limit {
			return nil, &TooLargeError{Limit: limit}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		next = min(2*next, 1<<20)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	b := make([]byte, 0, total)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return b, nil
}
