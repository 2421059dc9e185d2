package seam

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
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
//     the limiter's queue (callers already queued are held by the limiter
//     itself), a 429 reports Throttled with its Retry-After and pauses every
//     caller, the throttled caller sleeps the Retry-After and sends again;
//   - the limiter is the real one, driven through take instead of Wait.
//
// What it leaves out: the bench's other calls (revocations, resync reads), and
// the time the manager takes to pick new users up after a connection change.

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
	// warm first converges users with the connection told the real rate, then
	// idles and tells it told×, as the bench does; else the limiter starts at told×.
	warm    bool
	users   int
	workers int
	latency time.Duration // client to the server's rate check
	// jitter adds 0 to jitter (uniform) to the latency to the server, to the
	// answer's way back, and to each worker's own work between calls: a scheduler
	// on busy cores, a server doing some work after its rate check.
	jitter time.Duration
	// think is the mean of each worker's own work between calls (reads from the
	// cache, apiserver writes), spread ±75%; 15 ms if 0.
	think time.Duration
	// slowFor is how long at the start of the (last) batch each worker's own work
	// takes slowThink instead, as when the harness's creates load the apiserver.
	slowFor, slowThink time.Duration
	// slowFrom starts that slow stretch this far into the batch (0: at its start),
	// after a stretch at startThink (think if 0).
	slowFrom, startThink time.Duration
	seed                 uint64
}

type simResult struct {
	elapsed           time.Duration
	ratio             float64 // elapsed ÷ (users ÷ rate)
	throttled         int     // 429s
	pauses            int     // of them, the ones the limiter acted on (the others came during its pause)
	finalRate         float64 // the limiter's rate at the end
	serverBurst, good float64
	rateTrace         []float64
	throttleAt        []time.Duration
}

// simulate runs c and returns the figures of its (last) batch.
func simulate(c simCase) simResult {
	rng := rand.New(rand.NewPCG(c.seed, 0x5eed))
	clk := &simClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	told := c.told
	if c.warm {
		told = 1
	}
	l := NewAdaptiveLimiter(told*c.rate, int(math.Round(told*c.burst)))
	l.clock, l.last = clk, clk.now
	srv := &simServer{rate: c.rate, burst: c.burst, tokens: c.burst, last: clk.now}
	jitter := func(d time.Duration, spread float64) time.Duration {
		d = time.Duration(float64(d) * (1 + spread*(rng.Float64()-0.5)))
		if c.jitter > 0 {
			d += time.Duration(rng.Float64() * float64(c.jitter))
		}
		return d
	}
	var pauseUntil time.Time
	think := c.think
	if think == 0 {
		think = 15 * time.Millisecond
	}

	batch := func(first bool) simResult {
		var (
			events    simEvents
			seq       int
			start     = clk.now
			remaining = c.users
			done      int
			res       simResult
			pumpGen   int
			owners    = map[*waiter]func(){}
		)
		at := func(t time.Time, fn func()) {
			seq++
			heap.Push(&events, simEvent{at: t, seq: seq, fn: fn})
		}

		// pump hands tokens to the head of the limiter's queue, and otherwise
		// wakes it when the next token is due (the timer of Wait). Called again
		// whenever the limiter changes, as Wait's changed channel does.
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
			at(clk.now.Add(jitter(c.latency, 0.2)), func() {
				ok, retryAfter := srv.admit(clk.now)
				// The answer comes back over a local connection: a millisecond.
				at(clk.now.Add(jitter(time.Millisecond, 0)), func() {
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
					hold := l.hold
					l.Throttled(retryAfter)
					if l.hold != hold {
						res.pauses++
					}
					if until := clk.now.Add(retryAfter); until.After(pauseUntil) {
						pauseUntil = until
					}
					pump()
					at(clk.now.Add(retryAfter), attempt)
				})
			})
		}
		// attempt is client.send: the pause gate, then the limiter's queue.
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
			// The reconcile's own work before its Seam call: reads from the
			// cache, apiserver writes.
			th := think
			if in := clk.now.Sub(start); !first && in < c.slowFrom && c.startThink > 0 {
				th = c.startThink
			} else if in >= c.slowFrom && in < c.slowFor && !first {
				th = c.slowThink
			}
			at(clk.now.Add(jitter(th, 1.5)), attempt)
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
		res.finalRate, res.serverBurst, res.good = l.rate, l.serverBurst, l.good
		return res
	}

	if c.warm {
		batch(true)
		// The bench waits for the operator to go quiet, then changes the limit.
		clk.now = clk.now.Add(5 * time.Second)
		l.SetLimit(c.told*c.rate, int(math.Round(c.told*c.burst)))
	}
	return batch(false)
}

// TestSimLimiterConverge prints the matrix of issue 11: N = 1,000 users, the
// connection told 1×–5× the server's real rate, at R = 20, 50 and 200 rps, from
// a fresh limiter and (warm) after a batch told the real rate, as the bench;
// per seed the ratio to N ÷ R, the 429s, (the ones the limiter acted on), and
// its rate at the end as a share of R. SIM_TRACE=50/2/true/8/1 (R, told, warm,
// workers, seed) also logs that run's 429 times and rate each second.
func TestSimLimiterConverge(t *testing.T) {
	for _, rate := range []float64{50, 20, 200} {
		for _, told := range []float64{1, 1.5, 2, 3, 5} {
			for _, warm := range []bool{false, true} {
				for _, workers := range []int{8, 16} {
					var line string
					worst := 0.0
					for seed := uint64(1); seed <= 4; seed++ {
						r := simulate(simCase{rate: rate, burst: rate / 5, told: told, warm: warm, users: 1000,
							workers: workers, latency: 25 * time.Millisecond, seed: seed})
						checkSim(t, rate, told, warm, workers, r)
						line += fmt.Sprintf("  %.2f× %2d×429 (%d) %3.0f%%", r.ratio, r.throttled, r.pauses, 100*r.finalRate/rate)
						worst = max(worst, r.ratio)
						if os.Getenv("SIM_TRACE") == fmt.Sprintf("%g/%g/%v/%d/%d", rate, told, warm, workers, seed) {
							t.Logf("trace: 429s at %v; rate per second %v; server burst %v, good %v", r.throttleAt, roundAll(r.rateTrace), r.serverBurst, r.good)
						}
					}
					t.Logf("R=%3.0f told %.1f× warm %-5v workers %2d:%s  worst %.2f×", rate, told, warm, workers, line, worst)
				}
			}
		}
	}
}

// checkSim asserts what does not depend on tuning: told the real rate, no 429;
// once throttled, the rate ends near the server's (at R = 200 sixteen workers
// cannot keep the limiter busy, so its rate is not what they send at); the
// bench's case, warm and told 2×, in at most two pauses.
func checkSim(t *testing.T, rate, told float64, warm bool, workers int, r simResult) {
	t.Helper()
	name := fmt.Sprintf("R=%g told %g× warm %v workers %d", rate, told, warm, workers)
	if told == 1 && r.throttled > 0 {
		t.Errorf("%s: %d × 429 told the real rate", name, r.throttled)
	}
	if rate <= 50 && r.pauses > 0 && (r.finalRate < 0.85*rate || r.finalRate > 1.05*rate) {
		t.Errorf("%s: rate %.1f at the end, want within [0.85, 1.05] × %g", name, r.finalRate, rate)
	}
	if warm && told == 2 && r.pauses > 2 {
		t.Errorf("%s: %d pauses, want at most 2", name, r.pauses)
	}
}

func roundAll(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(math.Round(x))
	}
	return out
}

// TestSimLimiterBusyManager is the matrix again with the manager of the bench on
// two busy cores: answers and workers late by up to 5 ms (jitter), each reconcile
// 100 ms of its own work (apiserver writes) on average, and 200 ms in the first
// two seconds of the batch while the harness creates its users; the server's
// burst R ÷ 5 as in the bench, and R ÷ 10 (the connection told twice its burst
// and more). Per row the worst and the mean over eight seeds, with the 429s and
// pauses of the worst. SIM_TRACE as above, with the burst divisor appended
// (50/2/true/8/1/5).
func TestSimLimiterBusyManager(t *testing.T) {
	for _, rate := range []float64{50, 20} { // at 200, eight workers this slow cannot keep up
		for _, div := range []float64{5, 10} {
			for _, told := range []float64{1, 1.5, 2, 3, 5} {
				for _, warm := range []bool{false, true} {
					worst, sum := simResult{}, 0.0
					for seed := uint64(1); seed <= 8; seed++ {
						r := simulate(simCase{rate: rate, burst: rate / div, told: told, warm: warm, users: 1000,
							workers: 8, latency: 25 * time.Millisecond, jitter: 5 * time.Millisecond,
							think: 100 * time.Millisecond, slowFor: 2 * time.Second, slowThink: 200 * time.Millisecond, seed: seed})
						if told == 1 && r.throttled > 0 && div == 5 {
							t.Errorf("R=%g told 1× warm %v seed %d: %d × 429 told the real rate", rate, warm, seed, r.throttled)
						}
						sum += r.ratio
						if r.ratio > worst.ratio {
							worst = r
						}
						if os.Getenv("SIM_TRACE") == fmt.Sprintf("%g/%g/%v/8/%d/%g", rate, told, warm, seed, div) {
							t.Logf("trace: 429s at %v; rate per second %v; server burst %v, good %v", r.throttleAt, roundAll(r.rateTrace), r.serverBurst, r.good)
						}
					}
					t.Logf("R=%3.0f burst R÷%-2g told %.1f× warm %-5v: worst %.2f× (%2d×429, %d pauses), mean %.2f×",
						rate, div, told, warm, worst.ratio, worst.throttled, worst.pauses, sum/8)
				}
			}
		}
	}
}

// TestSimLimiterStalledStart is the start of the bench's batch on a new connection
// as its logs show it: the harness's creates load the two cores, so the workers
// send at about the server's rate for 1.5 s, then at half of it for 0.8 s, then as
// fast as the limiter lets them. A sweep that climbed with the first stretch has
// the surge drain the server's burst in under a second: its 429 measures only a
// floor, and the probe that follows is a second 429 (the bench's 1.14-1.16x
// runs). Told the real rate, no 429. Per row the worst and mean over eight seeds
// and the 429s of all eight.
func TestSimLimiterStalledStart(t *testing.T) {
	for _, told := range []float64{1, 2} {
		for _, startThink := range []time.Duration{130 * time.Millisecond, 150 * time.Millisecond} {
			for _, slowThink := range []time.Duration{280 * time.Millisecond, 400 * time.Millisecond} {
				worst, sum, throttled := simResult{}, 0.0, 0
				for seed := uint64(1); seed <= 8; seed++ {
					r := simulate(simCase{rate: 50, burst: 10, told: told, users: 1000,
						workers: 8, latency: 25 * time.Millisecond, jitter: 5 * time.Millisecond,
						think: 30 * time.Millisecond, startThink: startThink, slowFrom: 1500 * time.Millisecond,
						slowFor: 2300 * time.Millisecond, slowThink: slowThink, seed: seed})
					if told == 1 && r.throttled > 0 {
						t.Errorf("told 1x seed %d: %d x 429 told the real rate", seed, r.throttled)
					}
					sum += r.ratio
					throttled += r.throttled
					if r.ratio > worst.ratio {
						worst = r
					}
				}
				t.Logf("told %gx, %v then %v a reconcile: worst %.3fx, mean %.3fx, %d x 429 over 8 seeds",
					told, startThink, slowThink, worst.ratio, sum/8, throttled)
			}
		}
	}
}
