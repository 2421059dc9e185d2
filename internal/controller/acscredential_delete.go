package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// reconcileDelete deletes the remote credential (a revocation: its events jump the
// queue), waits until Seam no longer has it, then releases the object. Only a
// credential the object can prove it owns is deleted, through a connection that
// reaches its workspace.
func (r *AcsCredentialReconciler) reconcileDelete(ctx context.Context, cred *seamv1alpha1.AcsCredential) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(cred, CredentialFinalizer) {
		return ctrl.Result{}, nil
	}
	own := credentialClaimOf(r.Signer, cred)
	marker, markerState := readCreateMarker(r.Signer, cred, "user", "method")
	switch {
	case cred.Spec.DeletionPolicy == seamv1alpha1.DeletionPolicyOrphan:
		r.Recorder.Eventf(cred, nil, "Normal", "Orphaned", "Delete", "Left credential %s in Seam (deletionPolicy: Orphan)", own.claim.CredentialID)
		return ctrl.Result{}, r.release(ctx, cred)
	case own.state == ownsNothing && markerState == markerAbsent:
		return ctrl.Result{}, r.release(ctx, cred) // nothing was ever sent to Seam
	case own.state == ownsUnverified || markerState == markerUnverified:
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonUnverifiedOwnership, synced: true,
			message: "The object's annotations were not written by this operator: no credential is deleted on their word; " +
				"set spec.deletionPolicy: Orphan to release the object"})
		return ctrl.Result{RequeueAfter: deleteRetryCap}, nil
	}
	user := &seamv1alpha1.AcsUser{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: cred.Namespace, Name: cred.Spec.AcsUserRef.Name}, user); err != nil {
		if apierrors.IsNotFound(err) {
			// The AcsUser holds its own deletion until its credentials are gone: an
			// AcsUser that no longer exists deleted its remote user, and Seam
			// invalidated that user's credentials with it.
			r.Recorder.Eventf(cred, nil, "Normal", "Released", "Delete", "Released: the AcsUser %s no longer exists", cred.Spec.AcsUserRef.Name)
			return ctrl.Result{}, r.release(ctx, cred)
		}
		return ctrl.Result{}, err
	}
	conn, err := r.Connections.ForAcsUser(ctx, user)
	if err != nil {
		return r.fail(ctx, cred, err, "Cannot delete the credential")
	}
	if own.state == ownsNothing {
		return r.deleteLostCreate(ctx, &credentialWork{cred: cred, user: user, conn: conn}, marker)
	}
	if reason, msg, err := r.workspaceProblem(ctx, conn, own.claim); err != nil || reason != "" {
		if err != nil {
			return r.fail(ctx, cred, err, "Cannot delete the credential")
		}
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: reason, message: msg, synced: true})
		return ctrl.Result{RequeueAfter: deleteRetryCap}, nil
	}
	return r.deleteRemote(ctx, cred, conn, own.claim.CredentialID)
}

func (r *AcsCredentialReconciler) deleteRemote(ctx context.Context, cred *seamv1alpha1.AcsCredential, conn *connection.Resolved, id string) (ctrl.Result, error) {
	remote, err := conn.Client.GetCredential(ctx, id)
	switch {
	case errors.Is(err, seam.ErrNotFound):
		return ctrl.Result{}, r.release(ctx, cred)
	case err != nil:
		return r.fail(ctx, cred, err, fmt.Sprintf("Cannot delete credential %s", id))
	case remote.HasWarning(seam.CredentialWarningBeingDeleted):
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonDeleting, synced: true,
			message: fmt.Sprintf("Seam is deleting credential %s from the access control system", id)})
		return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
	}
	if err := conn.Client.DeleteCredential(ctx, id); err != nil && !errors.Is(err, seam.ErrNotFound) {
		return r.fail(ctx, cred, err, fmt.Sprintf("Cannot delete credential %s", id))
	}
	r.Recorder.Eventf(cred, nil, "Normal", "Deleted", "Delete", "Deleted credential %s: it no longer opens doors", id)
	r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonDeleting, synced: true,
		message: fmt.Sprintf("Deleted credential %s; waiting for Seam to confirm it is gone", id)})
	return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
}

// deleteLostCreate resolves a create whose answer was lost before releasing, with
// the same policy as the create path.
func (r *AcsCredentialReconciler) deleteLostCreate(ctx context.Context, w *credentialWork, marker createMarker) (ctrl.Result, error) {
	facts := lostCreateFacts{Marker: markerValid, SinceMarker: r.now().Sub(marker.At), MayStillLand: max(r.CreateGrace, r.CreateTimeout)}
	found, err := r.findCreated(ctx, w, marker)
	if err != nil {
		return r.fail(ctx, w.cred, err, "Looking for the credential an earlier create may have made")
	}
	facts.Matches = len(found)
	switch decideLostCreate(facts) {
	case adoptMatch:
		return r.deleteRemote(ctx, w.cred, w.conn, found[0].AcsCredentialID)
	case ambiguousMatches:
		r.conclude(ctx, w.cred, outcome{ready: metav1.ConditionFalse, reason: ReasonAmbiguousCreate, synced: true,
			message: fmt.Sprintf("An earlier create got no answer and %d credentials match it: delete the unwanted ones in Seam, "+
				"or set spec.deletionPolicy: Orphan to release the object", len(found))})
		return ctrl.Result{RequeueAfter: deleteRetryCap}, nil
	case waitForLanding:
		return ctrl.Result{RequeueAfter: min(facts.MayStillLand-facts.SinceMarker, 5*time.Second)}, nil
	}
	return ctrl.Result{}, r.release(ctx, w.cred)
}

func (r *AcsCredentialReconciler) release(ctx context.Context, cred *seamv1alpha1.AcsCredential) error {
	return setFinalizer(ctx, r.Client, cred, CredentialFinalizer, false)
}

// credentialsFirst holds an AcsUser's deletion while AcsCredentials name it: it
// deletes them (their remote credentials go first, revocations before the user's
// deletion) and says how many are left. waiting is false once there are none.
func credentialsFirst(ctx context.Context, c client.Client, u *seamv1alpha1.AcsUser) (left int, err error) {
	var list seamv1alpha1.AcsCredentialList
	if err := c.List(ctx, &list, client.InNamespace(u.Namespace)); err != nil {
		return 0, err
	}
	for i := range list.Items {
		cred := &list.Items[i]
		if cred.Spec.AcsUserRef.Name != u.Name {
			continue
		}
		left++
		if cred.DeletionTimestamp.IsZero() {
			if err := c.Delete(ctx, cred); client.IgnoreNotFound(err) != nil {
				return left, err
			}
		}
	}
	return left, nil
}
