package seam

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"
)

// fakeClock advances only when the test says so; After registers a timer and
// reports it on registered, so the test knows a waiter is sleeping.
type fakeClock struct {
	mu         sync.Mutex
	now        time.Time
	timers     []fakeTimer
	registered chan struct{}
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), registered: make(chan struct{}, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.registered <- struct{}{}
	return t.c
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.now
	}
	c.timers = kept
}

func newTestLimiter(rps float64, burst int) (*AdaptiveLimiter, *fakeClock, chan int) {
	clk := newFakeClock()
	l := NewAdaptiveLimiter(rps, burst)
	l.clock, l.last = clk, clk.Now()
	queued := make(chan int, 100)
	l.queued = func(n int) { queued <- n }
	return l, clk, queued
}

// A revocation queued behind creates gets the next token: counted order, no timing.
func TestLimiterServesRevocationsFirst(t *testing.T) {
	l, clk, queued := newTestLimiter(1, 1)
	if err := l.Wait(context.Background()); err != nil { // spend the one token
		t.Fatal(err)
	}
	<-queued
	done := make(chan string, 10)
	start := func(name string, p Priority) {
		go func() {
			if err := l.Wait(WithPriority(context.Background(), p)); err != nil {
				t.Error(err)
			}
			done <- name
		}()
		<-queued // in the queue before the next one starts: arrival order is known
	}
	start("create-1", PriorityDefault)
	start("create-2", PriorityDefault)
	start("create-3", PriorityDefault)
	start("suspend", PriorityRevoke)
	start("create-4", PriorityDefault)

	var order []string
	for len(order) < 5 {
		select {
		case <-clk.registered:
			clk.Advance(2 * time.Second) // more than one token's time at the headroom rate
		case name := <-done:
			order = append(order, name)
		}
	}
	want := []string{"suspend", "create-1", "create-2", "create-3", "create-4"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order = %v, want %v", order, want)
		}
	}
}

func TestLimiterWaiterLeavesOnCancel(t *testing.T) {
	l, clk, queued := newTestLimiter(1, 1)
	_ = l.Wait(context.Background())
	<-queued
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { errs <- l.Wait(ctx) }()
	<-queued
	cancel()
	if err := <-errs; err == nil {
		t.Fatal("a cancelled wait returned no error")
	}
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background()) }()
	<-queued
	for {
		select {
		case <-clk.registered:
			clk.Advance(2 * time.Second)
			continue
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		}
		break
	}
	if n := len(l.queue); n != 0 {
		t.Errorf("%d waiters left in the queue", n)
	}
}

// saturate empties the bucket: the limiter is sending at its rate.
func saturate(l *AdaptiveLimiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens, l.last = 0, l.clock.Now()
}

func TestLimiterAdaptsToThrottling(t *testing.T) {
	l, clk, _ := newTestLimiter(50, 10)
	saturate(l)
	l.Throttled()
	if got := l.Rate(); math.Abs(got-50*headroom*step) > 1e-9 {
		t.Fatalf("after an isolated 429 the rate is %v, want %v", got, 50*headroom*step)
	}
	l.Throttled() // the same burst of 429s: no second cut
	if got := l.Rate(); math.Abs(got-50*headroom*step) > 1e-9 {
		t.Errorf("a second 429 in the same window cut again: %v", got)
	}
	clk.Advance(time.Second)
	saturate(l)
	l.Throttled()
	if got := l.Rate(); math.Abs(got-50*headroom*step*decrease) > 1e-9 {
		t.Errorf("a 429 soon after a cut: rate %v, want the deep cut to %v", got, 50*headroom*step*decrease)
	}
	clk.Advance(repeatWithin)
	before := l.Rate()
	saturate(l)
	l.Throttled()
	if got := l.Rate(); math.Abs(got-before*step) > 1e-9 {
		t.Errorf("a 429 long after the last cut: rate %v, want the step to %v", got, before*step)
	}
	for range 10000 {
		l.Accepted()
	}
	if got := l.Rate(); got != 50*headroom {
		t.Errorf("accepted calls raise the rate back to the ceiling less the headroom, never above: %v", got)
	}
	for range 100 {
		clk.Advance(time.Second)
		saturate(l)
		l.Throttled()
	}
	if got := l.Rate(); got < 50*floorShare {
		t.Errorf("the rate fell under its floor: %v", got)
	}
	l.SetLimit(20, 5)
	if got, burst := l.Limit(); got != 20 || burst != 5 || l.Rate() > 20 {
		t.Errorf("SetLimit: ceiling %v burst %v rate %v", got, burst, l.Rate())
	}
}

// A 429 while the limiter had tokens to spare and nobody waiting is the server
// refusing a burst: the burst is halved, the rate kept; the burst grows back by
// about one call per second.
func TestLimiterFindsTheServersBurst(t *testing.T) {
	l, _, _ := newTestLimiter(100, 20)
	l.Throttled()
	if got := l.Rate(); got != 100*headroom {
		t.Errorf("a 429 of a burst cut the rate to %v", got)
	}
	l.mu.Lock()
	capAfter := l.burstCap
	l.mu.Unlock()
	if capAfter != 10 {
		t.Errorf("burst after a 429: %v, want 10", capAfter)
	}
	for range 500 { // five seconds of calls at 100 rps
		l.Accepted()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.burstCap < 14 || l.burstCap > 16 {
		t.Errorf("burst after five seconds of accepted calls: %v, want about 15", l.burstCap)
	}
}

// After the first 429 the rate climbs forty times slower: each 429 pauses the whole
// connection, so finding the limit again soon costs more than climbing slowly.
func TestLimiterClimbsSlowlyOnceThrottled(t *testing.T) {
	climbAfter := func(throttle bool) float64 {
		l, _, _ := newTestLimiter(50, 10)
		l.mu.Lock()
		l.rate = 25
		l.mu.Unlock()
		if throttle { // a 429 at 25 rps
			saturate(l)
			l.Throttled()
			l.mu.Lock()
			l.rate = 25
			l.mu.Unlock()
		}
		for range 25 { // one second of accepted calls at 25 rps
			l.Accepted()
		}
		return l.Rate() - 25
	}
	fast, slow := climbAfter(false), climbAfter(true)
	if fast < 4.5 || fast > 5.5 {
		t.Errorf("before any 429: +%.2f rps per second, want about %v", fast, 50*fastClimb)
	}
	if slow < 0.1 || slow > 0.15 {
		t.Errorf("near the rate of the last 429: +%.2f rps per second, want about %v", slow, 50*slowClimb)
	}

	l, clk, _ := newTestLimiter(50, 10)
	for range 40 { // a storm: many cuts, down to the floor
		clk.Advance(time.Second)
		saturate(l)
		l.Throttled()
	}
	before := l.Rate()
	for range int(before) {
		l.Accepted()
	}
	if got := l.Rate() - before; got < 3 {
		t.Errorf("far under the ceiling after a storm: +%.2f rps per second, want the fast climb", got)
	}
}
