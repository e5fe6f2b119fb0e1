package integrations

import (
	"sync"
	"time"
)

// Clock is the time source of the engine; tests replace it.
type Clock interface {
	Now() time.Time
	// NewTicker fires every d until stopped.
	NewTicker(d time.Duration) Ticker
	// After fires once, after d.
	After(d time.Duration) <-chan time.Time
}

// Ticker is the part of time.Ticker the engine uses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (RealClock) NewTicker(d time.Duration) Ticker       { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }

// FakeClock is a Clock that moves only when told to. Timers and tickers
// fire during Advance, in time order.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
}

type fakeWaiter struct {
	at      time.Time
	every   time.Duration // 0: one-shot
	ch      chan time.Time
	stopped bool
}

// NewFakeClock starts a fake clock at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, firing what falls due. A fired
// value is dropped if the receiver has not taken the previous one, as
// time.Ticker does.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.now.Add(d)
	for {
		var next *fakeWaiter
		for _, w := range c.waiters {
			if !w.stopped && !w.at.After(end) && (next == nil || w.at.Before(next.at)) {
				next = w
			}
		}
		if next == nil {
			break
		}
		c.now = next.at
		select {
		case next.ch <- next.at:
		default:
		}
		if next.every > 0 {
			next.at = next.at.Add(next.every)
		} else {
			next.stopped = true
		}
	}
	c.now = end
	live := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.stopped {
			live = append(live, w)
		}
	}
	c.waiters = live
}

// Waiters reports how many timers and tickers are pending; tests use it to
// know a goroutine has started waiting.
func (c *FakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waiters {
		if !w.stopped {
			n++
		}
	}
	return n
}

func (c *FakeClock) add(d, every time.Duration) *fakeWaiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &fakeWaiter{at: c.now.Add(d), every: every, ch: make(chan time.Time, 1)}
	c.waiters = append(c.waiters, w)
	return w
}

// After fires once after d of fake time.
func (c *FakeClock) After(d time.Duration) <-chan time.Time { return c.add(d, 0).ch }

// NewTicker fires every d of fake time.
func (c *FakeClock) NewTicker(d time.Duration) Ticker {
	return &fakeTicker{c: c, w: c.add(d, d)}
}

type fakeTicker struct {
	c *FakeClock
	w *fakeWaiter
}

func (t *fakeTicker) C() <-chan time.Time { return t.w.ch }
func (t *fakeTicker) Stop() {
	t.c.mu.Lock()
	t.w.stopped = true
	t.c.mu.Unlock()
}
