package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

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
