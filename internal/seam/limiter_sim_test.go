package seam

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// A deterministic discrete-event simulation of one connection converging N new
// users against a server with a token bucket, to tune AdaptiveLimiter without a
// bench: virtual time, no goroutines, no sleeps. It models what matters:
//
//   - the server is the sandbox's rate.Limiter (rate R, burst B) checked after the
//     call's latency, answering 429 with Retry-After max(1, ceil(delay)) seconds;
//   - a fixed number of workers (the manager's concurrent reconciles), each user
//     one call, with some work of its own between calls;
//   - the client as client.go does it: the Retry-After pause is checked before
//     the limiter's queue (so callers already queued still send during a pause),
//     a 429 reports Throttled and pauses every caller, the throttled caller sleeps
//     the Retry-After and sends again;
//   - the limiter is the real one, driven through take instead of Wait.

// simClock is the simulation's virtual time.
type simClock struct{ now time.Time }

func (c *simClock) Now() time.Time { return c.now }
func (c *simClock) After(time.Duration) <-chan time.Time {
	panic("the simulation never blocks in Wait")
}

// simServer is rate.Limiter's arithmetic with Reserve then Cancel on a delay.
type simServer struct {
	rate, burst, tokens float64
	last                time.Time
}

func (s *simServer) admit(now time.Time) (ok bool, retryAfter time.Duration) {
	s.tokens = min(s.burst, s.tokens+now.Sub(s.last).Seconds()*s.rate)
	s.last = now
	if s.tokens >= 1 {
		s.tokens--
		return true, 0
	}
	delay := (1 - s.tokens) / s.rate
	return false, time.Duration(max(1, math.Ceil(delay))) * time.Second
}

type simEvent struct {
	at  time.Time
	seq int
	fn  func()
}

type simEvents []simEvent

func (e simEvents) Len() int { return len(e) }
func (e simEvents) Less(i, j int) bool {
	return e[i].at.Before(e[j].at) || e[i].at.Equal(e[j].at) && e[i].seq < e[j].seq
}
func (e simEvents) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *simEvents) Push(x any)   { *e = append(*e, x.(simEvent)) }
func (e *simEvents) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// simCase is one run: the server's real rate and burst, what the connection is
// told, the workload.
type simCase struct {
	rate, burst float64 // the server's
	told        float64 // the connection is told told×rate and told×burst
	users       int
	workers     int
	latency     time.Duration // client to the server's rate check
	seed        uint64
}

type simResult struct {
	elapsed    time.Duration
	ratio      float64 // elapsed ÷ (users ÷ rate)
	throttled  int     // 429s
	finalRate  float64 // the limiter's rate at the end
	rateTrace  []float64
	throttleAt []time.Duration
}

func simulate(c simCase) simResult {
	rng := rand.New(rand.NewPCG(c.seed, 0x5eed))
	clk := &simClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	start := clk.now
	l := NewAdaptiveLimiter(c.told*c.rate, int(math.Round(c.told*c.burst)))
	l.clock, l.last = clk, clk.now
	srv := &simServer{rate: c.rate, burst: c.burst, tokens: c.burst, last: clk.now}

	var (
		events     simEvents
		seq        int
		pauseUntil time.Time
		remaining  = c.users
		done       int
		res        simResult
		pumpGen    int
		owners     = map[*waiter]func(){}
	)
	at := func(t time.Time, fn func()) {
		seq++
		heap.Push(&events, simEvent{at: t, seq: seq, fn: fn})
	}
	jitter := func(d time.Duration, spread float64) time.Duration {
		return time.Duration(float64(d) * (1 + spread*(rng.Float64()-0.5)))
	}

	// pump hands tokens to the head of the limiter's queue, and otherwise wakes
	// it when the next token is due (the timer of Wait). Called again whenever
	// the limiter changes, as Wait's changed channel does.
	var pump func()
	pump = func() {
		pumpGen++
		for len(l.queue) > 0 {
			w := l.queue[0]
			got, _, next := l.take(w)
			if !got {
				gen := pumpGen
				at(clk.now.Add(next), func() {
					if gen == pumpGen {
						pump()
					}
				})
				return
			}
			send := owners[w]
			delete(owners, w)
			send()
		}
	}

	var attempt, nextUser func()
	send := func() {
		arrive := clk.now.Add(jitter(c.latency, 0.2))
		at(arrive, func() {
			ok, retryAfter := srv.admit(clk.now)
			// The answer comes back over a local connection: a millisecond.
			at(clk.now.Add(time.Millisecond), func() {
				if ok {
					l.Accepted()
					done++
					if done == c.users {
						res.elapsed = clk.now.Sub(start)
					}
					pump()
					nextUser()
					return
				}
				res.throttled++
				res.throttleAt = append(res.throttleAt, clk.now.Sub(start))
				l.Throttled()
				if until := clk.now.Add(retryAfter); until.After(pauseUntil) {
					pauseUntil = until
				}
				pump()
				at(clk.now.Add(retryAfter), attempt)
			})
		})
	}
	attempt = func() {
		if clk.now.Before(pauseUntil) {
			at(pauseUntil, attempt)
			return
		}
		w := &waiter{priority: PriorityDefault, seq: l.seq}
		l.seq++
		owners[w] = send
		l.enqueue(w)
		pump()
	}
	nextUser = func() {
		if remaining == 0 {
			return
		}
		remaining--
		// The reconcile's own work before its Seam call: reads from the cache,
		// apiserver writes.
		at(clk.now.Add(jitter(15*time.Millisecond, 1.5)), attempt)
	}

	for range c.workers {
		nextUser()
	}
	nextTrace := start
	for steps := 0; events.Len() > 0 && done < c.users; steps++ {
		if steps > 100*c.users {
			panic("the simulation does not converge")
		}
		e := heap.Pop(&events).(simEvent)
		for !nextTrace.After(e.at) {
			res.rateTrace = append(res.rateTrace, l.rate)
			nextTrace = nextTrace.Add(time.Second)
		}
		clk.now = e.at
		e.fn()
	}
	res.ratio = res.elapsed.Seconds() / (float64(c.users) / c.rate)
	res.finalRate = l.rate
	return res
}

// TestSimLimiterConverge prints the matrix of issue 11: N = 1,000 users, the
// connection told 1×–5× the server's real rate, at R = 20, 50 and 200 rps.
func TestSimLimiterConverge(t *testing.T) {
	for _, rate := range []float64{50, 20, 200} {
		for _, told := range []float64{1, 1.5, 2, 3, 5} {
			for _, workers := range []int{8, 16} {
				var line string
				worst := 0.0
				for seed := uint64(1); seed <= 4; seed++ {
					r := simulate(simCase{rate: rate, burst: rate / 5, told: told, users: 1000,
						workers: workers, latency: 25 * time.Millisecond, seed: seed})
					line += fmt.Sprintf("  %.2f× %2d×429 end %3.0f%%", r.ratio, r.throttled, 100*r.finalRate/rate)
					worst = max(worst, r.ratio)
					if testing.Verbose() && rate == 50 && told == 2 && workers == 8 && seed == 1 {
						t.Logf("trace: 429s at %v; rate per second %v", r.throttleAt, roundAll(r.rateTrace))
					}
				}
				t.Logf("R=%3.0f told %.1f× workers %2d:%s  worst %.2f×", rate, told, workers, line, worst)
			}
		}
	}
}

func roundAll(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(math.Round(x))
	}
	return out
}
