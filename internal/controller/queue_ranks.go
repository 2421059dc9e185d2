package controller

import (
	"math"
	"sync"
	"time"
)

// queueRanks ranks a controller's work between namespaces, revocations and the
// rest apart. The queue serves higher priorities first and, among equal ones, in
// arrival order. One namespace that queues 10,000 items at once (a building
// offboarded, or onboarded) would then have another namespace's single one wait
// for all of them, each sent at the first namespace's connection's rate (200 s at
// 50 calls a second): another tenant's suspension, its new user, or the resync
// that takes back a grant made in the Seam console. Instead an item's priority
// falls with how many its namespace queued lately (namespaceShare). A nil
// queueRanks ranks every item as a quiet namespace's.
type queueRanks struct {
	revocations, work *namespaceShare
}

func newQueueRanks(now func() time.Time) *queueRanks {
	return &queueRanks{revocations: newNamespaceShare(priorityRevoke, now), work: newNamespaceShare(priorityWork, now)}
}

// revocation counts one more revocation of namespace ns and returns its priority:
// from priorityRevoke down to priorityRevoke-maxDemotion, above all other work.
func (q *queueRanks) revocation(ns string) int {
	if q == nil {
		return priorityRevoke
	}
	return q.revocations.next(ns)
}

// workItem counts one more create, grant, event or deferred call of namespace ns
// and returns its priority: from priorityWork down to priorityWork-maxDemotion.
func (q *queueRanks) workItem(ns string) int {
	if q == nil {
		return priorityWork
	}
	return q.work.next(ns)
}

// of is the rank of a revocation (revoking) or of any other work item.
func (q *queueRanks) of(revoking bool) func(ns string) int {
	if revoking {
		return q.revocation
	}
	return q.workItem
}

// resync is the priority of a settled object's resync that is due now
// (resyncTimer): just under what its namespace's next work item would get, not
// counted. It waits behind its own namespace's flood while that is queued (as the
// flood's count decays, a longer one has resyncs come due between its creates),
// and never behind another's: a console grant is taken back at the next resync
// even while someone else onboards a building.
func (q *queueRanks) resync(ns string) int {
	if q == nil {
		return priorityWork - 1
	}
	return q.work.peek(ns) - 1
}

// namespaceShare ranks one kind of work between namespaces: the first item of a
// quiet namespace gets top, the n-th of a busy one log2(n) less (sharePriority),
// never more than maxDemotion less. Within one namespace the order is kept;
// across namespaces the one with less queued goes first, as a fair queue would
// serve it.
type namespaceShare struct {
	top  int
	mu   sync.Mutex
	now  func() time.Time
	load map[string]shareLoad // by namespace
}

// shareLoad is a namespace's items queued lately: n, decayed to at.
type shareLoad struct {
	n  float64
	at time.Time
}

const (
	// shareHalfLife is how fast a namespace's count of items decays: a namespace
	// quiet for a few minutes is quiet again.
	shareHalfLife = 30 * time.Second
	// maxDemotion bounds how far a busy namespace's items fall: a revocation stays
	// ahead of all other work, and a resync ahead of controller-runtime's low
	// priority.
	maxDemotion = 50
	// shareMaxNamespaces is when the map is swept of namespaces quiet again.
	shareMaxNamespaces = 4096
)

func newNamespaceShare(top int, now func() time.Time) *namespaceShare {
	return &namespaceShare{top: top, now: now, load: map[string]shareLoad{}}
}

// next counts one more item of namespace ns and returns its priority.
func (s *namespaceShare) next(ns string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	l := s.load[ns]
	l.n, l.at = decayed(l, now)+1, now
	s.load[ns] = l
	if len(s.load) > shareMaxNamespaces {
		for k, v := range s.load {
			if decayed(v, now) < 0.5 {
				delete(s.load, k)
			}
		}
	}
	return sharePriority(s.top, l.n)
}

// peek is the priority namespace ns's next item would get, without counting one.
func (s *namespaceShare) peek(ns string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sharePriority(s.top, decayed(s.load[ns], s.now())+1)
}

// decayed is l's count at now.
func decayed(l shareLoad, now time.Time) float64 {
	if l.n == 0 {
		return 0
	}
	return l.n * math.Exp2(-now.Sub(l.at).Seconds()/shareHalfLife.Seconds())
}

// sharePriority is the priority of a namespace's item when it has n queued
// lately, itself included. Pure.
func sharePriority(top int, n float64) int {
	if n < 2 {
		return top
	}
	return top - min(maxDemotion, int(math.Log2(n)))
}
