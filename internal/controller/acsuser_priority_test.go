package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

func TestIsRevocationOfAccessGroupNamesAndPolicy(t *testing.T) {
	user := func(mut func(*seamv1alpha1.AcsUserSpec)) *seamv1alpha1.AcsUser {
		u := &seamv1alpha1.AcsUser{Spec: seamv1alpha1.AcsUserSpec{AccessGroupNames: []string{"Gym", "Staff"}, ManagementPolicy: seamv1alpha1.ManagementPolicyManage}}
		mut(&u.Spec)
		return u
	}
	same := func(*seamv1alpha1.AcsUserSpec) {}
	cases := []struct {
		reason   string
		old, new func(*seamv1alpha1.AcsUserSpec)
		want     bool
	}{
		{"a group name removed", same, func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupNames = []string{"Gym"} }, true},
		{"a group name added", same, func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupNames = append(s.AccessGroupNames, "Pool") }, false},
		{"ObserveOnly to Manage: removals may follow", func(s *seamv1alpha1.AcsUserSpec) { s.ManagementPolicy = seamv1alpha1.ManagementPolicyObserveOnly }, same, true},
		{"Manage to ObserveOnly takes nothing away", same, func(s *seamv1alpha1.AcsUserSpec) { s.ManagementPolicy = seamv1alpha1.ManagementPolicyObserveOnly }, false},
	}
	for _, c := range cases {
		if got := isRevocation(user(c.old), user(c.new)); got != c.want {
			t.Errorf("%s: isRevocation = %v, want %v", c.reason, got, c.want)
		}
	}
}

// An AcsUser deleted without the operator's release (its finalizer removed by
// hand) must not leave what this process remembers of it behind: a manager
// running for months would keep an entry per deleted object.
func TestDeletedAcsUserIsForgotten(t *testing.T) {
	r := &AcsUserReconciler{}
	u := &seamv1alpha1.AcsUser{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "tenant", UID: "uid-gone"}}
	kept := &seamv1alpha1.AcsUser{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "tenant", UID: "uid-kept"}}
	for _, o := range []*seamv1alpha1.AcsUser{u, kept} {
		r.revoked.Store(o.UID, int64(2))
		r.revokeConfirms.Store(o.UID, revokeConfirm{})
		r.memberships.seen(o.UID, "acs-user-1", []string{"group-a"})
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	r.watchHandler().Delete(context.Background(), event.TypedDeleteEvent[client.Object]{Object: u}, q)

	if r.remembers(u.UID) {
		t.Errorf("the deleted object's entries are still kept")
	}
	if !r.remembers(kept.UID) {
		t.Errorf("another object's entries were dropped")
	}
	if q.Len() != 0 {
		t.Errorf("a deletion queued %d reconciles; the object is gone, there is nothing to do", q.Len())
	}
}

// remembers reports whether r keeps anything for the object uid.
func (r *AcsUserReconciler) remembers(uid types.UID) bool {
	_, revoked := r.revoked.Load(uid)
	_, confirms := r.revokeConfirms.Load(uid)
	_, membership := r.memberships.m.Load(uid)
	return revoked || confirms || membership
}
