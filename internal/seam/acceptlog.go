package seam

import "time"

// acceptLog keeps when the server accepted the last logSize calls since the last
// reset, for AdaptiveLimiter to measure the server's rate from.
type acceptLog struct {
	at [logSize]time.Time // ring: at[n%logSize] is the nth call's
	n  int                // calls recorded since the reset
}

// logSize bounds the calls the log keeps: 1,024 are 20 s at 50 requests per
// second, 5 s at 200, long enough to measure a rate to a few percent.
const logSize = 1024

func (a *acceptLog) add(t time.Time) {
	a.at[a.n%logSize] = t
	a.n++
}

func (a *acceptLog) reset() { a.n = 0 }

// pace is the calls the log keeps and the stretch from the first of them to now.
func (a *acceptLog) pace(now time.Time) (float64, time.Duration) {
	k := min(a.n, logSize)
	if k == 0 {
		return 0, 0
	}
	return float64(k), now.Sub(a.at[(a.n-k)%logSize])
}

// recent is the calls accepted per second over the last stretch of d; 0 if the
// log is younger than that.
func (a *acceptLog) recent(now time.Time, d time.Duration) float64 {
	k := 0
	for ; k < min(a.n, logSize); k++ {
		if now.Sub(a.at[(a.n-1-k)%logSize]) > d {
			return float64(k) / d.Seconds()
		}
	}
	return 0
}

// rate is the largest (accepted − burst) ÷ stretch over the stretches from an
// accepted call to now at least shortest long, and that stretch. A server that
// held at most burst calls in its bucket at any moment cannot have accepted more
// than burst plus its rate times the stretch: so this is at most its rate, and
// when its bucket is empty now (it just answered 429) and the stretch starts when
// it was last full, it is its rate. 0 if no such stretch gives more than burst.
func (a *acceptLog) rate(now time.Time, burst float64, shortest time.Duration) (float64, time.Duration) {
	best, span := 0.0, time.Duration(0)
	for k := 1; k <= min(a.n, logSize); k++ { // the last k calls
		stretch := now.Sub(a.at[(a.n-k)%logSize])
		if stretch <= 0 || stretch < shortest {
			continue
		}
		if r := (float64(k) - burst) / stretch.Seconds(); r > best {
			best, span = r, stretch
		}
	}
	return best, span
}

// behind is how many calls the accepted ones fell behind rate at most, over the
// stretch of span to now (as rate returns it): the most, at any moment of it,
// that rate times the time since its start exceeds the calls accepted since. A
// measure is the server's rate only if the server's bucket emptied all through
// its stretch; when the calls fell behind the server's rate, the bucket refilled,
// and once full lost its refill: the measure is then low by up to this, over the
// stretch. 0 if no call starts such a stretch.
func (a *acceptLog) behind(now time.Time, span time.Duration, rate float64) float64 {
	k := min(a.n, logSize)
	first := -1
	for j := a.n - k; j < a.n; j++ {
		if now.Sub(a.at[j%logSize]) == span {
			first = j
			break
		}
	}
	if first < 0 {
		return 0
	}
	start := a.at[first%logSize]
	most := rate*span.Seconds() - float64(a.n-first) // at the end of the stretch
	// and just before each call after the first
	for j := first + 1; j < a.n; j++ {
		most = max(most, rate*a.at[j%logSize].Sub(start).Seconds()-float64(j-first))
	}
	return max(0, most)
}
