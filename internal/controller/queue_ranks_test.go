package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
)

func TestSharePriority(t *testing.T) {
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
		if got := sharePriority(priorityRevoke, c.n); got != c.want {
			t.Errorf("sharePriority(priorityRevoke, %g) = %d, want %d", c.n, got, c.want)
		}
	}
	if priorityRevoke-maxDemotion <= priorityWork {
		t.Errorf("the lowest revocation priority %d is not above a quiet namespace's create (%d)", priorityRevoke-maxDemotion, priorityWork)
	}
	if priorityWork-maxDemotion-1 <= priorityResync {
		t.Errorf("the lowest resync rank %d is not above the marker %d", priorityWork-maxDemotion-1, priorityResync)
	}
	// A confirmation a second after a revocation keeps none of its rank: it
	// would go ahead of its own namespace's later revocations still queued.
	if priorityConfirm >= priorityRevoke-maxDemotion || priorityConfirm <= priorityWork {
		t.Errorf("priorityConfirm %d is not between a create's (0) and the lowest revocation's (%d)", priorityConfirm, priorityRevoke-maxDemotion)
	}
}

// A namespace that queued a thousand revocations ranks them under a quiet
// namespace's one, keeps their order, and is quiet again minutes later.
func TestRevocationShare(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newNamespaceShare(priorityRevoke, func() time.Time { return now })
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

// A namespace onboarding a building ranks its creates under a quiet namespace's
// one, and under the quiet namespace's resyncs: a console grant there is taken
// back at its next resync, not after the flood. A resync of the flooding
// namespace due during its flood waits behind it.
func TestQueueRanksResyncs(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := newQueueRanks(func() time.Time { return now })
	var flood int
	for range 1000 {
		flood = q.workItem("flood")
	}
	if quiet := q.workItem("quiet"); quiet != priorityWork {
		t.Errorf("a quiet namespace's create at %d, want %d", quiet, priorityWork)
	}
	if resync := q.resync("calm"); resync <= flood {
		t.Errorf("a calm namespace's resync at %d, not above the flooding namespace's 1000th create (%d)", resync, flood)
	}
	if own := q.resync("flood"); own >= flood {
		t.Errorf("the flooding namespace's resync at %d, not under its own creates (%d)", own, flood)
	}
	if q.resync("flood"); q.workItem("flood") != flood {
		t.Errorf("a resync counted as the namespace's work")
	}
	if r := q.revocation("flood"); r <= priorityConfirm {
		t.Errorf("a revocation at %d, under a confirmation (%d)", r, priorityConfirm)
	}
}

// A resync a reconcile asks for is held by the timer and handed to the
// controller when due; any other result, and an error's retry, are left to the
// controller's queue.
func TestResyncTimer(t *testing.T) {
	timer := newResyncTimer()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = timer.Start(ctx) }()
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "calm", Name: "resident"}}

	resync := ctrl.Result{RequeueAfter: time.Millisecond, Priority: ptr.To(priorityResync)}
	if got := timer.take(resync, nil, req); got != (ctrl.Result{}) {
		t.Errorf("a resync was left to the controller's queue: %+v", got)
	}
	select {
	case e := <-timer.due:
		if e.Object.GetNamespace() != "calm" || e.Object.GetName() != "resident" {
			t.Errorf("the timer handed over %s/%s", e.Object.GetNamespace(), e.Object.GetName())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the resync was never handed to the controller")
	}

	confirm := ctrl.Result{RequeueAfter: time.Second, Priority: ptr.To(priorityConfirm)}
	if got := timer.take(confirm, nil, req); got != confirm {
		t.Errorf("a confirmation's requeue was taken: %+v", got)
	}
	if got := timer.take(resync, errors.New("boom"), req); got != resync {
		t.Errorf("the result of a failed reconcile was taken: %+v", got)
	}
	var none *resyncTimer
	if got := none.take(resync, nil, req); got != resync {
		t.Errorf("a nil timer took the resync: %+v", got)
	}
}
