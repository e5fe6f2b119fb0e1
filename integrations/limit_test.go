package integrations

import (
	"bytes"
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
