package controller

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// Reasons the Ready condition gives when spec.acsUserId cannot be adopted.
const (
	ReasonAdoptNotFound    = "AdoptNotFound"
	ReasonAdoptWrongSystem = "AdoptWrongSystem"
)

// adoptionProblem decides whether the remote user read for spec.acsUserId may be
// adopted: it must exist in the workspace the connection's key opens and in the
// spec's system. Who else claims it is checked separately. It returns the reason and
// message of a refusal, "" when the user may be adopted. Pure.
func adoptionProblem(spec seamv1alpha1.AcsUserSpec, user *seam.AcsUser, workspace string) (reason, message string) {
	id := string(spec.AcsUserID)
	switch {
	case user == nil || (user.WorkspaceID != "" && user.WorkspaceID != workspace):
		// One message for both: a user of another workspace must not be told apart
		// from one that does not exist.
		return ReasonAdoptNotFound, fmt.Sprintf("spec.acsUserId: no ACS user %s in Seam workspace %s (the workspace of the connection's key): "+
			"nothing was adopted, created or written. Check the id, and that the connection reaches the workspace the user lives in", id, workspace)
	case user.AcsSystemID != string(spec.AcsSystemID):
		return ReasonAdoptWrongSystem, fmt.Sprintf("spec.acsUserId: ACS user %s is not in system %s (spec.acsSystemId): nothing was adopted or written. "+
			"Create an AcsUser with the system the user lives in", id, spec.AcsSystemID)
	}
	return "", ""
}

// adoptByID takes over the existing remote user spec.acsUserId names. Before any
// read of it, a ClusterSeamConnection must allow this namespace to adopt; before any
// write it checks that the user exists in the connection's workspace and in the
// spec's system, and that no other AcsUser claims it; then it records the claim
// exactly as after a create (the signed annotation and the finalizer). It never
// creates a user and sends no write in this reconcile: the next one diffs as usual.
func (r *AcsUserReconciler) adoptByID(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	if err := r.Connections.CheckAdoptionAllowed(ctx, u); err != nil {
		return r.fail(ctx, u, err, "Checking that the connection allows adoption")
	}
	ws, err := conn.Workspace(ctx)
	if err != nil {
		return r.fail(ctx, u, err, "Checking the workspace of the connection")
	}
	id := string(u.Spec.AcsUserID)
	user, err := conn.Client.GetUser(ctx, id)
	if err != nil && !errors.Is(err, seam.ErrNotFound) {
		return r.fail(ctx, u, err, "Reading the ACS user to adopt from Seam")
	}
	reason, msg := adoptionProblem(u.Spec, user, ws)
	if reason == "" {
		// The spec's id is a claim like any other: an older object's (or a signed
		// one's) wins, so two objects naming one user never both write to it.
		if reason, msg, err = r.contested(ctx, u, ownership{claim: claim{WorkspaceID: ws, AcsUserID: id}}); err != nil {
			return r.fail(ctx, u, err, "Checking which AcsUser manages the ACS user")
		}
	}
	if reason != "" {
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: reason, message: msg, synced: true, stalled: true, settled: true})
		return r.resync(), nil
	}
	if err := r.recordOwnership(ctx, u, claim{WorkspaceID: ws, AcsUserID: id}); err != nil {
		return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
	}
	logf.FromContext(ctx).Info("Adopted an existing ACS user", "acsUserId", id, "managementPolicy", u.Spec.ManagementPolicy)
	r.Recorder.Eventf(u, nil, "Normal", "Adopted", "Adopt", "Adopted existing ACS user %s of system %s", id, user.AcsSystemID)
	r.record(u, Observed{User: user})
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonProgressing, synced: true,
		message: "Adopted the existing ACS user; comparing it with the spec"})
	return ctrl.Result{RequeueAfter: conflictRetry}, nil
}
