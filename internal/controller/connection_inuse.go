package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// Teardown in any order. Deleting a namespace deletes its Secret, SeamConnection and
// AcsUsers in no particular order; the AcsUsers still need the connection and its
// key to delete their remote users. So a connection is kept (a finalizer, as
// crossplane keeps a ProviderConfig in use) while any AcsUser refers to it, and the
// Secret holding its key is kept while any connection refers to it.
const (
	// ConnectionFinalizer keeps a SeamConnection or ClusterSeamConnection while
	// AcsUsers use it.
	ConnectionFinalizer = "seam.acs-operator.io/in-use"
	// SecretFinalizer keeps a Secret while a connection takes its API key from it.
	SecretFinalizer = "seam.acs-operator.io/api-key-in-use"
	// ReasonInUse: the connection is being deleted and AcsUsers still use it.
	ReasonInUse = "InUse"
	// inUseRecheck is how often a connection being deleted counts its users again.
	inUseRecheck = 2 * time.Second
)

// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=seamconnections;clusterseamconnections,verbs=update;patch
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=seamconnections/finalizers;clusterseamconnections/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=patch;update

// connectionKey is the index key of a connection ("Kind/ns/name" or "Kind/name").
func connectionKey(obj client.Object) string {
	if _, cluster := obj.(*seamv1alpha1.ClusterSeamConnection); cluster {
		return indexKey(seamv1alpha1.ClusterSeamConnectionKind, obj.GetName())
	}
	return indexKey(seamv1alpha1.SeamConnectionKind, obj.GetNamespace(), obj.GetName())
}

// apiKeySecret names the Secret a connection takes its key from.
func apiKeySecret(obj client.Object) types.NamespacedName {
	switch c := obj.(type) {
	case *seamv1alpha1.SeamConnection:
		return types.NamespacedName{Namespace: c.Namespace, Name: c.Spec.APIKeySecretRef.Name}
	case *seamv1alpha1.ClusterSeamConnection:
		return types.NamespacedName{Namespace: c.Spec.APIKeySecretRef.Namespace, Name: c.Spec.APIKeySecretRef.Name}
	}
	return types.NamespacedName{}
}

// protect puts the in-use finalizers on a live connection and on its key's Secret.
func (r *ConnectionReconciler) protect(ctx context.Context, obj client.Object) error {
	if err := setFinalizer(ctx, r.Client, obj, ConnectionFinalizer, true); err != nil {
		return err
	}
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := r.Get(ctx, apiKeySecret(obj), secret); err != nil {
		return client.IgnoreNotFound(err) // the check reports a missing Secret
	}
	if !secret.GetDeletionTimestamp().IsZero() {
		return nil // a finalizer cannot be added to an object being deleted
	}
	return setFinalizer(ctx, r.Client, secret, SecretFinalizer, true)
}

// reconcileDelete keeps a connection being deleted until no AcsUser uses it, and
// says so; then releases it (the Secret releaser then lets its Secret go).
func (r *ConnectionReconciler) reconcileDelete(ctx context.Context, obj client.Object, st *seamv1alpha1.ConnectionStatus) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, ConnectionFinalizer) {
		return ctrl.Result{}, nil
	}
	users := acsUsersUsing(ctx, r.Client, connectionKey(obj))
	if n := len(users); n > 0 {
		msg := fmt.Sprintf("Being deleted, but %d AcsUser(s) still use this connection: it is kept until their remote users are deleted. "+
			"If Seam can no longer be reached through it, set spec.deletionPolicy: Orphan on those AcsUsers to release them "+
			"(their remote users then keep their access)", n)
		setConditions(&st.Conditions, obj.GetGeneration(), outcome{ready: metav1.ConditionFalse, reason: ReasonInUse, message: msg, synced: true})
		return ctrl.Result{RequeueAfter: inUseRecheck}, nil
	}
	return ctrl.Result{}, setFinalizer(ctx, r.Client, obj, ConnectionFinalizer, false)
}

// SecretReleaser removes SecretFinalizer from a Secret no connection takes its key
// from any more (the connection is gone, or points at another Secret).
type SecretReleaser struct {
	client.Client
}

// Reconcile releases one Secret if nothing refers to it.
func (r *SecretReleaser) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := r.Get(ctx, req.NamespacedName, secret); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if len(connectionsUsingSecret(ctx, r.Client, secret)) > 0 {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, setFinalizer(ctx, r.Client, secret, SecretFinalizer, false)
}

// SetupWithManager watches the Secrets carrying the finalizer and the connections
// that may stop referring to them.
func (r *SecretReleaser) SetupWithManager(mgr ctrl.Manager) error {
	toSecret := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: apiKeySecret(o)}}
	})
	hasFinalizer := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return controllerutil.ContainsFinalizer(o, SecretFinalizer)
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("apikeysecret").
		For(&corev1.Secret{}, builder.OnlyMetadata, builder.WithPredicates(hasFinalizer)).
		Watches(&seamv1alpha1.SeamConnection{}, toSecret).
		Watches(&seamv1alpha1.ClusterSeamConnection{}, toSecret).
		WithOptions(controller.Options{RateLimiter: retryLimiter()}).
		Complete(r)
}
