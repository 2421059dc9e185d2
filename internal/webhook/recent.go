package webhook

import "sync"

// Recent remembers the last n ids seen, in a ring: memory stays bounded however
// many deliveries arrive. An id older than the last n is forgotten; a replay of
// it then still needs a valid signature within the 5-minute window, and the
// reconcile it triggers only reads Seam.
type Recent struct {
	mu   sync.Mutex
	ring []string
	max  int // ids remembered
	next int // where the next id goes once the ring is full
	seen map[string]struct{}
}

// NewRecent remembers the last n ids. The ring and the set grow with the ids
// seen: a manager without webhooks has two of them, empty, and at n = 10,000 a
// set sized up front was a megabyte of its heap.
func NewRecent(n int) *Recent {
	return &Recent{ring: make([]string, 0, min(n, 64)), max: max(n, 1), seen: map[string]struct{}{}}
}

// Add records id and reports whether it was new.
func (r *Recent) Add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[id]; ok {
		return false
	}
	r.seen[id] = struct{}{}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, id)
		return true
	}
	delete(r.seen, r.ring[r.next])
	r.ring[r.next] = id
	r.next = (r.next + 1) % r.max
	return true
}

// Forget drops id, so a delivery that could not be handed on is taken again
// when Svix retries it.
func (r *Recent) Forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.seen, id)
}
