package seam

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

const (
	backoffBase = 250 * time.Millisecond
	backoffMax  = 8 * time.Second
)

// backoff returns the wait before attempt n+1: exponential from backoffBase,
// capped at backoffMax, with jitter over the upper half so that callers that
// failed together do not retry together.
func backoff(n int) time.Duration {
	d := backoffBase << min(n-1, 10)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	half := d / 2
	return half + rand.N(half+1)
}

// fitsDeadline reports whether waiting d still leaves the context alive.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pauseGate is a client-wide "do not send before" time, set when the server
// answers with Retry-After. It works like an open circuit breaker with a
// known closing time: callers wait it out instead of each discovering the
// limit with a request of their own.
type pauseGate struct {
	mu    sync.Mutex
	until time.Time
}

func (p *pauseGate) extend(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.until) {
		p.until = t
	}
}

func (p *pauseGate) remaining() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Until(p.until)
}

// wait blocks until the pause is over. If the pause outlasts the caller's
// budget (maxWait or the context's deadline) it fails at once with a rate
// limited error carrying the remaining time, without sending anything; if it
// outlasts only the context's wait budget, with a *DeferredError.
func (p *pauseGate) wait(ctx context.Context, route string, maxWait time.Duration) error {
	d := p.remaining()
	if d <= 0 {
		return nil
	}
	if d > maxWait || !fitsDeadline(ctx, d) {
		return &APIError{
			Route:      route,
			HTTPStatus: 429,
			Type:       "client_paused",
			Message:    "not sent: the client is paused after the server asked to retry later",
			RetryAfter: d,
		}
	}
	if overBudget(ctx, d) {
		return &DeferredError{Route: route, Wait: d}
	}
	if err := sleep(ctx, d); err != nil {
		return &RequestError{Route: route, Err: errCallerGaveUpWrap(err)}
	}
	return nil
}
