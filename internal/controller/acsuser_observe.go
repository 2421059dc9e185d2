package controller

import (
	"context"
	"errors"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

// observe reads the remote user and its group membership (the membership taken as
// known when it confirms revocations: observeRevokeConfirm). gone is true when
// Seam says the user does not exist.
func (r *AcsUserReconciler) observe(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, want seamv1alpha1.AcsUserSpec) (Observed, bool, error) {
	if c, ok := r.revokeConfirm(u); ok {
		return r.observeRevokeConfirm(ctx, conn, u, c)
	}
	o, ok, err := r.observeFromSnapshot(ctx, conn, u, want)
	if err != nil {
		return Observed{}, false, err
	}
	if ok {
		return o, false, nil
	}
	user, err := conn.Client.GetUser(ctx, u.Status.AcsUserID)
	if errors.Is(err, seam.ErrNotFound) {
		return Observed{}, true, nil
	}
	if err != nil {
		return Observed{}, false, err
	}
	groups, names, err := observeGroups(ctx, conn.Client, user.AcsUserID)
	if err != nil {
		return Observed{}, false, err
	}
	return Observed{User: user, Groups: groups, GroupNames: names}, false, nil
}

// revokeConfirm returns the membership recorded for this generation's
// revocations, if any (rememberRevokeConfirm).
func (r *AcsUserReconciler) revokeConfirm(u *seamv1alpha1.AcsUser) (revokeConfirm, bool) {
	v, ok := r.revokeConfirms.Load(u.UID)
	if !ok {
		return revokeConfirm{}, false
	}
	c := v.(revokeConfirm)
	if c.generation != u.Generation {
		r.revokeConfirms.Delete(u.UID)
		return revokeConfirm{}, false
	}
	return c, true
}

// observeRevokeConfirm confirms revocations with one read of the user, the
// membership taken as they left it (confirmByUserRead says why that is safe). Once
// Seam has nothing pending the record is spent: later reconciles read as usual.
func (r *AcsUserReconciler) observeRevokeConfirm(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, c revokeConfirm) (Observed, bool, error) {
	user, err := conn.Client.GetUser(ctx, u.Status.AcsUserID)
	if errors.Is(err, seam.ErrNotFound) {
		r.revokeConfirms.Delete(u.UID)
		return Observed{}, true, nil
	}
	if err != nil {
		return Observed{}, false, err
	}
	if len(user.PendingMutations) == 0 {
		r.revokeConfirms.Delete(u.UID)
	}
	return Observed{User: user, Groups: append([]string{}, c.groups...), GroupNames: c.names}, false, nil
}

// observeGroups lists the groups the user is in. Servers without the access-group
// routes (the npm fake) answer a plain-text 404: the membership is then unknown (nil)
// and the diff falls back on what the operator recorded.
func observeGroups(ctx context.Context, c *seam.Client, acsUserID string) ([]string, map[string]string, error) {
	groups, err := c.ListAccessGroups(ctx, seam.ListAccessGroupsRequest{AcsUserID: acsUserID})
	if errors.Is(err, seam.ErrRouteNotSupported) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, g.AcsAccessGroupID)
	}
	slices.Sort(ids)
	return slices.Compact(ids), groupNames(groups), nil
}

// groupNames maps access-group ids to names, for status.accessGroups.
func groupNames(groups []seam.AccessGroup) map[string]string {
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.AcsAccessGroupID] = g.Name
	}
	return names
}

// record copies what was seen into status (recordObservation) and, when the
// membership was read, into what this process knows of it (memberships).
func (r *AcsUserReconciler) record(u *seamv1alpha1.AcsUser, o Observed) {
	recordObservation(u, o)
	if o.Groups != nil {
		r.memberships.seen(u.UID, o.User.AcsUserID, o.Groups)
	}
}

// recordObservation copies what was seen into status.
func recordObservation(u *seamv1alpha1.AcsUser, o Observed) {
	st := &u.Status
	st.AcsUserID = o.User.AcsUserID
	suspended := o.User.IsSuspended
	st.IsSuspended = &suspended
	st.PendingMutations = nil
	for _, m := range o.User.PendingMutations {
		st.PendingMutations = append(st.PendingMutations, m.MutationCode)
	}
	if o.Groups != nil {
		st.AccessGroupIDs = o.Groups
		st.AccessGroups = nil
		for _, g := range o.Groups {
			st.AccessGroups = append(st.AccessGroups, seamv1alpha1.AccessGroupRef{ID: g, Name: o.GroupNames[g]})
		}
		if len(o.Groups) == 0 {
			st.AccessGroupIDs = nil
		}
	}
	if !o.User.CreatedAt.IsZero() {
		// The apiserver keeps date-times to the second: store them so, or every
		// comparison with the stored status differs and each resync writes it again.
		t := metav1.NewTime(o.User.CreatedAt.Truncate(time.Second))
		st.CreatedAt = &t
	}
}

// observeFromSnapshot answers from the system's shared snapshot when it can conclude
// "nothing to do" for a settled object: a resync of N users then costs pages, not N
// reads. Anything else (a difference, a pending write, a user missing from the
// snapshot, a snapshot older than the object's last change) is read fresh, so the
// snapshot's age can never cause a wrong or repeated write.
//
// While another reconcile reads the snapshot it returns snapshot.ErrRefreshing: the
// object comes back in a moment rather than hold a worker or spend a read.
func (r *AcsUserReconciler) observeFromSnapshot(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, want seamv1alpha1.AcsUserSpec) (Observed, bool, error) {
	if r.Events != nil && r.Events.fresh.take(client.ObjectKeyFromObject(u)) {
		return Observed{}, false, nil // woken by an event the snapshot may predate
	}
	ready := meta.FindStatusCondition(u.Status.Conditions, ConditionReady)
	if r.Snapshots == nil || ready == nil || ready.Status != metav1.ConditionTrue || u.Status.ObservedGeneration != u.Generation {
		return Observed{}, false, nil
	}
	key := snapshot.Key{Connection: conn.Key, System: string(u.Spec.AcsSystemID)}
	// Conditions keep time to the second: one more second makes sure the snapshot
	// was read after the write this object last confirmed.
	snap, err := r.Snapshots.Get(ctx, key, conn.Client, ready.LastTransitionTime.Add(time.Second))
	if errors.Is(err, snapshot.ErrRefreshing) {
		return Observed{}, false, err
	}
	if err != nil {
		logf.FromContext(ctx).V(1).Info("Snapshot unavailable, reading the user", "error", err.Error())
		return Observed{}, false, nil
	}
	user := snap.User(u.Status.AcsUserID)
	if user == nil || len(user.PendingMutations) > 0 || len(user.Errors) > 0 {
		return Observed{}, false, nil
	}
	o := Observed{User: user, Groups: snap.Groups(user.AcsUserID), GroupNames: groupNames(snap.AccessGroups())}
	// An ObserveOnly object never writes: the snapshot is as good as a fresh read
	// for reporting its drift.
	if !observeOnly(u) && len(Diff(want, o, u.Status.AccessGroupIDs, r.now())) > 0 {
		return Observed{}, false, nil
	}
	return o, true, nil
}
