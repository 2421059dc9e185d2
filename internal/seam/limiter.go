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
	// PrioritySharedRead is a read whose answer every reconcile of a system
	// shares (its snapshot): ahead of the calls made for one object each.
	PrioritySharedRead Priority = 5
	// PriorityRevoke is a call that takes access away (suspend, removal from a
	// group, a narrower schedule, delete), or a read on the way to one.
	PriorityRevoke Priority = 10
)

type priorityKey struct{}

// WithPriority marks the calls made with ctx.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// AtLeast marks the calls made with ctx p, unless ctx is already more urgent.
func AtLeast(ctx context.Context, p Priority) context.Context {
	if PriorityOf(ctx) >= p {
		return ctx
	}
	return WithPriority(ctx, p)
}

// PriorityOf is the priority the calls made with ctx wait at.
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// RateFeedback is implemented by limiters that adapt to the server: the client
// reports each answer that says the server throttled it (429, with its
// Retry-After, 0 if none) or accepted a call.
type RateFeedback interface {
	Throttled(retryAfter time.Duration) (paused bool)
	Accepted()
}

// pacer is implemented by limiters that can say what they go on at after a 429.
type pacer interface {
	Pace() Pace
}

// Pace is what a limiter goes on at after a 429, and what it made of it: the
// fields of the line the 429 logs.
type Pace struct {
	// Rate and Burst are what it sends at now.
	Rate, Burst float64
	// Probing: it will meet another 429 within seconds, to measure the
	// server's rate; else it settled under a rate known good.
	Probing bool
	// Sent is the pace the 429 came at: the rate, or the calls accepted over
	// the second before it if fewer.
	Sent float64
	// Measured is the server's rate the 429 measured (0 if the stretch was too
	// short), and Floor says the measure is only a lower bound (the callers
	// sent less than the limiter allowed over it).
	Measured float64
	Floor    bool
}

// clock is time for the limiter; tests replace it.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// AdaptiveLimiter is a token bucket for one API key (every connection that uses
// it: internal/connection/budget.go) with properties a plain rate.Limiter lacks:
//
//   - Priority. rate.Limiter serves waiters by reservation time, so a suspension
//     queued behind a thousand creates waits for all of them. Here the next token
//     always goes to the most urgent waiter (revocations first), then in arrival
//     order.
//   - It finds the server's rate by measuring it. The configured rate is a
//     ceiling, not a promise (Seam does not publish its limits), and every 429
//     costs a Retry-After pause of the whole connection: a full second for a
//     server that rounds up, 5% of a 20 s batch. So the rate must be found in one
//     or two 429s and then kept just under. Multiplying alone cannot do that: AIMD
//     either steps down a little and meets 429 after 429, or cuts deep and crawls
//     back. Instead: a server's bucket never holds more than its burst, so over
//     any stretch it accepts at most its burst plus its rate times the stretch,
//     and when it answers 429 its bucket is empty, so over the stretch since it
//     was last full it accepted exactly that. (accepted − burst) ÷ stretch,
//     largest over the stretches of a second or more ending at a 429
//     (acceptLog.rate), is its rate, measured (over shorter ones an error in the
//     burst weighs too much, and the largest is often one of them: a 429 that
//     measured nothing); over stretches without a 429 it is a rate the server is known to
//     grant. After a 429 the rate goes back to just under the best known good
//     (headroom), as TCP CUBIC goes back under the window of its last loss and
//     the AWS SDKs' adaptive mode under the rate it measured, and from there
//     climbs very slowly (settledClimb): the server is probed again every minute
//     or so, not every few seconds. Only when nothing is known (the first 429 of
//     a connection told far too much, or 429s too close together to measure) is
//     the rate halved (blindCut), to climb briskly (probeClimb) until the next
//     429 measures it. Before the first 429 of a limit the limiter sweeps: it
//     starts at half its ceiling (a new limiter) or at the rate it had (a new
//     limit), from an empty bucket and without a burst (a burst would spend
//     the server's, the margin that lets the rate run over the server's long
//     enough to be measured), and climbs (sweepClimb) only while its callers
//     wait for it and send near its rate (sweepBusy: callers that send in
//     bursts wait for a bucket of one call now and then while sending well
//     under its rate, and their waits alone took it to 86 rps while they sent
//     52; when they then surged, the server's burst lasted under a second and
//     the 429 measured 44 of 50 rps, settled at for minutes). Jumping to the
//     ceiling met the server's empty bucket within 0.2 s, too soon to measure
//     anything: a blind cut, then a second 429 to measure, each a Retry-After
//     pause (two pauses, 8% of a 20 s batch); a
//     sweep from under the server's rate meets one 429, a second or more after
//     crossing it, which measures it. The sweep ends at that 429 or at the
//     ceiling, and the burst is then the configured share of the rate. A
//     connection told the real rate pays the sweep once: two seconds under its
//     ceiling, 3-5% of a 20 s batch.
//     Two things keep a measure honest when the callers are not the steady queue
//     the arithmetic assumes (a manager on busy cores, slow to start a batch and
//     then fast, sends in bursts). The burst subtracted is a bound, often the
//     configured one, twice the server's for a connection told 2×: over a two
//     second stretch that puts the measure 10% low, so a rate known good that
//     the measure's error could cover stays known good (else the rate settles
//     10% under the server's for the rest of a batch: the settled pace takes
//     minutes to climb that back); and the burst subtracted is the configured
//     burst's share of the rate, applied to the measure, when that is less than
//     the bound (measure: a guess at the server's shape, dropped at the first 429
//     that shows it wrong). And a stretch during which the limiter's own bucket
//     filled was not all spent at the server's rate (its bucket may have sat
//     full): that measure is only a floor. A sweep's bucket of one call tells
//     nothing that way: its stretch is a floor when the calls accepted over it
//     fell behind the measured rate by more than the headroom
//     (acceptLog.behind; callers slow to start a batch, then fast, have the
//     server's burst last under a second, so every stretch long enough to
//     measure holds their lag). If the rate known good is no more than a floor
//     of the same stretch, or well under what the server accepted in the
//     second before the 429 (looseShare), the rate climbs briskly from there
//     to meet the next 429, which measures it; a rate known good from before
//     (the last batch) is kept and settled at.
//   - It keeps the Retry-After pause itself. The client stops new calls at its
//     gate; the limiter stops the calls already queued past it, which would meet
//     the server's empty bucket, each 429 extending the pause. It resumes without
//     a burst: the bucket the server refilled meanwhile is the margin that lets a
//     rate a little over the server's run long enough to be measured.
//   - It finds the server's burst too, and keeps under it (headroom again: a burst
//     the size of the server's leaves nothing for jitter). A 429 soon after the
//     limiter had its whole burst, once the rate has been through a 429, while
//     the server accepted no more over the last second than a rate known good, is
//     the burst's fault: the burst is halved and grows back by one call a
//     minute, as slowly as a settled rate climbs. (Callers that send in bursts
//     faster than the server's rate fill the limiter's bucket again and again:
//     their 429s are the rate's, and taking them for the burst's let the rate
//     climb on through 429 after 429.) The first 429 of a limit at its ceiling
//     may be either's: both are cut. One that ends a sweep, sent without a
//     burst, is the rate's.
type AdaptiveLimiter struct {
	mu      sync.Mutex
	clock   clock
	ceiling float64 // configured requests per second: never exceeded
	rate    float64 // current rate
	burst   float64 // configured
	// burstCap is the burst in use: halved by a 429 that may be the burst's
	// fault (cutBurst), it grows back toward the configured burst by a call a
	// minute.
	burstCap float64
	tokens   float64
	last     time.Time // of the last refill
	// hold is the end of the last Retry-After pause: no token before it, and a 429
	// before it answers a call sent before the pause, the same signal.
	hold time.Time
	// full is when the limiter last had its whole burst: a 429 soon after may be
	// the burst's fault.
	full time.Time
	// accepted is when the server accepted the calls since the last pause or idle
	// moment, to measure its rate.
	accepted acceptLog
	// serverBurst bounds the server's burst: the configured burst, and after a
	// 429 no more than the server accepted since its bucket was last surely full.
	serverBurst float64
	// sent is when the limiter last gave a token; fromFull counts the calls
	// accepted since the server's bucket was last surely full (the end of a pause,
	// or a call after a quiet second), if fullKnown. Only those bound its burst: an
	// idle moment of the limiter's own bucket, deeper than the server's, says
	// nothing of the server's.
	sent      time.Time
	fromFull  float64
	fullKnown bool
	// good is the highest rate the server is known to grant: measured at a 429,
	// or kept up without one. Under it the rate climbs briskly, over it slowly.
	good float64
	// goodAt is when calls accepted without a 429 last raised good.
	goodAt time.Time
	// throttled is set by the first 429 since the limit was set; probing while
	// the rate is under one a 429 blindly cut it to, with nothing known good.
	throttled, probing bool
	// sharedMeasure is the last rate measured with the server's burst taken as
	// the configured share of its rate (measure), while it stands; shareWrong is
	// set once a 429 shows that share too small.
	sharedMeasure float64
	shareWrong    bool

	// lastWaited: the last token went to a caller that had waited for one, the
	// limiter, not the callers, setting the pace.
	lastWaited bool
	// lastPace is what the last 429 came at and measured.
	lastPace Pace

	queue   []*waiter // most urgent first, then arrival order
	seq     uint64
	changed chan struct{} // closed when the head of the queue or the rate changes

	// queued is called with the queue length when a waiter joins (tests).
	queued func(n int)
}

type waiter struct {
	priority Priority
	seq      uint64
	// waited: it found no token for it at least once.
	waited bool
}

const (
	// headroom is the share of the configured or measured rate the limiter sends
	// at, at most. Two token buckets at exactly the same rate, the limiter's and
	// the server's, with a network's jitter between them, disagree now and then:
	// each time a 429 and a Retry-After pause of the whole connection. 3% under it
	// they don't.
	headroom = 0.97
	// blindCut is the factor a 429 that measured nothing multiplies the rate by: the
	// server's rate is below the one that drew it, by an unknown amount. Half is
	// under it for a connection told up to twice the rate, and a connection told
	// more meets another 429 within a second, which halves again.
	blindCut = 0.5
	// measureFor is the shortest stretch of accepted calls a 429 measures the rate
	// over: over a shorter one the server's unknown burst weighs too much.
	measureFor = time.Second
	// startShare is the share of the ceiling a new limiter starts at: the server
	// may grant as little as half what the connection is told (blindCut's
	// assumption too).
	startShare = 0.5
	// sweepClimb is the share of its rate the rate gains per second of accepted
	// calls before the first 429 of a limit (the sweep), while the callers wait
	// for it. Slow enough that the 429 that ends a sweep from under the server's
	// rate comes a second or more after the rate crossed it, and so measures it:
	// the rate over the server's r by sweepClimb × r per second, a server's
	// burst of r ÷ 5 lasts 1.15 s. Fast enough that a connection told the real
	// rate reaches it from half in 2.2 s.
	sweepClimb = 0.3
	// sweepBusy is the share of its rate the callers must have sent over the
	// last second for a sweep to climb: callers that send in bursts wait for a
	// bucket of one call now and then, well under its rate. It is under
	// 1 ÷ (1 + sweepClimb ÷ 2), what callers that wait for every token send over
	// a second of climbing.
	sweepBusy = 0.8
	// probeClimb is the share of its rate the rate gains per second while nothing
	// is known good, or under what is: the next 429 measures the rate, and comes
	// within seconds.
	probeClimb = 0.1
	// looseShare: a rate known good under this share of the pace the server
	// accepted over the second before a 429, measured over a stretch when the
	// callers did not keep the limiter busy, is too far under it to settle at.
	looseShare = 0.8
	// settledClimb is the share of its rate the rate gains per second from a rate
	// known good: from the headroom back to the server's rate takes 30 s, and only
	// then does a 429 start to build up, so a connection sitting under the
	// server's rate meets one about once a minute.
	settledClimb = 0.001
	// burstProbe is how long the burst takes to grow by one call after a cut.
	burstProbe = time.Minute
	// floorShare is the lowest rate, as a share of the ceiling: the limiter keeps
	// probing even after a long storm.
	floorShare = 0.05
	// maxHold is the longest Retry-After the limiter holds its queue for; the
	// client's gate, which fails a caller that cannot wait that long, keeps longer
	// ones.
	maxHold = 10 * time.Second
	// maxBurstHold is the longest a 429 holds the queue for the calls of a burst
	// still in flight: their answers are back by then. Uncapped, a storm that
	// drove the rate to its floor under a ceiling's burst held for 5 s and more
	// after each 429, past the deadline of the reconcile waiting.
	maxBurstHold = time.Second
)

// NewAdaptiveLimiter allows up to rps calls per second with bursts of burst.
func NewAdaptiveLimiter(rps float64, burst int) *AdaptiveLimiter {
	l := &AdaptiveLimiter{clock: realClock{}, changed: make(chan struct{})}
	l.last = l.clock.Now()
	l.SetLimit(rps, burst)
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
	switch top := rps * headroom; {
	case l.rate == 0: // a new limiter
		l.rate = top * startShare
	case l.rate > top:
		l.rate = top
	}
	if rps != l.ceiling || float64(burst) != l.burst {
		// A new limit is new information: sweep up again from the rate it had
		// until a 429 says where the server's is, from an empty bucket (the
		// server's burst, full, is the margin that lets the 429 come late
		// enough to measure the rate). What is known good of the server stays.
		l.throttled, l.probing = false, false
		l.serverBurst = float64(burst)
		l.sharedMeasure, l.shareWrong = 0, false
		l.tokens, l.last = 0, l.clock.Now()
	}
	l.ceiling, l.burst = rps, float64(burst)
	if !l.throttled {
		l.sweepBurst()
	}
	l.tokens = min(l.tokens, l.burstCap)
	l.signal()
}

// Limit returns the ceiling and burst.
func (l *AdaptiveLimiter) Limit() (float64, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ceiling, int(l.burst)
}

// Rate returns the current rate.
func (l *AdaptiveLimiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// Pace is what the limiter goes on at after the last 429, for the line it logs.
func (l *AdaptiveLimiter) Pace() Pace {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.lastPace
	p.Rate, p.Burst, p.Probing = l.rate, l.burstCap, l.probing || !l.throttled
	return p
}

// Throttled cuts the burst or the rate after a 429, and holds the queue for the
// Retry-After; paused reports that it did. A 429 during the hold answers a call
// sent before it: the same signal, ignored.
func (l *AdaptiveLimiter) Throttled(retryAfter time.Duration) (paused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if now.Before(l.hold) {
		return false
	}
	l.refill(now)
	l.lastPace = Pace{Sent: l.accepted.recent(now, measureFor)}
	// Since the last pause or quiet second (its bucket refilled meanwhile) the
	// server accepted what it held then plus its rate: at least its burst. Not
	// since the limiter's own bucket was last full: with a deeper burst than the
	// server's it fills while the server's is still empty, and a bound from there
	// (a 429 a few calls after it) puts the burst too low and every rate measured
	// with it too high, a 429 every few seconds.
	if l.fullKnown {
		l.serverBurst = min(l.serverBurst, max(1, l.fromFull))
	}
	if l.throttled && now.Sub(l.full) < measureFor && l.accepted.recent(now, measureFor)*headroom <= l.good {
		// Soon after the limiter had its whole burst, the rate has been through a
		// 429 before, and over the last second the server accepted no more than a
		// rate known good: the burst's fault. (Callers that send in bursts faster
		// than the server's rate have the limiter's bucket full again and again:
		// their 429s are the rate's.)
		l.cutBurst()
	} else {
		// The rate's. The pace actually sent counts, not a rate never used.
		sweeping := l.sweeping()
		sending := l.rate
		if pace := l.accepted.recent(now, measureFor); pace > 0 {
			sending = min(sending, pace)
		}
		l.lastPace.Sent = sending
		// Only a limiter sending all it may (saturated) learns that a rate is not
		// good: callers sending little say nothing of what the server grants.
		saturated := len(l.queue) > 0 || l.tokens < 1
		// A measure is the server's rate only if the server's bucket was emptying
		// all through its stretch. If the limiter's own bucket filled meanwhile, the
		// callers sent less than the rate for a while, the server's bucket may have
		// sat full, its refill lost, and the measure is a floor, maybe well under
		// the server's rate (a manager slow to start a batch, then fast).
		loose := false
		if measured, span := l.measure(now, sending); span >= measureFor {
			// The burst is a bound, maybe over the server's (told more than it
			// grants): the server's rate is at least the measure and at most the
			// measure plus the burst's error over the stretch. A rate known good in
			// that range stays; only one over it is no longer good (the server
			// lowered its rate). Else a burst twice the server's (told 2×) has a
			// measure over two seconds 10% low replace a rate known good.
			// A floor: the limiter's bucket filled over the stretch, or, for a
			// sweep's bucket of one call, the calls fell behind the measure by
			// more than the headroom. A floor says nothing of the most the server
			// grants, so it never lowers a rate known good.
			floor := l.full.After(now.Add(-span)) ||
				sweeping && l.accepted.behind(now, span, measured) > (1-headroom)*measured*span.Seconds()
			m := min(measured, sending) * headroom
			if most := (measured + (l.serverBurst-1)/span.Seconds()) * headroom; saturated && !floor && l.good > most {
				l.good = m
			} else {
				l.good = max(l.good, m)
			}
			// Loose, and nothing known good other than this stretch's own floor, or
			// what is known well under what the server just accepted: probe on.
			_, logSpan := l.accepted.pace(now)
			loose = floor && (l.goodAt.After(now.Add(-logSpan)) || l.good < looseShare*sending*headroom)
			l.lastPace.Measured, l.lastPace.Floor = measured, floor
		} else if saturated && sending <= l.good/headroom {
			// Too soon to measure, at a rate known good: it no longer is (the
			// server lowered its rate, or a storm).
			l.good = 0
		}
		// Back at a rate known good (or one within the headroom of half) the rate
		// climbs slowly; with nothing known it climbs briskly from half until the
		// next 429 measures it.
		l.probing = l.good < sending*blindCut*headroom || loose
		l.rate = min(l.top(), max(l.ceiling*floorShare, sending*blindCut, l.good))
		switch {
		case sweeping: // sent without a burst: the rate's
			l.burstCap = l.sharedBurst()
		case !l.throttled: // at the ceiling, with its burst: maybe the burst's too
			l.cutBurst()
		}
		l.throttled = true
	}
	// Without a Retry-After, the 429s of the calls already in flight are still the
	// same signal: hold for as long as the burst takes to send, up to
	// maxBurstHold.
	burstTime := time.Duration(float64(time.Second) * l.burstCap / l.rate)
	l.hold = now.Add(max(min(retryAfter, maxHold), min(burstTime, maxBurstHold)))
	// No burst after the pause: what the server refilled meanwhile is the margin
	// that lets the rate be a little over the server's for a while before the
	// next 429, long enough to measure it.
	l.tokens, l.last = min(l.tokens, 0), l.hold
	// The next 429 measures from the end of the pause: what the server accepted
	// before may be at a rate it no longer grants.
	l.accepted.reset()
	l.fromFull, l.fullKnown = 0, true
	l.signal()
	return true
}

// Accepted records the call, raises what is known good, and raises the rate
// toward the ceiling, by a share of itself per second's worth of accepted calls:
// sweepClimb before the first 429 of a limit if the callers waited, probeClimb
// under the rate known good, settledClimb over it; and the burst by one call per
// burstProbe.
func (l *AdaptiveLimiter) Accepted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if now.Before(l.hold) {
		return // sent before the pause, at the rate the 429 was about
	}
	l.accepted.add(now)
	l.fromFull++
	// The server granted this much over the calls the log keeps, whatever its
	// burst (a lower bound: no 429 says its bucket is empty now).
	if calls, span := l.accepted.pace(now); span >= measureFor {
		if g := (calls - l.serverBurst) / span.Seconds(); g > l.good {
			l.good, l.goodAt = g, now
		}
	}
	var climb float64
	switch {
	case !l.throttled:
		// Callers that did not wait for the last token, or sent well under the
		// rate, say nothing of a faster rate (TCP's window does not grow when
		// the application limits it either).
		if l.lastWaited && l.sendingNearRate(now) {
			climb = l.rate * sweepClimb
		}
	case l.probing || l.rate < l.good:
		climb = l.rate * probeClimb
	default:
		climb = l.rate * settledClimb
	}
	if top := l.top(); l.rate < top {
		l.rate = min(top, l.rate+climb/l.rate)
	}
	if !l.throttled {
		l.sweepBurst()
	} else if top := topBurst(l.burst); l.burstCap < top {
		l.burstCap = min(top, l.burstCap+1/(l.rate*burstProbe.Seconds()))
	}
}

// sendingNearRate: the calls accepted over the last second (or since the log
// began, if later) came at sweepBusy of the rate or more.
func (l *AdaptiveLimiter) sendingNearRate(now time.Time) bool {
	calls, span := l.accepted.pace(now)
	if span >= measureFor {
		calls, span = l.accepted.recent(now, measureFor)*measureFor.Seconds(), measureFor
	}
	return span <= 0 || calls/span.Seconds() >= sweepBusy*l.rate
}

// sweepBurst keeps the burst at one call while the rate sweeps up to the
// ceiling: a burst spends the server's, the margin that lets the 429 ending the
// sweep come late enough to measure the rate.
func (l *AdaptiveLimiter) sweepBurst() {
	l.burstCap = 1
	if !l.sweeping() {
		l.burstCap = topBurst(l.burst)
	}
	l.tokens = min(l.tokens, l.burstCap)
}

// sweeping: before the first 429 of a limit, under the ceiling.
func (l *AdaptiveLimiter) sweeping() bool { return !l.throttled && l.rate < l.top() }

// top is the highest rate the limiter sends at: the ceiling less the headroom.
func (l *AdaptiveLimiter) top() float64 { return l.ceiling * headroom }

// sharedBurst is the configured burst's share of the rate: the burst after a
// sweep.
func (l *AdaptiveLimiter) sharedBurst() float64 {
	return max(1, topBurst(l.burst)*l.rate/l.top())
}

// cutBurst halves the burst after a 429 that may be its fault. The halved burst
// is what the server is known to take, and it grows back only as slowly as a
// settled rate climbs (burstProbe): growing back to the one refused at a call a
// second, callers that send in bursts met a 429 every few seconds (19 over a
// 10,000-user batch).
func (l *AdaptiveLimiter) cutBurst() { l.burstCap = max(1, l.burstCap/2) }

// measure is the server's rate as the accepted calls show it at a 429
// (acceptLog.rate). The server's burst it subtracts is its bound (serverBurst),
// or less: the configured burst's share of the rate, applied to the server's. A
// connection told 2× the rate and 2× the burst has a bound twice the server's
// burst, which puts a measure over two seconds 10% low, and the rate settles there
// for minutes. That share is a guess (the configured limits are the only hint of
// the server's shape): once a 429 comes at a pace under a measure it made, the
// server's burst is a larger share of its rate than the configured one (told 2×
// the rate and the same burst), and only the bound is used from then on. The
// guess costs that one 429 when wrong; the bound alone costs a tenth of the rate
// for minutes when the configured shape is right.
func (l *AdaptiveLimiter) measure(now time.Time, sending float64) (float64, time.Duration) {
	if l.sharedMeasure > 0 && sending < l.sharedMeasure {
		l.shareWrong = true
	}
	l.sharedMeasure = 0
	measured, span := l.accepted.rate(now, l.serverBurst, measureFor)
	if span < measureFor || l.shareWrong {
		return measured, span
	}
	bound := measured
	for range 3 { // the burst depends on the rate: a few rounds settle both
		burst := min(l.serverBurst, max(1, measured*l.burst/l.ceiling))
		measured, span = l.accepted.rate(now, burst, measureFor)
	}
	if measured > bound {
		l.sharedMeasure = measured
	}
	return measured, span
}

// topBurst is the most of a configured burst the limiter sends at once: the
// headroom again, since a burst the size of the server's leaves nothing for
// jitter, but at least one call.
func topBurst(burst float64) float64 { return max(1, burst*headroom) }

// Wait blocks until a token is available for ctx's priority and every more urgent
// or earlier waiter has had one, or ctx ends.
func (l *AdaptiveLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	w := &waiter{priority: PriorityOf(ctx), seq: l.seq}
	if d := l.delayFor(w.priority); overBudget(ctx, d) {
		// Past the caller's wait budget, the head of the queue's too: at a rate
		// under a call per budget, a deferred caller comes back when its token
		// is due and finds it there.
		l.mu.Unlock()
		return &DeferredError{Wait: d}
	}
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

// Delay is how long a call made now with ctx's priority would wait for its
// token.
func (l *AdaptiveLimiter) Delay(ctx context.Context) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delayFor(PriorityOf(ctx))
}

// delayFor is how long a waiter of priority p joining now would wait for its
// token: the rest of a Retry-After hold, then a token for each more urgent or
// earlier waiter (those it queues behind) and one for it. The caller holds mu.
func (l *AdaptiveLimiter) delayFor(p Priority) time.Duration {
	ahead := 0
	for _, q := range l.queue {
		if q.priority >= p {
			ahead++
		}
	}
	now := l.clock.Now()
	l.refill(now)
	d := max(0, l.hold.Sub(now))
	if need := float64(ahead+1) - l.tokens; need > 0 {
		// Rounded up, as take's timers: a caller deferred for d finds its token.
		d += time.Duration(math.Ceil(need/l.rate*float64(time.Second))) + 1
	}
	return d
}

// take gives w a token if it heads the queue and one is there (and removes it
// from the queue); otherwise head says whether w is next, and next how long
// until a token. The caller holds mu.
func (l *AdaptiveLimiter) take(w *waiter) (got, head bool, next time.Duration) {
	now := l.clock.Now()
	l.refill(now)
	if l.queue[0] != w {
		w.waited = true
		return false, false, 0
	}
	if now.Before(l.hold) {
		return false, true, l.hold.Sub(now)
	}
	if l.tokens >= max(2, l.burstCap) {
		// Its whole burst, and more than a call: a bucket of one call is full
		// whenever a caller comes a token's time late, which says nothing of
		// the server's bucket (a sweep sends without a burst).
		l.full = now
	}
	if l.tokens >= 1 {
		if now.Sub(l.sent) >= measureFor {
			// Quiet for a second: the server's bucket is full again, and a stretch
			// of calls measures its rate from here. Not from any moment the
			// limiter's own bucket is full: callers that send in bursts fill it
			// many times a second, and the log would never be a second long.
			l.accepted.reset()
			l.fromFull, l.fullKnown = 0, true
		}
		l.sent = now
		l.tokens--
		l.lastWaited = w.waited
		l.remove(w)
		return true, true, 0
	}
	w.waited = true
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
