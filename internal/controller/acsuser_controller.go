package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/signing"
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

// EventRecorder is the events.k8s.io recorder the manager provides.
type EventRecorder interface {
	Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// AcsUserReconciler keeps one remote ACS user per AcsUser: observe, diff, act, report.
type AcsUserReconciler struct {
	client.Client
	// APIReader reads from the apiserver, bypassing the cache, where a stale read
	// could lead to a second create.
	APIReader   client.Reader
	Recorder    EventRecorder
	Connections *connection.Resolver
	// Snapshots are the shared per-system pictures resyncs are checked against.
	Snapshots *snapshot.Cache
	// Events wakes users Seam reports changed; nil without events.
	Events *EventRouter

	// ResyncPeriod is how often a Ready user is read again to find drift (jittered ±10%).
	ResyncPeriod time.Duration
	// CreateGrace is how long after a create with a lost response the operator keeps
	// looking for the user it may have made before it creates again (at least
	// CreateTimeout).
	CreateGrace time.Duration
	// CreateTimeout is the deadline of one create call, retries included: a create
	// can only have made a user before the marker's time plus this.
	CreateTimeout time.Duration
	// SeamBudget bounds all the Seam calls of one reconcile, so a server that does
	// not answer still leaves time to write status.
	SeamBudget time.Duration
	// Signer signs and verifies the operator's annotations.
	Signer *signing.Key
	// Now is the clock; tests may replace it.
	Now func() time.Time

	// ranks orders work between namespaces (queueRanks): what the watches
	// queue, a deferred call queued again, and a resync when resyncs hands it
	// over, due.
	ranks   *queueRanks
	resyncs *resyncTimer

	// revoked is, per object UID, the generation a revocation was last sent for: a
	// cached status older than that write must not make knownRevocations send it
	// again.
	revoked sync.Map
	// revokeConfirms is, per object UID, the membership the last revocations
	// left (a revokeConfirm): the next reconcile of that generation confirms them
	// with one read of the user.
	revokeConfirms sync.Map
	// memberships is the group membership this process knows exactly, per object.
	memberships memberships
}

// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=acsusers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=acsusers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=acsusers/finalizers,verbs=update
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=seamconnections;clusterseamconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile reads the AcsUser, hands it to reconcileNormal or reconcileDelete, and
// writes status once at the end whatever happened.
func (r *AcsUserReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	u := &seamv1alpha1.AcsUser{}
	if err := r.Get(ctx, req.NamespacedName, u); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := u.Status.DeepCopy()
	// The status patch uses ctx; the Seam calls share a shorter budget, so a server
	// that does not answer cannot keep the outcome from being written.
	defer func() {
		if res, ok := r.deferred(err, u); ok {
			result, err = res, nil // a Seam call deferred on a path that did not report it
		}
		result, err = r.patchStatus(ctx, u, before, result, err)
		result = r.resyncs.take(result, err, req)
	}()
	seamCtx, cancel := context.WithTimeout(ctx, r.SeamBudget)
	defer cancel()
	seamCtx = seam.WithWaitBudget(seamCtx, workerWait)
	if revocationPending(u, r.now()) {
		// This reconcile takes access away: its calls, the reads on the way
		// included, get the connection's next tokens before any create or grant.
		seamCtx = seam.WithPriority(seamCtx, seam.PriorityRevoke)
	}

	if !u.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(seamCtx, u)
	}
	return r.reconcileNormal(seamCtx, u)
}

// reconcileNormal makes the remote user exist and match the spec, or under
// ObserveOnly only reads and reports it. Ownership comes first: which remote user
// this object owns (its signed annotation, then status), and that the connection
// reaches the workspace that user lives in. No write is sent to a user the object
// cannot prove it owns.
func (r *AcsUserReconciler) reconcileNormal(ctx context.Context, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	conn, err := r.Connections.ForAcsUser(ctx, u)
	if err != nil {
		return r.fail(ctx, u, err, "Resolving the connection")
	}
	if err := r.markConnectionInUse(ctx, u); err != nil {
		return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
	}
	own := r.ownershipOf(u)
	switch {
	case own.state == ownsUnverified:
		return r.stallUnverifiedClaim(ctx, u, own)
	case own.state == ownsNothing && u.Spec.AcsUserID != "":
		return r.adoptByID(ctx, conn, u)
	case own.state == ownsNothing && observeOnly(u):
		return r.reportNothingToObserve(ctx, u), nil
	}
	want, nameProblems, err := r.desiredSpec(ctx, conn, u)
	if err != nil {
		return r.failRead(ctx, u, err, "Listing the access groups of the system to resolve spec.accessGroupNames")
	}
	if own.state == ownsNothing {
		return r.ensureCreated(ctx, conn, u, want)
	}
	if res, done, err := r.checkOwnership(ctx, conn, u, own); done {
		return res, err
	}
	if !observeOnly(u) {
		r.announceManagement(u)
		sent, err := r.revokeKnown(ctx, conn, u, want)
		if err != nil {
			return r.fail(ctx, u, err, "Taking access away on Seam")
		}
		if len(sent) > 0 {
			// The worker goes on to the next revocation at once; the confirmation
			// is one read a moment later.
			return r.awaitConfirmation(ctx, u, sent), nil
		}
	}
	readCtx := ctx
	if r.revokedThisGeneration(u) {
		// Confirming must not take a token from the next revocation: these reads
		// wait their turn with every other call (a write the diff decides next
		// keeps this reconcile's priority).
		readCtx = seam.WithPriority(ctx, seam.PriorityDefault)
	}
	observed, gone, err := r.observe(readCtx, conn, u, want)
	switch {
	case err != nil:
		return r.failRead(ctx, u, err, "Reading the ACS user from Seam")
	case gone:
		return r.reportRemoteDeleted(ctx, conn, u, want)
	}
	r.record(u, observed)
	if observeOnly(u) {
		return r.reportObserved(ctx, u, want, observed, nameProblems), nil
	}
	if observed.Groups == nil {
		// The server cannot report membership: the diff trusts what status recorded,
		// so it must not be a cached copy older than the last write.
		if err := r.refreshRecordedGroups(ctx, u); err != nil {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
	}
	if actions := Diff(want, observed, u.Status.AccessGroupIDs, r.now()); len(actions) > 0 {
		return r.act(ctx, conn, u, actions)
	}
	if oc, bad := groupNamesOutcome(string(want.AcsSystemID), nameProblems); bad {
		r.conclude(ctx, u, oc)
		return r.resync(), nil
	}
	return r.report(ctx, u, observed), nil
}

// revokeKnown takes access away before anything is read from Seam: one write per
// revocation, decided from the spec (want: its group names resolved) and the last
// observation (knownRevocations). The
// membership it judges from is the apiserver's, not the cache's: a cached status may
// predate the last reconcile's grant. Once per generation, for the same reason. A
// 404 is left to the read that follows, which reports the deletion. sent describes
// the revocations sent, when every one was.
func (r *AcsUserReconciler) revokeKnown(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser, want seamv1alpha1.AcsUserSpec) (sent []string, err error) {
	if !revocationPending(u, r.now()) || r.revokedThisGeneration(u) {
		return nil, nil
	}
	if err := r.refreshRecordedGroups(ctx, u); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	early := knownRevocations(want, u.Status, r.now())
	if len(early) == 0 {
		return nil, nil
	}
	sent, failed, err := r.sendAll(ctx, conn, u, early)
	switch {
	case errors.Is(err, seam.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w", failed.Kind, err)
	}
	return sent, nil
}

// failRead is fail for reads, except that a snapshot another reconcile is reading
// is no failure: the object comes back in a moment rather than hold a worker.
func (r *AcsUserReconciler) failRead(ctx context.Context, u *seamv1alpha1.AcsUser, err error, what string) (ctrl.Result, error) {
	if errors.Is(err, snapshot.ErrRefreshing) {
		return ctrl.Result{RequeueAfter: snapshotRetry + time.Duration(rand.Int64N(int64(snapshotRetry))), Priority: ptr.To(priorityResync)}, nil
	}
	return r.fail(ctx, u, err, what)
}

// refreshRecordedGroups replaces the recorded membership with the apiserver's.
func (r *AcsUserReconciler) refreshRecordedGroups(ctx context.Context, u *seamv1alpha1.AcsUser) error {
	live := &seamv1alpha1.AcsUser{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
		return err
	}
	u.Status.AccessGroupIDs = live.Status.AccessGroupIDs
	u.Status.AccessGroups = live.Status.AccessGroups
	return nil
}

// revokedThisGeneration reports whether a revocation was already sent for this
// generation of the object (by either path): then only a fresh read decides more.
func (r *AcsUserReconciler) revokedThisGeneration(u *seamv1alpha1.AcsUser) bool {
	gen, ok := r.revoked.Load(u.UID)
	return ok && gen.(int64) == u.Generation
}

// revocationPending reports, from the spec and the last observation alone, whether
// the object asks for access to be taken away: deleted, suspended (or its schedule
// ended) while last seen unsuspended, or out of a group it was last seen in (by id,
// or by the name status recorded for it). ObserveOnly takes nothing away.
func revocationPending(u *seamv1alpha1.AcsUser, now time.Time) bool {
	if !u.DeletionTimestamp.IsZero() {
		return true
	}
	if observeOnly(u) {
		return false
	}
	if effectivelySuspended(u.Spec, now) && (u.Status.IsSuspended == nil || !*u.Status.IsSuspended) {
		return true
	}
	if leftAsIs(u.Spec, fieldAccessGroups) {
		return false
	}
	for _, g := range u.Status.AccessGroups {
		if !slices.Contains(u.Spec.AccessGroupIDs, seamv1alpha1.SeamID(g.ID)) && !slices.Contains(u.Spec.AccessGroupNames, g.Name) {
			return true
		}
	}
	for _, g := range u.Status.AccessGroupIDs {
		if !slices.Contains(u.Spec.AccessGroupIDs, seamv1alpha1.SeamID(g)) && len(u.Spec.AccessGroupNames) == 0 {
			return true
		}
	}
	return false
}

// patchStatus writes status if it changed, as a merge patch of status alone: no
// write when nothing changed, and no conflict with the metadata updates of this
// reconcile. A conflict or a vanished object requeues quietly.
func (r *AcsUserReconciler) patchStatus(ctx context.Context, u *seamv1alpha1.AcsUser, before *seamv1alpha1.AcsUserStatus, result ctrl.Result, err error) (ctrl.Result, error) {
	if equality.Semantic.DeepEqual(before, &u.Status) {
		return result, err
	}
	base := u.DeepCopy()
	base.Status = *before
	return patchStatusFrom(ctx, r.Client, u, base, result, err)
}

// patchStatusFrom merge-patches obj's status from base, the object with the status it
// had when the reconcile began. A conflict or a vanished object requeues quietly.
func patchStatusFrom(ctx context.Context, c client.Client, obj, base client.Object, result ctrl.Result, err error) (ctrl.Result, error) {
	if perr := c.Status().Patch(ctx, obj, client.MergeFrom(base)); perr != nil {
		switch {
		case apierrors.IsNotFound(perr):
		case apierrors.IsConflict(perr):
			return ctrl.Result{RequeueAfter: conflictRetry}, err
		case err == nil:
			return result, perr
		}
	}
	return result, err
}

// snapshotRetry is how soon a settled object whose system's snapshot was being read
// comes back (plus up to as much jitter).
const snapshotRetry = 500 * time.Millisecond

// conflictRetry is how soon a reconcile that lost a write race with another
// writer of the object comes back (with the object as it is now).
const conflictRetry = 500 * time.Millisecond

// resync is when a settled user is read again to find drift.
func (r *AcsUserReconciler) resync() ctrl.Result { return resyncAfter(r.ResyncPeriod) }

// resyncAfter is the next drift check of a settled object of either kind: the
// period, jittered ±10% so thousands of objects created together do not all come
// back together, at the resync priority (the resync timer holds it until due).
func resyncAfter(period time.Duration) ctrl.Result {
	jitter := time.Duration(float64(period) * (rand.Float64()*0.2 - 0.1))
	return ctrl.Result{RequeueAfter: period + jitter, Priority: ptr.To(priorityResync)}
}

func (r *AcsUserReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
