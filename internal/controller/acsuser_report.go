package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
)

// report sets the conditions of a user that needs no write: Ready, or waiting for
// Seam to apply writes it accepted, or carrying errors Seam reports about it.
func (r *AcsUserReconciler) report(ctx context.Context, u *seamv1alpha1.AcsUser, o Observed) ctrl.Result {
	switch {
	case len(o.User.PendingMutations) > 0:
		msg := fmt.Sprintf("Seam accepted changes it has not yet applied on the access control system: %s", strings.Join(u.Status.PendingMutations, ", "))
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonPending, message: msg, synced: true})
		return ctrl.Result{RequeueAfter: r.pendingBackoff(u)}
	case len(o.User.Errors) > 0:
		var parts []string
		for _, e := range o.User.Errors {
			parts = append(parts, fmt.Sprintf("%s: %s", e.ErrorCode, e.Message))
		}
		msg := "Seam reports errors on the ACS user: " + strings.Join(parts, "; ")
		// Seam keeps retrying on its side, and the error may clear by itself; until then
		// a person should look (a subscription limit, a lock that does not answer).
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonRemoteError, message: msg, synced: true, stalled: true, settled: true})
		return r.resync()
	}
	msg := "The ACS user matches the spec"
	if len(o.User.Warnings) > 0 {
		var parts []string
		for _, w := range o.User.Warnings {
			parts = append(parts, fmt.Sprintf("%s: %s", w.WarningCode, w.Message))
		}
		msg += "; Seam warns: " + strings.Join(parts, "; ")
	}
	r.conclude(ctx, u, outcome{ready: metav1.ConditionTrue, reason: ReasonAvailable, message: msg, synced: true, settled: true})
	return r.resync()
}

// conclude writes an outcome into the conditions, moves observedGeneration when the
// outcome is settled, and emits a Warning event when a problem first appears (not on
// every reconcile that sees it again).
func (r *AcsUserReconciler) conclude(ctx context.Context, u *seamv1alpha1.AcsUser, o outcome) {
	prev := meta.FindStatusCondition(u.Status.Conditions, ConditionReady)
	changed := prev == nil || prev.Reason != o.reason || prev.Message != o.message
	if changed && o.ready == metav1.ConditionFalse && (o.stalled || o.reason == ReasonDeleteBlocked) {
		r.Recorder.Eventf(u, nil, "Warning", o.reason, "Reconcile", "%s", o.message)
	}
	if changed && o.ready == metav1.ConditionTrue && strings.Contains(o.message, "Seam warns") {
		r.Recorder.Eventf(u, nil, "Warning", "RemoteWarning", "Reconcile", "%s", o.message)
	}
	if changed {
		logf.FromContext(ctx).Info("AcsUser condition changed", "ready", o.ready, "reason", o.reason)
	}
	setConditions(&u.Status.Conditions, u.Generation, o)
	if o.settled {
		u.Status.ObservedGeneration = u.Generation
	}
}

// pendingBackoff waits longer the longer Seam has been applying writes: 1 s at first,
// half the time spent on the current work so far after that (Reconciling has been
// True since it started), at most a minute.
func (r *AcsUserReconciler) pendingBackoff(u *seamv1alpha1.AcsUser) time.Duration {
	wait := time.Second
	if c := meta.FindStatusCondition(u.Status.Conditions, conditionReconciling); c != nil && c.Status == metav1.ConditionTrue {
		if half := r.now().Sub(c.LastTransitionTime.Time) / 2; half > wait {
			wait = half
		}
	}
	return min(wait, time.Minute)
}

// fail reports an error as an outcome. Terminal errors stall without a requeue: a
// change to the spec, the connection or its Secret brings the object back through the
// watches, and the resync tries again. Retryable ones return the error so the
// controller's exponential backoff (capped at minutes) paces the retries.
func (r *AcsUserReconciler) fail(ctx context.Context, u *seamv1alpha1.AcsUser, err error, what string) (ctrl.Result, error) {
	o, wait := failureOf(err, what)
	r.conclude(ctx, u, o)
	_, connectionProblem := connection.IsNotUsable(err)
	switch {
	case o.stalled, connectionProblem:
		// Watches on the connection and its Secret bring the object back when they change.
		return r.resync(), nil
	case wait > 0:
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return ctrl.Result{}, err
}
