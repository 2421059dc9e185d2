package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// Condition types beyond the API's Ready and Synced: Reconciling and Stalled follow the
// kstatus convention (Flux, cli-utils, kubectl wait), so GitOps tools read the objects
// without custom code. Each is present only while True.
const (
	conditionReconciling = "Reconciling"
	conditionStalled     = "Stalled"
)

// Reasons of the Ready condition of an AcsUser; the README's troubleshooting table
// says what each asks of the user.
const (
	ReasonAvailable       = "Available"
	ReasonCreating        = "Creating"
	ReasonPending         = "Pending"
	ReasonProgressing     = "Progressing"
	ReasonRemoteDeleted   = "RemoteDeleted"
	ReasonRemoteError     = "RemoteError"
	ReasonAmbiguousCreate = "AmbiguousCreate"
	ReasonInvalidInput    = "InvalidInput"
	ReasonRemoteNotFound  = "RemoteNotFound"
	ReasonUnauthorized    = "Unauthorized"
	ReasonRateLimited     = "RateLimited"
	ReasonSeamUnavailable = "SeamUnavailable"
	ReasonOutcomeUnknown  = "OutcomeUnknown"
	ReasonNotSupported    = "NotSupported"
	ReasonDeleting        = "Deleting"
	ReasonDeleteBlocked   = "DeleteBlocked"
	ReasonReconcileError  = "ReconcileError"
	ReasonSynced          = "Synced"
)

// outcome is what one reconcile concluded, to be written into the conditions.
type outcome struct {
	ready   metav1.ConditionStatus
	reason  string
	message string
	// synced is false when the last attempt to reach Seam failed.
	synced bool
	// stalled: only a change by a human (spec, Secret, connection) can help.
	stalled bool
	// settled: the reconcile reached a conclusion for this generation (success or
	// stalled), so observedGeneration may move. Retryable failures are not settled.
	settled bool
}

// setConditions writes an outcome as conditions. meta.SetStatusCondition moves
// lastTransitionTime only when a status flips, so repeating an outcome changes nothing.
func setConditions(conditions *[]metav1.Condition, generation int64, o outcome) {
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: generation})
	}
	set(ConditionReady, o.ready, o.reason, o.message)
	if o.synced {
		set(ConditionSynced, metav1.ConditionTrue, ReasonSynced, "The last request to Seam succeeded")
	} else {
		set(ConditionSynced, metav1.ConditionFalse, o.reason, o.message)
	}
	switch {
	case o.stalled:
		set(conditionStalled, metav1.ConditionTrue, o.reason, o.message)
		meta.RemoveStatusCondition(conditions, conditionReconciling)
	case o.ready == metav1.ConditionTrue:
		meta.RemoveStatusCondition(conditions, conditionStalled)
		meta.RemoveStatusCondition(conditions, conditionReconciling)
	default:
		meta.RemoveStatusCondition(conditions, conditionStalled)
		set(conditionReconciling, metav1.ConditionTrue, o.reason, o.message)
	}
}

// The API's condition types, for brevity in this package.
const (
	ConditionReady  = seamv1alpha1.ConditionReady
	ConditionSynced = seamv1alpha1.ConditionSynced
)
