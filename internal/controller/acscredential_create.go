package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/signing"
)

// AnnotationAcsCredential records, signed, the remote credential an AcsCredential
// owns: its workspace and id, as AnnotationAcsUser does for users.
const AnnotationAcsCredential = "seam.acs-operator.io/acs-credential"

// credentialClaim is the content of AnnotationAcsCredential.
type credentialClaim struct {
	WorkspaceID  string
	CredentialID string
}

type credentialOwnership struct {
	state ownState
	claim credentialClaim
}

// The MAC binds the claim to the object's namespace, name and user (immutable).
func credentialClaimMACParts(cred *seamv1alpha1.AcsCredential, c credentialClaim) []string {
	return []string{"acs-credential", cred.Namespace, cred.Name, cred.Spec.AcsUserRef.Name, c.WorkspaceID, c.CredentialID}
}

func (c credentialClaim) encode(key *signing.Key, cred *seamv1alpha1.AcsCredential) string {
	return signing.Record(key.Sign(credentialClaimMACParts(cred, c)...), c.WorkspaceID, c.CredentialID)
}

// credentialClaimOf reads and verifies the object's claim.
func credentialClaimOf(key *signing.Key, cred *seamv1alpha1.AcsCredential) credentialOwnership {
	v, ok := cred.Annotations[AnnotationAcsCredential]
	if !ok {
		return credentialOwnership{state: ownsNothing}
	}
	parts, mac, ok := signing.Fields(v)
	if !ok || len(parts) != 2 {
		return credentialOwnership{state: ownsUnverified}
	}
	c := credentialClaim{WorkspaceID: parts[0], CredentialID: parts[1]}
	if c.WorkspaceID == "" || c.CredentialID == "" || !key.Verify(mac, credentialClaimMACParts(cred, c)...) {
		return credentialOwnership{state: ownsUnverified, claim: c}
	}
	return credentialOwnership{state: ownsUser, claim: c}
}

// credentialMarkerFields are what a credential's create marker hashes: the remote
// user and the access method (never the PIN: a hash of four digits is no secret).
func credentialMarkerFor(at time.Time, acsUserID string, method seamv1alpha1.AccessMethod) createMarker {
	fields := []string{"user", "method"}
	values := map[string]string{"user": acsUserID, "method": string(method)}
	return createMarker{At: at.UTC().Truncate(time.Second), Hash: identityHash(values, fields), Fields: fields}
}

// ensureCreated gives a credential that owns nothing remote the one a lost create
// made, or a new one, with the AcsUser's protocol and decideLostCreate.
func (r *AcsCredentialReconciler) ensureCreated(ctx context.Context, w *credentialWork) (ctrl.Result, error) {
	cred := w.cred
	marker, state := readCreateMarker(r.Signer, cred, "user", "method")
	facts := lostCreateFacts{Marker: state, SinceMarker: r.now().Sub(marker.At), MayStillLand: max(r.CreateGrace, r.CreateTimeout)}
	var found []*seam.AcsCredential
	if state == markerValid {
		live := &seamv1alpha1.AcsCredential{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cred), live); err != nil || credentialClaimOf(r.Signer, live).state != ownsNothing {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
		var err error
		if found, err = r.findCreated(ctx, w, marker); err != nil {
			return r.fail(ctx, cred, err, "Looking for the credential an earlier create may have made")
		}
		facts.Matches = len(found)
	}
	switch decideLostCreate(facts) {
	case adoptMatch:
		if err := r.recordClaim(ctx, w, found[0]); err != nil {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
		// The lost create sent the spec's entrances (Seam does not report them back).
		cred.Status.AppliedAcsEntranceIDs = entranceIDs(cred.Spec)
		r.Recorder.Eventf(cred, nil, "Normal", "Adopted", "Create",
			"Adopted credential %s, made by an earlier create whose response was lost", found[0].AcsCredentialID)
		return ctrl.Result{RequeueAfter: time.Second}, nil
	case ambiguousMatches:
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonAmbiguousCreate, synced: true, stalled: true, settled: true,
			message: fmt.Sprintf("An earlier create got no answer and %d credentials of this user match it; none was adopted. "+
				"In Seam, delete the ones that are not wanted, then remove the %s annotation", len(found), AnnotationCreatePending)})
		return r.resync(), nil
	case unverifiedMarker:
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonUnverifiedCreateMarker, message: unverifiedMarkerMessage,
			synced: true, stalled: true, settled: true})
		return r.resync(), nil
	case waitForLanding:
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonCreating, synced: true,
			message: "An earlier create got no answer; waiting to see whether it made the credential before creating again"})
		return ctrl.Result{RequeueAfter: min(facts.MayStillLand-facts.SinceMarker, 5*time.Second)}, nil
	}
	return r.create(ctx, w, true)
}

// findCreated lists the user's credentials the marked create could have made:
// created in its window, of its method (and PIN), managed by no AcsCredential.
func (r *AcsCredentialReconciler) findCreated(ctx context.Context, w *credentialWork, marker createMarker) ([]*seam.AcsCredential, error) {
	from, to := marker.window(r.CreateTimeout)
	managed, err := r.managedIDs(ctx, w)
	if err != nil {
		return nil, err
	}
	var found []*seam.AcsCredential
	for c, err := range w.conn.Client.ListCredentials(ctx, seam.ListCredentialsRequest{AcsUserID: w.user.Status.AcsUserID}) {
		if err != nil {
			return nil, err
		}
		if c.CreatedAt.Before(from) || c.CreatedAt.After(to) || managed[c.AcsCredentialID] ||
			c.AccessMethod != string(w.cred.Spec.AccessMethod) || (w.pin != "" && c.Code != "" && c.Code != w.pin) {
			continue
		}
		found = append(found, c)
	}
	return found, nil
}

// managedIDs are the remote credentials the AcsCredentials of the same AcsUser own.
func (r *AcsCredentialReconciler) managedIDs(ctx context.Context, w *credentialWork) (map[string]bool, error) {
	var list seamv1alpha1.AcsCredentialList
	if err := r.List(ctx, &list, client.InNamespace(w.cred.Namespace), client.MatchingFields{indexCredentialUser: w.user.Name}); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for i := range list.Items {
		if own := credentialClaimOf(r.Signer, &list.Items[i]); own.state == ownsUser {
			out[own.claim.CredentialID] = true
		}
	}
	return out, nil
}

// create writes the signed marker, the finalizer and the owner reference to the
// AcsUser with one conflict-checked update, then sends one create. A generated PIN
// Seam refuses as a duplicate is regenerated once (mayRegenerate).
func (r *AcsCredentialReconciler) create(ctx context.Context, w *credentialWork, mayRegenerate bool) (ctrl.Result, error) {
	cred := w.cred
	if _, err := w.conn.Workspace(ctx); err != nil {
		return r.fail(ctx, cred, err, "Checking the workspace of the connection")
	}
	if err := w.conn.Client.CheckWait(ctx, "/acs/credentials/create"); err != nil {
		// Not now: no create marker for a create that is not sent.
		return r.fail(ctx, cred, err, "Creating the credential in Seam")
	}
	status := cred.Status.DeepCopy()
	controllerutil.AddFinalizer(cred, CredentialFinalizer)
	if err := controllerutil.SetOwnerReference(w.user, cred, r.Scheme()); err != nil {
		return ctrl.Result{}, err
	}
	if cred.Annotations == nil {
		cred.Annotations = map[string]string{}
	}
	cred.Annotations[AnnotationCreatePending] = credentialMarkerFor(r.now(), w.user.Status.AcsUserID, cred.Spec.AccessMethod).encode(r.Signer, cred.UID)
	delete(cred.Annotations, AnnotationRecreate)
	if err := r.Update(ctx, cred); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, err
	}
	cred.Status = *status

	createCtx, cancel := context.WithTimeout(ctx, r.CreateTimeout)
	defer cancel()
	created, err := w.conn.Client.CreateCredential(createCtx, createCredentialRequest(w))
	if err != nil {
		if definitelyNotCreated(err) {
			r.clearCreateMarker(ctx, cred)
		}
		if mayRegenerate && pinRefusal(err) == ReasonPINInUse && cred.Spec.Code != nil && cred.Spec.Code.Generate != nil {
			if w.pin, err = r.generatedPIN(ctx, cred, true); err != nil {
				return r.failPIN(ctx, cred, err)
			}
			r.Recorder.Eventf(cred, nil, "Normal", "PINRegenerated", "Create",
				"Seam refused the generated PIN (another credential of the access system has it); generated another in Secret %s", cred.Status.CodeSecretName)
			return r.create(ctx, w, false)
		}
		if pinRefusal(err) != "" {
			return r.failPIN(ctx, cred, err)
		}
		return r.fail(ctx, cred, err, "Creating the credential in Seam")
	}
	logf.FromContext(ctx).Info("Created the credential in Seam", "acsCredentialId", created.AcsCredentialID, "acsUserId", created.AcsUserID)
	r.Recorder.Eventf(cred, nil, "Normal", "Created", "Create", "Created %s credential %s for ACS user %s",
		cred.Spec.AccessMethod, created.AcsCredentialID, created.AcsUserID)
	if err := r.recordClaim(ctx, w, created); err != nil {
		logf.FromContext(ctx).Info("Could not record the new credential's id in an annotation yet", "error", err.Error())
	}
	cred.Status.AppliedCodeHash = r.appliedHash(w)
	cred.Status.AppliedAcsEntranceIDs = entranceIDs(cred.Spec)
	r.record(w, created)
	return r.report(ctx, cred, created), nil
}

func createCredentialRequest(w *credentialWork) seam.CreateCredentialRequest {
	spec := w.cred.Spec
	req := seam.CreateCredentialRequest{
		AcsUserID: w.user.Status.AcsUserID, AccessMethod: string(spec.AccessMethod), Code: w.pin,
		IsMultiPhoneSyncCredential: spec.IsMultiPhoneSyncCredential,
	}
	if spec.StartsAt != nil {
		req.StartsAt = &spec.StartsAt.Time
	}
	if spec.EndsAt != nil {
		req.EndsAt = &spec.EndsAt.Time
	}
	for _, e := range spec.AllowedAcsEntranceIDs {
		req.AllowedAcsEntranceIDs = append(req.AllowedAcsEntranceIDs, string(e))
	}
	return req
}

// recordClaim writes the signed claim (dropping the create marker) and the status id.
func (r *AcsCredentialReconciler) recordClaim(ctx context.Context, w *credentialWork, c *seam.AcsCredential) error {
	ws, err := w.conn.Workspace(ctx)
	if err != nil {
		return err
	}
	cred := w.cred
	status := cred.Status.DeepCopy()
	patch := client.MergeFromWithOptions(cred.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if cred.Annotations == nil {
		cred.Annotations = map[string]string{}
	}
	cred.Annotations[AnnotationAcsCredential] = credentialClaim{WorkspaceID: ws, CredentialID: c.AcsCredentialID}.encode(r.Signer, cred)
	delete(cred.Annotations, AnnotationCreatePending)
	controllerutil.AddFinalizer(cred, CredentialFinalizer)
	err = r.Patch(ctx, cred, patch)
	cred.Status = *status
	cred.Status.AcsCredentialID = c.AcsCredentialID
	return err
}

func (r *AcsCredentialReconciler) clearCreateMarker(ctx context.Context, cred *seamv1alpha1.AcsCredential) {
	patch := client.MergeFrom(cred.DeepCopy())
	delete(cred.Annotations, AnnotationCreatePending)
	if err := r.Patch(ctx, cred, patch); err != nil {
		logf.FromContext(ctx).V(1).Info("Could not clear the create marker", "error", err.Error())
	}
}

// reportRemoteDeleted: a credential deleted in the console is reported, not
// re-created silently. The recreate annotation naming it asks for a new one (the
// operator sets it itself before it deletes a credential to replace it).
func (r *AcsCredentialReconciler) reportRemoteDeleted(ctx context.Context, w *credentialWork, gone string) (ctrl.Result, error) {
	cred := w.cred
	if cred.Annotations[AnnotationRecreate] == gone {
		patch := client.MergeFromWithOptions(cred.DeepCopy(), client.MergeFromWithOptimisticLock{})
		delete(cred.Annotations, AnnotationAcsCredential)
		status := cred.Status.DeepCopy()
		if err := r.Patch(ctx, cred, patch); err != nil {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
		cred.Status = *status
		cred.Status.AcsCredentialID, cred.Status.IsIssued, cred.Status.IssuedAt = "", nil, nil
		return r.create(ctx, w, true)
	}
	msg := fmt.Sprintf("Credential %s was deleted outside Kubernetes (in Seam or on the access control system) and is not re-created on its own. "+
		"To create a new one, annotate: kubectl annotate acscredential %s %s=%s --overwrite", gone, cred.Name, AnnotationRecreate, gone)
	r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonRemoteDeleted, message: msg, synced: true, stalled: true, settled: true})
	return r.resync(), nil
}
