package main

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

func TestExplained(t *testing.T) {
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const gym, staff = "acs_access_group_hq_gym", "acs_access_group_hq_staff"
	log := []specChange{
		{At: at(0), Email: "a@x", Op: "create", Groups: []string{gym}},
		{At: at(10), Email: "a@x", Op: "suspend", Suspended: true, Groups: []string{gym}},
		{At: at(20), Email: "a@x", Op: "regroup", Groups: []string{staff}},
		{At: at(30), Email: "a@x", Op: "delete"},
	}
	for _, tc := range []struct {
		reason string
		call   sandbox.AuditEntry
		want   bool
	}{
		{"a suspension after the spec asked for it", sandbox.AuditEntry{Time: at(11), Route: "/acs/users/suspend", EmailAddress: "a@x"}, true},
		{"a suspension before the spec asked for it", sandbox.AuditEntry{Time: at(9), Route: "/acs/users/suspend", EmailAddress: "a@x"}, false},
		{"another incarnation's spec explains nothing", sandbox.AuditEntry{Time: at(11), Route: "/acs/users/suspend", EmailAddress: "b@x"}, false},
		{"a removal from a group the spec dropped", sandbox.AuditEntry{Time: at(21), Route: "/acs/users/remove_from_access_group", AccessGroupID: gym, EmailAddress: "a@x"}, true},
		{"a removal from a group before it was dropped", sandbox.AuditEntry{Time: at(19), Route: "/acs/users/remove_from_access_group", AccessGroupID: gym, EmailAddress: "a@x"}, false},
		{"a removal from a group the spec never had", sandbox.AuditEntry{Time: at(21), Route: "/acs/users/remove_from_access_group", AccessGroupID: "acs_access_group_hq_parking", EmailAddress: "a@x"}, false},
		{"a delete after the object's deletion", sandbox.AuditEntry{Time: at(31), Route: "/acs/users/delete", EmailAddress: "a@x"}, true},
		{"a delete before it", sandbox.AuditEntry{Time: at(29), Route: "/acs/users/delete", EmailAddress: "a@x"}, false},
	} {
		if got := explained(tc.call, log); got != tc.want {
			t.Errorf("%s: explained = %v, want %v", tc.reason, got, tc.want)
		}
	}
}

func TestCheckCountsEachInvariant(t *testing.T) {
	ready := []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue}}
	obj := func(name, email, id string) seamv1alpha1.AcsUser {
		return seamv1alpha1.AcsUser{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       seamv1alpha1.AcsUserSpec{FullName: name, EmailAddress: email},
			Status:     seamv1alpha1.AcsUserStatus{AcsUserID: id, Conditions: ready},
		}
	}
	remote := func(id, email string) sandbox.User {
		return sandbox.User{ID: id, FullName: strings.Split(email, "@")[0], EmailAddress: email}
	}
	console := []sandbox.User{{ID: "c1", FullName: "Console", EmailAddress: "c@building"}}
	changed := console[0]
	changed.IsSuspended = true
	w := world{
		objects: []seamv1alpha1.AcsUser{obj("one", "one@x", "r1"), obj("two", "two@x", "r2"), obj("gone", "gone@x", "r9")},
		state: sandbox.State{Users: []sandbox.User{
			remote("r1", "one@x"), remote("r2", "two@x"), remote("r3", "two@x"), remote("r4", "old@x"), changed,
		}},
		audit: []sandbox.AuditEntry{{Time: time.Now(), Route: "/acs/users/delete", AcsUserID: "r5", EmailAddress: "one@x"}},
	}
	v := &verdict{}
	check(w, nil, console, v)
	got := map[string]string{}
	for _, r := range v.rows {
		got[r.what] = r.value
	}
	for what, want := range map[string]string{
		"remote users per live AcsUser (must be exactly 1)":            "1 objects with 0, 1 objects with 1, 1 objects with 2",
		"leaked remote users (must be 0)":                              "1",
		"remote users deleted that should exist (must be 0)":           "1",
		"console users touched (must be 0)":                            "1 of 1",
		"destructive calls not explained by a spec change (must be 0)": "1 of 1",
	} {
		if got[what] != want {
			t.Errorf("%s = %q, want %q", what, got[what], want)
		}
	}
	if !v.failed {
		t.Error("the verdict passed")
	}
}
