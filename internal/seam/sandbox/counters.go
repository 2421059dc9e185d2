package sandbox

import (
	"maps"
	"sync"
)

// StatusDropped is the status counted for a call whose write was committed
// but whose connection was dropped before any response (DropAfterCommit).
const StatusDropped = 0

// counters counts API calls per route and status once answered, and the calls
// of each route still being answered.
type counters struct {
	mu      sync.Mutex
	m       map[string]map[int]int
	pending map[string]int
}

// start counts a call that arrived; done must follow once it is answered.
func (c *counters) start(route string) (done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[string]int{}
	}
	c.pending[route]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.pending[route]--; c.pending[route] == 0 {
			delete(c.pending, route)
		}
	}
}

func (c *counters) inFlight(route string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[route]
}

func (c *counters) add(route string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[int]int{}
	}
	if c.m[route] == nil {
		c.m[route] = map[int]int{}
	}
	c.m[route][status]++
}

func (c *counters) snapshot() map[string]map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]map[int]int, len(c.m))
	for r, byStatus := range c.m {
		out[r] = maps.Clone(byStatus)
	}
	return out
}

func (c *counters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
