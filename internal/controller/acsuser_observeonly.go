package controller

import (
	"context"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// Reasons and the condition type of managementPolicy ObserveOnly.
const (
	// ReasonObserved: Ready under ObserveOnly, whether or not the user drifted.
	ReasonObserved = "Observed"
	// ReasonNothingToObserve: ObserveOnly without a remote user to read.
	ReasonNothingToObserve = "NothingToObserve"

	// conditionDrifted is True when, under ObserveOnly, the remote user differs
	// from the spec; absent under Manage, where the operator corrects drift.
	conditionDrifted  = "Drifted"
	reasonSpecDiffers = "SpecDiffers"
	reasonMatchesSpec = "MatchesSpec"
)

func observeOnly(u *seamv1alpha1.AcsUser) bool {
	return u.Spec.ManagementPolicy == seamv1alpha1.ManagementPolicyObserveOnly
}

// driftedFields lists the spec fields whose remote value differs at time now, in the
// spec's order: what a switch to Manage would change. Fields an adopted user leaves
// out, and an email or phone the spec does not set, are not drift. Pure.
func driftedFields(spec seamv1alpha1.AcsUserSpec, o Observed, recordedGroups []string, now time.Time) []string {
	u := o.User
	var out []string
	if spec.FullName != u.FullName {
		out = append(out, "fullName")
	}
	if spec.EmailAddress != "" && !emailMatches(spec.EmailAddress, u) {
		out = append(out, "emailAddress")
	}
	if spec.PhoneNumber != "" && spec.PhoneNumber != u.PhoneNumber {
		out = append(out, "phoneNumber")
	}
	if !leftAsIs(spec, fieldAccessSchedule) && !scheduleEnded(spec.AccessSchedule, now) && !scheduleMatches(spec.AccessSchedule, u.AccessSchedule, now) {
		out = append(out, "accessSchedule")
	}
	current := o.Groups
	if current == nil {
		current = recordedGroups
	}
	desired := desiredGroups(spec, current)
	if len(sortedDifference(current, desired)) > 0 || len(sortedDifference(desired, current)) > 0 {
		out = append(out, "accessGroups")
	}
	if effectivelySuspended(spec, now) != u.IsSuspended {
		out = append(out, "suspended")
	}
	return out
}

// reportObserved reports an ObserveOnly user: its remote values and drift in status,
// Ready True (observing is working) and Drifted saying which fields differ. Nothing
// is written to Seam.
func (r *AcsUserReconciler) reportObserved(ctx context.Context, u *seamv1alpha1.AcsUser, want seamv1alpha1.AcsUserSpec, o Observed, problems []groupNameProblem) ctrl.Result {
	drift := driftedFields(want, o, u.Status.AccessGroupIDs, r.now())
	u.Status.Drift, u.Status.Observed = drift, observedUser(o.User)
	msg := "ObserveOnly: nothing is written to Seam; the ACS user matches the spec"
	drifted := metav1.Condition{Type: conditionDrifted, Status: metav1.ConditionFalse, Reason: reasonMatchesSpec, ObservedGeneration: u.Generation,
		Message: "The ACS user in Seam matches the spec"}
	if len(drift) > 0 {
		msg = "ObserveOnly: nothing is written to Seam; the ACS user differs from the spec in " + strings.Join(drift, ", ") + " (see status.observed)"
		drifted.Status, drifted.Reason = metav1.ConditionTrue, reasonSpecDiffers
		drifted.Message = "The ACS user in Seam differs from the spec in " + strings.Join(drift, ", ") + "; set managementPolicy: Manage to correct it"
	}
	if oc, bad := groupNamesOutcome(string(want.AcsSystemID), problems); bad {
		msg += "; " + oc.message
	}
	meta.SetStatusCondition(&u.Status.Conditions, drifted)
	r.conclude(ctx, u, outcome{ready: metav1.ConditionTrue, reason: ReasonObserved, message: msg, synced: true, settled: true})
	return r.resync()
}

// forgetObservation drops what only ObserveOnly reports, once the operator manages
// the user: drift is then corrected, not reported.
func forgetObservation(u *seamv1alpha1.AcsUser) {
	u.Status.Drift, u.Status.Observed = nil, nil
	meta.RemoveStatusCondition(&u.Status.Conditions, conditionDrifted)
}

// announceManagement emits one Event when an object observed so far is now managed:
// from this reconcile on the spec is applied, revocations first.
func (r *AcsUserReconciler) announceManagement(u *seamv1alpha1.AcsUser) {
	if c := meta.FindStatusCondition(u.Status.Conditions, ConditionReady); c != nil && c.Reason == ReasonObserved {
		r.Recorder.Eventf(u, nil, "Normal", "ManagementStarted", "Reconcile",
			"managementPolicy is Manage: the spec is applied to ACS user %s from now on, access removals first", u.Status.AcsUserID)
	}
	forgetObservation(u)
}

// reportNothingToObserve stops an ObserveOnly object that names no remote user: it
// never creates one.
func (r *AcsUserReconciler) reportNothingToObserve(ctx context.Context, u *seamv1alpha1.AcsUser) ctrl.Result {
	r.conclude(ctx, u, outcome{ready: metav1.ConditionFalse, reason: ReasonNothingToObserve, synced: true, stalled: true, settled: true,
		message: "managementPolicy is ObserveOnly but the object manages no ACS user: nothing is created. " +
			"Set spec.acsUserId when creating the object to observe an existing user, or set managementPolicy: Manage to create one"})
	return r.resync()
}

// observedUser is the remote user's spec fields, for status.observed.
func observedUser(u *seam.AcsUser) *seamv1alpha1.ObservedUser {
	out := &seamv1alpha1.ObservedUser{FullName: u.FullName, EmailAddress: u.EmailAddress, PhoneNumber: u.PhoneNumber}
	if out.EmailAddress == "" {
		out.EmailAddress = u.Email
	}
	if s := u.AccessSchedule; s != nil && (s.StartsAt != nil || s.EndsAt != nil) {
		out.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: secondsOf(s.StartsAt), EndsAt: secondsOf(s.EndsAt)}
	}
	return out
}

// secondsOf is t as the apiserver keeps it, to the second: a finer time would make
// every comparison with the stored status differ, and each resync write it again.
func secondsOf(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	m := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &m
}
