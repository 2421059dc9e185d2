package seam

import (
	"context"
	"errors"
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

// AdvanceToNext advances to the earliest timer, firing it.
func (c *fakeClock) AdvanceToNext() {
	c.mu.Lock()
	next := c.timers[0].at
	for _, t := range c.timers[1:] {
		if t.at.Before(next) {
			next = t.at
		}
	}
	d := next.Sub(c.now)
	c.mu.Unlock()
	c.Advance(d)
}

func newTestLimiter(rps float64, burst int) (*AdaptiveLimiter, *fakeClock, chan int) {
	clk := newFakeClock()
	l := NewAdaptiveLimiter(rps, burst)
	l.clock, l.last = clk, clk.Now()
	// Swept up to its ceiling without a 429, its bucket full: where the tests
	// of what follows start (TestLimiterSweepsUpFromHalf tests the sweep).
	l.rate = l.top()
	l.sweepBurst()
	l.tokens, l.full = l.burstCap, clk.Now()
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

// saturate empties the bucket: the limiter is sending at its rate, its callers
// waiting for it.
func saturate(l *AdaptiveLimiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens, l.last, l.lastWaited = 0, l.clock.Now(), true
}

// accept reports n calls accepted evenly over d, as a server would answer them.
func accept(l *AdaptiveLimiter, clk *fakeClock, n int, d time.Duration) {
	for range n {
		clk.Advance(d / time.Duration(n))
		l.Accepted()
	}
}

func near(got, want float64) bool { return math.Abs(got-want) < 1e-6*max(1, want) }

// Told twice the rate and burst of a server of 50 rps with a burst of 10: the
// first 429 measures nothing and halves the rate; the next, a second after the
// pause, measures the server's rate (its burst taken as the configured share of
// it) and the limiter settles just under it.
func TestLimiterCutsBlindThenMeasures(t *testing.T) {
	l, clk, _ := newTestLimiter(100, 20)
	// At 97 rps the server's bucket (10, refilled at 50) lasts 0.21 s: 20 calls.
	accept(l, clk, 20, 210*time.Millisecond)
	l.Throttled(time.Second)
	if got, want := l.Rate(), 100*headroom*blindCut; !near(got, want) {
		t.Fatalf("after a 429 that measured nothing the rate is %v, want half: %v", got, want)
	}
	if !l.probing {
		t.Error("nothing is known good, yet the rate is not probing")
	}
	clk.Advance(100 * time.Millisecond)
	l.Accepted() // a call sent before the pause: not counted, no climb
	l.Throttled(time.Second)
	if got := l.Rate(); !near(got, 100*headroom*blindCut) {
		t.Errorf("a 429 during the pause cut again: %v", got)
	}

	clk.Advance(900 * time.Millisecond) // the end of the pause
	// From the full bucket: 10 calls, then 50 per second; sent at 60 rps the
	// server answers 429 after a second.
	accept(l, clk, 60, time.Second)
	clk.Advance(20 * time.Millisecond) // the next call's 429
	l.Throttled(time.Second)
	if got, want := l.Rate(), 50*headroom; math.Abs(got-want) > want/100 {
		t.Errorf("after a 429 a second after the pause the rate is %v, want the server's measured, less the headroom: %v", got, want)
	}
	if l.probing {
		t.Error("the rate was measured, yet it is still probing")
	}

	// Settled: a second of calls raises it by settledClimb only.
	clk.Advance(time.Second)
	before := l.Rate()
	accept(l, clk, 48, time.Second)
	if got, want := l.Rate()-before, 48*headroom*settledClimb; math.Abs(got-want) > 0.01 {
		t.Errorf("a settled rate climbs %v per second, want about %v", got, want)
	}
}

// Told twice the rate of a server of 50 rps with a burst of 10, and the same
// burst: the configured share of burst to rate is half the server's, so the
// measure that takes it overshoots. The next 429 comes at a pace under that
// measure: from then on the measure subtracts the burst's bound only.
func TestLimiterDropsAWrongBurstShare(t *testing.T) {
	l, clk, _ := newTestLimiter(100, 10)
	accept(l, clk, 20, 210*time.Millisecond)
	l.Throttled(time.Second)
	clk.Advance(time.Second)
	accept(l, clk, 60, time.Second)
	clk.Advance(20 * time.Millisecond)
	l.Throttled(time.Second)
	guessed := l.Rate()
	if guessed <= 50*headroom {
		t.Fatalf("with the configured share the measure is %v, want over the server's rate less the headroom", guessed)
	}

	clk.Advance(time.Second) // the pause
	// At about 52 rps the server's bucket (10) lasts 5 s: 260 calls, then 429.
	saturate(l)
	accept(l, clk, 260, 5*time.Second)
	clk.Advance(20 * time.Millisecond)
	saturate(l)
	l.Throttled(time.Second)
	if !l.shareWrong {
		t.Error("a 429 under the measure the share made did not drop the share")
	}
	if got, want := l.Rate(), 50*headroom; math.Abs(got-want) > want/100 {
		t.Errorf("after the share was dropped the rate is %v, want the server's measured with the burst's bound, less the headroom: %v", got, want)
	}
	l.SetLimit(100, 20)
	if l.shareWrong {
		t.Error("a new limit is a new shape to guess from, yet the share stays dropped")
	}
}

// Told the real rate after a batch at it, then twice: the rate does not jump to
// the new ceiling, to meet the server's empty bucket at once, a 429 that measures
// nothing; it sweeps up from where it was, from an empty bucket and without a
// burst, so the 429 that ends the sweep comes more than a second after the rate
// crossed the server's, measures it, and the limiter settles under it.
func TestLimiterSweepsFromTheRateItHad(t *testing.T) {
	l, clk, _ := newTestLimiter(50, 10)
	accept(l, clk, 970, 20*time.Second) // 48.5 rps without a 429
	clk.Advance(5 * time.Second)
	l.SetLimit(100, 20)
	if got := l.Rate(); got != 50*headroom {
		t.Fatalf("a new limit: rate %v, want the one it had, 48.5", got)
	}
	if l.burstCap != 1 || l.tokens != 0 {
		t.Fatalf("a new limit: burst %v, tokens %v; want one call and none", l.burstCap, l.tokens)
	}
	clk.Advance(time.Second)
	if err := l.Wait(context.Background()); err != nil { // a fresh stretch
		t.Fatal(err)
	}
	// Sweeping from 48.5 by 30% a second, the server's bucket (10, refilled at
	// 50) lasts 1.2 s: 70 calls.
	acceptSaturated(l, clk, 70, 1200*time.Millisecond)
	if got, want := l.Rate(), 50*headroom+70*sweepClimb; !near(got, want) {
		t.Fatalf("after 1.2 s of sweep the rate is %v, want %v", got, want)
	}
	clk.Advance(17 * time.Millisecond)
	saturate(l)
	l.Throttled(time.Second)
	if got, want := l.Rate(), 50*headroom; math.Abs(got-want) > want/50 {
		t.Errorf("after the 429 that ended the sweep the rate is %v, want the server's measured, less the headroom: %v", got, want)
	}
	if l.probing {
		t.Error("the rate was measured, yet it is probing")
	}
	if got, want := l.burstCap, topBurst(20)*l.Rate()/(100*headroom); !near(got, want) {
		t.Errorf("after the sweep the burst is %v, want the configured share of the rate: %v", got, want)
	}
}

// Callers that send in bursts wait for the sweep's one-call bucket now and then
// while sending well under its rate. Their waits alone took the rate far past
// what they sent (86 rps while they sent 52, in the bench): when they then
// surged, the server's burst lasted under a second and the 429 measured nothing.
// The sweep climbs only while the callers send near its rate.
func TestLimiterSweepClimbsOnlyWithItsCallers(t *testing.T) {
	l, clk, _ := newTestLimiter(100, 20)
	l.rate = 100 * headroom * startShare
	l.sweepBurst()
	acceptSaturated(l, clk, 156, 3*time.Second) // 52 a second, each after a wait
	if got, most := l.Rate(), 54/sweepBusy; got > most {
		t.Errorf("callers sending 52 a second took the sweep to %.1f, want at most %.1f", got, most)
	}
}

// Settled under a rate the server is known to grant, the limiter meets a 429
// after a stretch its callers did not keep busy (its bucket was full at its
// start): the measure over it is only a floor, and says nothing of what the server
// grants at most. It must not replace the rate known good (at 10,000 in the
// bench, a probe measured a floor of 47 rps and took a connection from 48.5 to
// 45.6, to climb back at the settled pace for minutes).
func TestLimiterKeepsItsKnownRateAfterAFloor(t *testing.T) {
	l, clk, _ := newTestLimiter(50, 10)
	l.throttled, l.good = true, 50*headroom
	saturate(l)
	// A second and a half of callers at 40 a second: the limiter's bucket,
	// refilled at 48.5, is full again and again.
	for range 60 {
		clk.Advance(time.Second / 40)
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.Accepted()
	}
	// Then a second of callers sending little, and a 429 as a burst of them
	// arrives (the queue is busy at that moment).
	acceptSaturated(l, clk, 22, 1100*time.Millisecond)
	clk.Advance(20 * time.Millisecond)
	saturate(l)
	l.Throttled(time.Second)
	if p := l.Pace(); !p.Floor {
		t.Fatalf("the measure (%v) is not taken for a floor: not the case under test", p.Measured)
	}
	if got, want := l.Rate(), 50*headroom; got < want*0.99 {
		t.Errorf("a 429 that measured a floor took the rate from %v to %v", want, got)
	}
}

// A sweep whose callers lagged (a manager slow to start a batch) and then caught
// up with the rate already over the server's: the server's burst lasts under a
// second, so every stretch the 429 measures over holds time when the callers sent
// less than the limiter allowed and the server's bucket sat full. That measure is
// a floor: the limiter probes on from it to the next 429 instead of settling
// there, to climb back at the settled pace for minutes (in the simulation of a
// busy manager against a server whose burst is a tenth of its rate, a new
// connection told 2× took 1.28× the bound for it, 1.18× now).
func TestLimiterProbesOnAfterASweepItsCallersLagged(t *testing.T) {
	l, clk, _ := newTestLimiter(100, 20)
	l.rate = 100 * headroom * startShare
	l.sweepBurst()
	l.tokens, l.last = 0, clk.Now()
	ctx := context.Background()
	// Two seconds of 30 calls a second, never waiting: the limiter allows 48.5.
	for range 60 {
		clk.Advance(time.Second / 30)
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		l.Accepted()
	}
	// The callers catch up with the rate at 70 (sporadic waits climbed it): the
	// server's bucket of 10, refilled at 50, lasts half a second.
	l.rate = 70
	acceptSaturated(l, clk, 35, 500*time.Millisecond)
	clk.Advance(14 * time.Millisecond)
	saturate(l)
	l.Throttled(time.Second)
	if !l.Pace().Probing {
		t.Errorf("settled at %.1f rps after a sweep whose callers lagged: want probing on to the next 429", l.Rate())
	}
}

// A new limiter knows nothing of the server but a ceiling: it starts at half of
// it, from an empty bucket, without a burst, and sweeps up only while its
// callers wait for it (callers that send little say nothing of what the server
// grants); at the ceiling it has its burst.
func TestLimiterSweepsUpFromHalf(t *testing.T) {
	l, clk, _ := newTestLimiter(100, 20)
	fresh := NewAdaptiveLimiter(100, 20)
	if got, want := fresh.Rate(), 100*headroom*startShare; !near(got, want) || fresh.tokens != 0 || fresh.burstCap != 1 {
		t.Fatalf("a new limiter: rate %v, tokens %v, burst %v; want %v, none, one call", got, fresh.tokens, fresh.burstCap, want)
	}
	l.rate = fresh.rate
	l.sweepBurst()
	accept(l, clk, 10, time.Second) // ten calls a second, none waited
	if got := l.Rate(); !near(got, fresh.rate) {
		t.Errorf("callers that never waited raised the rate to %v", got)
	}
	acceptAtRate(l, clk, time.Second)
	// It climbs by sweepClimb of itself a second once the last second's calls
	// came near its rate: at most e^0.3 times over the second.
	if got, most := l.Rate(), fresh.rate*math.Exp(sweepClimb); got <= fresh.rate || got > most {
		t.Errorf("after a second of callers waiting for it the rate is %v, want over %v and at most %v", got, fresh.rate, most)
	}
	if l.burstCap != 1 {
		t.Errorf("burst %v during the sweep, want one call", l.burstCap)
	}
	acceptAtRate(l, clk, 4*time.Second)
	if got := l.Rate(); got != 100*headroom || l.burstCap != topBurst(20) {
		t.Errorf("swept to the ceiling: rate %v, burst %v; want %v, %v", got, l.burstCap, 100*headroom, topBurst(20))
	}
}

// acceptAtRate reports calls accepted for d at the limiter's rate, the callers
// waiting for every token.
func acceptAtRate(l *AdaptiveLimiter, clk *fakeClock, d time.Duration) {
	for end := clk.Now().Add(d); clk.Now().Before(end); {
		clk.Advance(time.Duration(float64(time.Second) / l.Rate()))
		saturate(l)
		l.Accepted()
	}
}

// acceptSaturated is accept with the callers waiting for every token.
func acceptSaturated(l *AdaptiveLimiter, clk *fakeClock, n int, d time.Duration) {
	for range n {
		clk.Advance(d / time.Duration(n))
		saturate(l)
		l.Accepted()
	}
}

// A storm: 429 after 429 with nothing accepted between. What was known good no
// longer is; the rate halves down to its floor, then climbs briskly.
func TestLimiterStorm(t *testing.T) {
	l, clk, _ := newTestLimiter(50, 10)
	accept(l, clk, 485, 10*time.Second)
	for range 20 {
		saturate(l)
		l.Throttled(time.Second)
		clk.Advance(time.Second)
	}
	if got := l.Rate(); !near(got, 50*floorShare) {
		t.Errorf("after a storm the rate is %v, want its floor %v", got, 50*floorShare)
	}
	before := l.Rate()
	accept(l, clk, 10, 4*time.Second) // four seconds at the floor
	if got, want := l.Rate()-before, 4*before*probeClimb; math.Abs(got-want) > 0.01 {
		t.Errorf("after a storm the rate climbs %v in four seconds, want the probe's %v", got, want)
	}
	l.SetLimit(20, 5)
	if got, burst := l.Limit(); got != 20 || burst != 5 || l.Rate() > 20 {
		t.Errorf("SetLimit: ceiling %v burst %v rate %v", got, burst, l.Rate())
	}
}

// A 429 while the callers send little (say, another client of the same key
// drained the server's bucket) does not teach the limiter that the rate it
// knows good is not.
func TestLimiterLearnsNothingFromAFewCalls(t *testing.T) {
	l, clk, _ := newTestLimiter(50, 10)
	accept(l, clk, 970, 20*time.Second)
	saturate(l)
	clk.Advance(time.Second) // 48.5 tokens: idle, nobody waiting
	l.throttled = true
	l.full = clk.Now().Add(-time.Minute)
	accept(l, clk, 10, 5*time.Second) // two calls a second
	clk.Advance(100 * time.Millisecond)
	l.Throttled(time.Second)
	if got := l.Rate(); got < 47 {
		t.Errorf("after a 429 among a few calls the rate is %v, want it kept near 48.5", got)
	}
}

// A rate known good over a higher limit does not lift the rate over a lower one.
func TestLimiterKeepsUnderTheCeiling(t *testing.T) {
	l, clk, _ := newTestLimiter(50, 10)
	accept(l, clk, 970, 20*time.Second)
	l.SetLimit(20, 4)
	saturate(l)
	clk.Advance(2 * time.Second)
	l.Throttled(time.Second)
	if got := l.Rate(); got > 20*headroom {
		t.Errorf("after a 429 the rate is %v, over the ceiling 20 less the headroom", got)
	}
}

// A 429 soon after the limiter had its whole burst, once the rate has been
// through a 429, is the server refusing a burst: the burst is halved, the rate
// kept. The halved burst is what the limiter knows the server takes: it grows
// back over it by about one call a minute, not one a second (which brought a
// 429 every few seconds from bursty callers: 19 in a 10,000-user batch).
func TestLimiterFindsTheServersBurst(t *testing.T) {
	l, clk, _ := newTestLimiter(100, 20)
	l.throttled = true
	l.Throttled(time.Second)
	if got := l.Rate(); got != 100*headroom {
		t.Errorf("a 429 of a burst cut the rate to %v", got)
	}
	halved := topBurst(20) / 2
	if got := l.burstCap; got != halved {
		t.Errorf("burst after a 429: %v, want %v", got, halved)
	}
	clk.Advance(time.Second)
	accept(l, clk, 500, 5*time.Second) // five seconds of calls at 100 rps
	if l.burstCap < halved || l.burstCap > halved+0.2 {
		t.Errorf("burst after five seconds of accepted calls: %v, want about %v", l.burstCap, halved)
	}
	accept(l, clk, 6000, time.Minute)
	if l.burstCap < halved+0.8 || l.burstCap > halved+1.5 {
		t.Errorf("burst after a minute more of accepted calls: %v, want about %v", l.burstCap, halved+1)
	}
	if got := topBurst(1); got != 1 {
		t.Errorf("a burst of one keeps one call: %v", got)
	}
}

// A new limit is new information: the burst is the configured one again.
func TestLimiterBurstResetsWithTheLimit(t *testing.T) {
	l, _, _ := newTestLimiter(100, 20)
	l.throttled = true
	l.Throttled(time.Second)
	l.SetLimit(50, 10)
	if got := l.burstCap; got != topBurst(10) {
		t.Errorf("burst after a new limit: %v, want %v", got, topBurst(10))
	}
}

// Nothing leaves the queue before the Retry-After is over, and then without a
// burst.
func TestLimiterHoldsForRetryAfter(t *testing.T) {
	l, clk, queued := newTestLimiter(10, 5)
	l.Throttled(2 * time.Second)
	done := make(chan time.Duration, 2)
	start := clk.Now()
	for range 2 {
		go func() {
			if err := l.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			done <- clk.Now().Sub(start)
		}()
		<-queued
	}
	var got []time.Duration
	for len(got) < 2 {
		select {
		case <-clk.registered:
			clk.AdvanceToNext()
		case d := <-done:
			got = append(got, d)
		}
	}
	if got[0] < 2*time.Second || got[1]-got[0] < 90*time.Millisecond {
		t.Errorf("calls left the queue at %v after a 429 with Retry-After 2s at 5 rps, want the first after 2s and the next a token later", got)
	}
}

func TestAcceptLogRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) *acceptLog {
		a := &acceptLog{}
		for _, m := range ms {
			a.add(t0.Add(time.Duration(m) * time.Millisecond))
		}
		return a
	}
	even := func(n int, every time.Duration) []int {
		ms := make([]int, n)
		for i := range ms {
			ms[i] = int(time.Duration(i) * every / time.Millisecond)
		}
		return ms
	}
	for _, tc := range []struct {
		name  string
		log   *acceptLog
		now   int // ms
		burst float64
		rate  float64
		span  time.Duration
	}{
		{"empty", at(), 1000, 10, 0, 0},
		{"no more than the burst", at(0, 10, 20), 1000, 10, 0, 0},
		// 60 calls over 1 s (one every 1/60 s, the last 1/60 s before now), burst
		// 10: the server's 50 per second.
		{"a second at 60 rps, burst 10", at(even(60, time.Second/60)...), 1000, 10, 50, time.Second},
		// An idle stretch, then a second at 60: the stretches from before the gap
		// give less, the best starts after it.
		{"idle first", at(append([]int{-5000, -4000}, even(60, time.Second/60)...)...), 1000, 10, 50, time.Second},
		{"reset", func() *acceptLog { a := at(even(60, time.Second/60)...); a.reset(); return a }(), 1000, 10, 0, 0},
	} {
		rate, span := tc.log.rate(t0.Add(time.Duration(tc.now)*time.Millisecond), tc.burst, 0)
		if math.Abs(rate-tc.rate) > 0.01 || span != tc.span {
			t.Errorf("%s: rate %v over %v, want %v over %v", tc.name, rate, span, tc.rate, tc.span)
		}
	}
}

// The log keeps the last logSize calls: older ones no longer count.
// behind: calls that kept up with a rate over a stretch fell behind it by at most
// a call; calls that lagged at its start fell behind by what they lagged.
func TestAcceptLogBehind(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &acceptLog{}
	for i := range 50 { // a second at 50 rps
		a.add(t0.Add(time.Duration(i) * 20 * time.Millisecond))
	}
	if got := a.behind(t0.Add(time.Second), time.Second, 50); got > 1 {
		t.Errorf("kept up: %v calls behind, want at most one", got)
	}
	a.reset()
	for i := range 10 { // half a second at 20 rps, then half a second at 100
		a.add(t0.Add(time.Duration(i) * 50 * time.Millisecond))
	}
	for i := range 50 {
		a.add(t0.Add(500*time.Millisecond + time.Duration(i)*10*time.Millisecond))
	}
	if got := a.behind(t0.Add(time.Second), time.Second, 50); math.Abs(got-15) > 1e-9 {
		t.Errorf("lagged: %v calls behind, want 15 (25 due at 0.5 s, 10 sent)", got)
	}
	if got := a.behind(t0.Add(time.Second), 300*time.Millisecond, 50); got != 0 {
		t.Errorf("a span no call starts: %v, want 0", got)
	}
}

func TestAcceptLogWraps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &acceptLog{}
	for i := range 3 * logSize {
		a.add(t0.Add(time.Duration(i) * 10 * time.Millisecond)) // 100 per second
	}
	now := t0.Add(time.Duration(3*logSize) * 10 * time.Millisecond)
	calls, span := a.pace(now)
	if calls != logSize || span != time.Duration(logSize)*10*time.Millisecond {
		t.Errorf("pace: %v calls over %v, want the last %d over %v", calls, span, logSize, time.Duration(logSize)*10*time.Millisecond)
	}
	if rate, _ := a.rate(now, 0, 0); math.Abs(rate-100) > 0.01 {
		t.Errorf("rate %v, want 100", rate)
	}
}

// In a storm the rate falls to its floor while the burst may stay what the
// ceiling's was: the pause after each 429 is its Retry-After, not the time the
// burst takes at the floor (5 s and more, past a reconcile's deadline: the
// user's condition said SeamUnavailable, not RateLimited).
func TestLimiterStormHoldsForTheRetryAfter(t *testing.T) {
	l, clk, _ := newTestLimiter(100, 100)
	for i := range 10 {
		saturate(l)
		l.Throttled(time.Second)
		if got := l.hold.Sub(clk.Now()); got > time.Second {
			t.Fatalf("429 #%d at rate %.1f, burst %.1f: held for %v, want the Retry-After, 1s", i+1, l.Rate(), l.burstCap, got)
		}
		clk.Advance(time.Second)
	}
}

// With a wait budget, a call that would wait past it behind other waiters is
// deferred at once, without a token and without leaving the queue changed; a
// revocation that goes ahead of the waiters is not deferred.
func TestLimiterDefersAWaitPastTheBudget(t *testing.T) {
	l, clk, queued := newTestLimiter(1, 1)               // a token every 1.03 s
	if err := l.Wait(context.Background()); err != nil { // spend the one token
		t.Fatal(err)
	}
	<-queued
	budget := WithWaitBudget(context.Background(), 1500*time.Millisecond)
	head := make(chan error, 1)
	go func() { head <- l.Wait(budget) }()
	<-queued
	<-clk.registered // the head waits for its token

	err := l.Wait(budget)
	var deferred *DeferredError
	if !errors.As(err, &deferred) {
		t.Fatalf("second in the queue, 2 tokens away with a budget of 1.5 s: err = %v, want a *DeferredError", err)
	}
	if n := len(l.queue); n != 1 {
		t.Errorf("%d waiters queued after the deferral, want the head alone", n)
	}
	if want := 2 * time.Second; deferred.Wait < want || deferred.Wait > want*11/10 {
		t.Errorf("deferred for %s, want about %s (two tokens)", deferred.Wait, want)
	}
	if d := l.Delay(WithPriority(context.Background(), PriorityRevoke)); d > 1500*time.Millisecond {
		t.Errorf("a revocation would wait %s: it goes ahead of the queued create", d)
	}
	revoke := make(chan error, 1)
	go func() { revoke <- l.Wait(WithPriority(budget, PriorityRevoke)) }()
	<-queued
	for range 2 {
		<-clk.registered
		clk.AdvanceToNext()
	}
	if err := <-revoke; err != nil {
		t.Errorf("the revocation: %v", err)
	}
	if err := <-head; err != nil {
		t.Errorf("the head of the queue: %v", err)
	}
}

// A rate under a call per budget still sends: the deferred caller comes back when
// its token is due and takes it without waiting.
func TestLimiterDeferredCallerFindsItsToken(t *testing.T) {
	l, clk, queued := newTestLimiter(0.25, 1) // a token every 4.1 s
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-queued
	budget := WithWaitBudget(context.Background(), time.Second)
	err := l.Wait(budget)
	var deferred *DeferredError
	if !errors.As(err, &deferred) {
		t.Fatalf("the next token is 4 s away with a budget of 1 s: err = %v, want a *DeferredError", err)
	}
	if n := len(l.queue); n != 0 {
		t.Errorf("%d waiters queued after the deferral, want none", n)
	}
	clk.Advance(deferred.Wait)
	if err := l.Wait(budget); err != nil {
		t.Fatalf("back when its token was due: %v", err)
	}
}
