package integrations

import (
	"testing"
	"time"
)

func TestMeterWindows(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var m Meter
	// An error a minute for the last hour, plus 9 good events each minute.
	for k := range 60 {
		at := t0.Add(time.Duration(k) * time.Minute)
		m.Add(at, true)
		m.AddN(at.Add(10*time.Second), 0, 9)
	}
	now := t0.Add(59*time.Minute + 30*time.Second)
	w := m.Windows(now)
	if w.M1 != (Rate{Errors: 1, Total: 10}) {
		t.Errorf("1m = %+v, want 1/10", w.M1)
	}
	if w.M15 != (Rate{Errors: 15, Total: 150}) {
		t.Errorf("15m = %+v, want 15/150", w.M15)
	}
	if w.H1 != (Rate{Errors: 60, Total: 600}) {
		t.Errorf("1h = %+v, want 60/600", w.H1)
	}
	// An hour later with no events, everything has aged out.
	later := now.Add(time.Hour)
	if w := m.Windows(later); w.H1.Total != 0 || w.M1.Total != 0 {
		t.Errorf("stale counts survive: %+v", w)
	}
	if got := w.H1.Ratio(); got != 0.1 {
		t.Errorf("ratio = %v", got)
	}
}

func TestMeterSparkIsPerMinuteOldestFirst(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var m Meter
	m.Add(t0, true)                     // minute 0: 100% errors
	m.Add(t0.Add(2*time.Minute), false) // minute 2: 0%
	m.AddN(t0.Add(2*time.Minute), 1, 1) // minute 2: now 50%
	got := m.Spark(t0.Add(2*time.Minute), 3)
	if len(got) != 3 || got[0] != 1 || got[1] != 0 || got[2] != 0.5 {
		t.Errorf("Spark = %v, want [1 0 0.5]", got)
	}
}

func TestMeterIgnoresEventsOlderThanItsSlots(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var m Meter
	m.Add(t0.Add(time.Hour), false)
	m.Add(t0, true) // an hour older than what the slot holds now
	if w := m.Window(t0.Add(time.Hour), time.Hour); w.Errors != 0 || w.Total != 1 {
		t.Errorf("old event counted: %+v", w)
	}
}
