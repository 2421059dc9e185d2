package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

// ensureCreated gives an object that owns no remote user one: the user an earlier
// create made (its answer lost), or a new one. Never two remote users for one
// AcsUser, never someone else's.
func (r *AcsUserReconciler) ensureCreated(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, want seamv1alpha1.AcsUserSpec) (ctrl.Result, error) {
	marker, state := createMarkerOf(r.Signer, u)
	facts := lostCreateFacts{Marker: state, SinceMarker: r.now().Sub(marker.At), MayStillLand: r.mayStillLand()}
	var found []*seam.AcsUser
	if state == markerValid {
		// The cache may not have caught up with the writes of the reconcile that
		// created the user: ask the apiserver before looking for a lost create.
		if owned, err := r.liveOwnsUser(ctx, u); err != nil || owned {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
		var err error
		if found, err = r.findCreated(ctx, conn, u, marker); err != nil {
			return r.fail(ctx, u, err, "Looking for the user an earlier create may have made")
		}
		facts.Matches = len(found)
	}
	switch decideLostCreate(facts) {
	case adoptMatch:
		return r.adopt(ctx, conn, u, found[0])
	case ambiguousMatches:
		return r.stallAmbiguous(ctx, u, marker, len(found)), nil
	case unverifiedMarker:
		return r.stallUnverified(ctx, u, ReasonUnverifiedCreateMarker, unverifiedMarkerMessage), nil
	case waitForLanding:
		msg := "An earlier create got no answer; waiting to see whether it made the user before creating again"
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonCreating, message: msg, synced: true})
		return ctrl.Result{RequeueAfter: min(facts.MayStillLand-facts.SinceMarker, 5*time.Second)}, nil
	}
	return r.create(ctx, conn, u, want)
}

// mayStillLand is how long after it was sent a create may still make a user.
func (r *AcsUserReconciler) mayStillLand() time.Duration {
	return max(r.CreateGrace, r.CreateTimeout)
}

// create persists the signed create marker (and the finalizer) with a
// conflict-checked update, so a stale copy of the object can never create, then
// sends one create with every field inline, under its own deadline: the marker's
// window ends there.
func (r *AcsUserReconciler) create(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, want seamv1alpha1.AcsUserSpec) (ctrl.Result, error) {
	if neverCreates(u) {
		// The last guard: an object that adopts or only observes never creates, not
		// even when asked to re-create a user deleted outside Kubernetes.
		return r.reportAdoptedGone(ctx, u), nil
	}
	ws, err := conn.Workspace(ctx)
	if err != nil {
		return r.fail(ctx, u, err, "Checking the workspace of the connection")
	}
	if err := conn.Client.CheckWait(ctx, "/acs/users/create"); err != nil {
		// Not now: no create marker for a create that is not sent.
		return r.fail(ctx, u, err, "Creating the ACS user in Seam")
	}
	now := r.now()
	req := createRequest(want, now)
	controllerutil.AddFinalizer(u, Finalizer)
	if u.Annotations == nil {
		u.Annotations = map[string]string{}
	}
	u.Annotations[AnnotationCreatePending] = markerFor(now, req).encode(r.Signer, u.UID)
	delete(u.Annotations, AnnotationRecreate)
	delete(u.Annotations, AnnotationAcsUser)
	if err := r.Update(ctx, u); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, err
	}

	createCtx, cancel := context.WithTimeout(ctx, r.CreateTimeout)
	defer cancel()
	user, err := conn.Client.CreateUser(createCtx, req)
	if err != nil {
		if definitelyNotCreated(err) {
			r.clearCreateMarker(ctx, u)
		}
		return r.fail(ctx, u, err, "Creating the ACS user in Seam")
	}
	logf.FromContext(ctx).Info("Created the ACS user in Seam", "acsUserId", user.AcsUserID, "acsSystemId", user.AcsSystemID)
	r.Recorder.Eventf(u, nil, "Normal", "Created", "Create", "Created ACS user %s in system %s", user.AcsUserID, user.AcsSystemID)
	if err := r.recordOwnership(ctx, u, claim{WorkspaceID: ws, AcsUserID: user.AcsUserID}); err != nil {
		// Status still gets the id (deferred patch), and the next reconcile signs it.
		logf.FromContext(ctx).Info("Could not record the new user's id in an annotation yet", "error", err.Error())
		u.Status.AcsUserID, u.Status.WorkspaceID = user.AcsUserID, ws
	}
	u.Status.AccessGroupIDs = req.AccessGroupIDs
	if len(user.PendingMutations) == 0 && len(user.Errors) == 0 &&
		len(Diff(want, Observed{User: user}, u.Status.AccessGroupIDs, r.now())) == 0 {
		// The create's response already shows the user as declared: that is the
		// confirmation, no second read and no second status write needed.
		o := r.createdMembership(ctx, conn, u, user)
		r.record(u, o)
		return r.report(ctx, u, o), nil
	}
	return r.reportCreated(ctx, u, user), nil
}

// createdMembership is what a confirmed create observed: the user, and the groups
// it was created in, named from the system's snapshot. Without the names the first
// resync would find status.accessGroups incomplete and write every new object's
// status once more. Any snapshot will do, however old (a renamed group is
// corrected at the next resync): only the first create of a system reads one, and
// the others never wait while it is refreshed. When none can be had, or the server
// has no group routes, the membership is left for the next observation.
func (r *AcsUserReconciler) createdMembership(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, user *seam.AcsUser) Observed {
	o := Observed{User: user}
	if r.Snapshots == nil || len(u.Status.AccessGroupIDs) == 0 {
		return o
	}
	key := snapshot.Key{Connection: conn.Key, System: string(u.Spec.AcsSystemID)}
	snap := r.Snapshots.Latest(key)
	if snap == nil {
		var err error
		if snap, err = r.Snapshots.Get(ctx, key, conn.Client, time.Time{}); err != nil {
			return o
		}
	}
	if snap.AccessGroups() == nil {
		return o
	}
	o.Groups = slices.Compact(slices.Sorted(slices.Values(u.Status.AccessGroupIDs)))
	o.GroupNames = groupNames(snap.AccessGroups())
	return o
}

// reportCreated records a user just created or adopted and comes back soon to confirm
// it with a fresh read (Seam applies writes asynchronously).
func (r *AcsUserReconciler) reportCreated(ctx context.Context, u *seamv1alpha1.AcsUser, user *seam.AcsUser) ctrl.Result {
	r.record(u, Observed{User: user})
	msg := "The ACS user was created; waiting to confirm it matches the spec"
	if len(user.PendingMutations) > 0 {
		msg = "Seam is creating the ACS user on the access control system"
	}
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonCreating, message: msg, synced: true})
	return ctrl.Result{RequeueAfter: time.Second}
}

// findCreated lists the system's users and keeps those the marked create could have
// made: created inside its window, with the same identity, claimed by no other
// AcsUser.
func (r *AcsUserReconciler) findCreated(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, marker createMarker) ([]*seam.AcsUser, error) {
	req := seam.ListUsersRequest{AcsSystemID: string(u.Spec.AcsSystemID), UserIdentityID: string(u.Spec.UserIdentityID)}
	from, to := marker.window(r.CreateTimeout)
	var found []*seam.AcsUser
	for user, err := range conn.Client.ListUsers(ctx, req) {
		if err != nil {
			return nil, err
		}
		if user.CreatedAt.Before(from) || user.CreatedAt.After(to) || !marker.matches(user) {
			continue
		}
		others, err := r.claimants(ctx, u, user.AcsUserID)
		if err != nil {
			return nil, err
		}
		if len(others) == 0 {
			found = append(found, user)
		}
	}
	return found, nil
}

func (r *AcsUserReconciler) adopt(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, user *seam.AcsUser) (ctrl.Result, error) {
	ws, err := conn.Workspace(ctx)
	if err != nil {
		return r.fail(ctx, u, err, "Checking the workspace of the connection")
	}
	if err := r.recordOwnership(ctx, u, claim{WorkspaceID: ws, AcsUserID: user.AcsUserID}); err != nil {
		return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
	}
	logf.FromContext(ctx).Info("Adopted the ACS user an earlier create made", "acsUserId", user.AcsUserID)
	r.Recorder.Eventf(u, nil, "Normal", "Adopted", "Create",
		"Adopted ACS user %s, made by an earlier create whose response was lost", user.AcsUserID)
	return r.reportCreated(ctx, u, user), nil
}

// stallAmbiguous stops when several users match a lost create. The message gives
// their number, never their ids: they may be other people's.
func (r *AcsUserReconciler) stallAmbiguous(ctx context.Context, u *seamv1alpha1.AcsUser, marker createMarker, n int) ctrl.Result {
	msg := fmt.Sprintf("An earlier create got no answer and %d remote users with this identity were created around %s, when it was sent; "+
		"nothing was created and none was adopted. A person must decide: in Seam, find the user this create made and delete it "+
		"if it is not wanted, then remove the %s annotation to create a new user",
		n, marker.At.UTC().Format(time.RFC3339), AnnotationCreatePending)
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonAmbiguousCreate, message: msg, stalled: true, settled: true})
	return r.resync()
}

// definitelyNotCreated is true when the server answered and said no: then the create
// marker can go, and the next attempt need not look for a user first. Any 5xx is an
// unknown outcome (the client says so), never a "no".
func definitelyNotCreated(err error) bool {
	if errors.Is(err, seam.ErrDeferred) {
		return true // not sent
	}
	var apiErr *seam.APIError
	if errors.Is(err, seam.ErrOutcomeUnknown) || !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.HTTPStatus {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusUnprocessableEntity, http.StatusTooManyRequests:
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
// revocation. The recreate annotation, naming the deleted user, asks for a new one;
// the new one goes through the same create protocol as a first create.
func (r *AcsUserReconciler) reportRemoteDeleted(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, want seamv1alpha1.AcsUserSpec) (ctrl.Result, error) {
	gone := u.Status.AcsUserID
	if neverCreates(u) {
		return r.reportAdoptedGone(ctx, u), nil
	}
	if u.Annotations[AnnotationRecreate] == gone {
		// Forget the deleted user in status first: if the reconcile stops after this,
		// the claim annotation still names it and the next one comes back here. The
		// create then replaces the claim with a create marker in one update.
		base := u.DeepCopy()
		u.Status.AcsUserID, u.Status.WorkspaceID, u.Status.IsSuspended = "", "", nil
		u.Status.AccessGroupIDs, u.Status.PendingMutations, u.Status.CreatedAt = nil, nil, nil
		if err := r.Status().Patch(ctx, u, client.MergeFrom(base)); err != nil {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
		logf.FromContext(ctx).Info("Re-creating the ACS user deleted outside Kubernetes, as the recreate annotation asks", "deletedAcsUserId", gone)
		return r.create(ctx, conn, u, want)
	}
	u.Status.PendingMutations = nil
	msg := fmt.Sprintf("ACS user %s was deleted outside Kubernetes (in Seam or on the access control system) and is not re-created on its own. "+
		"To create a new one, annotate: kubectl annotate acsuser %s %s=%s --overwrite", gone, u.Name, AnnotationRecreate, gone)
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonRemoteDeleted, message: msg, synced: true, stalled: true, settled: true})
	return r.resync(), nil
}

// neverCreates: an object that adopts a user (spec.acsUserId) or only observes one
// must never make a new one.
func neverCreates(u *seamv1alpha1.AcsUser) bool {
	return u.Spec.AcsUserID != "" || observeOnly(u)
}

// reportAdoptedGone stops an adopting or observing object whose user Seam no longer
// has: it is not re-created, whatever the recreate annotation says.
func (r *AcsUserReconciler) reportAdoptedGone(ctx context.Context, u *seamv1alpha1.AcsUser) ctrl.Result {
	u.Status.PendingMutations = nil
	msg := fmt.Sprintf("ACS user %s, which this object adopted or observes, was deleted outside Kubernetes; an AcsUser with spec.acsUserId "+
		"or managementPolicy ObserveOnly never creates a user. Delete this AcsUser (nothing is deleted in Seam), and create one without "+
		"acsUserId, with managementPolicy Manage, to give the person a new user", u.Status.AcsUserID)
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonRemoteDeleted, message: msg, synced: true, stalled: true, settled: true})
	return r.resync()
}

// liveOwnsUser reads the object from the apiserver, not the cache, and reports
// whether it already owns a remote user.
func (r *AcsUserReconciler) liveOwnsUser(ctx context.Context, u *seamv1alpha1.AcsUser) (bool, error) {
	live := &seamv1alpha1.AcsUser{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
		return false, err
	}
	return r.ownershipOf(live).state != ownsNothing, nil
}
