package controller

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
)

// Teardown in any order. Deleting a namespace deletes its Secret, SeamConnection and
// AcsUsers in no particular order; the AcsUsers still need the connection and its
// key to delete their remote users. So a connection is kept (a finalizer, as
// crossplane keeps a ProviderConfig in use) while any AcsUser refers to it, and its
// key is kept in the operator's own namespace (connection.KeyEscrow) until it goes.
const (
	// ConnectionFinalizer keeps a SeamConnection or ClusterSeamConnection while
	// AcsUsers use it.
	ConnectionFinalizer = "seam.acs-operator.io/in-use"
	// ReasonInUse: the connection is being deleted and AcsUsers still use it.
	ReasonInUse = "InUse"
	// inUseRecheck is how often a connection being deleted counts its users again.
	inUseRecheck = 2 * time.Second
)

// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=seamconnections;clusterseamconnections,verbs=update;patch
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=seamconnections/finalizers;clusterseamconnections/finalizers,verbs=update

// connectionKey is the index key of a connection ("Kind/ns/name" or "Kind/name").
func connectionKey(obj client.Object) string {
	if _, cluster := obj.(*seamv1alpha1.ClusterSeamConnection); cluster {
		return connection.Key(seamv1alpha1.ClusterSeamConnectionKind, "", obj.GetName())
	}
	return connection.Key(seamv1alpha1.SeamConnectionKind, obj.GetNamespace(), obj.GetName())
}

// markConnectionInUse puts the in-use finalizer on the connection an AcsUser uses,
// before the AcsUser sends anything through it: the connection's own reconcile may
// not have run yet (its queue may be busy with an unreachable endpoint), and a
// connection deleted without the finalizer would strand the user's teardown. A read
// from the cache when the finalizer is there.
func (r *AcsUserReconciler) markConnectionInUse(ctx context.Context, u *seamv1alpha1.AcsUser) error {
	var conn client.Object = &seamv1alpha1.SeamConnection{}
	key := client.ObjectKey{Namespace: u.Namespace, Name: u.Spec.ConnectionRef.Name}
	if u.Spec.ConnectionRef.Kind == seamv1alpha1.ClusterSeamConnectionKind {
		conn, key = &seamv1alpha1.ClusterSeamConnection{}, client.ObjectKey{Name: u.Spec.ConnectionRef.Name}
	}
	// Read without a deep copy (every reconcile comes here, and the finalizer is
	// nearly always there already); copied before it is changed.
	if err := r.Get(ctx, key, conn, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	if !conn.GetDeletionTimestamp().IsZero() {
		return nil // a finalizer cannot be added any more; its reconcile keeps it while users remain
	}
	if controllerutil.ContainsFinalizer(conn, ConnectionFinalizer) {
		return nil
	}
	return setFinalizer(ctx, r.Client, conn.DeepCopyObject().(client.Object), ConnectionFinalizer, true)
}

// protect puts the in-use finalizer on a live connection.
func (r *ConnectionReconciler) protect(ctx context.Context, obj client.Object) error {
	return setFinalizer(ctx, r.Client, obj, ConnectionFinalizer, true)
}

// reconcileDelete keeps a connection being deleted until no AcsUser uses it, and
// says so; then forgets its escrowed key and releases it.
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
	if err := r.unregisterOnDelete(ctx, obj, r.seamClientFor(ctx, obj), st); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Connections.ReleaseKey(ctx, connectionKey(obj)); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, setFinalizer(ctx, r.Client, obj, ConnectionFinalizer, false)
}
