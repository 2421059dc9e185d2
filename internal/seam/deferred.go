package seam

import (
	"context"
	"fmt"
	"time"
)

// ErrDeferred matches a call that was not sent because the connection could not
// take it within the caller's wait budget (WithWaitBudget): a Retry-After pause,
// or a rate limit with other calls queued ahead. Nothing reached the server.
var ErrDeferred = fmt.Errorf("seam: deferred")

// DeferredError is ErrDeferred's concrete error: Wait is how long until the
// connection can take the call, as far as it knows now.
type DeferredError struct {
	Route string
	Wait  time.Duration
}

func (e *DeferredError) Error() string {
	return fmt.Sprintf("seam: %s: not sent: the connection can take it in %s, past the caller's wait budget", e.Route, e.Wait.Round(time.Millisecond))
}

// Is reports ErrDeferred.
func (e *DeferredError) Is(target error) bool { return target == ErrDeferred }

type waitBudgetKey struct{}

// WithWaitBudget bounds how long each call made with ctx waits for its connection
// before it is sent: for a Retry-After pause, for its turn at the rate limit, or
// between attempts. A call that would wait longer returns a *DeferredError (or,
// when the server's answer is what it would wait out, that answer) at once,
// without sending anything more.
//
// Reconcile workers are shared by every connection of a manager: a worker that
// waits out one connection's 30 s Retry-After is one fewer to send another
// connection's revocation. With a budget, the worker puts the object back in its
// queue for when its connection can take the call, and takes the next one.
func WithWaitBudget(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, waitBudgetKey{}, d)
}

// waitBudget is ctx's wait budget; ok is false if it has none (wait as long as
// the client's MaxRetryWait and the context allow).
func waitBudget(ctx context.Context) (d time.Duration, ok bool) {
	d, ok = ctx.Value(waitBudgetKey{}).(time.Duration)
	return d, ok && d > 0
}

// overBudget reports whether waiting d exceeds ctx's wait budget.
func overBudget(ctx context.Context, d time.Duration) bool {
	budget, ok := waitBudget(ctx)
	return ok && d > budget
}

// delayer is implemented by limiters that can tell how long a call made now
// with ctx would wait for its turn.
type delayer interface {
	Delay(ctx context.Context) time.Duration
}

// Delay is how long a call made now with ctx (its priority) would wait before it
// is sent, as far as the client knows: the Retry-After pause, then its turn at
// the rate limit.
func (c *Client) Delay(ctx context.Context) time.Duration {
	d := max(0, c.pause.remaining())
	if l, ok := c.limiter.(delayer); ok {
		d = max(d, l.Delay(ctx))
	}
	return d
}

// CheckWait returns the *DeferredError a call to route made now with ctx would
// return, if it would wait past ctx's wait budget (Delay), and nil otherwise. A
// caller about to do something it must undo if the call is not sent (a create
// marker) asks first.
func (c *Client) CheckWait(ctx context.Context, route string) error {
	if d := c.Delay(ctx); overBudget(ctx, d) {
		return &DeferredError{Route: route, Wait: d}
	}
	return nil
}
