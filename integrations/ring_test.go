package integrations

import "testing"

func TestRingKeepsNewestAndAbsoluteIndexes(t *testing.T) {
	r := NewRing[int](3)
	for i := range 5 {
		r.Push(i)
	}
	if got := r.Slice(); len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Fatalf("Slice = %v, want [2 3 4]", got)
	}
	if r.First() != 2 || r.Total() != 5 {
		t.Fatalf("First, Total = %d, %d; want 2, 5", r.First(), r.Total())
	}
	if r.Abs(1) != nil {
		t.Error("Abs(1) should be evicted")
	}
	if v := r.Abs(3); v == nil || *v != 3 {
		t.Errorf("Abs(3) = %v, want 3", v)
	}
	if r.Abs(5) != nil {
		t.Error("Abs(5) is not pushed yet")
	}
}
