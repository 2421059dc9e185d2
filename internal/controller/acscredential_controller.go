package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/signing"
)

// Reasons of an AcsCredential's Ready condition (README, troubleshooting).
const (
	ReasonWaitingForUser   = "WaitingForUser"
	ReasonPINInUse         = "PINInUse"
	ReasonPINLength        = "PINLengthRefused"
	ReasonPINSecretMissing = "PINSecretMissing"
	ReasonWaitingToIssue   = "WaitingToBeIssued"
	ReasonReplacing        = "Replacing"
)

// CredentialFinalizer keeps an AcsCredential until its remote credential is deleted.
const CredentialFinalizer = "seam.acs-operator.io/credential"

// AcsCredentialReconciler keeps one remote credential per AcsCredential, created for
// the remote user of the AcsUser it names: observe, diff, act, report.
type AcsCredentialReconciler struct {
	client.Client
	// Events wakes credentials Seam reports changed; nil without events.
	Events *EventRouter
	// APIReader reads Secrets (PINs are never cached) and the object itself before
	// a lost create is looked for.
	APIReader   client.Reader
	Recorder    EventRecorder
	Connections *connection.Resolver
	Signer      *signing.Key

	ResyncPeriod  time.Duration
	CreateGrace   time.Duration
	CreateTimeout time.Duration
	SeamBudget    time.Duration
	Now           func() time.Time

	// ranks orders work between namespaces (queueRanks): what the watches
	// queue, a deferred call queued again, and a resync when resyncs hands it
	// over, due.
	ranks   *queueRanks
	resyncs *resyncTimer
}

// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=acscredentials,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=acscredentials/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=acscredentials/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=create;update

// credentialWork is what one reconcile of a live credential works with.
type credentialWork struct {
	cred *seamv1alpha1.AcsCredential
	user *seamv1alpha1.AcsUser
	conn *connection.Resolved
	// pin is the PIN the spec asks for (code credentials only). Never logged.
	pin seam.PIN
}

// Reconcile reads the AcsCredential and writes its status once at the end.
func (r *AcsCredentialReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	cred := &seamv1alpha1.AcsCredential{}
	if err := r.Get(ctx, req.NamespacedName, cred); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := cred.DeepCopy()
	defer func() {
		if res, ok := r.deferred(err, cred); ok {
			result, err = res, nil // a Seam call deferred on a path that did not report it
		}
		if !equality.Semantic.DeepEqual(base.Status, cred.Status) {
			fresh := cred.DeepCopy()
			fresh.Status = base.Status
			result, err = patchStatusFrom(ctx, r.Client, cred, fresh, result, err)
		}
		result = r.resyncs.take(result, err, req)
	}()
	seamCtx, cancel := context.WithTimeout(ctx, r.SeamBudget)
	defer cancel()
	seamCtx = seam.WithWaitBudget(seamCtx, workerWait)
	if !cred.DeletionTimestamp.IsZero() {
		// Deleting a credential takes access away: its calls go first through the
		// connection's rate limit.
		return r.reconcileDelete(seam.WithPriority(seamCtx, seam.PriorityRevoke), cred)
	}
	return r.reconcileNormal(seamCtx, cred)
}

func (r *AcsCredentialReconciler) reconcileNormal(ctx context.Context, cred *seamv1alpha1.AcsCredential) (ctrl.Result, error) {
	w, res, done, err := r.prepare(ctx, cred)
	if done {
		return res, err
	}
	own := credentialClaimOf(r.Signer, cred)
	switch own.state {
	case ownsNothing:
		return r.ensureCreated(ctx, w)
	case ownsUnverified:
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonUnverifiedOwnership, synced: true, stalled: true, settled: true,
			message: fmt.Sprintf("The %s annotation was not written by this operator for this object: nothing is sent about the credential it names. "+
				"Remove the annotation to create a new credential", AnnotationAcsCredential)})
		return r.resync(), nil
	}
	if reason, msg, err := r.workspaceProblem(ctx, w.conn, own.claim); err != nil || reason != "" {
		if err != nil {
			return r.fail(ctx, cred, err, "Checking the workspace of the connection")
		}
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: reason, message: msg, synced: true, stalled: true, settled: true})
		return r.resync(), nil
	}
	cred.Status.AcsCredentialID = own.claim.CredentialID
	observed, err := w.conn.Client.GetCredential(ctx, own.claim.CredentialID)
	switch {
	case errors.Is(err, seam.ErrNotFound):
		return r.reportRemoteDeleted(ctx, w, own.claim.CredentialID)
	case err != nil:
		return r.fail(ctx, cred, err, "Reading the credential from Seam")
	}
	r.record(w, observed)
	if err := r.countUnmanaged(ctx, w, observed.AcsUserID); err != nil {
		return r.fail(ctx, cred, err, "Listing the user's credentials in Seam")
	}
	switch d := diffCredential(cred, w.pin, observed, r.appliedHash(w)); d.action {
	case credentialReplace:
		return r.replace(ctx, w, observed.AcsCredentialID, d.why)
	case credentialUpdate:
		return r.update(ctx, w, observed, d)
	}
	return r.report(ctx, cred, observed), nil
}

// prepare finds the AcsUser and its remote user, the connection, and the PIN.
// done is true when the reconcile must stop with res, err.
func (r *AcsCredentialReconciler) prepare(ctx context.Context, cred *seamv1alpha1.AcsCredential) (w *credentialWork, res ctrl.Result, done bool, err error) {
	user := &seamv1alpha1.AcsUser{}
	err = r.Get(ctx, client.ObjectKey{Namespace: cred.Namespace, Name: cred.Spec.AcsUserRef.Name}, user)
	switch {
	case apierrors.IsNotFound(err):
		return nil, r.waitForUser(ctx, cred, fmt.Sprintf("AcsUser %q does not exist yet", cred.Spec.AcsUserRef.Name)), true, nil
	case err != nil:
		return nil, ctrl.Result{}, true, err
	case !user.DeletionTimestamp.IsZero() && credentialClaimOf(r.Signer, cred).state == ownsNothing:
		return nil, r.waitForUser(ctx, cred, fmt.Sprintf("AcsUser %q is being deleted", user.Name)), true, nil
	case user.Status.AcsUserID == "":
		return nil, r.waitForUser(ctx, cred, fmt.Sprintf("AcsUser %q has no ACS user in Seam yet", user.Name)), true, nil
	case observeOnly(user) && credentialClaimOf(r.Signer, cred).state == ownsNothing:
		// Observing a user grants nothing: no new access is created for someone the
		// operator only reads, whoever wrote the AcsUser.
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonWaitingForUser, synced: true,
			message: fmt.Sprintf("AcsUser %q only observes its ACS user (managementPolicy: ObserveOnly): the credential is created once it is set to Manage", user.Name)})
		return nil, ctrl.Result{RequeueAfter: r.ResyncPeriod}, true, nil
	}
	conn, err := r.Connections.ForAcsUser(ctx, user)
	if err != nil {
		res, err = r.fail(ctx, cred, err, "Resolving the connection of the AcsUser")
		return nil, res, true, err
	}
	w = &credentialWork{cred: cred, user: user, conn: conn}
	if cred.Spec.AccessMethod == seamv1alpha1.AccessMethodCode {
		if w.pin, err = r.desiredPIN(ctx, cred); err != nil {
			res, err = r.failPIN(ctx, cred, err)
			return nil, res, true, err
		}
	}
	return w, ctrl.Result{}, false, nil
}

// waitForUser reports a credential whose user has no remote user yet. The watch on
// AcsUsers brings it back when that changes.
func (r *AcsCredentialReconciler) waitForUser(ctx context.Context, cred *seamv1alpha1.AcsCredential, why string) ctrl.Result {
	r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonWaitingForUser, synced: true,
		message: why + "; the credential is created once its AcsUser has an ACS user in Seam"})
	return ctrl.Result{RequeueAfter: r.ResyncPeriod}
}

// workspaceProblem: no request about a credential goes through a connection whose
// key opens another workspace than the one it lives in.
func (r *AcsCredentialReconciler) workspaceProblem(ctx context.Context, conn *connection.Resolved, c credentialClaim) (reason, msg string, err error) {
	ws, err := conn.Workspace(ctx)
	if err != nil || c.WorkspaceID == ws {
		return "", "", err
	}
	return ReasonWorkspaceMismatch, fmt.Sprintf("Credential %s lives in Seam workspace %s, but the connection's key opens workspace %s: "+
		"no request is sent about it until the connection reaches workspace %s again", c.CredentialID, c.WorkspaceID, ws, c.WorkspaceID), nil
}

// record copies what Seam says of the credential into status: never the PIN.
func (r *AcsCredentialReconciler) record(w *credentialWork, c *seam.AcsCredential) {
	st := &w.cred.Status
	st.AcsCredentialID, st.AcsUserID, st.DisplayName = c.AcsCredentialID, c.AcsUserID, c.DisplayName
	issued := c.IsIssued
	st.IsIssued, st.IssuedAt = &issued, nil
	if c.IssuedAt != nil {
		st.IssuedAt = &metav1.Time{Time: *c.IssuedAt}
	}
	st.Synced = c.IsLatestDesiredStateSyncedWithProvider
}

// countUnmanaged counts the user's credentials no AcsCredential manages: the
// operator leaves them alone and says how many there are.
func (r *AcsCredentialReconciler) countUnmanaged(ctx context.Context, w *credentialWork, acsUserID string) error {
	managed, err := r.managedIDs(ctx, w)
	if err != nil {
		return err
	}
	n := int32(0)
	for c, err := range w.conn.Client.ListCredentials(ctx, seam.ListCredentialsRequest{AcsUserID: acsUserID}) {
		if err != nil {
			return err
		}
		if !managed[c.AcsCredentialID] {
			n++
		}
	}
	w.cred.Status.UnmanagedCredentials = n
	return nil
}

func (r *AcsCredentialReconciler) conclude(ctx context.Context, cred *seamv1alpha1.AcsCredential, o outcome) {
	concludeOn(ctx, r.Recorder, cred, &cred.Status.Conditions, &cred.Status.ObservedGeneration, o)
}

// fail reports an error with the one error policy.
func (r *AcsCredentialReconciler) fail(ctx context.Context, cred *seamv1alpha1.AcsCredential, err error, what string) (ctrl.Result, error) {
	if res, ok := r.deferred(err, cred); ok {
		return res, nil
	}
	o, result, err := errorPolicy(err, what, !cred.DeletionTimestamp.IsZero(), r.resync())
	r.conclude(ctx, cred, o)
	return result, err
}

func (r *AcsCredentialReconciler) resync() ctrl.Result {
	return resyncAfter(r.ResyncPeriod)
}

func (r *AcsCredentialReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
