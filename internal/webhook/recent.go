package webhook

import "sync"

// Recent remembers the last n ids seen, in a ring: memory stays bounded however
// many deliveries arrive. An id older than the last n is forgotten; a replay of
// it then still needs a valid signature within the 5-minute window, and the
// reconcile it triggers only reads Seam.
type Recent struct {
	mu   sync.Mutex
	ring []string
	next int
	seen map[string]struct{}
}

// NewRecent remembers the last n ids.
func NewRecent(n int) *Recent {
	return &Recent{ring: make([]string, n), seen: make(map[string]struct{}, n)}
}

// Add records id and reports whether it was new.
func (r *Recent) Add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.seen, old)
	}
	r.ring[r.next] = id
	r.seen[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
	return true
}

// Forget drops id, so a delivery that could not be handed on is taken again
// when Svix retries it.
func (r *Recent) Forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.seen, id)
}
