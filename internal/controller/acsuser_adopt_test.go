package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

func TestAdoptionProblem(t *testing.T) {
	spec := seamv1alpha1.AcsUserSpec{AcsSystemID: "sys", AcsUserID: "u1", FullName: "Ada"}
	cases := []struct {
		reason string
		user   *seam.AcsUser
		want   string
	}{
		{"the user exists in the system and the workspace", &seam.AcsUser{AcsUserID: "u1", AcsSystemID: "sys", WorkspaceID: "ws"}, ""},
		{"Seam said 404", nil, ReasonAdoptNotFound},
		{"another workspace reads as not found", &seam.AcsUser{AcsUserID: "u1", AcsSystemID: "sys", WorkspaceID: "ws2"}, ReasonAdoptNotFound},
		{"another system", &seam.AcsUser{AcsUserID: "u1", AcsSystemID: "sys2", WorkspaceID: "ws"}, ReasonAdoptWrongSystem},
	}
	for _, c := range cases {
		if got, _ := adoptionProblem(spec, c.user, "ws"); got != c.want {
			t.Errorf("%s: reason %q, want %q", c.reason, got, c.want)
		}
	}
}

func TestResolveGroupNames(t *testing.T) {
	groups := []seam.AccessGroup{
		{AcsAccessGroupID: "g1", Name: "Gym"}, {AcsAccessGroupID: "g2", Name: "Staff"},
		{AcsAccessGroupID: "g3", Name: "Staff"}, {AcsAccessGroupID: "g4", Name: "Gym annex"},
	}
	cases := []struct {
		reason       string
		groups       []seam.AccessGroup
		names        []string
		wantIDs      []string
		wantProblems []groupNameProblem
	}{
		{"exact match only: a longer name that contains it is another group", groups, []string{"Gym"}, []string{"g1"}, nil},
		{"the case must match too", groups, []string{"gym"}, nil, []groupNameProblem{{name: "gym"}}},
		{"two groups with one name: neither is granted", groups, []string{"Staff", "Gym annex"}, []string{"g4"}, []groupNameProblem{{name: "Staff", matches: 2}}},
		{"no groups to match (a server without access-group routes)", nil, []string{"Gym"}, nil, []groupNameProblem{{name: "Gym"}}},
	}
	for _, c := range cases {
		ids, problems := resolveGroupNames(c.names, c.groups)
		if d := cmp.Diff(c.wantIDs, ids); d != "" {
			t.Errorf("%s: ids (-want +got):\n%s", c.reason, d)
		}
		if d := cmp.Diff(c.wantProblems, problems, cmp.AllowUnexported(groupNameProblem{})); d != "" {
			t.Errorf("%s: problems (-want +got):\n%s", c.reason, d)
		}
	}
}

func TestDriftedFields(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	t0, t1 := now.Add(-time.Hour), now.Add(time.Hour)
	user := func(mut func(*seam.AcsUser)) *seam.AcsUser {
		u := &seam.AcsUser{AcsUserID: "u1", FullName: "Ada", EmailAddress: "ada@example.com", PhoneNumber: "+15555550100"}
		if mut != nil {
			mut(u)
		}
		return u
	}
	adopted := seamv1alpha1.AcsUserSpec{AcsUserID: "u1", FullName: "Ada"}
	cases := []struct {
		reason string
		spec   seamv1alpha1.AcsUserSpec
		o      Observed
		want   []string
	}{
		{"an adopted spec leaving out email, phone, schedule and groups: no drift", adopted,
			Observed{User: user(func(u *seam.AcsUser) { u.AccessSchedule = &seam.AccessSchedule{StartsAt: &t0, EndsAt: &t1} }), Groups: []string{"g1"}}, nil},
		{"a console rename and suspension", adopted,
			Observed{User: user(func(u *seam.AcsUser) { u.FullName = "Ada L"; u.IsSuspended = true }), Groups: []string{}}, []string{"fullName", "suspended"}},
		{"groups listed in the spec differ", seamv1alpha1.AcsUserSpec{AcsUserID: "u1", FullName: "Ada", AccessGroupIDs: []seamv1alpha1.SeamID{"g2"}},
			Observed{User: user(nil), Groups: []string{"g1"}}, []string{"accessGroups"}},
		{"a created user without a schedule in the spec drifts when Seam has one", seamv1alpha1.AcsUserSpec{FullName: "Ada"},
			Observed{User: user(func(u *seam.AcsUser) { u.AccessSchedule = &seam.AccessSchedule{StartsAt: &t0, EndsAt: &t1} }), Groups: []string{}}, []string{"accessSchedule"}},
		{"email and phone set in the spec and different", seamv1alpha1.AcsUserSpec{FullName: "Ada", EmailAddress: "a@example.org", PhoneNumber: "+15555550199"},
			Observed{User: user(nil), Groups: []string{}}, []string{"emailAddress", "phoneNumber"}},
	}
	for _, c := range cases {
		if d := cmp.Diff(c.want, driftedFields(c.spec, c.o, nil, now)); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.reason, d)
		}
	}
}
