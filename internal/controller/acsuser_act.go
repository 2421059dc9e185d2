package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// act sends the writes the diff decided, one Event each, and comes back shortly to
// confirm them with a fresh read. Every revocation is tried even if another fails
// (one refused removal must not hold back a suspension); grants stop at the first
// failure. A write the spec did not ask for since the last settled reconcile is
// drift being corrected, and says so.
func (r *AcsUserReconciler) act(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, actions []Action) (ctrl.Result, error) {
	drift := u.Status.ObservedGeneration == u.Generation
	done, failed, firstErr := r.sendAll(ctx, conn, u, actions)
	if drift && len(done) > 0 {
		r.Recorder.Eventf(u, nil, "Normal", "DriftCorrected", "Reconcile",
			"The ACS user had drifted from the spec in Seam; corrected: %s", strings.Join(done, ", "))
	}
	if firstErr != nil {
		return r.fail(ctx, u, firstErr, fmt.Sprintf("%s on Seam", failed.Kind))
	}
	return r.awaitConfirmation(ctx, u, done), nil
}

// awaitConfirmation reports writes sent and not yet read back, and comes back in a
// second to read them: below every revocation still queued (the queue would
// otherwise keep the rank this revocation had, above the later ones of its own
// namespace), above creates and grants.
func (r *AcsUserReconciler) awaitConfirmation(ctx context.Context, u *seamv1alpha1.AcsUser, sent []string) ctrl.Result {
	msg := "Sent to Seam, waiting to confirm: " + strings.Join(sent, ", ")
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonProgressing, message: msg, synced: true})
	return ctrl.Result{RequeueAfter: time.Second, Priority: ptr.To(priorityConfirm)}
}

// sendAll sends the actions in order: every revocation is tried even if another
// fails; grants stop at the first failure, and are recorded in status before the
// first is sent (recordGrantsAhead). It returns what was sent, and the first
// failure.
func (r *AcsUserReconciler) sendAll(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, actions []Action) (done []string, failed Action, firstErr error) {
	var ahead []string
	recorded := false
	granted := map[string]error{}
	for _, a := range actions {
		if a.Kind == ActionAddToGroup && !recorded {
			recorded = true
			var err error
			if ahead, err = r.recordGrantsAhead(ctx, u, actions); err != nil {
				if firstErr == nil {
					firstErr, failed = err, a
				}
				break
			}
		}
		err := r.send(ctx, conn, u, a)
		if a.Kind == ActionAddToGroup {
			granted[a.Group] = err
		}
		if err != nil {
			if firstErr == nil {
				firstErr, failed = err, a
			}
			if a.Kind.Revokes() {
				continue
			}
			break
		}
		if a.Kind.Revokes() {
			r.revoked.Store(u.UID, u.Generation)
		}
		done = append(done, describe(a))
	}
	if drop := groupsNotGranted(ahead, granted); len(drop) > 0 {
		u.Status.AccessGroupIDs = sortedDifference(u.Status.AccessGroupIDs, drop)
	}
	r.rememberRevokeConfirm(u, actions, firstErr == nil)
	return done, failed, firstErr
}

// groupsNotGranted are the groups written into status ahead of their grants
// that Seam surely did not grant: never sent (an earlier grant failed, or the
// connection deferred it), or refused outright (a 4xx answer). A grant whose outcome is unknown stays
// recorded: a later removal must still be sent. Servers that cannot report
// membership trust the record, so one left there would never be granted. Pure.
func groupsNotGranted(ahead []string, granted map[string]error) []string {
	var out []string
	for _, g := range ahead {
		err, sent := granted[g]
		var refusal *seam.APIError
		if !sent || errors.Is(err, seam.ErrDeferred) ||
			err != nil && errors.As(err, &refusal) && refusal.HTTPStatus >= 400 && refusal.HTTPStatus < 500 {
			out = append(out, g)
		}
	}
	return out
}

// recordGrantsAhead writes the groups about to be granted into status before Seam
// is asked for any, as a create is marked before it is sent. Removals are decided
// from status before anything is read (knownRevocations) and confirmed by one read
// of the user (confirmByUserRead), so status must hold every group the operator may
// have put the user in: a grant whose status write was lost afterwards (the manager
// stopped, the apiserver refused) would keep opening doors until the next resync.
// It returns the groups it added (groupsNotGranted takes back those Seam surely
// did not grant).
func (r *AcsUserReconciler) recordGrantsAhead(ctx context.Context, u *seamv1alpha1.AcsUser, actions []Action) ([]string, error) {
	base := u.DeepCopy()
	var ahead []string
	for _, a := range actions {
		if a.Kind == ActionAddToGroup && !slices.Contains(u.Status.AccessGroupIDs, a.Group) {
			u.Status.AccessGroupIDs = append(u.Status.AccessGroupIDs, a.Group)
			ahead = append(ahead, a.Group)
		}
	}
	if len(ahead) == 0 {
		return nil, nil
	}
	slices.Sort(u.Status.AccessGroupIDs)
	if err := r.Status().Patch(ctx, u, client.MergeFrom(base)); err != nil {
		u.Status.AccessGroupIDs = base.Status.AccessGroupIDs
		return nil, fmt.Errorf("recording the groups to grant in status: %w", err)
	}
	return ahead, nil
}

// revokeConfirm is what the next reconcile of a generation may take as known when
// it confirms revocations: the membership they left, so that one read of the user
// confirms them.
type revokeConfirm struct {
	generation int64
	groups     []string
	names      map[string]string
}

// rememberRevokeConfirm records the membership the writes just sent left, when
// confirmByUserRead allows a confirmation by one read of the user and this process
// knows that membership exactly (memberships); otherwise it forgets any earlier
// record, and the next reconcile reads user and membership.
func (r *AcsUserReconciler) rememberRevokeConfirm(u *seamv1alpha1.AcsUser, sent []Action, allSent bool) {
	groups, known := r.memberships.of(u.UID, u.Status.AcsUserID)
	if !allSent || !known || !confirmByUserRead(sent) {
		r.revokeConfirms.Delete(u.UID)
		return
	}
	c := revokeConfirm{generation: u.Generation, groups: groups, names: map[string]string{}}
	for _, g := range u.Status.AccessGroups {
		c.names[g.ID] = g.Name
	}
	r.revokeConfirms.Store(u.UID, c)
}

// confirmByUserRead reports whether the writes sent can be confirmed by one read
// of the user, its membership taken as the writes left it: when every one took
// access away. The user's read shows a suspension or a schedule applied, and a
// membership change still pending; the membership is the one this process read
// and changed itself (memberships), never status, which may list a group removed
// since. A group it never saw (a console change) is drift like any other: the
// next shared read of the system (the snapshot) finds it. A grant is confirmed by
// reading the membership. Pure.
func confirmByUserRead(sent []Action) bool {
	if len(sent) == 0 {
		return false
	}
	for _, a := range sent {
		if !a.Kind.Revokes() {
			return false
		}
	}
	return true
}

// knownRevocations are the revocations decided from what is already known, the
// spec and the last observation, before reading Seam: a suspension of a user last
// seen unsuspended, a removal from a group it was last seen in, unless the last
// observation shows such a change already in flight. They are idempotent, so a
// revocation costs one write before any read; the diff after the read stays the
// judge of everything else. Pure: the clock is an argument.
func knownRevocations(spec seamv1alpha1.AcsUserSpec, st seamv1alpha1.AcsUserStatus, now time.Time) []Action {
	if st.AcsUserID == "" || slices.Contains(st.PendingMutations, "deleting") {
		return nil
	}
	var out []Action
	if effectivelySuspended(spec, now) && st.IsSuspended != nil && !*st.IsSuspended &&
		!slices.Contains(st.PendingMutations, "updating_suspension_state") {
		out = append(out, Action{Kind: ActionSuspend})
	}
	if slices.Contains(st.PendingMutations, "updating_group_membership") ||
		slices.Contains(st.PendingMutations, "deferring_group_membership_update") {
		return out
	}
	for _, g := range sortedDifference(st.AccessGroupIDs, desiredGroups(spec, st.AccessGroupIDs)) {
		out = append(out, Action{Kind: ActionRemoveFromGroup, Group: g})
	}
	return out
}

// send performs one write and records it in status where Seam cannot be asked later
// (group membership on servers without the access-group routes).
func (r *AcsUserReconciler) send(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, a Action) error {
	c, id := conn.Client, u.Status.AcsUserID
	var err error
	var reason, note string
	switch a.Kind {
	case ActionSuspend:
		err, reason, note = c.SuspendUser(ctx, id), "Suspended", "Suspended the ACS user: its credentials no longer grant access"
	case ActionUnsuspend:
		err, reason, note = c.UnsuspendUser(ctx, id), "Unsuspended", "Unsuspended the ACS user"
	case ActionUpdate, ActionNarrowSchedule:
		err, reason, note = c.UpdateUser(ctx, *a.Update), "Updated", "Updated "+strings.Join(a.Fields, ", ")
	case ActionAddToGroup:
		err, reason, note = c.AddUserToAccessGroup(ctx, id, a.Group), "AddedToGroup", "Added to access group "+a.Group
		if err == nil && !slices.Contains(u.Status.AccessGroupIDs, a.Group) {
			u.Status.AccessGroupIDs = append(u.Status.AccessGroupIDs, a.Group)
			slices.Sort(u.Status.AccessGroupIDs)
		}
	case ActionRemoveFromGroup:
		err, reason, note = c.RemoveUserFromAccessGroup(ctx, id, a.Group), "RemovedFromGroup", "Removed from access group "+a.Group
		if err == nil {
			u.Status.AccessGroupIDs = slices.DeleteFunc(u.Status.AccessGroupIDs, func(g string) bool { return g == a.Group })
		}
	}
	r.memberships.sent(u.UID, a, err)
	if err != nil {
		return err
	}
	logf.FromContext(ctx).Info("Sent a write to Seam", "action", a.Kind, "acsUserId", id, "group", a.Group, "fields", a.Fields)
	r.Recorder.Eventf(u, nil, "Normal", reason, string(a.Kind), "%s", note)
	return nil
}

func describe(a Action) string {
	switch a.Kind {
	case ActionUpdate, ActionNarrowSchedule:
		return "update " + strings.Join(a.Fields, ", ")
	case ActionAddToGroup:
		return "add to group " + a.Group
	case ActionRemoveFromGroup:
		return "remove from group " + a.Group
	}
	return strings.ToLower(string(a.Kind))
}
