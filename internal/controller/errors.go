package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// deleteRetryCap bounds the wait between attempts to delete a remote user: a
// teardown (a namespace deleted with everything in it) must finish within a minute
// once Seam answers again, so deletions are not left to a backoff of minutes.
const deleteRetryCap = 15 * time.Second

// workerWait is the longest a reconcile worker waits for a connection to take a
// Seam call: its Retry-After pause, its rate limit with other calls queued
// ahead, a backoff between attempts. The workers serve every connection of the
// manager, so one tenant's connection paused for 30 s must not hold them while
// another tenant's revocation waits in the queue: a longer wait defers the
// object (deferral) instead. Two seconds lets a call wait out the usual
// one-second Retry-After and the queue behind it in place, as it did before.
const workerWait = 2 * time.Second

// deferral is the requeue of a reconcile whose Seam call its connection could not
// take within workerWait (seam.ErrDeferred: nothing was sent). The object comes
// back when the connection can take it (deferredRanked gives it its priority);
// nothing is reported, since nothing failed (a condition that flipped at every
// pause would flap), and the worker moves on to the next object.
func deferral(err error) (ctrl.Result, bool) {
	var deferred *seam.DeferredError
	if !errors.As(err, &deferred) {
		return ctrl.Result{}, false
	}
	return ctrl.Result{RequeueAfter: deferred.Wait}, true
}

// errorPolicy is the one error policy of every reconciler: it turns the error of a
// reconcile into the outcome to report and the requeue to ask for.
//   - a connection problem or a terminal error stalls (or waits, for a Secret that
//     may still arrive): the watches on connections and Secrets bring the object
//     back when they change, and the resync tries again;
//   - an error that says when to retry (Retry-After, a lost create) requeues then;
//   - any other error is returned, so the controller's per-object exponential
//     backoff (capped at minutes) paces the retries.
//
// While deleting, nothing stalls (the finalizer holds the object and Seam may come
// back), retries are capped at deleteRetryCap, and the message names the way out.
func errorPolicy(err error, what string, deleting bool, resync ctrl.Result) (outcome, ctrl.Result, error) {
	o, wait := failureOf(err, what)
	_, connectionProblem := connection.IsNotUsable(err)
	if deleting {
		o.reason, o.stalled, o.settled = ReasonDeleteBlocked, false, false
		o.message += "; to release the object without deleting the remote user, set spec.deletionPolicy: Orphan"
		if wait <= 0 || wait > deleteRetryCap {
			wait = deleteRetryCap
		}
		return o, ctrl.Result{RequeueAfter: wait}, nil
	}
	switch {
	case o.stalled, connectionProblem:
		return o, resync, nil
	case wait > 0:
		return o, ctrl.Result{RequeueAfter: wait}, nil
	}
	return o, ctrl.Result{}, err
}

// failureOf turns an error from a reconcile into an outcome: terminal errors stall
// (no requeue until something changes), retryable ones keep Ready=False and are
// retried with the controller's exponential backoff, capped at minutes.
func failureOf(err error, what string) (outcome, time.Duration) {
	o := outcome{ready: metav1.ConditionFalse, message: fmt.Sprintf("%s: %v", what, err)}
	var wait time.Duration
	if ce, ok := connection.IsNotUsable(err); ok {
		o.reason, o.message, o.stalled, o.synced = ce.Reason, ce.Message, ce.Terminal, false
		o.settled = ce.Terminal
		return o, 0
	}
	switch {
	case errors.Is(err, seam.ErrUnauthorized):
		o.reason, o.stalled = ReasonUnauthorized, true
		o.message = fmt.Sprintf("%s: Seam refused the API key (%v): fix the key in the connection's Secret", what, err)
	case errors.Is(err, seam.ErrInvalidInput):
		o.reason, o.stalled = ReasonInvalidInput, true
		o.message = fmt.Sprintf("%s: Seam refused the request (%s): fix the spec", what, describeAPIError(err))
	case errors.Is(err, seam.ErrNotFound):
		o.reason, o.stalled = ReasonRemoteNotFound, true
		o.message = fmt.Sprintf("%s: %s: check the ids in the spec", what, describeAPIError(err))
	case errors.Is(err, seam.ErrRouteNotSupported):
		o.reason, o.stalled = ReasonNotSupported, true
	case errors.Is(err, seam.ErrRateLimited):
		o.reason = ReasonRateLimited
		wait, _ = seam.RetryAfter(err)
	case errors.Is(err, seam.ErrOutcomeUnknown):
		o.reason = ReasonOutcomeUnknown
		o.message = fmt.Sprintf("%s: the response to a create was lost; the next reconcile looks for the user it may have created before creating again", what)
		wait = time.Second
	case errors.Is(err, seam.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		o.reason = ReasonSeamUnavailable
	default:
		o.reason = ReasonReconcileError
	}
	o.settled = o.stalled
	return o, wait
}

// describeAPIError keeps what a user needs from a Seam error: its type, message and
// per-field validation messages, without the request id (it changes every call and
// would make the condition flap).
func describeAPIError(err error) string {
	var apiErr *seam.APIError
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	msg := apiErr.Type
	if apiErr.Message != "" {
		msg += ": " + apiErr.Message
	}
	// Sorted, so the same error gives the same message and the condition does not flap.
	for _, field := range slices.Sorted(maps.Keys(apiErr.ValidationErrors)) {
		for _, m := range apiErr.ValidationErrors[field] {
			msg += fmt.Sprintf("; %s: %s", field, m)
		}
	}
	return msg
}

// deferredRanked is deferral ranked in the object's namespace (queueRanks), counted
// as one more of that namespace's, as the watch handler ranks new work: a
// revocation (an AcsUser with one pending, an AcsCredential being deleted) among
// revocations, anything else among the rest. At one fixed priority, one
// namespace's thousands of deferred calls, each back within a second, came back
// ahead of another namespace's single one.
func deferredRanked(err error, ranks *queueRanks, namespace string, revoking bool) (ctrl.Result, bool) {
	res, ok := deferral(err)
	if !ok {
		return res, false
	}
	res.Priority = ptr.To(ranks.of(revoking)(namespace))
	return res, true
}

func (r *AcsUserReconciler) deferred(err error, u *seamv1alpha1.AcsUser) (ctrl.Result, bool) {
	return deferredRanked(err, r.ranks, u.Namespace, revocationPending(u, r.now()))
}

func (r *AcsCredentialReconciler) deferred(err error, cred *seamv1alpha1.AcsCredential) (ctrl.Result, bool) {
	return deferredRanked(err, r.ranks, cred.Namespace, !cred.DeletionTimestamp.IsZero())
}
