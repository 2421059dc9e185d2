package controller

import (
	"context"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// Queue priorities. Taking access away is urgent: a revocation (suspend, removal from
// a group, deletion) must not wait behind thousands of creates, and resyncs wait behind
// everything a person asked for in their namespace. queueRanks lowers each by how much
// its namespace queued lately, so no namespace's flood holds back another's work.
const (
	priorityRevoke = 100
	// priorityConfirm is the read that confirms writes a second after they were
	// sent: below every revocation (ranked down to priorityRevoke-maxDemotion),
	// above all other work.
	priorityConfirm = priorityRevoke - maxDemotion - 1
	// priorityWork is a quiet namespace's create, grant or event: ranked down to
	// priorityWork-maxDemotion, and its resyncs one lower.
	priorityWork = 0
	// priorityResync marks the result of a reconcile that comes back for a
	// resync: Reconcile hands it to its resyncTimer, which queues it when due at
	// its namespace's rank (queueRanks.resync).
	priorityResync = handler.LowPriority
)

// revokeFirst enqueues AcsUser and AcsCredential events, revocations ahead of
// everything else, each ranked in its namespace (ranks); forget, if set, gets the
// UID of each object deleted.
func revokeFirst(ranks *queueRanks, forget func(types.UID)) handler.TypedEventHandler[client.Object, reconcile.Request] {
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			addRanked(q, requestFor(e.Object), ranks.workItem)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			addRanked(q, requestFor(e.ObjectNew), ranks.of(isRevocation(e.ObjectOld, e.ObjectNew)))
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[client.Object], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// Gone: nothing to reconcile (a finalizer keeps every object whose
			// remote user must go until that is done).
			if forget != nil {
				forget(e.Object.GetUID())
			}
		},
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			addRanked(q, requestFor(e.Object), ranks.workItem)
		},
	}
}

// addRanked adds req at the priority rank gives its namespace (a plain Add on a
// queue without priorities).
func addRanked(q workqueue.TypedRateLimitingInterface[reconcile.Request], req reconcile.Request, rank func(ns string) int) {
	pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !ok {
		q.Add(req)
		return
	}
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(rank(req.Namespace))}, req)
}

func requestFor(o client.Object) reconcile.Request {
	return reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)}
}

// isRevocation reports whether an update takes access away.
func isRevocation(oldObj, newObj client.Object) bool {
	if oldObj.GetDeletionTimestamp().IsZero() && !newObj.GetDeletionTimestamp().IsZero() {
		return true // a deletion, of a user or of a credential
	}
	if o, ok := oldObj.(*seamv1alpha1.AcsCredential); ok {
		n := newObj.(*seamv1alpha1.AcsCredential)
		// An end moved earlier takes access away sooner.
		return n.Spec.EndsAt != nil && (o.Spec.EndsAt == nil || n.Spec.EndsAt.Before(o.Spec.EndsAt))
	}
	o, okOld := oldObj.(*seamv1alpha1.AcsUser)
	n, okNew := newObj.(*seamv1alpha1.AcsUser)
	if !okOld || !okNew {
		return false
	}
	if o.DeletionTimestamp.IsZero() && !n.DeletionTimestamp.IsZero() {
		return true
	}
	if n.Spec.Suspended && !o.Spec.Suspended {
		return true
	}
	for _, g := range o.Spec.AccessGroupIDs {
		if !slices.Contains(n.Spec.AccessGroupIDs, g) {
			return true
		}
	}
	for _, g := range o.Spec.AccessGroupNames {
		if !slices.Contains(n.Spec.AccessGroupNames, g) {
			return true
		}
	}
	// ObserveOnly to Manage: the spec, removals first, is applied from now on.
	return o.Spec.ManagementPolicy == seamv1alpha1.ManagementPolicyObserveOnly && n.Spec.ManagementPolicy != o.Spec.ManagementPolicy
}

// rankedMap enqueues the objects mapFn maps an event's object to (a connection's
// users, a Secret's credentials), each as its namespace's work: a connection
// edited under 10,000 users queues them ranked, not ahead of another namespace's
// work. The old and the new object of an update may map to the same objects:
// each is queued and counted once.
func rankedMap(ranks *queueRanks, mapFn handler.MapFunc) handler.TypedEventHandler[client.Object, reconcile.Request] {
	add := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		seen := map[reconcile.Request]bool{}
		for _, o := range objs {
			for _, req := range mapFn(ctx, o) {
				if !seen[req] {
					seen[req] = true
					addRanked(q, req, ranks.workItem)
				}
			}
		}
	}
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.Object)
		},
		GenericFunc: func(ctx context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, q, e.Object)
		},
	}
}

// wakeOnEvents adds the event router's queues to a controller: what an event
// concerns is queued as its namespace's work, or as a revocation.
func wakeOnEvents(b *builder.TypedBuilder[reconcile.Request], ranks *queueRanks, queue, revoked chan event.GenericEvent) *builder.TypedBuilder[reconcile.Request] {
	return b.WatchesRawSource(source.Channel(queue, enqueueRanked(ranks.workItem))).
		WatchesRawSource(source.Channel(revoked, enqueueRanked(ranks.revocation)))
}

// resyncWhenDue makes a controller's resyncTimer, one per manager (a timer stops
// with the manager that ran it), and adds its due resyncs to the controller, each
// ranked as its namespace's resync when it is due.
func resyncWhenDue(mgr manager.Manager, b *builder.TypedBuilder[reconcile.Request], ranks *queueRanks) (*builder.TypedBuilder[reconcile.Request], *resyncTimer, error) {
	t := newResyncTimer()
	if err := mgr.Add(t); err != nil {
		return nil, nil, err
	}
	return b.WatchesRawSource(source.Channel(t.due, enqueueRanked(ranks.resync))), t, nil
}

func enqueueRanked(rank func(ns string) int) handler.TypedEventHandler[client.Object, reconcile.Request] {
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			addRanked(q, requestFor(e.Object), rank)
		},
	}
}

// watchHandler queues the AcsUser's own events (revocations first), and forgets
// what this process kept of an object once it is gone: release does so when the
// operator removes its finalizer, this when someone else did (by hand, or a
// namespace force-deleted), else a long-running manager keeps an entry per
// deleted object. It ranks work with the ranks the reconciler ranks its deferred
// work and its resyncs with.
func (r *AcsUserReconciler) watchHandler() handler.TypedEventHandler[client.Object, reconcile.Request] {
	if r.ranks == nil {
		r.ranks = newQueueRanks(time.Now)
	}
	return revokeFirst(r.ranks, r.forget)
}
