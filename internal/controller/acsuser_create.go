package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// clockSkew widens the window in which a lost create's user is looked for: Seam's
// created_at and this machine's clock need not agree.
const clockSkew = 2 * time.Minute

// ensureCreated creates the remote user, or adopts the one an earlier create made
// when its response was lost. Never two remote users for one AcsUser.
func (r *AcsUserReconciler) ensureCreated(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	if marker, ok := createMarkerOf(u); ok {
		// The cache may not have caught up with the status write of the reconcile that
		// created the user: ask the apiserver before looking for a lost create.
		if id, err := r.liveAcsUserID(ctx, u); err != nil || id != "" {
			return ctrl.Result{Requeue: true}, err
		}
		found, err := r.findCreated(ctx, conn, u, marker)
		if err != nil {
			return r.fail(ctx, u, err, "Looking for the user an earlier create may have made")
		}
		switch {
		case len(found) == 1:
			return r.adopt(ctx, u, found[0])
		case len(found) > 1:
			return r.stallAmbiguous(ctx, u, found)
		case r.now().Sub(marker.At) < r.CreateGrace:
			// The lost request may still land: look again before creating another.
			msg := "An earlier create got no answer; waiting to see whether it made the user before creating again"
			r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonCreating, message: msg, synced: true})
			return ctrl.Result{RequeueAfter: min(r.CreateGrace-r.now().Sub(marker.At), 5*time.Second)}, nil
		}
	}
	return r.create(ctx, conn, u)
}

// create persists the create marker (and the finalizer) with a conflict-checked
// update, so a stale copy of the object can never create, then sends one create with
// every field inline.
func (r *AcsUserReconciler) create(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	req := createRequest(u)
	controllerutil.AddFinalizer(u, Finalizer)
	if u.Annotations == nil {
		u.Annotations = map[string]string{}
	}
	u.Annotations[AnnotationCreatePending] = markerFor(r.now(), req).String()
	delete(u.Annotations, AnnotationRecreate)
	if err := r.Update(ctx, u); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{Requeue: true}, nil
		}
		return ctrl.Result{}, err
	}

	user, err := conn.Client.CreateUser(ctx, req)
	if err != nil {
		if definitelyNotCreated(err) {
			r.clearCreateMarker(ctx, u)
		}
		return r.fail(ctx, u, err, "Creating the ACS user in Seam")
	}
	logf.FromContext(ctx).Info("Created the ACS user in Seam", "acsUserId", user.AcsUserID, "acsSystemId", user.AcsSystemID)
	r.Recorder.Eventf(u, nil, "Normal", "Created", "Create", "Created ACS user %s in system %s", user.AcsUserID, user.AcsSystemID)
	u.Status.AccessGroupIDs = req.AccessGroupIDs
	if len(user.PendingMutations) == 0 && len(user.Errors) == 0 &&
		len(Diff(u.Spec, Observed{User: user}, u.Status.AccessGroupIDs)) == 0 {
		// The create's response already shows the user as declared: that is the
		// confirmation, no second read and no second status write needed.
		recordObservation(u, Observed{User: user})
		return r.report(ctx, u, Observed{User: user}), nil
	}
	return r.reportCreated(ctx, u, user), nil
}

// reportCreated records a user just created or adopted and comes back soon to confirm
// it with a fresh read (Seam applies writes asynchronously).
func (r *AcsUserReconciler) reportCreated(ctx context.Context, u *seamv1alpha1.AcsUser, user *seam.AcsUser) ctrl.Result {
	recordObservation(u, Observed{User: user})
	msg := "The ACS user was created; waiting to confirm it matches the spec"
	if len(user.PendingMutations) > 0 {
		msg = "Seam is creating the ACS user on the access control system"
	}
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonCreating, message: msg, synced: true})
	return ctrl.Result{RequeueAfter: time.Second}
}

// findCreated lists the system's users and keeps those the marked create could have
// made: created since the marker, with the same identity, claimed by no other AcsUser.
func (r *AcsUserReconciler) findCreated(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, marker createMarker) ([]*seam.AcsUser, error) {
	req := seam.ListUsersRequest{AcsSystemID: string(u.Spec.AcsSystemID), UserIdentityID: string(u.Spec.UserIdentityID)}
	var found []*seam.AcsUser
	for user, err := range conn.Client.ListUsers(ctx, req) {
		if err != nil {
			return nil, err
		}
		if user.CreatedAt.Before(marker.At.Add(-clockSkew)) || !marker.matches(user) {
			continue
		}
		claimed, err := r.claimedByAnother(ctx, u, user.AcsUserID)
		if err != nil {
			return nil, err
		}
		if !claimed {
			found = append(found, user)
		}
	}
	return found, nil
}

// claimedByAnother reports whether another AcsUser already manages the remote user.
func (r *AcsUserReconciler) claimedByAnother(ctx context.Context, u *seamv1alpha1.AcsUser, acsUserID string) (bool, error) {
	var owners seamv1alpha1.AcsUserList
	if err := r.List(ctx, &owners, client.MatchingFields{indexAcsUserID: indexKey(string(u.Spec.AcsSystemID), acsUserID)}); err != nil {
		return false, err
	}
	for _, o := range owners.Items {
		if o.UID != u.UID {
			return true, nil
		}
	}
	return false, nil
}

func (r *AcsUserReconciler) adopt(ctx context.Context, u *seamv1alpha1.AcsUser, user *seam.AcsUser) (ctrl.Result, error) {
	logf.FromContext(ctx).Info("Adopted the ACS user an earlier create made", "acsUserId", user.AcsUserID)
	r.Recorder.Eventf(u, nil, "Normal", "Adopted", "Create",
		"Adopted ACS user %s, made by an earlier create whose response was lost", user.AcsUserID)
	return r.reportCreated(ctx, u, user), nil
}

func (r *AcsUserReconciler) stallAmbiguous(ctx context.Context, u *seamv1alpha1.AcsUser, found []*seam.AcsUser) (ctrl.Result, error) {
	ids := make([]string, 0, len(found))
	for _, f := range found {
		ids = append(ids, f.AcsUserID)
	}
	msg := fmt.Sprintf("An earlier create got no answer and %d remote users match it (%s); nothing was created. "+
		"Delete the ones that are not this person's in Seam (the operator adopts the one left at its next check), "+
		"or remove the %s annotation to create a new user", len(ids), strings.Join(ids, ", "), AnnotationCreatePending)
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonAmbiguousCreate, message: msg, stalled: true, settled: true})
	return r.resync(), nil
}

// definitelyNotCreated is true when the server answered and said no: then the create
// marker can go, and the next attempt need not look for a user first.
func definitelyNotCreated(err error) bool {
	var apiErr *seam.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.HTTPStatus {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	}
	return false
}

func (r *AcsUserReconciler) clearCreateMarker(ctx context.Context, u *seamv1alpha1.AcsUser) {
	patch := client.MergeFrom(u.DeepCopy())
	delete(u.Annotations, AnnotationCreatePending)
	if err := r.Patch(ctx, u, patch); err != nil {
		// Harmless: the next attempt looks for a user first and finds none.
		logf.FromContext(ctx).V(1).Info("Could not clear the create marker", "error", err.Error())
	}
}

// reportRemoteDeleted handles a managed user that Seam no longer has. It is not
// created again on its own: a deletion in the Seam console may be an urgent
// revocation. The recreate annotation is the way to ask for a new user.
func (r *AcsUserReconciler) reportRemoteDeleted(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	if _, ok := u.Annotations[AnnotationRecreate]; ok {
		patch := client.MergeFrom(u.DeepCopy())
		delete(u.Annotations, AnnotationRecreate)
		delete(u.Annotations, AnnotationCreatePending)
		if err := r.Patch(ctx, u, patch); err != nil {
			return ctrl.Result{}, err
		}
		gone := u.Status.AcsUserID
		u.Status.AcsUserID, u.Status.IsSuspended, u.Status.AccessGroupIDs, u.Status.PendingMutations, u.Status.CreatedAt = "", nil, nil, nil, nil
		logf.FromContext(ctx).Info("Re-creating the ACS user deleted outside Kubernetes, as the recreate annotation asks", "deletedAcsUserId", gone)
		return r.create(ctx, conn, u)
	}
	u.Status.PendingMutations = nil
	msg := fmt.Sprintf("ACS user %s was deleted outside Kubernetes (in Seam or on the access control system) and is not re-created on its own. "+
		"To create a new one, annotate: kubectl annotate acsuser %s %s=true", u.Status.AcsUserID, u.Name, AnnotationRecreate)
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonRemoteDeleted, message: msg, synced: true, stalled: true, settled: true})
	return r.resync(), nil
}

// liveAcsUserID reads status.acsUserId from the apiserver, not the cache.
func (r *AcsUserReconciler) liveAcsUserID(ctx context.Context, u *seamv1alpha1.AcsUser) (string, error) {
	live := &seamv1alpha1.AcsUser{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
		return "", err
	}
	return live.Status.AcsUserID, nil
}
