package seam

import (
	"context"
	"math"
	"sync"
	"time"
)

// Priority orders the calls waiting for a connection's rate limit.
type Priority int

const (
	// PriorityDefault is every call that grants, reads or creates.
	PriorityDefault Priority = 0
	// PriorityRevoke is a call that takes access away (suspend, removal from a
	// group, a narrower schedule, delete), or a read on the way to one.
	PriorityRevoke Priority = 10
)

type priorityKey struct{}

// WithPriority marks the calls made with ctx.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

func priorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// RateFeedback is implemented by limiters that adapt to the server: the client
// reports each answer that says the server throttled it (429) or accepted a call.
type RateFeedback interface {
	Throttled()
	Accepted()
}

// clock is time for the limiter; tests replace it.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// AdaptiveLimiter is a token bucket for one connection with two properties a
// plain rate.Limiter lacks:
//
//   - Priority. rate.Limiter serves waiters by reservation time, so a suspension
//     queued behind a thousand creates waits for all of them. Here the next token
//     always goes to the most urgent waiter (revocations first), then in arrival
//     order. A Retry-After pause (the client's) still applies to everyone.
//   - It finds the server's rate. The configured rate is a ceiling, not a promise
//     (Seam does not publish its limits). On a 429 the rate is cut (multiplicative
//     decrease, at most once per window so one burst of 429s is one cut); each
//     accepted call raises it back (additive increase) toward the ceiling. This is
//     AIMD, the scheme of TCP and, in spirit, of the AWS SDKs' adaptive retry mode,
//     with TCP's two phases: until the first 429 the rate climbs fast (the ceiling
//     may well be right); after one it climbs slowly, because every 429 costs a
//     Retry-After pause of the whole connection, a full second of calls for a
//     server that rounds up. An isolated 429 steps the rate just under where it
//     came; another soon after a cut means the rate is still far off, and cuts deep.
//     Far under the rate of the last 429 the climb stays fast.
//   - It finds the server's burst too. A connection told a larger burst than the
//     server allows meets a 429 after every pause, whatever its rate: each 429
//     halves the burst, which grows back by one call per second. A 429 while the
//     limiter was not saturated (it had tokens left and nobody waiting) was the
//     burst's fault, not the rate's: only the burst is cut.
type AdaptiveLimiter struct {
	mu      sync.Mutex
	clock   clock
	ceiling float64 // configured requests per second: never exceeded
	rate    float64 // current rate
	burst   float64 // configured
	// burstCap is the burst in use: halved by each 429, it grows back toward burst.
	burstCap float64
	tokens   float64
	last     time.Time // of the last refill
	cut      time.Time // of the last decrease
	// throttled is set by the first 429: the rate then climbs slowly near knee,
	// the rate that 429 came at.
	throttled bool
	knee      float64
	queue     []*waiter // most urgent first, then arrival order
	seq       uint64
	changed   chan struct{} // closed when the head of the queue or the rate changes

	// queued is called with the queue length when a waiter joins (tests).
	queued func(n int)
}

type waiter struct {
	priority Priority
	seq      uint64
}

const (
	// headroom is the share of the configured rate the limiter sends at, at most.
	// Two token buckets at exactly the same rate, the limiter's and the server's,
	// with a network's jitter between them, disagree now and then: each time a
	// 429 and a Retry-After pause of the whole connection. 3% under it they don't.
	headroom = 0.97
	// decrease is the factor a 429 soon after the last cut multiplies the rate by:
	// the server's rate is still well below.
	decrease = 0.7
	// step is the factor an isolated 429 multiplies the rate by: the rate was just
	// over the server's.
	step = 0.95
	// repeatWithin is how soon after a cut a 429 counts as "soon".
	repeatWithin = 5 * time.Second
	// fastClimb and slowClimb are how much of the ceiling the rate regains per
	// second of accepted calls, before the first 429 (or far under the ceiling,
	// after a storm) and after it: 5% takes 20 s, so a connection at the server's
	// rate meets a 429 about every 20 s instead of every few seconds.
	fastClimb = 0.1
	slowClimb = 0.0025
	// fastBelow is the share of the knee (the rate of the last 429) under which the
	// rate climbs fast even after a 429: a storm's cuts must not leave a connection
	// crawling for minutes.
	fastBelow = 0.85
	// stormShare is the share of the ceiling under which the climb is fast whatever
	// the knee: after a storm of 429s the knee itself is near the floor.
	stormShare = 0.25
	// floorShare is the lowest rate, as a share of the ceiling: the limiter keeps
	// probing even after a long storm.
	floorShare = 0.05
)

// NewAdaptiveLimiter allows up to rps calls per second with bursts of burst.
func NewAdaptiveLimiter(rps float64, burst int) *AdaptiveLimiter {
	l := &AdaptiveLimiter{clock: realClock{}, changed: make(chan struct{})}
	l.last = l.clock.Now()
	l.SetLimit(rps, burst)
	l.tokens = l.burstCap
	return l
}

// SetLimit changes the ceiling and the burst (a connection's spec changed). The
// current rate keeps what it learnt, below the new ceiling.
func (l *AdaptiveLimiter) SetLimit(rps float64, burst int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rps <= 0 {
		rps = 1
	}
	if burst < 1 {
		burst = 1
	}
	if top := rps * headroom; l.rate == 0 || l.rate > top || l.rate == l.ceiling*headroom {
		l.rate = top
	}
	if rps != l.ceiling || float64(burst) != l.burst {
		// A new limit is new information: climb fast again until a 429 says otherwise.
		l.throttled, l.burstCap = false, float64(burst)
	}
	l.ceiling, l.burst = rps, float64(burst)
	l.tokens = min(l.tokens, l.burstCap)
	l.signal()
}

// Limit returns the ceiling and burst.
func (l *AdaptiveLimiter) Limit() (float64, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ceiling, int(l.burst)
}

// Rate returns the current rate, for metrics.
func (l *AdaptiveLimiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// Throttled cuts the burst, and the rate if the limiter was saturated, after a 429:
// once per window, since the 429s of calls already in flight when the first
// arrived are the same signal.
func (l *AdaptiveLimiter) Throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if now.Sub(l.cut) < time.Duration(float64(time.Second)*max(1, l.burstCap)/l.rate) {
		return
	}
	l.refill(now)
	saturated := len(l.queue) > 0 || l.tokens < 1
	l.burstCap = max(1, l.burstCap/2)
	l.tokens = min(l.tokens, 0)
	if saturated {
		factor := step
		if l.throttled && now.Sub(l.cut) < repeatWithin {
			factor = decrease
		}
		l.knee, l.throttled = l.rate, true
		l.rate = max(l.ceiling*floorShare, l.rate*factor)
	}
	l.cut = now
	l.signal()
}

// Accepted raises the rate back toward the ceiling: by fastClimb of the ceiling per
// second's worth of accepted calls until the first 429 or far under its rate, by
// slowClimb near it; and the burst by one call per second's worth.
func (l *AdaptiveLimiter) Accepted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	climb := fastClimb
	if l.throttled && l.rate >= l.knee*fastBelow && l.rate >= l.ceiling*stormShare {
		climb = slowClimb
	}
	if top := l.ceiling * headroom; l.rate < top {
		l.rate = min(top, l.rate+l.ceiling*climb/l.rate)
	}
	if l.burstCap < l.burst {
		l.burstCap = min(l.burst, l.burstCap+1/l.rate)
	}
}

// Wait blocks until a token is available for ctx's priority and every more urgent
// or earlier waiter has had one, or ctx ends.
func (l *AdaptiveLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	w := &waiter{priority: priorityOf(ctx), seq: l.seq}
	l.seq++
	l.enqueue(w)
	if l.queued != nil {
		l.queued(len(l.queue))
	}
	for {
		got, head, next := l.take(w)
		if got {
			l.mu.Unlock()
			return nil
		}
		var timer <-chan time.Time
		if head {
			timer = l.clock.After(next)
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-timer:
		case <-changed:
		case <-ctx.Done():
			l.mu.Lock()
			l.remove(w)
			l.mu.Unlock()
			return ctx.Err()
		}
		l.mu.Lock()
	}
}

// take gives w a token if it heads the queue and one is there (and removes it
// from the queue); otherwise head says whether w is next, and next how long
// until a token. The caller holds mu.
func (l *AdaptiveLimiter) take(w *waiter) (got, head bool, next time.Duration) {
	l.refill(l.clock.Now())
	if l.queue[0] != w {
		return false, false, 0
	}
	if l.tokens >= 1 {
		l.tokens--
		l.remove(w)
		return true, true, 0
	}
	// Rounded up, and a nanosecond more: a timer that fires a hair early would find
	// the token still short and spin.
	return false, true, time.Duration(math.Ceil((1-l.tokens)/l.rate*float64(time.Second))) + 1
}

// refill adds the tokens earned since the last refill.
func (l *AdaptiveLimiter) refill(now time.Time) {
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(l.burstCap, l.tokens+elapsed.Seconds()*l.rate)
		l.last = now
	}
}

func (l *AdaptiveLimiter) enqueue(w *waiter) {
	i := len(l.queue)
	for i > 0 && l.queue[i-1].priority < w.priority {
		i--
	}
	l.queue = append(l.queue, nil)
	copy(l.queue[i+1:], l.queue[i:])
	l.queue[i] = w
	if i == 0 {
		l.signal()
	}
}

func (l *AdaptiveLimiter) remove(w *waiter) {
	for i, q := range l.queue {
		if q == w {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			if i == 0 {
				l.signal()
			}
			return
		}
	}
}

// signal wakes every waiter to look again (the head or the rate changed).
func (l *AdaptiveLimiter) signal() {
	close(l.changed)
	l.changed = make(chan struct{})
}
