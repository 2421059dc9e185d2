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

	// revoked is, per object UID, the generation a revocation was last sent for: a
	// cached status older than that write must not make knownRevocations send it
	// again.
	revoked sync.Map
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
	defer func() { result, err = r.patchStatus(ctx, u, before, result, err) }()
	seamCtx, cancel := context.WithTimeout(ctx, r.SeamBudget)
	defer cancel()
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

// reconcileNormal makes the remote user exist and match the spec. Ownership comes
// first: which remote user this object owns (its signed annotation, then status),
// and that the connection reaches the workspace that user lives in. No write is
// sent to a user the object cannot prove it owns.
func (r *AcsUserReconciler) reconcileNormal(ctx context.Context, u *seamv1alpha1.AcsUser) (ctrl.Result, error) {
	conn, err := r.Connections.ForAcsUser(ctx, u)
	if err != nil {
		return r.fail(ctx, u, err, "Resolving the connection")
	}
	if err := r.markConnectionInUse(ctx, u); err != nil {
		return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
	}
	own := r.ownershipOf(u)
	switch own.state {
	case ownsNothing:
		return r.ensureCreated(ctx, conn, u)
	case ownsUnverified:
		return r.stallUnverifiedClaim(ctx, u, own)
	}
	if res, done, err := r.checkOwnership(ctx, conn, u, own); done {
		return res, err
	}
	// Access is taken away before anything is read: one write, confirmed by the read
	// below. A 404 here is left to that read, which reports the deletion. Once per
	// generation: status may be a cached copy older than the last reconcile's, and
	// the read-and-diff below judges whatever is still missing.
	if early := knownRevocations(u.Spec, u.Status, r.now()); len(early) > 0 && !r.revokedThisGeneration(u) {
		if _, failed, err := r.sendAll(ctx, conn, u, early); err != nil && !errors.Is(err, seam.ErrNotFound) {
			return r.fail(ctx, u, err, fmt.Sprintf("%s on Seam", failed.Kind))
		}
	}
	observed, gone, err := r.observe(ctx, conn, u)
	switch {
	case errors.Is(err, snapshot.ErrRefreshing):
		// A settled object waits for the snapshot another reconcile is reading.
		return ctrl.Result{RequeueAfter: snapshotRetry + time.Duration(rand.Int64N(int64(snapshotRetry))), Priority: ptr.To(priorityResync)}, nil
	case err != nil:
		return r.fail(ctx, u, err, "Reading the ACS user from Seam")
	case gone:
		return r.reportRemoteDeleted(ctx, conn, u)
	}
	recordObservation(u, observed)
	if observed.Groups == nil {
		// The server cannot report membership: the diff trusts what status recorded,
		// so it must not be a cached copy older than the last write.
		if err := r.refreshRecordedGroups(ctx, u); err != nil {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
	}
	if actions := Diff(u.Spec, observed, u.Status.AccessGroupIDs, r.now()); len(actions) > 0 {
		return r.act(ctx, conn, u, actions)
	}
	return r.report(ctx, u, observed), nil
}

// refreshRecordedGroups replaces the recorded membership with the apiserver's.
func (r *AcsUserReconciler) refreshRecordedGroups(ctx context.Context, u *seamv1alpha1.AcsUser) error {
	live := &seamv1alpha1.AcsUser{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
		return err
	}
	u.Status.AccessGroupIDs = live.Status.AccessGroupIDs
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
// ended) while last seen unsuspended, or out of a group it was last seen in.
func revocationPending(u *seamv1alpha1.AcsUser, now time.Time) bool {
	if !u.DeletionTimestamp.IsZero() {
		return true
	}
	if effectivelySuspended(u.Spec, now) && (u.Status.IsSuspended == nil || !*u.Status.IsSuspended) {
		return true
	}
	for _, g := range u.Status.AccessGroupIDs {
		if !slices.Contains(u.Spec.AccessGroupIDs, seamv1alpha1.SeamID(g)) {
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

// resync is when a settled user is read again to find drift: the period, jittered
// so thousands of users created together do not all come back together.
func (r *AcsUserReconciler) resync() ctrl.Result {
	jitter := time.Duration(float64(r.ResyncPeriod) * (rand.Float64()*0.2 - 0.1))
	return ctrl.Result{RequeueAfter: r.ResyncPeriod + jitter, Priority: ptr.To(priorityResync)}
}

func (r *AcsUserReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
