package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// reconcileDelete deletes the remote user this object owns (unless the policy is
// Orphan), waits until Seam no longer has it, then releases the object.
func (r *AcsUserReconciler) reconcileDelete(ctx context.Context, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(u, Finalizer) {
		return ctrl.Result{}, nil
	}
	if u.Spec.DeletionPolicy == seamv1alpha1.DeletionPolicyOrphan {
		r.Recorder.Eventf(u, nil, "Normal", "Orphaned", "Delete", "Left ACS user %s in Seam (deletionPolicy: Orphan)", u.Status.AcsUserID)
		return ctrl.Result{}, r.release(ctx, u)
	}
	_, hasMarker := createMarkerOf(u)
	if u.Status.AcsUserID == "" && !hasMarker {
		return ctrl.Result{}, r.release(ctx, u) // nothing was ever sent to Seam
	}
	conn, err := r.Connections.ForAcsUser(ctx, u)
	if err != nil {
		return r.blockDelete(ctx, u, err)
	}
	if u.Status.AcsUserID == "" {
		// A create may have made a user whose id never reached status: find it, so
		// deleting the object does not leak it.
		return r.deleteLostCreate(ctx, conn, u)
	}
	return r.deleteRemote(ctx, conn, u)
}

func (r *AcsUserReconciler) deleteRemote(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	id := u.Status.AcsUserID
	user, err := conn.Client.GetUser(ctx, id)
	switch {
	case errors.Is(err, seam.ErrNotFound):
		logf.FromContext(ctx).Info("The ACS user is gone from Seam; releasing the AcsUser", "acsUserId", id)
		return ctrl.Result{}, r.release(ctx, u)
	case err != nil:
		return r.blockDelete(ctx, u, err)
	case user.AcsSystemID != string(u.Spec.AcsSystemID):
		// Never delete a user this object does not own.
		return r.blockDelete(ctx, u, fmt.Errorf("ACS user %s is in system %s, not %s: refusing to delete it", id, user.AcsSystemID, u.Spec.AcsSystemID))
	case user.HasPendingMutation(seam.MutationDeleting):
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonDeleting, synced: true,
			message: fmt.Sprintf("Seam is deleting ACS user %s from the access control system", id)})
		return ctrl.Result{RequeueAfter: r.pendingBackoff(u)}, nil
	}
	if err := conn.Client.DeleteUser(ctx, id); err != nil && !errors.Is(err, seam.ErrNotFound) {
		return r.blockDelete(ctx, u, err)
	}
	logf.FromContext(ctx).Info("Deleted the ACS user in Seam", "acsUserId", id)
	r.Recorder.Eventf(u, nil, "Normal", "Deleted", "Delete", "Deleted ACS user %s: its credentials no longer grant access", id)
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonDeleting, synced: true,
		message: fmt.Sprintf("Deleted ACS user %s; waiting for Seam to confirm it is gone", id)})
	return ctrl.Result{RequeueAfter: time.Second}, nil
}

// deleteLostCreate resolves a create whose outcome is unknown before releasing.
func (r *AcsUserReconciler) deleteLostCreate(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	marker, _ := createMarkerOf(u)
	found, err := r.findCreated(ctx, conn, u, marker)
	switch {
	case err != nil:
		return r.blockDelete(ctx, u, err)
	case len(found) == 1:
		u.Status.AcsUserID = found[0].AcsUserID
		return r.deleteRemote(ctx, conn, u)
	case len(found) > 1:
		return r.stallAmbiguous(ctx, u, found)
	case r.now().Sub(marker.At) < r.CreateGrace:
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonDeleting, synced: true,
			message: "An earlier create got no answer; waiting to see whether it made a user before releasing the object"})
		return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
	}
	return ctrl.Result{}, r.release(ctx, u)
}

// blockDelete keeps the finalizer and says why, with the way out.
func (r *AcsUserReconciler) blockDelete(ctx context.Context, u *seamv1alpha1.AcsUser, err error) (ctrl.Result, error) {
	o, wait := failureOf(err, fmt.Sprintf("Cannot delete ACS user %q", u.Status.AcsUserID))
	o.reason, o.stalled, o.settled = ReasonDeleteBlocked, false, false
	o.message += "; to release the object without deleting the remote user, set spec.deletionPolicy: Orphan"
	r.conclude(ctx, u, o)
	if _, ok := connection.IsNotUsable(err); ok {
		return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
	}
	if wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return ctrl.Result{}, err
}

// release removes the finalizer: Kubernetes then deletes the object.
func (r *AcsUserReconciler) release(ctx context.Context, u *seamv1alpha1.AcsUser) error {
	// Optimistic lock: a merge patch replaces the whole finalizer list, and another
	// controller's finalizer must not be lost.
	patch := client.MergeFromWithOptions(u.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(u, Finalizer)
	return client.IgnoreNotFound(r.Patch(ctx, u, patch))
}
