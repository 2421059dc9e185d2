package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

const (
	// indexCredentialUser finds the AcsCredentials of an AcsUser (by name).
	indexCredentialUser = "spec.acsUserRef.name"
	// indexCredentialSecret finds the AcsCredentials whose PIN is in a Secret (by name).
	indexCredentialSecret = "spec.code.secretRef.name"
)

// SetupWithManager registers the indexes and watches of the AcsCredential controller.
func (r *AcsCredentialReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if r.ranks == nil {
		r.ranks = newQueueRanks(time.Now)
	}
	idx := mgr.GetFieldIndexer()
	if err := indexField(ctx, mgr.GetCache(), &seamv1alpha1.AcsCredential{}, indexCredentialUser, inNamespace, func(o client.Object) []string {
		return []string{o.(*seamv1alpha1.AcsCredential).Spec.AcsUserRef.Name}
	}); err != nil {
		return err
	}
	if err := indexField(ctx, mgr.GetCache(), &seamv1alpha1.AcsCredential{}, indexCredentialSecret, inNamespace, func(o client.Object) []string {
		if c := o.(*seamv1alpha1.AcsCredential).Spec.Code; c != nil && c.SecretRef != nil {
			return []string{c.SecretRef.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &seamv1alpha1.AcsCredential{}, indexCredentialID, func(o client.Object) []string {
		if id := o.(*seamv1alpha1.AcsCredential).Status.AcsCredentialID; id != "" {
			return []string{id}
		}
		return nil
	}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("acscredential").
		Watches(&seamv1alpha1.AcsCredential{}, revokeFirst(r.ranks, nil), builder.WithPredicates(specOrAnnotationsOrDeletion())).
		Watches(&seamv1alpha1.AcsUser{}, rankedMap(r.ranks, r.credentialsOfUser)).
		Watches(&corev1.Secret{}, rankedMap(r.ranks, r.credentialsOfSecret),
			builder.OnlyMetadata, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			RateLimiter:             retryLimiter(),
			UsePriorityQueue:        ptr.To(true),
		})
	if r.Events != nil {
		b = wakeOnEvents(b, r.ranks, r.Events.credentials, r.Events.revokedCredentials)
	}
	b, resyncs, err := resyncWhenDue(mgr, b, r.ranks)
	r.resyncs = resyncs
	if err != nil {
		return err
	}
	return b.Complete(r)
}

func (r *AcsCredentialReconciler) credentialsOfUser(ctx context.Context, u client.Object) []reconcile.Request {
	return r.credentialsMatching(ctx, u.GetNamespace(), indexCredentialUser, u.GetName())
}

// credentialsOfSecret: a PIN Secret changed (rotation), or a generated one was
// edited or deleted by hand.
func (r *AcsCredentialReconciler) credentialsOfSecret(ctx context.Context, s client.Object) []reconcile.Request {
	out := r.credentialsMatching(ctx, s.GetNamespace(), indexCredentialSecret, s.GetName())
	for _, ref := range s.GetOwnerReferences() {
		if ref.Kind == "AcsCredential" && ref.Controller != nil && *ref.Controller {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: s.GetNamespace(), Name: ref.Name}})
		}
	}
	return out
}

func (r *AcsCredentialReconciler) credentialsMatching(ctx context.Context, ns, index, value string) []reconcile.Request {
	var list seamv1alpha1.AcsCredentialList
	if err := r.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{index: value}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}
