package integrations

import (
	"slices"
	"testing"
)

func TestDeliverBatchTakesWhatIsWaitingUpToTheCapacity(t *testing.T) {
	ch := make(chan LogLine, 10)
	for _, m := range []string{"b", "c", "d", "e"} {
		ch <- LogLine{Message: m}
	}
	var got [][]string
	sink := func(b []LogLine) {
		var ms []string
		for _, l := range b {
			ms = append(ms, l.Message)
		}
		got = append(got, ms)
	}
	batch := make([]LogLine, 0, 3)
	batch = DeliverBatch(batch, LogLine{Message: "a"}, ch, sink) // full at 3
	batch = DeliverBatch(batch, <-ch, ch, sink)                  // "d", then "e" waiting
	close(ch)
	batch = DeliverBatch(batch, LogLine{Message: "f"}, ch, sink) // closed: just "f"
	want := [][]string{{"a", "b", "c"}, {"d", "e"}, {"f"}}
	if !slices.EqualFunc(got, want, slices.Equal) || len(batch) != 0 || cap(batch) != 3 {
		t.Errorf("batches %q, want %q; buffer len %d cap %d", got, want, len(batch), cap(batch))
	}
}
