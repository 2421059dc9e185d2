package controller

import (
	"math"
	"sync"
	"time"
)

// revocationShare ranks revocations between namespaces. The queue serves
// revocations first and, among them, in arrival order: one namespace that takes
// access away from 10,000 users at once (a building offboarded) would have
// another namespace's single suspension wait for all of them, each sent at the
// first namespace's connection's rate (200 s at 50 calls a second). Instead a
// revocation's priority falls with how many its namespace queued lately: the
// first of a quiet namespace gets priorityRevoke, the n-th of a busy one
// log2(n) less (revocationPriority), never down to a create's. Within one
// namespace the order is kept; across namespaces the one with less queued goes
// first, as a fair queue would serve it.
type revocationShare struct {
	mu   sync.Mutex
	now  func() time.Time
	load map[string]shareLoad // by namespace
}

// shareLoad is a namespace's revocations queued lately: n, decayed to at.
type shareLoad struct {
	n  float64
	at time.Time
}

const (
	// shareHalfLife is how fast a namespace's count of revocations decays: a
	// namespace quiet for a few minutes is quiet again.
	shareHalfLife = 30 * time.Second
	// maxDemotion bounds how far a busy namespace's revocations fall: still
	// ahead of every create and grant (priority 0).
	maxDemotion = 50
	// shareMaxNamespaces is when the map is swept of namespaces quiet again.
	shareMaxNamespaces = 4096
)

func newRevocationShare(now func() time.Time) *revocationShare {
	return &revocationShare{now: now, load: map[string]shareLoad{}}
}

// next counts one more revocation of namespace ns and returns its priority; a
// nil share ranks every revocation first.
func (s *revocationShare) next(ns string) int {
	if s == nil {
		return priorityRevoke
	}
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
	return revocationPriority(l.n)
}

// decayed is l's count at now.
func decayed(l shareLoad, now time.Time) float64 {
	if l.n == 0 {
		return 0
	}
	return l.n * math.Exp2(-now.Sub(l.at).Seconds()/shareHalfLife.Seconds())
}

// revocationPriority is the priority of a namespace's revocation when it has n
// queued lately, itself included. Pure.
func revocationPriority(n float64) int {
	if n < 2 {
		return priorityRevoke
	}
	return priorityRevoke - min(maxDemotion, int(math.Log2(n)))
}
