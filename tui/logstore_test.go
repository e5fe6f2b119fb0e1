package tui

import (
	"fmt"
	"testing"

	"github.com/hotdash/hotdash-console/integrations"
)

func lines(from, n int, word string) []integrations.LogLine {
	out := make([]integrations.LogLine, n)
	for i := range out {
		out[i] = integrations.LogLine{Message: fmt.Sprintf("%s %d", word, from+i)}
	}
	return out
}

func TestLogStoreFilterIndexesOnlyMatches(t *testing.T) {
	s := newLogStore(5)
	s.append(lines(0, 3, "ok"))
	f, _ := integrations.ParseFilter("err")
	s.setFilter(f)
	if s.count() != 0 {
		t.Fatalf("count %d", s.count())
	}
	if n := s.append(append(lines(3, 1, "err"), lines(4, 2, "ok")...)); n != 1 {
		t.Errorf("append reported %d matches", n)
	}
	if w := s.window(10, 0); len(w) != 1 || w[0].Message != "err 3" {
		t.Errorf("window %v", w)
	}
	// The matching line is evicted by five newer ones: the view forgets it.
	s.append(lines(6, 5, "ok"))
	if s.count() != 0 || len(s.window(10, 0)) != 0 {
		t.Errorf("evicted match still counted: %d", s.count())
	}
	s.setFilter(nil)
	if s.count() != 5 || s.window(2, 1)[1].Message != "ok 9" {
		t.Errorf("unfiltered: %d %v", s.count(), s.window(2, 1))
	}
}

func TestPausedViewStaysOnItsLines(t *testing.T) {
	var sc logScroll
	sc.paused = true
	// Fewer lines than the screen: paused stays paused as lines arrive.
	sc.arrived(3, 0)
	if !sc.paused || sc.at() != 0 || sc.unseen != 3 {
		t.Errorf("short log: %+v", sc)
	}
	sc.follow()
	sc.by(5, 100)
	sc.arrived(10, 100)
	if sc.at() != 15 || sc.unseen != 10 {
		t.Errorf("after 10 new lines: %+v", sc)
	}
	sc.by(-15, 100)
	if sc.paused || sc.unseen != 0 {
		t.Errorf("scrolled to the bottom: %+v", sc)
	}
}
