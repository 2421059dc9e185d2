package controller

import (
	"testing"

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
