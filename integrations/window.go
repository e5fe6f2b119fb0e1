package integrations

import "time"

type bucket struct {
	stamp  int64 // unix second or minute the counts belong to
	errors int64
	total  int64
}

// Meter counts events and errors over the last hour, in one-second buckets
// for the last minute and one-minute buckets for the hour. Time comes from
// the caller, so tests drive it with a fake clock. Memory is fixed whatever
// the volume. A Meter is not safe for concurrent use.
type Meter struct {
	sec [60]bucket
	min [60]bucket
}

// Add counts one event at t.
func (m *Meter) Add(t time.Time, isErr bool) {
	var e int64
	if isErr {
		e = 1
	}
	m.AddN(t, e, 1)
}

// AddN counts total events, errors of them, at t.
func (m *Meter) AddN(t time.Time, errors, total int64) {
	s := t.Unix()
	addTo(&m.sec[s%60], s, errors, total)
	mi := s / 60
	addTo(&m.min[mi%60], mi, errors, total)
}

func addTo(b *bucket, stamp, errors, total int64) {
	if b.stamp != stamp {
		if stamp < b.stamp {
			return // older than what this slot holds now: outside every window
		}
		*b = bucket{stamp: stamp}
	}
	b.errors += errors
	b.total += total
}

// Window sums the events of the last d (at most an hour) before now.
// Windows up to a minute are exact to the second; longer ones to the minute.
func (m *Meter) Window(now time.Time, d time.Duration) Rate {
	var r Rate
	if d <= time.Minute {
		s := now.Unix()
		from := s - int64(d/time.Second)
		for i := range m.sec {
			if b := m.sec[i]; b.stamp > from && b.stamp <= s {
				r.Errors += b.errors
				r.Total += b.total
			}
		}
		return r
	}
	mi := now.Unix() / 60
	from := mi - int64(d/time.Minute)
	for i := range m.min {
		if b := m.min[i]; b.stamp > from && b.stamp <= mi {
			r.Errors += b.errors
			r.Total += b.total
		}
	}
	return r
}

// Windows returns the 1-minute, 15-minute and 1-hour rates.
func (m *Meter) Windows(now time.Time) Windows {
	return Windows{
		M1:  m.Window(now, time.Minute),
		M15: m.Window(now, 15*time.Minute),
		H1:  m.Window(now, time.Hour),
	}
}

// Spark returns the error share of each of the last n minutes (at most
// 60), oldest first; a minute without events is 0.
func (m *Meter) Spark(now time.Time, n int) []float64 {
	n = min(n, len(m.min))
	out := make([]float64, n)
	mi := now.Unix() / 60
	for k := range n {
		stamp := mi - int64(n-1-k)
		if b := m.min[stamp%60]; b.stamp == stamp && b.total > 0 {
			out[k] = float64(b.errors) / float64(b.total)
		}
	}
	return out
}
