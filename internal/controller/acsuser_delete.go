package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// reconcileDelete deletes the remote user this object owns (unless the policy is
// Orphan), waits until Seam no longer has it, then releases the object. It deletes
// only a user the object can prove it owns, through a connection that reaches that
// user's workspace: a 404 from anywhere else is not taken as "already deleted".
func (r *AcsUserReconciler) reconcileDelete(ctx context.Context, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(u, Finalizer) {
		return ctrl.Result{}, nil
	}
	// Credentials first: each is revoked in Seam before the user goes.
	if left, err := credentialsFirst(ctx, r.Client, u); err != nil || left > 0 {
		if err != nil {
			return r.blockDelete(ctx, u, err)
		}
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonDeleting, synced: true,
			message: fmt.Sprintf("Waiting for %d AcsCredential(s) of this user to be deleted from Seam first", left)})
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if observeOnly(u) {
		// Observing never deletes, whatever deletionPolicy says.
		r.Recorder.Eventf(u, nil, "Normal", "Released", "Delete", "Left ACS user %s in Seam (managementPolicy: ObserveOnly)", u.Status.AcsUserID)
		return ctrl.Result{}, r.release(ctx, u)
	}
	if u.Spec.DeletionPolicy == seamv1alpha1.DeletionPolicyOrphan {
		r.Recorder.Eventf(u, nil, "Normal", "Orphaned", "Delete", "Left ACS user %s in Seam (deletionPolicy: Orphan)", u.Status.AcsUserID)
		return ctrl.Result{}, r.release(ctx, u)
	}
	own := r.ownershipOf(u)
	marker, markerState := createMarkerOf(r.Signer, u)
	switch {
	case own.state == ownsNothing && markerState == markerAbsent:
		return ctrl.Result{}, r.release(ctx, u) // nothing was ever sent to Seam
	case own.state == ownsUnverified:
		reason, _, err := r.contested(ctx, u, own)
		if err != nil {
			return r.blockDelete(ctx, u, err)
		}
		if reason == ReasonClaimedByAnother {
			return r.releaseClaimedByAnother(ctx, u, own.claim.AcsUserID)
		}
		return r.holdDelete(ctx, u, ReasonUnverifiedOwnership, unverifiedClaimMessage), nil
	}
	conn, err := r.Connections.ForAcsUser(ctx, u)
	if err != nil {
		return r.blockDelete(ctx, u, err)
	}
	if own.state == ownsNothing {
		return r.deleteLostCreate(ctx, conn, u, marker, markerState)
	}
	reason, msg, _, err := r.ownershipProblem(ctx, conn, u, own)
	switch {
	case err != nil:
		return r.blockDelete(ctx, u, err)
	case reason == ReasonClaimedByAnother:
		return r.releaseClaimedByAnother(ctx, u, own.claim.AcsUserID)
	case reason != "":
		return r.holdDelete(ctx, u, reason, msg), nil
	}
	return r.deleteRemote(ctx, conn, u, own.claim.AcsUserID)
}

func (r *AcsUserReconciler) deleteRemote(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, id string) (ctrl.Result, error) {
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
		return ctrl.Result{RequeueAfter: min(r.pendingBackoff(u), deleteRetryCap)}, nil
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

// deleteLostCreate resolves a create whose outcome is unknown before releasing,
// with the same policy as the create path.
func (r *AcsUserReconciler) deleteLostCreate(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, marker createMarker, state markerState) (ctrl.Result, error) {
	facts := lostCreateFacts{Marker: state, SinceMarker: r.now().Sub(marker.At), MayStillLand: r.mayStillLand()}
	var found []*seam.AcsUser
	if state == markerValid {
		var err error
		if found, err = r.findCreated(ctx, conn, u, marker); err != nil {
			return r.blockDelete(ctx, u, err)
		}
		facts.Matches = len(found)
	}
	switch decideLostCreate(facts) {
	case adoptMatch:
		return r.deleteRemote(ctx, conn, u, found[0].AcsUserID)
	case ambiguousMatches:
		return r.stallAmbiguous(ctx, u, marker, len(found)), nil
	case unverifiedMarker:
		return r.holdDelete(ctx, u, ReasonUnverifiedCreateMarker, unverifiedMarkerMessage), nil
	case waitForLanding:
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonDeleting, synced: true,
			message: "An earlier create got no answer; waiting to see whether it made a user before releasing the object"})
		return ctrl.Result{RequeueAfter: min(facts.MayStillLand-facts.SinceMarker, 5*time.Second)}, nil
	}
	return ctrl.Result{}, r.release(ctx, u)
}

// releaseClaimedByAnother lets go of an object whose claimed user another AcsUser
// manages: that user is not this object's to delete.
func (r *AcsUserReconciler) releaseClaimedByAnother(ctx context.Context, u *seamv1alpha1.AcsUser, id string) (ctrl.Result, error) {
	r.Recorder.Eventf(u, nil, "Normal", "Released", "Delete",
		"Released without deleting ACS user %s: another AcsUser manages it", id)
	return ctrl.Result{}, r.release(ctx, u)
}

// holdDelete keeps the finalizer on a deletion that must not go ahead as it is, and
// says why and what a person can do.
func (r *AcsUserReconciler) holdDelete(ctx context.Context, u *seamv1alpha1.AcsUser, reason, msg string) ctrl.Result {
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: reason, synced: true,
		message: msg + "; the object is kept until then (or set spec.deletionPolicy: Orphan to release it without deleting the remote user)"})
	return ctrl.Result{RequeueAfter: deleteRetryCap}
}

// blockDelete keeps the finalizer and says why, with the way out.
func (r *AcsUserReconciler) blockDelete(ctx context.Context, u *seamv1alpha1.AcsUser, err error) (ctrl.Result, error) {
	if res, ok := r.deferred(err, u); ok {
		return res, nil
	}
	o, result, err := errorPolicy(err, fmt.Sprintf("Cannot delete ACS user %q", u.Status.AcsUserID), true, r.resync())
	r.conclude(ctx, u, o)
	return result, err
}

// forget drops what this process keeps of the object uid.
func (r *AcsUserReconciler) forget(uid types.UID) {
	r.revoked.Delete(uid)
	r.revokeConfirms.Delete(uid)
	r.memberships.forget(uid)
}

// release removes the finalizer: Kubernetes then deletes the object.
func (r *AcsUserReconciler) release(ctx context.Context, u *seamv1alpha1.AcsUser) error {
	r.forget(u.UID)
	return setFinalizer(ctx, r.Client, u, Finalizer, false)
}
