package controller

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/signing"
)

// ownState is what an AcsUser can prove about the remote user it manages.
type ownState int

const (
	// ownsNothing: no claim; a create may be in flight (see the create marker).
	ownsNothing ownState = iota
	// ownsUser: a claim signed by this operator, or (objects from before signed
	// claims) an id in status, which only the operator writes.
	ownsUser
	// ownsUnverified: a claim annotation this operator did not sign.
	ownsUnverified
)

type ownership struct {
	state ownState
	// claim is the user claimed; for ownsUnverified, what the unsigned annotation names.
	claim claim
	// signed: the claim is this operator's signature for this object. An unsigned
	// claim (status of an object from before signed claims) yields to a signed one.
	signed bool
}

// ownershipOf reads the claim, before anything else: the signed annotation survives
// what status does not (a restore without status), and wins over status.
func (r *AcsUserReconciler) ownershipOf(u *seamv1alpha1.AcsUser) ownership {
	c, present, ok := claimOf(r.Signer, u)
	switch {
	case present && !ok:
		return ownership{state: ownsUnverified, claim: c}
	case present:
		return ownership{state: ownsUser, claim: c, signed: true}
	case u.Status.AcsUserID != "":
		return ownership{state: ownsUser, claim: claim{WorkspaceID: u.Status.WorkspaceID, AcsUserID: u.Status.AcsUserID}}
	}
	return ownership{state: ownsNothing}
}

// Reasons an AcsUser may not act on the user it claims.
const (
	ReasonClaimedByAnother       = "ClaimedByAnother"
	ReasonUnverifiedCreateMarker = "UnverifiedCreateMarker"
	ReasonUnverifiedOwnership    = "UnverifiedOwnership"
)

// ownershipProblem checks, before any read or write of the claimed user, that the
// connection reaches the workspace the user lives in and that no older AcsUser
// claims the same user. It returns the reason and message of a problem ("" when
// there is none), or an error when it could not tell.
func (r *AcsUserReconciler) ownershipProblem(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, own ownership) (reason, message, workspace string, err error) {
	c := own.claim
	ws, err := conn.Workspace(ctx)
	if err != nil {
		return "", "", "", err
	}
	if c.WorkspaceID != "" && c.WorkspaceID != ws {
		return ReasonWorkspaceMismatch, fmt.Sprintf("ACS user %s lives in Seam workspace %s, but the connection's key opens workspace %s: "+
			"no request is sent about this user until the connection reaches workspace %s again (endpoint and key). "+
			"To let go of the user without deleting it, set spec.deletionPolicy: Orphan", c.AcsUserID, c.WorkspaceID, ws, c.WorkspaceID), ws, nil
	}
	reason, message, err = r.contested(ctx, u, own)
	return reason, message, ws, err
}

// contested reports ClaimedByAnother when another AcsUser's claim on the same remote
// user wins over this one's: a signed claim over an unsigned one (a copied annotation
// or status, a restore into a second namespace), else the older object.
func (r *AcsUserReconciler) contested(ctx context.Context, u *seamv1alpha1.AcsUser, own ownership) (reason, message string, err error) {
	if own.claim.AcsUserID == "" {
		return "", "", nil
	}
	others, err := r.claimants(ctx, u, own.claim.AcsUserID)
	if err != nil {
		return "", "", err
	}
	for i := range others {
		other := &others[i]
		oc, _, otherSigned := claimOf(r.Signer, other)
		otherSigned = otherSigned && oc.AcsUserID == own.claim.AcsUserID
		wins := otherSigned && !own.signed
		if otherSigned == own.signed {
			wins = claimedFirst(other, u)
		}
		if !wins {
			continue
		}
		// The other object's name is not in the message: it may be in a namespace
		// this object's readers must not learn about. The log has it.
		logf.FromContext(ctx).Info("Another AcsUser already manages the ACS user this one claims",
			"acsUserId", own.claim.AcsUserID, "owner", client.ObjectKeyFromObject(other).String())
		return ReasonClaimedByAnother, fmt.Sprintf("Another AcsUser already manages ACS user %s: this one never writes to it "+
			"nor deletes it. Delete this AcsUser (the remote user is left alone), or remove its %s annotation and status to create a new user",
			own.claim.AcsUserID, AnnotationAcsUser), nil
	}
	return "", "", nil
}

// checkOwnership runs ownershipProblem for a live object and, when all is well,
// records the claim where it survives (the signed annotation, the finalizer) and
// in status. done is true when the reconcile must stop here.
func (r *AcsUserReconciler) checkOwnership(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, own ownership) (ctrl.Result, bool, error) {
	reason, msg, ws, err := r.ownershipProblem(ctx, conn, u, own)
	if err != nil {
		res, err := r.fail(ctx, u, err, "Checking the workspace of the connection")
		return res, true, err
	}
	if reason != "" {
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: reason, message: msg, synced: true, stalled: true, settled: true})
		return r.resync(), true, nil
	}
	if err := r.recordOwnership(ctx, u, claim{WorkspaceID: ws, AcsUserID: own.claim.AcsUserID}); err != nil {
		// A conflict means the cached copy was stale: come back with the current one.
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			err = nil
		}
		return ctrl.Result{RequeueAfter: conflictRetry}, true, err
	}
	return ctrl.Result{}, false, nil
}

// recordOwnership writes the signed claim and the finalizer (and drops the create
// marker it answers) in one patch, then sets status to match. A user this object
// manages must not outlive it unnoticed, whatever removed the finalizer.
func (r *AcsUserReconciler) recordOwnership(ctx context.Context, u *seamv1alpha1.AcsUser, c claim) error {
	want := c.encode(r.Signer, u)
	_, hasMarker := u.Annotations[AnnotationCreatePending]
	if u.Annotations[AnnotationAcsUser] != want || hasMarker || !controllerutil.ContainsFinalizer(u, Finalizer) {
		status := u.Status.DeepCopy() // Patch refreshes the object, status included
		// Optimistic lock: the finalizer list is replaced whole by a merge patch.
		patch := client.MergeFromWithOptions(u.DeepCopy(), client.MergeFromWithOptimisticLock{})
		if u.Annotations == nil {
			u.Annotations = map[string]string{}
		}
		u.Annotations[AnnotationAcsUser] = want
		delete(u.Annotations, AnnotationCreatePending)
		controllerutil.AddFinalizer(u, Finalizer)
		if err := r.Patch(ctx, u, patch); err != nil {
			return err
		}
		u.Status = *status
	}
	u.Status.AcsUserID, u.Status.WorkspaceID = c.AcsUserID, c.WorkspaceID
	return nil
}

// claimants lists the other AcsUsers that claim a remote user of u's system. The
// items share the informer cache's memory: callers read them and never write to
// them. Every reconcile of a user asks this, and the list nearly always holds u
// alone: a deep copy of it per resync of every object was garbage for nothing.
func (r *AcsUserReconciler) claimants(ctx context.Context, u *seamv1alpha1.AcsUser, acsUserID string) ([]seamv1alpha1.AcsUser, error) {
	var list seamv1alpha1.AcsUserList
	if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy,
		client.MatchingFields{indexAcsUserID: indexKey(string(u.Spec.AcsSystemID), acsUserID)}); err != nil {
		return nil, err
	}
	var out []seamv1alpha1.AcsUser
	for _, o := range list.Items {
		if o.UID != u.UID {
			out = append(out, o)
		}
	}
	return out, nil
}

// claimedFirst orders two claimants: the older object wins, then the smaller
// namespace/name, so both objects agree on which one yields.
func claimedFirst(a, b *seamv1alpha1.AcsUser) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return client.ObjectKeyFromObject(a).String() < client.ObjectKeyFromObject(b).String()
}

// claimedIDs are the index keys ("system/id") of the remote users an object claims:
// its signed annotation, its status, and the user its spec.acsUserId adopts (so two
// objects naming one user agree on which adopts it, and a lost create never takes
// a user someone asked to adopt). An unsigned annotation is not a claim: it must not
// hide a user from the adoption of a lost create.
func claimedIDs(key *signing.Key, u *seamv1alpha1.AcsUser) []string {
	var ids []string
	add := func(id string) {
		if k := indexKey(string(u.Spec.AcsSystemID), id); id != "" && !slices.Contains(ids, k) {
			ids = append(ids, k)
		}
	}
	if c, _, ok := claimOf(key, u); ok {
		add(c.AcsUserID)
	}
	add(u.Status.AcsUserID)
	add(string(u.Spec.AcsUserID))
	return ids
}

// stallUnverifiedClaim stops on an unsigned claim annotation: ClaimedByAnother when
// it names a user another AcsUser manages, UnverifiedOwnership otherwise.
func (r *AcsUserReconciler) stallUnverifiedClaim(ctx context.Context, u *seamv1alpha1.AcsUser, own ownership) (ctrl.Result, error) {
	reason, msg, err := r.contested(ctx, u, own)
	if err != nil {
		return r.fail(ctx, u, err, "Checking which AcsUser manages the ACS user")
	}
	if reason == "" {
		reason, msg = ReasonUnverifiedOwnership, unverifiedClaimMessage
	}
	return r.stallUnverified(ctx, u, reason, msg), nil
}

// stallUnverified stops on a record the operator did not sign: nothing is read,
// written, adopted or created until a person decides.
func (r *AcsUserReconciler) stallUnverified(ctx context.Context, u *seamv1alpha1.AcsUser, reason, msg string) ctrl.Result {
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: reason, message: msg, synced: true, stalled: true, settled: true})
	return r.resync()
}

var (
	unverifiedMarkerMessage = "The " + AnnotationCreatePending + " annotation was not written by this operator for this object " +
		"(written or copied by hand, or signed with a key the operator no longer has): nothing was adopted or created. " +
		"If an earlier create of this object may have made a user, find it in Seam first; then remove the annotation to create a new user"
	unverifiedClaimMessage = "The " + AnnotationAcsUser + " annotation was not written by this operator: no request is sent about the user it names. " +
		"Remove the annotation (the operator then uses status.acsUserId, or creates a new user)"
)
