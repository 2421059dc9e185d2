package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

func TestDiff(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	mt := func(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }
	spec := func(mut ...func(*seamv1alpha1.AcsUserSpec)) seamv1alpha1.AcsUserSpec {
		s := seamv1alpha1.AcsUserSpec{AcsSystemID: "sys", FullName: "Ada", EmailAddress: "ada@example.com", PhoneNumber: "+15555550100",
			AccessGroupIDs: []seamv1alpha1.SeamID{"g1", "g2"}}
		for _, m := range mut {
			m(&s)
		}
		return s
	}
	remote := func(mut ...func(*seam.AcsUser)) *seam.AcsUser {
		u := &seam.AcsUser{AcsUserID: "u1", AcsSystemID: "sys", FullName: "Ada", EmailAddress: "ada@example.com", PhoneNumber: "+15555550100"}
		for _, m := range mut {
			m(u)
		}
		return u
	}
	str := func(s string) *string { return &s }
	kinds := func(actions []Action) []string {
		var out []string
		for _, a := range actions {
			k := string(a.Kind)
			if a.Group != "" {
				k += ":" + a.Group
			}
			for _, f := range a.Fields {
				k += ":" + f
			}
			out = append(out, k)
		}
		return out
	}

	cases := []struct {
		reason   string
		spec     seamv1alpha1.AcsUserSpec
		observed Observed
		recorded []string
		want     []string
	}{
		{reason: "in sync: nothing to send",
			spec: spec(), observed: Observed{User: remote(), Groups: []string{"g1", "g2"}}},
		{reason: "no remote user: nothing to diff (creation is decided elsewhere)",
			spec: spec(), observed: Observed{}},
		{reason: "pending mutations: send nothing, not even what differs, so no write is sent twice",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Ada King"; s.Suspended = true }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.PendingMutations = []seam.PendingMutation{{MutationCode: "updating_user_information"}}
			}), Groups: []string{"g1", "g2"}}},
		{reason: "name differs: one update of that field",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Ada King" }), observed: Observed{User: remote(), Groups: []string{"g1", "g2"}},
			want: []string{"Update:fullName"}},
		{reason: "every updatable field differs: still one update",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.FullName, s.EmailAddress, s.PhoneNumber = "B", "b@example.com", "+442071234567"
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0)}
			}),
			observed: Observed{User: remote(), Groups: []string{"g1", "g2"}},
			want:     []string{"Update:fullName:emailAddress:phoneNumber:accessSchedule"}},
		{reason: "email matched through the deprecated email field (servers that update only that one)",
			spec:     spec(func(s *seamv1alpha1.AcsUserSpec) { s.EmailAddress = "new@example.com" }),
			observed: Observed{User: remote(func(u *seam.AcsUser) { u.Email = "new@example.com" }), Groups: []string{"g1", "g2"}}},
		{reason: "unset email and phone are not managed: the remote values stay",
			spec:     spec(func(s *seamv1alpha1.AcsUserSpec) { s.EmailAddress, s.PhoneNumber = "", "" }),
			observed: Observed{User: remote(), Groups: []string{"g1", "g2"}}},
		{reason: "schedule equal to the second: nothing",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(t1)}
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				s, e := t0.Add(300*time.Millisecond), t1
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s, EndsAt: &e}
			}), Groups: []string{"g1", "g2"}}},
		{reason: "schedule end moved: update",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(t1)}
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				s, e := t0, t0.Add(time.Hour)
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s, EndsAt: &e}
			}), Groups: []string{"g1", "g2"}},
			want: []string{"Update:accessSchedule"}},
		{reason: "suspend requested",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true }), observed: Observed{User: remote(), Groups: []string{"g1", "g2"}},
			want: []string{"Suspend"}},
		{reason: "unsuspend requested",
			spec: spec(), observed: Observed{User: remote(func(u *seam.AcsUser) { u.IsSuspended = true }), Groups: []string{"g1", "g2"}},
			want: []string{"Unsuspend"}},
		{reason: "groups: add the missing, remove the extra; revocations first, unsuspend last",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessGroupIDs = []seamv1alpha1.SeamID{"g2", "g3"}
				s.FullName = "X"
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) { u.IsSuspended = true }), Groups: []string{"g1", "g2", "g9"}},
			want:     []string{"RemoveFromGroup:g1", "RemoveFromGroup:g9", "Update:fullName", "AddToGroup:g3", "Unsuspend"}},
		{reason: "suspension comes before everything else",
			spec:     spec(func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true; s.AccessGroupIDs = nil }),
			observed: Observed{User: remote(), Groups: []string{"g1"}},
			want:     []string{"Suspend", "RemoveFromGroup:g1"}},
		{reason: "membership unknown (server without access-group routes): trust the recorded membership",
			spec: spec(), observed: Observed{User: remote()}, recorded: []string{"g1", "g7"},
			want: []string{"RemoveFromGroup:g7", "AddToGroup:g2"}},
		{reason: "membership known and empty: the record is not used",
			spec: spec(), observed: Observed{User: remote(), Groups: []string{}}, recorded: []string{"g1", "g2"},
			want: []string{"AddToGroup:g1", "AddToGroup:g2"}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got := Diff(tc.spec, tc.observed, tc.recorded)
			if diff := cmp.Diff(tc.want, kinds(got)); diff != "" {
				t.Errorf("%s: actions (-want +got):\n%s", tc.reason, diff)
			}
		})
	}

	t.Run("the update request carries only the changed fields", func(t *testing.T) {
		got := Diff(spec(func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Ada King" }), Observed{User: remote(), Groups: []string{"g1", "g2"}}, nil)
		want := &seam.UpdateUserRequest{AcsUserID: "u1", FullName: str("Ada King")}
		if diff := cmp.Diff(want, got[0].Update); diff != "" {
			t.Errorf("update request (-want +got):\n%s", diff)
		}
	})
}

func TestCreateMarkerMatchesCreatedUser(t *testing.T) {
	u := &seamv1alpha1.AcsUser{Spec: seamv1alpha1.AcsUserSpec{AcsSystemID: "sys", FullName: "Ada", EmailAddress: "a@example.com", UserIdentityID: "uid"}}
	m := markerFor(time.Now(), createRequest(u))
	created := &seam.AcsUser{AcsSystemID: "sys", FullName: "Ada", Email: "a@example.com", UserIdentityID: "uid", PhoneNumber: "+15555550100"}
	if !m.matches(created) {
		t.Fatal("a user created from the request must match its marker, also when the server fills only the deprecated email or fields it was not sent")
	}
	other := *created
	other.FullName = "Ada King"
	if m.matches(&other) {
		t.Fatal("a different person must not match")
	}
	noEmail := markerFor(time.Now(), createRequest(&seamv1alpha1.AcsUser{Spec: seamv1alpha1.AcsUserSpec{AcsSystemID: "sys", FullName: "Bo"}}))
	if !noEmail.matches(&seam.AcsUser{AcsSystemID: "sys", FullName: "Bo", EmailAddress: "acs_user_1x@example.com"}) {
		t.Fatal("an email the server made up must not stop the match when the create sent none")
	}
}

func TestCreateMarkerRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	u := &seamv1alpha1.AcsUser{}
	want := createMarker{At: at, Hash: "sha256:abc", Fields: []string{"system", "fullName"}}
	u.Annotations = map[string]string{AnnotationCreatePending: want.String()}
	m, ok := createMarkerOf(u)
	if !ok || !cmp.Equal(m, want) {
		t.Fatalf("round trip: got %+v, %v", m, ok)
	}
	u.Annotations[AnnotationCreatePending] = "garbage"
	if m, ok := createMarkerOf(u); !ok || !m.At.IsZero() {
		t.Fatalf("an unreadable marker must still count, from the beginning of time: got %+v, %v", m, ok)
	}
}
