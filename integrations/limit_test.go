package integrations

import (
	"bytes"
	"runtime"
	"testing"
)

func TestReadLimitedRefusesWhatIsTooLarge(t *testing.T) {
	b, err := ReadLimited(bytes.NewReader(make([]byte, 10)), 10)
	if err != nil || len(b) != 10 {
		t.Errorf("at the limit: %d bytes, %v", len(b), err)
	}
	_, err = ReadLimited(bytes.NewReader(make([]byte, 5<<20)), AnswerLimit)
	if err == nil || err.Error() != "answer too large (over 4 MB)" {
		t.Errorf("over the limit: %v", err)
	}
}

// endless is a reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestReadLimitedRefusesAnEndlessAnswerInBoundedMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadLimited(endless{}, AnswerLimit)
	runtime.ReadMemStats(&after)
	if err == nil || err.Error() != "answer too large (over 4 MB)" {
		t.Fatalf("got %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 5<<20 {
		t.Errorf("refusing it allocated %.1f MB, want about the 4 MB limit", float64(grew)/(1<<20))
	}
}
