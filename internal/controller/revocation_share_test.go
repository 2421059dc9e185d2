package controller

import (
	"testing"
	"time"
)

func TestRevocationPriority(t *testing.T) {
	cases := []struct {
		n    float64
		want int
	}{
		{n: 1, want: priorityRevoke},     // a quiet namespace's first
		{n: 1.9, want: priorityRevoke},   // and one after a pause
		{n: 2, want: priorityRevoke - 1}, // its second at once
		{n: 1024, want: priorityRevoke - 10},
		{n: 1e30, want: priorityRevoke - maxDemotion}, // never down to a create's
	}
	for _, c := range cases {
		if got := revocationPriority(c.n); got != c.want {
			t.Errorf("revocationPriority(%g) = %d, want %d", c.n, got, c.want)
		}
	}
	if priorityRevoke-maxDemotion <= 0 {
		t.Errorf("the lowest revocation priority %d is not above a create's (0)", priorityRevoke-maxDemotion)
	}
	// A confirmation a second after a revocation keeps none of its rank: it
	// would go ahead of its own namespace's later revocations still queued.
	if priorityConfirm >= priorityRevoke-maxDemotion || priorityConfirm <= 0 {
		t.Errorf("priorityConfirm %d is not between a create's (0) and the lowest revocation's (%d)", priorityConfirm, priorityRevoke-maxDemotion)
	}
}

// A namespace that queued a thousand revocations ranks them under a quiet
// namespace's one, keeps their order, and is quiet again minutes later.
func TestRevocationShare(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newRevocationShare(func() time.Time { return now })
	last := priorityRevoke
	for i := range 1000 {
		p := s.next("busy")
		if p > last {
			t.Fatalf("the busy namespace's revocation %d ranks %d, above the one before it (%d)", i, p, last)
		}
		last = p
	}
	if quiet := s.next("quiet"); quiet != priorityRevoke || last >= quiet {
		t.Errorf("quiet namespace's first: %d; busy namespace's 1000th: %d; want %d above it", quiet, last, priorityRevoke)
	}
	now = now.Add(10 * shareHalfLife)
	if p := s.next("busy"); p != priorityRevoke {
		t.Errorf("the busy namespace after %s quiet: %d, want %d", 10*shareHalfLife, p, priorityRevoke)
	}
}
