package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// update changes the PIN or endsAt in place.
func (r *AcsCredentialReconciler) update(ctx context.Context, w *credentialWork, remote *seam.AcsCredential, d credentialDiff) (ctrl.Result, error) {
	req := seam.UpdateCredentialRequest{AcsCredentialID: remote.AcsCredentialID, EndsAt: d.endsAt}
	if d.sendPIN {
		req.Code = w.pin
	}
	if _, err := w.conn.Client.UpdateCredential(ctx, req); err != nil {
		if pinRefusal(err) != "" {
			return r.failPIN(ctx, w.cred, err)
		}
		return r.fail(ctx, w.cred, err, "Updating the credential in Seam")
	}
	if d.sendPIN {
		w.cred.Status.AppliedCodeHash = r.appliedHash(w)
	}
	r.Recorder.Eventf(w.cred, nil, "Normal", "Updated", "Update", "Updated credential %s: %s", remote.AcsCredentialID, d.why)
	return ctrl.Result{RequeueAfter: time.Second}, nil
}

// replace deletes the credential, then creates it anew: a revocation before a grant.
// The recreate annotation, set first, tells the next reconcile that the credential
// gone from Seam was deleted on purpose.
func (r *AcsCredentialReconciler) replace(ctx context.Context, w *credentialWork, id, why string) (ctrl.Result, error) {
	cred := w.cred
	if cred.Annotations[AnnotationRecreate] != id {
		status := cred.Status.DeepCopy()
		patch := client.MergeFromWithOptions(cred.DeepCopy(), client.MergeFromWithOptimisticLock{})
		cred.Annotations[AnnotationRecreate] = id
		if err := r.Patch(ctx, cred, patch); err != nil {
			return ctrl.Result{RequeueAfter: conflictRetry}, client.IgnoreNotFound(err)
		}
		cred.Status = *status
	}
	if err := w.conn.Client.DeleteCredential(ctx, id); err != nil && !errors.Is(err, seam.ErrNotFound) {
		return r.fail(ctx, cred, err, "Deleting the credential to replace it")
	}
	logf.FromContext(ctx).Info("Deleted the credential to replace it", "acsCredentialId", id, "why", why)
	r.Recorder.Eventf(cred, nil, "Normal", "Replacing", "Update", "Deleted credential %s to create it anew: %s", id, why)
	r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonReplacing, synced: true,
		message: fmt.Sprintf("Replacing the credential (%s): deleted, creating the new one", why)})
	return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
}

// Condition types for Seam's warnings and errors on a credential.
var credentialIssueConditions = map[string]string{
	seam.CredentialWarningWaitingToBeIssued: "WaitingToBeIssued",
	seam.CredentialWarningNeedsReissue:      "NeedsToBeReissued",
	seam.CredentialWarningScheduleModified:  "ScheduleModified",
	seam.CredentialWarningBeingDeleted:      "BeingDeleted",
}

const conditionSeamError = "SeamError"

// report sets the conditions of a credential that needs no write.
func (r *AcsCredentialReconciler) report(ctx context.Context, cred *seamv1alpha1.AcsCredential, c *seam.AcsCredential) ctrl.Result {
	r.reportIssues(cred, c)
	switch {
	case len(c.Errors) > 0:
		var parts []string
		for _, e := range c.Errors {
			parts = append(parts, fmt.Sprintf("%s: %s", e.ErrorCode, e.Message))
		}
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonRemoteError, synced: true, stalled: true, settled: true,
			message: "Seam reports errors on the credential: " + strings.Join(parts, "; ")})
		return r.resync()
	case !c.IsIssued:
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonWaitingToIssue, synced: true,
			message: "The credential is not issued yet (a card must be encoded on site)"})
		return ctrl.Result{RequeueAfter: min(r.ResyncPeriod, 30*time.Second)}
	case c.IsLatestDesiredStateSyncedWithProvider != nil && !*c.IsLatestDesiredStateSyncedWithProvider:
		r.conclude(ctx, cred, outcome{ready: metav1.ConditionFalse, reason: ReasonPending, synced: true,
			message: "Seam has not yet pushed the credential to the access control system"})
		return ctrl.Result{RequeueAfter: min(r.ResyncPeriod, 10*time.Second)}
	}
	msg := "The credential matches the spec"
	if n := cred.Status.UnmanagedCredentials; n > 0 {
		msg += fmt.Sprintf("; the user has %d other credential(s) in Seam that no AcsCredential manages, left alone", n)
	}
	r.conclude(ctx, cred, outcome{ready: metav1.ConditionTrue, reason: ReasonAvailable, message: msg, synced: true, settled: true})
	return r.resync()
}

// reportIssues keeps one condition per warning code and one for errors, and emits
// one Event when each first appears.
func (r *AcsCredentialReconciler) reportIssues(cred *seamv1alpha1.AcsCredential, c *seam.AcsCredential) {
	want := map[string]metav1.Condition{}
	for _, w := range c.Warnings {
		t, ok := credentialIssueConditions[w.WarningCode]
		if !ok {
			t = "SeamWarning"
		}
		want[t] = metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: t, Message: fmt.Sprintf("Seam warns: %s: %s", w.WarningCode, w.Message)}
	}
	if len(c.Errors) > 0 {
		want[conditionSeamError] = metav1.Condition{Type: conditionSeamError, Status: metav1.ConditionTrue, Reason: "RemoteError",
			Message: fmt.Sprintf("Seam reports %d error(s) on the credential: %s", len(c.Errors), c.Errors[0].ErrorCode)}
	}
	for _, t := range append(mapValues(credentialIssueConditions), "SeamWarning", conditionSeamError) {
		cond, present := want[t]
		if !present {
			meta.RemoveStatusCondition(&cred.Status.Conditions, t)
			continue
		}
		if meta.FindStatusCondition(cred.Status.Conditions, t) == nil {
			r.Recorder.Eventf(cred, nil, "Warning", t, "Reconcile", "%s", cond.Message)
		}
		cond.ObservedGeneration = cred.Generation
		meta.SetStatusCondition(&cred.Status.Conditions, cond)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
