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
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// Queue priorities. Taking access away is urgent: a revocation (suspend, removal from
// a group, deletion) must not wait behind thousands of creates, and resyncs wait behind
// everything a person asked for.
const (
	priorityRevoke = 100
	// priorityConfirm is the read that confirms writes a second after they were
	// sent: below every revocation (revocationShare ranks them down to
	// priorityRevoke-maxDemotion), above creates.
	priorityConfirm = priorityRevoke - maxDemotion - 1
	priorityResync  = handler.LowPriority
)

// revokeFirst enqueues AcsUser and AcsCredential events, revocations ahead of
// everything else, and a namespace's ahead of those of namespaces that queued
// more lately (share); forget, if set, gets the UID of each object deleted.
func revokeFirst(share *revocationShare, forget func(types.UID)) handler.TypedEventHandler[client.Object, reconcile.Request] {
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(requestFor(e.Object))
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			req := requestFor(e.ObjectNew)
			pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
			if !ok || !isRevocation(e.ObjectOld, e.ObjectNew) {
				q.Add(req)
				return
			}
			pq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(share.next(req.Namespace))}, req)
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[client.Object], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// Gone: nothing to reconcile (a finalizer keeps every object whose
			// remote user must go until that is done).
			if forget != nil {
				forget(e.Object.GetUID())
			}
		},
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(requestFor(e.Object))
		},
	}
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

// wakeOnEvents adds the event router's queues to a controller: what an event
// says was revoked goes ahead of everything else, the rest ahead of resyncs.
func wakeOnEvents(b *builder.TypedBuilder[reconcile.Request], queue, revoked chan event.GenericEvent) *builder.TypedBuilder[reconcile.Request] {
	return b.WatchesRawSource(source.Channel(queue, enqueueWithPriority(nil))).
		WatchesRawSource(source.Channel(revoked, enqueueWithPriority(ptr.To(priorityRevoke))))
}

func enqueueWithPriority(priority *int) handler.TypedEventHandler[client.Object, reconcile.Request] {
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok && priority != nil {
				pq.AddWithOpts(priorityqueue.AddOpts{Priority: priority}, requestFor(e.Object))
				return
			}
			q.Add(requestFor(e.Object))
		},
	}
}

// watchHandler queues the AcsUser's own events (revocations first), and forgets
// what this process kept of an object once it is gone: release does so when the
// operator removes its finalizer, this when someone else did (by hand, or a
// namespace force-deleted), else a long-running manager keeps an entry per
// deleted object. It ranks revocations with the share the reconciler ranks its
// deferred ones with.
func (r *AcsUserReconciler) watchHandler() handler.TypedEventHandler[client.Object, reconcile.Request] {
	if r.share == nil {
		r.share = newRevocationShare(time.Now)
	}
	return revokeFirst(r.share, r.forget)
}
