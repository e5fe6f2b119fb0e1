package integrations

// Ring is a fixed-capacity buffer that keeps the newest values. Every value
// pushed gets an absolute index (0, 1, 2, ...) that stays valid until the
// value is evicted, so a view can remember positions across pushes.
// A Ring is not safe for concurrent use.
type Ring[T any] struct {
	buf   []T
	start int    // physical index of the oldest value
	n     int    // values held
	total uint64 // values ever pushed
}

// NewRing returns a ring holding at most capacity values (at least 1).
func NewRing[T any](capacity int) *Ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Ring[T]{buf: make([]T, capacity)}
}

// Push appends v, evicting the oldest value when full.
func (r *Ring[T]) Push(v T) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = v
		r.n++
	} else {
		r.buf[r.start] = v
		r.start++
		if r.start == len(r.buf) {
			r.start = 0
		}
	}
	r.total++
}

// Len is the number of values held.
func (r *Ring[T]) Len() int { return r.n }

// Cap is the most values the ring holds.
func (r *Ring[T]) Cap() int { return len(r.buf) }

// Total is how many values were ever pushed.
func (r *Ring[T]) Total() uint64 { return r.total }

// First is the absolute index of the oldest value held.
func (r *Ring[T]) First() uint64 { return r.total - uint64(r.n) }

// At returns the i-th oldest value held (0 is the oldest).
func (r *Ring[T]) At(i int) *T {
	if i < 0 || i >= r.n {
		panic("ring: index out of range")
	}
	return &r.buf[(r.start+i)%len(r.buf)]
}

// Abs returns the value at absolute index abs, or nil when it was evicted
// or not yet pushed.
func (r *Ring[T]) Abs(abs uint64) *T {
	first := r.First()
	if abs < first || abs >= r.total {
		return nil
	}
	return r.At(int(abs - first))
}

// Slice copies the values held, oldest first.
func (r *Ring[T]) Slice() []T {
	out := make([]T, r.n)
	for i := range out {
		out[i] = *r.At(i)
	}
	return out
}
