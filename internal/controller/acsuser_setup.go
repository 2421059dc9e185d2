package controller

import (
	"context"
	"maps"
	"strings"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
)

// Field indexes of the manager's cache.
const (
	// indexAcsUserID finds the AcsUsers that claim a remote user ("system/id"), by
	// their signed annotation or their status.
	indexAcsUserID = "status.acsUserId"
	// indexConnection finds the AcsUsers using a connection ("Kind/ns/name" or "Kind/name").
	indexConnection = "spec.connectionRef"
	// indexSecret finds the connections whose API key is in a Secret ("ns/name").
	indexSecret = "spec.apiKeySecretRef"
)

func indexKey(parts ...string) string { return strings.Join(parts, "/") }

func connectionKeyOf(u *seamv1alpha1.AcsUser) string {
	return connection.Key(u.Spec.ConnectionRef.Kind, u.Namespace, u.Spec.ConnectionRef.Name)
}

// Options are the controller settings the manager's flags expose.
type Options struct {
	MaxConcurrentReconciles int
}

// SetupWithManager registers the indexes, watches and rate limiter of the AcsUser controller.
func (r *AcsUserReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if r.ranks == nil {
		r.ranks = newQueueRanks(time.Now)
	}
	if err := indexField(ctx, mgr.GetCache(), &seamv1alpha1.AcsUser{}, indexAcsUserID, allNamespaces, func(o client.Object) []string {
		return claimedIDs(r.Signer, o.(*seamv1alpha1.AcsUser))
	}); err != nil {
		return err
	}
	if err := indexField(ctx, mgr.GetCache(), &seamv1alpha1.AcsUser{}, indexConnection, allNamespaces, func(o client.Object) []string {
		return []string{connectionKeyOf(o.(*seamv1alpha1.AcsUser))}
	}); err != nil {
		return err
	}

	b := ctrl.NewControllerManagedBy(mgr).
		Named("acsuser").
		Watches(&seamv1alpha1.AcsUser{}, r.watchHandler(), builder.WithPredicates(specOrAnnotationsOrDeletion())).
		Watches(&seamv1alpha1.SeamConnection{}, rankedMap(r.ranks, r.usersOfConnection),
			builder.WithPredicates(specChangedOrBecameReady())).
		Watches(&seamv1alpha1.ClusterSeamConnection{}, rankedMap(r.ranks, r.usersOfConnection),
			builder.WithPredicates(specChangedOrBecameReady())).
		Watches(&corev1.Secret{}, rankedMap(r.ranks, r.usersOfSecret),
			builder.OnlyMetadata, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&corev1.Namespace{}, rankedMap(r.ranks, r.clusterConnectionUsersIn),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			RateLimiter:             retryLimiter(),
			UsePriorityQueue:        ptr.To(true),
		})
	if r.Events != nil {
		b = wakeOnEvents(b, r.ranks, r.Events.users, r.Events.revokedUsers)
	}
	b, resyncs, err := resyncWhenDue(mgr, b, r.ranks)
	r.resyncs = resyncs
	if err != nil {
		return err
	}
	return b.Complete(r)
}

// retryLimiter paces retries of failed reconciles: per object, exponential from one
// second to five minutes (a Seam outage must not become a hot loop); overall, a
// bucket, so thousands of objects failing together do not flood the queue. The
// larger of the two delays wins.
func retryLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, 5*time.Minute),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(50), 500)},
	)
}

// specOrAnnotationsOrDeletion lets through what needs a reconcile: a spec change, a
// change of annotations by someone else (recreate), the start of a deletion. The
// operator's own writes (status, finalizer, create marker, claim) do not wake it up:
// a failed create clearing its marker must not trigger the next create at once.
func specOrAnnotationsOrDeletion() predicate.Predicate {
	return predicate.Or(
		predicate.GenerationChangedPredicate{},
		predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
			return !e.ObjectNew.GetDeletionTimestamp().IsZero() ||
				!maps.Equal(withoutOwnRecords(e.ObjectOld.GetAnnotations()), withoutOwnRecords(e.ObjectNew.GetAnnotations())) ||
				recordRemovedFromStalled(e.ObjectOld, e.ObjectNew)
		}},
	)
}

func withoutOwnRecords(annotations map[string]string) map[string]string {
	out := maps.Clone(annotations)
	delete(out, AnnotationCreatePending)
	delete(out, AnnotationAcsUser)
	delete(out, AnnotationAcsCredential)
	return out
}

func (r *AcsUserReconciler) usersOfConnection(ctx context.Context, o client.Object) []reconcile.Request {
	return acsUsersUsing(ctx, r.Client, connectionKey(o))
}

func (r *AcsUserReconciler) usersOfSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	for _, key := range connectionsUsingSecret(ctx, r.Client, o) {
		out = append(out, acsUsersUsing(ctx, r.Client, key)...)
	}
	return out
}

func acsUsersUsing(ctx context.Context, c client.Client, connectionKey string) []reconcile.Request {
	var users seamv1alpha1.AcsUserList
	if err := c.List(ctx, &users, client.MatchingFields{indexConnection: connectionKey}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(users.Items))
	for _, u := range users.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&u)})
	}
	return out
}

// clusterConnectionUsersIn finds the AcsUsers of a namespace that use a
// ClusterSeamConnection: relabelling the namespace may allow or forbid them.
func (r *AcsUserReconciler) clusterConnectionUsersIn(ctx context.Context, ns client.Object) []reconcile.Request {
	var users seamv1alpha1.AcsUserList
	if err := r.List(ctx, &users, client.InNamespace(ns.GetName())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, u := range users.Items {
		if u.Spec.ConnectionRef.Kind == seamv1alpha1.ClusterSeamConnectionKind {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&u)})
		}
	}
	return out
}

// specChangedOrBecameReady passes the connection events that may unblock its users: a
// change to the part of the spec they depend on, or Seam accepting the key again. A
// connection flapping to not-ready does not wake thousands of users up; their own
// calls will tell them. Nor does a change to its rate limit or webhook alone: the
// limiter takes a new rate at the connection's next call, and waking every user
// would queue thousands of reconciles ahead of the work a higher rate was for.
func specChangedOrBecameReady() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return usersDependOnChange(e.ObjectOld, e.ObjectNew) || !connectionReady(e.ObjectOld) && connectionReady(e.ObjectNew)
	}}
}

// usersDependOnChange reports whether a connection's spec changed in a field its
// users' reconciles read: anything but rateLimit and webhook.
func usersDependOnChange(oldObj, newObj client.Object) bool {
	if oldObj.GetGeneration() == newObj.GetGeneration() {
		return false
	}
	switch o := oldObj.(type) {
	case *seamv1alpha1.SeamConnection:
		n, ok := newObj.(*seamv1alpha1.SeamConnection)
		return !ok || differsBeyond(o.Spec, n.Spec, func(s *seamv1alpha1.SeamConnectionSpec) { s.RateLimit, s.Webhook = nil, nil })
	case *seamv1alpha1.ClusterSeamConnection:
		n, ok := newObj.(*seamv1alpha1.ClusterSeamConnection)
		return !ok || differsBeyond(o.Spec, n.Spec, func(s *seamv1alpha1.ClusterSeamConnectionSpec) { s.RateLimit, s.Webhook = nil, nil })
	}
	return true
}

// differsBeyond compares two specs (values: ignore changes copies) once ignore has
// emptied the fields that don't count.
func differsBeyond[S any](a, b S, ignore func(*S)) bool {
	ignore(&a)
	ignore(&b)
	return !equality.Semantic.DeepEqual(a, b)
}

func connectionReady(o client.Object) bool {
	switch c := o.(type) {
	case *seamv1alpha1.SeamConnection:
		return meta.IsStatusConditionTrue(c.Status.Conditions, ConditionReady)
	case *seamv1alpha1.ClusterSeamConnection:
		return meta.IsStatusConditionTrue(c.Status.Conditions, ConditionReady)
	}
	return false
}

// recordRemovedFromStalled: a person removed the create marker or the claim of an
// object stalled on it (an ambiguous or unverified create, an unverified or
// contested claim), which is how they ask the operator to go on. The operator itself
// never removes them in those states.
func recordRemovedFromStalled(oldObj, newObj client.Object) bool {
	u, ok := newObj.(*seamv1alpha1.AcsUser)
	if !ok {
		return false
	}
	removed := func(key string) bool {
		_, had := oldObj.GetAnnotations()[key]
		_, has := newObj.GetAnnotations()[key]
		return had && !has
	}
	c := meta.FindStatusCondition(u.Status.Conditions, ConditionReady)
	if c == nil || (!removed(AnnotationCreatePending) && !removed(AnnotationAcsUser)) {
		return false
	}
	switch c.Reason {
	case ReasonAmbiguousCreate, ReasonUnverifiedCreateMarker, ReasonUnverifiedOwnership, ReasonClaimedByAnother:
		return true
	}
	return false
}
