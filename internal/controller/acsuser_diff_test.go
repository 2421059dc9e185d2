package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/signing"
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

	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	pending := func(code, from, to string) seam.PendingMutation {
		return seam.PendingMutation{MutationCode: code, From: []byte(from), To: []byte(to)}
	}
	both := []string{"g1", "g2"}

	cases := []struct {
		reason   string
		spec     seamv1alpha1.AcsUserSpec
		observed Observed
		recorded []string
		want     []string
	}{
		{reason: "in sync: nothing to send",
			spec: spec(), observed: Observed{User: remote(), Groups: both}},
		{reason: "adopted, groups and schedule left out of the spec: Seam's are left as they are",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.AcsUserID = "u1"; s.AccessGroupIDs = nil }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &t0, EndsAt: &t1}
			}), Groups: both}},
		{reason: "adopted: fields in the spec are corrected, groups included",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AcsUserID = "u1"
				s.FullName = "Ada King"
				s.AccessGroupIDs = []seamv1alpha1.SeamID{"g2", "g3"}
			}),
			observed: Observed{User: remote(), Groups: both},
			want:     []string{"RemoveFromGroup:g1"}},
		{reason: "adopted with groups by name only (resolved into ids): the groups are no longer left as they are",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AcsUserID, s.AccessGroupIDs, s.AccessGroupNames = "u1", []seamv1alpha1.SeamID{"g2"}, []string{"Gym"}
			}),
			observed: Observed{User: remote(), Groups: both},
			want:     []string{"RemoveFromGroup:g1"}},
		{reason: "a created user whose spec drops its schedule has it cleared",
			spec: spec(),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &t0, EndsAt: &t1}
			}), Groups: both},
			want: []string{"Update:accessSchedule"}},
		{reason: "no remote user: nothing to diff (creation is decided elsewhere)",
			spec: spec(), observed: Observed{}},
		{reason: "pending mutations hold grants back, never revocations",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Ada King"; s.Suspended = true }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.PendingMutations = []seam.PendingMutation{{MutationCode: "deferring_creation"}}
			}), Groups: both},
			want: []string{"Suspend"}},
		{reason: "a suspension already in flight is not sent again, and grants wait for it",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true; s.FullName = "Ada King" }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.PendingMutations = []seam.PendingMutation{pending("updating_suspension_state", `{"is_suspended":false}`, `{"is_suspended":true}`)}
			}), Groups: both}},
		{reason: "an unsuspension in flight does not count as a suspension",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.PendingMutations = []seam.PendingMutation{pending("updating_suspension_state", `{"is_suspended":true}`, `{"is_suspended":false}`)}
			}), Groups: both},
			want: []string{"Suspend"}},
		{reason: "a group removal in flight is not sent again; another one is",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = nil }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.PendingMutations = []seam.PendingMutation{pending("updating_group_membership", `{"acs_access_group_id":"g1"}`, `{"acs_access_group_id":null}`)}
			}), Groups: both},
			want: []string{"RemoveFromGroup:g2"}},
		{reason: "a deferred removal in flight is not sent again",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = []seamv1alpha1.SeamID{"g2"} }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.PendingMutations = []seam.PendingMutation{{MutationCode: "deferring_group_membership_update",
					Raw: []byte(`{"mutation_code":"deferring_group_membership_update","acs_access_group_id":"g1","variant":"removing"}`)}}
			}), Groups: both}},
		{reason: "a user being deleted gets nothing",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true }),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				u.PendingMutations = []seam.PendingMutation{{MutationCode: "deleting"}}
			}), Groups: both}},
		{reason: "name differs: one update of that field",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Ada King" }), observed: Observed{User: remote(), Groups: both},
			want: []string{"Update:fullName"}},
		{reason: "every identity field differs: still one update",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.FullName, s.EmailAddress, s.PhoneNumber = "B", "b@example.com", "+442071234567"
			}),
			observed: Observed{User: remote(), Groups: both},
			want:     []string{"Update:fullName:emailAddress:phoneNumber"}},
		{reason: "a schedule on a user without one narrows access: a revocation, the rest waits",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.FullName = "B"
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(t1)}
			}),
			observed: Observed{User: remote(), Groups: both},
			want:     []string{"NarrowSchedule:accessSchedule"}},
		{reason: "email matched through the deprecated email field (servers that update only that one)",
			spec:     spec(func(s *seamv1alpha1.AcsUserSpec) { s.EmailAddress = "new@example.com" }),
			observed: Observed{User: remote(func(u *seam.AcsUser) { u.Email = "new@example.com" }), Groups: both}},
		{reason: "unset email and phone: Seam cannot clear them, nothing is sent (the report says so)",
			spec:     spec(func(s *seamv1alpha1.AcsUserSpec) { s.EmailAddress, s.PhoneNumber = "", "" }),
			observed: Observed{User: remote(), Groups: both}},
		{reason: "schedule equal to the second: nothing",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(t1)}
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				s, e := t0.Add(300*time.Millisecond), t1
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s, EndsAt: &e}
			}), Groups: both}},
		{reason: "schedule end moved later: a grant",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(t1)}
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				s, e := t0, now.Add(time.Hour)
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s, EndsAt: &e}
			}), Groups: both},
			want: []string{"Update:accessSchedule"}},
		{reason: "schedule end moved earlier: a revocation",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(now.Add(time.Hour))}
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				s, e := t0, t1
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s, EndsAt: &e}
			}), Groups: both},
			want: []string{"NarrowSchedule:accessSchedule"}},
		{reason: "an end already past is not sent (Seam refuses it): the user is suspended instead",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(now.Add(-time.Hour))}
			}),
			observed: Observed{User: remote(), Groups: both},
			want:     []string{"Suspend"}},
		{reason: "an end already past, user suspended: nothing more",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: mt(t0), EndsAt: mt(now.Add(-time.Hour))}
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) { u.IsSuspended = true }), Groups: both}},
		{reason: "schedule removed: cleared in Seam (a grant)",
			spec: spec(),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				s, e := t0, t1
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s, EndsAt: &e}
			}), Groups: both},
			want: []string{"Update:accessSchedule"}},
		{reason: "no schedule in the spec, Seam's started in the past with no end: the same access",
			spec: spec(),
			observed: Observed{User: remote(func(u *seam.AcsUser) {
				s := t0
				u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s}
			}), Groups: both}},
		{reason: "suspend requested",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true }), observed: Observed{User: remote(), Groups: both},
			want: []string{"Suspend"}},
		{reason: "unsuspend requested",
			spec: spec(), observed: Observed{User: remote(func(u *seam.AcsUser) { u.IsSuspended = true }), Groups: both},
			want: []string{"Unsuspend"}},
		{reason: "suspend and a new group together: the group waits until the suspension is applied",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.Suspended = true
				s.AccessGroupIDs = []seamv1alpha1.SeamID{"g1", "g2", "g3"}
			}),
			observed: Observed{User: remote(), Groups: both},
			want:     []string{"Suspend"}},
		{reason: "suspension applied: then the group",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.Suspended = true
				s.AccessGroupIDs = []seamv1alpha1.SeamID{"g1", "g2", "g3"}
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) { u.IsSuspended = true }), Groups: both},
			want:     []string{"AddToGroup:g3"}},
		{reason: "groups to remove and grants: the removals first, alone",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessGroupIDs = []seamv1alpha1.SeamID{"g2", "g3"}
				s.FullName = "X"
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) { u.IsSuspended = true }), Groups: []string{"g1", "g2", "g9"}},
			want:     []string{"RemoveFromGroup:g1", "RemoveFromGroup:g9"}},
		{reason: "removals confirmed: every grant in one pass, unsuspend last",
			spec: spec(func(s *seamv1alpha1.AcsUserSpec) {
				s.AccessGroupIDs = []seamv1alpha1.SeamID{"g2", "g3"}
				s.FullName = "X"
			}),
			observed: Observed{User: remote(func(u *seam.AcsUser) { u.IsSuspended = true }), Groups: []string{"g2"}},
			want:     []string{"Update:fullName", "AddToGroup:g3", "Unsuspend"}},
		{reason: "suspension comes before everything else",
			spec:     spec(func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true; s.AccessGroupIDs = nil }),
			observed: Observed{User: remote(), Groups: []string{"g1"}},
			want:     []string{"Suspend", "RemoveFromGroup:g1"}},
		{reason: "membership unknown (server without access-group routes): trust the recorded membership",
			spec: spec(), observed: Observed{User: remote()}, recorded: []string{"g1", "g7"},
			want: []string{"RemoveFromGroup:g7"}},
		{reason: "membership known and empty: the record is not used",
			spec: spec(), observed: Observed{User: remote(), Groups: []string{}}, recorded: both,
			want: []string{"AddToGroup:g1", "AddToGroup:g2"}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got := Diff(tc.spec, tc.observed, tc.recorded, now)
			if diff := cmp.Diff(tc.want, kinds(got)); diff != "" {
				t.Errorf("%s: actions (-want +got):\n%s", tc.reason, diff)
			}
		})
	}

	t.Run("the update request carries only the changed fields", func(t *testing.T) {
		got := Diff(spec(func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Ada King" }), Observed{User: remote(), Groups: both}, nil, now)
		want := &seam.UpdateUserRequest{AcsUserID: "u1", FullName: str("Ada King")}
		if diff := cmp.Diff(want, got[0].Update); diff != "" {
			t.Errorf("update request (-want +got):\n%s", diff)
		}
	})

	t.Run("a schedule with only an end is sent whole: Seam's update needs both ends", func(t *testing.T) {
		got := Diff(spec(func(s *seamv1alpha1.AcsUserSpec) { s.AccessSchedule = &seamv1alpha1.AccessSchedule{EndsAt: mt(t1)} }),
			Observed{User: remote(), Groups: both}, nil, now)
		if len(got) != 1 || got[0].Update.AccessSchedule == nil || got[0].Update.AccessSchedule.StartsAt == nil ||
			!got[0].Update.AccessSchedule.StartsAt.Equal(now) || !got[0].Update.AccessSchedule.EndsAt.Equal(t1) {
			t.Errorf("got %+v, want a schedule from now to %s", got, t1)
		}
	})

	t.Run("a removed schedule is sent as null", func(t *testing.T) {
		s0, e0 := t0, t1
		got := Diff(spec(), Observed{User: remote(func(u *seam.AcsUser) { u.AccessSchedule = &seam.AccessSchedule{StartsAt: &s0, EndsAt: &e0} }), Groups: both}, nil, now)
		if len(got) != 1 || !got[0].Update.ClearAccessSchedule || got[0].Update.AccessSchedule != nil {
			t.Errorf("got %+v, want access_schedule: null", got[0].Update)
		}
	})
}

func TestCreateMarkerMatchesCreatedUser(t *testing.T) {
	u := &seamv1alpha1.AcsUser{Spec: seamv1alpha1.AcsUserSpec{AcsSystemID: "sys", FullName: "Ada", EmailAddress: "a@example.com", UserIdentityID: "uid"}}
	m := markerFor(time.Now(), createRequest(u.Spec, time.Now()))
	created := &seam.AcsUser{AcsSystemID: "sys", FullName: "Ada", Email: "a@example.com", UserIdentityID: "uid", PhoneNumber: "+15555550100"}
	if !m.matches(created) {
		t.Fatal("a user created from the request must match its marker, also when the server fills only the deprecated email or fields it was not sent")
	}
	other := *created
	other.FullName = "Ada King"
	if m.matches(&other) {
		t.Fatal("a different person must not match")
	}
	noEmail := markerFor(time.Now(), createRequest(seamv1alpha1.AcsUserSpec{AcsSystemID: "sys", FullName: "Bo"}, time.Now()))
	if !noEmail.matches(&seam.AcsUser{AcsSystemID: "sys", FullName: "Bo", EmailAddress: "acs_user_1x@example.com"}) {
		t.Fatal("an email the server made up must not stop the match when the create sent none")
	}
}

func TestCreateMarkerSigned(t *testing.T) {
	key, _ := signing.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	at := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	u := &seamv1alpha1.AcsUser{}
	u.UID = "uid-1"
	want := createMarker{At: at, Hash: "sha256:abc", Fields: []string{"system", "fullName"}}
	u.Annotations = map[string]string{AnnotationCreatePending: want.encode(key, u.UID)}
	if m, state := createMarkerOf(key, u); state != markerValid || !cmp.Equal(m, want) {
		t.Fatalf("round trip: got %+v, %v", m, state)
	}
	other := u.DeepCopy()
	other.UID = "uid-2"
	if _, state := createMarkerOf(key, other); state != markerUnverified {
		t.Error("a marker copied to another object must not verify")
	}
	for _, forged := range []string{
		"garbage",
		"2026-11-25T13:00:00Z sha256:abc system,fullName",
		strings.Replace(u.Annotations[AnnotationCreatePending], "2026-11-25T13:00:00Z", "1970-01-01T00:00:00Z", 1),
		strings.Replace(u.Annotations[AnnotationCreatePending], "system,fullName", "system", 1),
	} {
		u.Annotations[AnnotationCreatePending] = forged
		if _, state := createMarkerOf(key, u); state != markerUnverified {
			t.Errorf("forged marker %q verified", forged)
		}
	}
	delete(u.Annotations, AnnotationCreatePending)
	if _, state := createMarkerOf(key, u); state != markerAbsent {
		t.Error("no annotation must read as absent")
	}
}

func TestClaimSigned(t *testing.T) {
	key, _ := signing.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	u := &seamv1alpha1.AcsUser{Spec: seamv1alpha1.AcsUserSpec{AcsSystemID: "sys"}}
	u.Namespace, u.Name = "tenant", "ada"
	c := claim{WorkspaceID: "ws", AcsUserID: "u1"}
	u.Annotations = map[string]string{AnnotationAcsUser: c.encode(key, u)}
	if got, present, ok := claimOf(key, u); !present || !ok || got != c {
		t.Fatalf("round trip: %+v %v %v", got, present, ok)
	}
	restored := u.DeepCopy()
	restored.UID = "a-new-uid"
	if _, _, ok := claimOf(key, restored); !ok {
		t.Error("a restore (new UID) must recover its claim")
	}
	for reason, mutate := range map[string]func(*seamv1alpha1.AcsUser){
		"a claim is bound to its system":            func(o *seamv1alpha1.AcsUser) { o.Spec.AcsSystemID = "other" },
		"a copy on another object does not verify":  func(o *seamv1alpha1.AcsUser) { o.Name = "copy" },
		"a restore into another namespace does not": func(o *seamv1alpha1.AcsUser) { o.Namespace = "elsewhere" },
	} {
		other := u.DeepCopy()
		mutate(other)
		if got, present, ok := claimOf(key, other); !present || ok || got.AcsUserID != "u1" {
			t.Errorf("%s: got %+v %v %v", reason, got, present, ok)
		}
	}
	u.Annotations[AnnotationAcsUser] = strings.Replace(u.Annotations[AnnotationAcsUser], " u1 ", " someone-else ", 1)
	if _, present, ok := claimOf(key, u); !present || ok {
		t.Error("an edited claim must not verify")
	}
}

func TestKnownRevocations(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	yes, no := true, false
	past := metav1.NewTime(now.Add(-time.Hour))
	seen := func(suspended *bool, groups []string, pending ...string) seamv1alpha1.AcsUserStatus {
		return seamv1alpha1.AcsUserStatus{AcsUserID: "u1", IsSuspended: suspended, AccessGroupIDs: groups, PendingMutations: pending}
	}
	cases := []struct {
		reason string
		spec   seamv1alpha1.AcsUserSpec
		status seamv1alpha1.AcsUserStatus
		want   []ActionKind
	}{
		{reason: "nothing to revoke", spec: seamv1alpha1.AcsUserSpec{AccessGroupIDs: []seamv1alpha1.SeamID{"g1"}}, status: seen(&no, []string{"g1"})},
		{reason: "suspended, seen unsuspended: one write before any read",
			spec: seamv1alpha1.AcsUserSpec{Suspended: true}, status: seen(&no, nil), want: []ActionKind{ActionSuspend}},
		{reason: "schedule ended, seen unsuspended",
			spec:   seamv1alpha1.AcsUserSpec{AccessSchedule: &seamv1alpha1.AccessSchedule{EndsAt: &past}},
			status: seen(&no, nil), want: []ActionKind{ActionSuspend}},
		{reason: "already seen suspended", spec: seamv1alpha1.AcsUserSpec{Suspended: true}, status: seen(&yes, nil)},
		{reason: "a suspension seen in flight is not sent again",
			spec: seamv1alpha1.AcsUserSpec{Suspended: true}, status: seen(&no, nil, "updating_suspension_state")},
		{reason: "out of a group it was seen in",
			spec: seamv1alpha1.AcsUserSpec{}, status: seen(&no, []string{"g1", "g2"}), want: []ActionKind{ActionRemoveFromGroup, ActionRemoveFromGroup}},
		{reason: "a membership change in flight: removals wait for the read",
			spec: seamv1alpha1.AcsUserSpec{Suspended: true}, status: seen(&no, []string{"g1"}, "updating_group_membership"), want: []ActionKind{ActionSuspend}},
		{reason: "never observed: the read decides", spec: seamv1alpha1.AcsUserSpec{Suspended: true}, status: seen(nil, nil)},
		{reason: "no user yet", spec: seamv1alpha1.AcsUserSpec{Suspended: true}, status: seamv1alpha1.AcsUserStatus{IsSuspended: &no}},
		{reason: "being deleted in Seam", spec: seamv1alpha1.AcsUserSpec{Suspended: true}, status: seen(&no, nil, "deleting")},
	}
	for _, tc := range cases {
		var got []ActionKind
		for _, a := range knownRevocations(tc.spec, tc.status, now) {
			got = append(got, a.Kind)
		}
		if !cmp.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.reason, got, tc.want)
		}
	}
}

func TestGroupsNotGranted(t *testing.T) {
	refused := &seam.APIError{HTTPStatus: 400}
	throttled := &seam.APIError{HTTPStatus: 429}
	unavailable := &seam.APIError{HTTPStatus: 503}
	lost := &seam.RequestError{Route: "/acs/users/add_to_access_group", Err: errors.New("connection reset")}
	cases := []struct {
		reason  string
		ahead   []string
		granted map[string]error
		want    []string
	}{
		{reason: "all granted", ahead: []string{"a", "b"}, granted: map[string]error{"a": nil, "b": nil}},
		{reason: "never sent after an earlier grant failed: not granted", ahead: []string{"a", "b"},
			granted: map[string]error{"a": unavailable}, want: []string{"b"}},
		{reason: "refused outright: not granted", ahead: []string{"a"}, granted: map[string]error{"a": refused}, want: []string{"a"}},
		{reason: "a 429 is a refusal too", ahead: []string{"a"}, granted: map[string]error{"a": throttled}, want: []string{"a"}},
		{reason: "deferred (not sent): not granted", ahead: []string{"a"},
			granted: map[string]error{"a": &seam.DeferredError{Route: "/acs/users/add_to_access_group", Wait: time.Minute}}, want: []string{"a"}},
		{reason: "a 5xx may have been applied: kept", ahead: []string{"a"}, granted: map[string]error{"a": unavailable}},
		{reason: "no answer: kept, a later removal must still be sent", ahead: []string{"a"}, granted: map[string]error{"a": lost}},
		{reason: "nothing written ahead", granted: map[string]error{"a": refused}},
	}
	for _, tc := range cases {
		if got := groupsNotGranted(tc.ahead, tc.granted); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.reason, got, tc.want)
		}
	}
}

func TestConfirmByUserRead(t *testing.T) {
	suspend, remove := Action{Kind: ActionSuspend}, Action{Kind: ActionRemoveFromGroup, Group: "g1"}
	narrow := Action{Kind: ActionNarrowSchedule, Fields: []string{"accessSchedule"}}
	add, unsuspend := Action{Kind: ActionAddToGroup, Group: "g2"}, Action{Kind: ActionUnsuspend}
	cases := []struct {
		reason string
		sent   []Action
		want   bool
	}{
		{reason: "a suspension: one read of the user", sent: []Action{suspend}, want: true},
		{reason: "suspended and out of a group", sent: []Action{suspend, remove}, want: true},
		{reason: "a removal from a group: every grant is recorded before it is sent", sent: []Action{remove}, want: true},
		{reason: "a narrower schedule is in the user's read", sent: []Action{narrow}, want: true},
		{reason: "a grant is confirmed by reading the membership", sent: []Action{remove, add}},
		{reason: "an unsuspend is a grant", sent: []Action{unsuspend}},
		{reason: "nothing sent"},
	}
	for _, tc := range cases {
		if got := confirmByUserRead(tc.sent); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.reason, got, tc.want)
		}
	}
}
