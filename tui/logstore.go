package tui

import (
	"sort"

	"github.com/hotdash/hotdash-console/integrations"
)

// logStore is one view's copy of an integration's log: a ring of lines
// and, when a filter is set, a ring of the positions of the lines that pass
// it. Appending costs one filter match a line; reading the newest n lines
// costs n, however many lines are buffered.
type logStore struct {
	lines   *integrations.Ring[integrations.LogLine]
	filter  *integrations.Filter
	matches *integrations.Ring[uint64] // absolute indexes into lines
}

func newLogStore(capacity int) *logStore {
	return &logStore{lines: integrations.NewRing[integrations.LogLine](capacity)}
}

// append adds lines, oldest first, and returns how many pass the filter.
func (s *logStore) append(lines []integrations.LogLine) int {
	if s.filter == nil {
		for i := range lines {
			s.lines.Push(lines[i])
		}
		return len(lines)
	}
	n := 0
	for i := range lines {
		s.lines.Push(lines[i])
		if s.filter.Match(lines[i].Message) {
			s.matches.Push(s.lines.Total() - 1)
			n++
		}
	}
	return n
}

// setFilter applies f (nil: none), re-reading the buffered lines once.
func (s *logStore) setFilter(f *integrations.Filter) {
	s.filter = f
	s.matches = nil
	if f == nil {
		return
	}
	s.matches = integrations.NewRing[uint64](s.lines.Cap())
	first := s.lines.First()
	for i := range s.lines.Len() {
		if f.Match(s.lines.At(i).Message) {
			s.matches.Push(first + uint64(i))
		}
	}
}

// firstMatch is the index in matches of the oldest entry whose line is
// still buffered.
func (s *logStore) firstMatch() int {
	first := s.lines.First()
	return sort.Search(s.matches.Len(), func(i int) bool { return *s.matches.At(i) >= first })
}

// count is how many lines pass the filter.
func (s *logStore) count() int {
	if s.filter == nil {
		return s.lines.Len()
	}
	return s.matches.Len() - s.firstMatch()
}

// total is how many lines are buffered, filtered or not.
func (s *logStore) total() int { return s.lines.Len() }

// window returns up to n visible lines ending offset lines before the
// newest, oldest first.
func (s *logStore) window(n, offset int) []*integrations.LogLine {
	v := s.count()
	end := max(0, v-offset)
	start := max(0, end-n)
	out := make([]*integrations.LogLine, 0, end-start)
	if s.filter == nil {
		for i := start; i < end; i++ {
			out = append(out, s.lines.At(i))
		}
		return out
	}
	base := s.firstMatch()
	for i := start; i < end; i++ {
		if l := s.lines.Abs(*s.matches.At(base + i)); l != nil {
			out = append(out, l)
		}
	}
	return out
}

// logScroll is where a log view stands: following the newest line, or
// paused at an offset from it, counting what arrived since.
type logScroll struct {
	paused bool
	offset int // lines up from the newest, while paused
	unseen int // lines that arrived while paused
}

// follow goes back to the newest line.
func (s *logScroll) follow() { *s = logScroll{} }

// by scrolls d lines up (negative: down), within [0, maxOff]; scrolling up
// pauses, reaching the bottom follows again.
func (s *logScroll) by(d, maxOff int) {
	off := min(max(0, s.offset+d), maxOff)
	switch {
	case d > 0:
		s.paused, s.offset = true, off
	case off == 0:
		s.follow()
	default:
		s.offset = off
	}
}

// arrived keeps a paused view on the same lines while added new ones
// arrive below them.
func (s *logScroll) arrived(added, maxOff int) {
	if !s.paused {
		return
	}
	s.offset = min(s.offset+added, maxOff)
	s.unseen += added
}

// at is the offset to draw at.
func (s *logScroll) at() int {
	if !s.paused {
		return 0
	}
	return s.offset
}
