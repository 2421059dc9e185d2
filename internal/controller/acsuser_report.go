package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

// report sets the conditions of a user that needs no write: Ready, or waiting for
// Seam to apply writes it accepted, or carrying errors Seam reports about it.
func (r *AcsUserReconciler) report(ctx context.Context, u *seamv1alpha1.AcsUser, o Observed) ctrl.Result {
	switch {
	case len(o.User.PendingMutations) > 0:
		msg := fmt.Sprintf("Seam accepted changes it has not yet applied on the access control system: %s", strings.Join(u.Status.PendingMutations, ", "))
		reason := ReasonPending
		if r.systemDisconnected(ctx, u) {
			// Said so the wait is understood: nothing here can hurry it.
			reason = ReasonAcsSystemDisconnected
			msg += fmt.Sprintf(". Seam reports ACS system %s disconnected (acs_system.disconnected): they are applied when it is back online", u.Spec.AcsSystemID)
		}
		r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: reason, message: msg, synced: true})
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
	msg := "The ACS user matches the spec" + strings.Join(specNotes(u.Spec, o.User, r.now()), "")
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

// systemDisconnected reports whether the user's connection last heard from Seam
// that the user's ACS system is disconnected (a read from the cache).
func (r *AcsUserReconciler) systemDisconnected(ctx context.Context, u *seamv1alpha1.AcsUser) bool {
	conn := webhook.Connection{Namespace: u.Namespace, Name: u.Spec.ConnectionRef.Name}
	if u.Spec.ConnectionRef.Kind == seamv1alpha1.ClusterSeamConnectionKind {
		conn.Namespace = ""
	}
	obj, key := connectionObject(conn)
	if err := r.Get(ctx, key, obj); err != nil {
		return false
	}
	st := connectionStatus(obj)
	return st.Webhook != nil && slices.Contains(st.Webhook.DisconnectedSystems, string(u.Spec.AcsSystemID))
}

// specNotes say where Seam holds something the spec cannot make it change, and how
// the operator dealt with it: a person reading Ready learns it, nothing stalls.
func specNotes(spec seamv1alpha1.AcsUserSpec, u *seam.AcsUser, now time.Time) []string {
	var notes []string
	if scheduleEnded(spec.AccessSchedule, now) {
		notes = append(notes, "; accessSchedule.endsAt has passed: access is ended by suspending the user in Seam "+
			"(Seam refuses a schedule that ends in the past)")
	} else if !leftAsIs(spec, fieldAccessSchedule) && !scheduleMatches(spec.AccessSchedule, u.AccessSchedule, now) {
		notes = append(notes, "; Seam's access schedule differs from spec.accessSchedule and cannot be corrected: "+
			"Seam changes a schedule only with both ends, so give accessSchedule an endsAt")
	}
	if spec.EmailAddress == "" && (u.EmailAddress != "" || u.Email != "") {
		notes = append(notes, "; Seam keeps an emailAddress the spec does not set (Seam's update cannot clear it; clear it in the Seam console if it must go)")
	}
	if spec.PhoneNumber == "" && u.PhoneNumber != "" {
		notes = append(notes, "; Seam keeps a phoneNumber the spec does not set (Seam's update cannot clear it; clear it in the Seam console if it must go)")
	}
	return notes
}

// conclude writes an outcome into the conditions, moves observedGeneration when the
// outcome is settled, and emits a Warning event when a problem first appears (not on
// every reconcile that sees it again).
func (r *AcsUserReconciler) conclude(ctx context.Context, u *seamv1alpha1.AcsUser, o outcome) {
	concludeOn(ctx, r.Recorder, u, &u.Status.Conditions, &u.Status.ObservedGeneration, o)
}

// concludeOn is conclude for any kind with conditions and an observedGeneration.
func concludeOn(ctx context.Context, rec EventRecorder, obj client.Object, conditions *[]metav1.Condition, observedGeneration *int64, o outcome) {
	prev := meta.FindStatusCondition(*conditions, ConditionReady)
	changed := prev == nil || prev.Reason != o.reason || prev.Message != o.message
	if changed && o.ready == metav1.ConditionFalse && (o.stalled || o.reason == ReasonDeleteBlocked) {
		rec.Eventf(obj, nil, "Warning", o.reason, "Reconcile", "%s", o.message)
	}
	if changed && o.ready == metav1.ConditionTrue && strings.Contains(o.message, "Seam warns") {
		rec.Eventf(obj, nil, "Warning", "RemoteWarning", "Reconcile", "%s", o.message)
	}
	if changed {
		logf.FromContext(ctx).Info("Condition changed", "ready", o.ready, "reason", o.reason)
	}
	setConditions(conditions, obj.GetGeneration(), o)
	if o.settled {
		*observedGeneration = obj.GetGeneration()
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

// fail reports an error as an outcome, with the one error policy.
func (r *AcsUserReconciler) fail(ctx context.Context, u *seamv1alpha1.AcsUser, err error, what string) (ctrl.Result, error) {
	if res, ok := r.deferred(err, u); ok {
		return res, nil
	}
	o, result, err := errorPolicy(err, what, false, r.resync())
	r.conclude(ctx, u, o)
	return result, err
}
