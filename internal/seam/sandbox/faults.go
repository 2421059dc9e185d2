package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults is what the sandbox does wrong on purpose. The zero value is a
// well-behaved server. Routes are paths such as "/acs/users/create".
type Faults struct {
	// Latency delays every API call; RouteLatency adds to it per route.
	Latency      time.Duration
	RouteLatency map[string]time.Duration
	// ErrorRates answers a route with an error status, with a probability.
	ErrorRates map[string]ErrorRate
	// Storm answers every API call with 429 until it runs out or is cleared.
	Storm *RateLimitStorm
	// Outage answers every API call with 503.
	Outage bool
	// DropAfterCommit makes a route perform its write, then close the
	// connection without answering: the case that makes duplicates. The value
	// is how many requests to drop; negative means until cleared.
	DropAfterCommit map[string]int
	// FailAfterCommit makes the next successful call to a route perform its
	// write, then answer with the given error status instead (once).
	FailAfterCommit map[string]int
}

// ErrorRate is an injected error for one route.
type ErrorRate struct {
	Probability float64 `json:"probability"` // 0..1
	Status      int     `json:"status"`      // default 503
}

// RateLimitStorm is a run of 429 answers.
type RateLimitStorm struct {
	// Remaining is how many 429s are left; 0 means until cleared.
	Remaining int `json:"remaining"`
	// RetryAfter is the Retry-After header value sent ("2", or an HTTP
	// date); empty sends no Retry-After.
	RetryAfter string `json:"retry_after,omitempty"`
}

// faultsJSON is Faults for the admin route, durations as strings ("250ms").
type faultsJSON struct {
	Latency         string               `json:"latency,omitempty"`
	RouteLatency    map[string]string    `json:"route_latency,omitempty"`
	ErrorRates      map[string]ErrorRate `json:"error_rates,omitempty"`
	Storm           *RateLimitStorm      `json:"rate_limit_storm,omitempty"`
	Outage          bool                 `json:"outage,omitempty"`
	DropAfterCommit map[string]int       `json:"drop_after_commit,omitempty"`
	FailAfterCommit map[string]int       `json:"fail_after_commit,omitempty"`
}

// MarshalJSON writes durations as strings such as "1.5s".
func (f Faults) MarshalJSON() ([]byte, error) {
	out := faultsJSON{ErrorRates: f.ErrorRates, Storm: f.Storm, Outage: f.Outage, DropAfterCommit: f.DropAfterCommit, FailAfterCommit: f.FailAfterCommit}
	if f.Latency > 0 {
		out.Latency = f.Latency.String()
	}
	if len(f.RouteLatency) > 0 {
		out.RouteLatency = map[string]string{}
		for r, d := range f.RouteLatency {
			out.RouteLatency[r] = d.String()
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads durations as strings such as "250ms".
func (f *Faults) UnmarshalJSON(b []byte) error {
	var in faultsJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*f = Faults{ErrorRates: in.ErrorRates, Storm: in.Storm, Outage: in.Outage, DropAfterCommit: in.DropAfterCommit, FailAfterCommit: in.FailAfterCommit}
	var err error
	if in.Latency != "" {
		if f.Latency, err = time.ParseDuration(in.Latency); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	for r, s := range in.RouteLatency {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("route_latency[%s]: %w", r, err)
		}
		if f.RouteLatency == nil {
			f.RouteLatency = map[string]time.Duration{}
		}
		f.RouteLatency[r] = d
	}
	return nil
}

func (f Faults) clone() Faults {
	c := f
	c.RouteLatency = maps.Clone(f.RouteLatency)
	c.ErrorRates = maps.Clone(f.ErrorRates)
	c.DropAfterCommit = maps.Clone(f.DropAfterCommit)
	c.FailAfterCommit = maps.Clone(f.FailAfterCommit)
	if f.Storm != nil {
		s := *f.Storm
		c.Storm = &s
	}
	return c
}

// faultState holds the current faults; it has its own lock so a slow
// (latency-injected) request never holds the store lock.
type faultState struct {
	mu sync.Mutex
	f  Faults
}

func (fs *faultState) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f.clone()
}

func (fs *faultState) set(f Faults) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f = f.clone()
}

func (fs *faultState) update(fn func(*Faults)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fn(&fs.f)
}

// delay sleeps for the configured latency; it returns early (false) if the
// client went away.
func (fs *faultState) delay(ctx context.Context, route string) bool {
	fs.mu.Lock()
	d := fs.f.Latency + fs.f.RouteLatency[route]
	fs.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reject returns the injected error answer for this call, if any.
func (fs *faultState) reject(route string) (response, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.f.Outage {
		return errorResponse(newError(http.StatusServiceUnavailable, "service_unavailable", "Seam is temporarily unavailable (sandbox outage)")), true
	}
	if s := fs.f.Storm; s != nil {
		if s.Remaining > 0 {
			s.Remaining--
			if s.Remaining == 0 {
				fs.f.Storm = nil
			}
		}
		r := errorResponse(newError(http.StatusTooManyRequests, "rate_limited", "Too many requests (sandbox rate limit storm)"))
		if s.RetryAfter != "" {
			r.header.Set("Retry-After", s.RetryAfter)
		}
		return r, true
	}
	if er, ok := fs.f.ErrorRates[route]; ok && er.Probability > 0 && rand.Float64() < er.Probability {
		status := er.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		return errorResponse(newError(status, errorTypeForStatus(status), "Injected error (sandbox error rate)")), true
	}
	return response{}, false
}

// takeDrop reports whether this committed call's response must be dropped.
func (fs *faultState) takeDrop(route string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := fs.f.DropAfterCommit[route]
	switch {
	case n == 0:
		return false
	case n == 1:
		delete(fs.f.DropAfterCommit, route)
	case n > 1:
		fs.f.DropAfterCommit[route] = n - 1
	}
	return true
}

// takeFailAfterCommit returns the status a committed call must answer instead
// of its result, once.
func (fs *faultState) takeFailAfterCommit(route string) (int, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	status, ok := fs.f.FailAfterCommit[route]
	if ok {
		delete(fs.f.FailAfterCommit, route)
	}
	return status, ok
}
