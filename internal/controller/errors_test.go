package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

func TestErrorPolicy(t *testing.T) {
	resync := ctrl.Result{RequeueAfter: 5 * time.Minute}
	transient := &seam.RequestError{Route: "/acs/users/get", Attempts: 4, Err: errors.New("connection reset")}
	cases := []struct {
		reason     string
		err        error
		deleting   bool
		wantReason string
		wantStall  bool
		wantResult ctrl.Result
		wantErr    bool
	}{
		{reason: "a refused key stalls until the Secret changes", err: &seam.APIError{Route: "/acs/users/get", HTTPStatus: 401},
			wantReason: ReasonUnauthorized, wantStall: true, wantResult: resync},
		{reason: "invalid input stalls until the spec changes", err: &seam.APIError{Route: "/acs/users/create", HTTPStatus: 400, Type: "invalid_input"},
			wantReason: ReasonInvalidInput, wantStall: true, wantResult: resync},
		{reason: "a missing Secret waits for the watch, not a hot loop",
			err:        &connection.Error{Reason: connection.ReasonSecretNotFound, Message: "no Secret"},
			wantReason: connection.ReasonSecretNotFound, wantResult: resync},
		{reason: "429 waits what the server asked", err: &seam.APIError{Route: "/acs/users/get", HTTPStatus: 429, RetryAfter: 7 * time.Second},
			wantReason: ReasonRateLimited, wantResult: ctrl.Result{RequeueAfter: 7 * time.Second}},
		{reason: "a lost create is looked for a second later",
			err:        &seam.RequestError{Route: "/acs/users/create", OutcomeUnknown: true, Err: errors.New("EOF")},
			wantReason: ReasonOutcomeUnknown, wantResult: ctrl.Result{RequeueAfter: time.Second}},
		{reason: "a transient failure goes to the controller's backoff", err: transient,
			wantReason: ReasonSeamUnavailable, wantErr: true},
		{reason: "a wrapped error is classified the same", err: fmt.Errorf("observing: %w", transient),
			wantReason: ReasonSeamUnavailable, wantErr: true},
		{reason: "while deleting nothing stalls, and retries are capped", err: &seam.APIError{Route: "/acs/users/delete", HTTPStatus: 401},
			deleting: true, wantReason: ReasonDeleteBlocked, wantResult: ctrl.Result{RequeueAfter: deleteRetryCap}},
		{reason: "while deleting a missing Secret is retried soon, not at the resync",
			err:      &connection.Error{Reason: connection.ReasonSecretNotFound, Message: "no Secret"},
			deleting: true, wantReason: ReasonDeleteBlocked, wantResult: ctrl.Result{RequeueAfter: deleteRetryCap}},
		{reason: "while deleting a short Retry-After is honoured", err: &seam.APIError{Route: "/acs/users/delete", HTTPStatus: 429, RetryAfter: 2 * time.Second},
			deleting: true, wantReason: ReasonDeleteBlocked, wantResult: ctrl.Result{RequeueAfter: 2 * time.Second}},
	}
	for _, tc := range cases {
		o, result, err := errorPolicy(tc.err, "Doing it", tc.deleting, resync)
		if o.reason != tc.wantReason || o.stalled != tc.wantStall || result != tc.wantResult || (err != nil) != tc.wantErr {
			t.Errorf("%s: got reason %s stalled %v result %+v err %v", tc.reason, o.reason, o.stalled, result, err)
		}
		if tc.deleting && o.settled {
			t.Errorf("%s: a blocked deletion must not settle the generation", tc.reason)
		}
	}
}

func TestRevocationPending(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	yes, no := true, false
	past := metav1.NewTime(now.Add(-time.Hour))
	cases := []struct {
		reason string
		spec   seamv1alpha1.AcsUserSpec
		status seamv1alpha1.AcsUserStatus
		delete bool
		want   bool
	}{
		{reason: "in sync: nothing urgent", status: seamv1alpha1.AcsUserStatus{IsSuspended: &no}},
		{reason: "being deleted", delete: true, want: true},
		{reason: "suspended, last seen unsuspended", spec: seamv1alpha1.AcsUserSpec{Suspended: true},
			status: seamv1alpha1.AcsUserStatus{IsSuspended: &no}, want: true},
		{reason: "suspended and seen suspended: done", spec: seamv1alpha1.AcsUserSpec{Suspended: true},
			status: seamv1alpha1.AcsUserStatus{IsSuspended: &yes}},
		{reason: "schedule ended, last seen unsuspended",
			spec:   seamv1alpha1.AcsUserSpec{AccessSchedule: &seamv1alpha1.AccessSchedule{EndsAt: &past}},
			status: seamv1alpha1.AcsUserStatus{IsSuspended: &no}, want: true},
		{reason: "out of a group it was seen in", spec: seamv1alpha1.AcsUserSpec{AccessGroupIDs: []seamv1alpha1.SeamID{"g2"}},
			status: seamv1alpha1.AcsUserStatus{IsSuspended: &no, AccessGroupIDs: []string{"g1", "g2"}}, want: true},
		{reason: "a new group is a grant, not urgent", spec: seamv1alpha1.AcsUserSpec{AccessGroupIDs: []seamv1alpha1.SeamID{"g1", "g2"}},
			status: seamv1alpha1.AcsUserStatus{IsSuspended: &no, AccessGroupIDs: []string{"g1"}}},
	}
	for _, tc := range cases {
		u := &seamv1alpha1.AcsUser{Spec: tc.spec, Status: tc.status}
		if tc.delete {
			u.DeletionTimestamp = &metav1.Time{Time: now}
		}
		if got := revocationPending(u, now); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.reason, got, tc.want)
		}
	}
}

func TestDeferral(t *testing.T) {
	deferred := &seam.DeferredError{Route: "/acs/users/suspend", Wait: 12 * time.Second}
	cases := []struct {
		reason string
		err    error
		want   ctrl.Result
		ok     bool
	}{
		{reason: "a deferred call comes back when the connection can take it", err: deferred,
			want: ctrl.Result{RequeueAfter: 12 * time.Second}, ok: true},
		{reason: "wrapped, too", err: fmt.Errorf("suspend: %w", deferred),
			want: ctrl.Result{RequeueAfter: 12 * time.Second}, ok: true},
		{reason: "a 429 the server answered is reported (RateLimited), not deferred",
			err: &seam.APIError{Route: "/acs/users/get", HTTPStatus: 429, RetryAfter: 30 * time.Second}},
		{reason: "a paused client past MaxRetryWait is reported too",
			err: &seam.APIError{Route: "/acs/users/get", HTTPStatus: 429, Type: "client_paused", RetryAfter: 90 * time.Second}},
		{reason: "any other error is no deferral", err: errors.New("boom")},
	}
	for _, c := range cases {
		got, ok := deferral(c.err)
		if ok != c.ok || got.RequeueAfter != c.want.RequeueAfter || got.Priority != nil {
			t.Errorf("%s: deferral = %+v, %v; want %+v, %v", c.reason, got, ok, c.want, c.ok)
		}
	}
}

// A revocation deferred for want of a token (an AcsUser's suspension, an
// AcsCredential's deletion) comes back at its namespace's rank among
// revocations, not at the top: else one namespace's thousands of deferred
// revocations, each back within a second, come back ahead of another
// namespace's single one, which revocationShare exists to put first.
func TestDeferredRevocationKeepsItsNamespaceRank(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	users := &AcsUserReconciler{ranks: newQueueRanks(clock), Now: clock}
	creds := &AcsCredentialReconciler{ranks: newQueueRanks(clock)}
	deferred := &seam.DeferredError{Route: "/acs/users/suspend", Wait: time.Second}
	kinds := []struct {
		revocation string
		ranks      *queueRanks
		// deferred defers a revocation (revoking) or a create in namespace ns.
		deferred func(ns string, revoking bool) (ctrl.Result, bool)
	}{
		{"suspension", users.ranks, func(ns string, revoking bool) (ctrl.Result, bool) {
			u := &seamv1alpha1.AcsUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "u"}}
			if revoking {
				u.Spec.Suspended, u.Status.IsSuspended = true, ptr.To(false)
			}
			return users.deferred(deferred, u)
		}},
		{"credential deletion", creds.ranks, func(ns string, revoking bool) (ctrl.Result, bool) {
			c := &seamv1alpha1.AcsCredential{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c"}}
			if revoking {
				c.DeletionTimestamp, c.Finalizers = &metav1.Time{Time: now}, []string{CredentialFinalizer}
			}
			return creds.deferred(deferred, c)
		}},
	}
	for _, k := range kinds {
		for range 1000 { // a building offboarded
			k.ranks.revocation("busy")
		}
		busy, ok := k.deferred("busy", true)
		if !ok || busy.Priority == nil {
			t.Fatalf("%s, busy namespace: %+v, %v", k.revocation, busy, ok)
		}
		quiet, _ := k.deferred("quiet", true)
		if quiet.Priority == nil || *busy.Priority >= *quiet.Priority {
			t.Errorf("a busy namespace's deferred %s at priority %d, a quiet one's at %d: the quiet one must come first", k.revocation, *busy.Priority, ptr.Deref(quiet.Priority, 0))
		}
		if *busy.Priority <= 0 {
			t.Errorf("a deferred %s at priority %d, not ahead of creates (0)", k.revocation, *busy.Priority)
		}
		if create, _ := k.deferred("busy", false); create.Priority == nil || *create.Priority > priorityWork {
			t.Errorf("%s: a deferred create at priority %v, not ranked among the work under revocations", k.revocation, ptr.Deref(create.Priority, 0))
		}
	}
}
