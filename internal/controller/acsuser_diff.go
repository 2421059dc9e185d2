package controller

import (
	"slices"
	"time"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// ActionKind is one kind of remote write.
type ActionKind string

// The remote writes a reconcile can send, in the order they are sent: revocations
// first, so a person loses access before anything that could grant more.
const (
	ActionSuspend         ActionKind = "Suspend"
	ActionRemoveFromGroup ActionKind = "RemoveFromGroup"
	ActionUpdate          ActionKind = "Update"
	ActionAddToGroup      ActionKind = "AddToGroup"
	ActionUnsuspend       ActionKind = "Unsuspend"
)

// Action is one remote write.
type Action struct {
	Kind ActionKind
	// Group is the access group of AddToGroup and RemoveFromGroup.
	Group string
	// Fields are the fields an Update changes (fullName, emailAddress, phoneNumber,
	// accessSchedule), for events and logs.
	Fields []string
	// Update is the request of an Update.
	Update *seam.UpdateUserRequest
}

// Observed is what one reconcile saw of the remote user.
type Observed struct {
	User *seam.AcsUser
	// Groups is the user's access-group membership. Nil when the server cannot report
	// it: the diff then trusts the membership the operator recorded in status.
	Groups []string
}

// Diff decides the remote writes that bring the remote user to spec. It is pure: no
// I/O, no clock. Nothing is written while Seam still has writes pending on the user,
// so an accepted write is never sent twice. Unset optional fields (email, phone,
// schedule ends) are not managed: the remote value is left as it is.
func Diff(spec seamv1alpha1.AcsUserSpec, observed Observed, recordedGroups []string) []Action {
	u := observed.User
	if u == nil || len(u.PendingMutations) > 0 {
		return nil
	}
	var actions []Action
	if spec.Suspended && !u.IsSuspended {
		actions = append(actions, Action{Kind: ActionSuspend})
	}
	current := observed.Groups
	if current == nil {
		current = recordedGroups
	}
	desired := make([]string, 0, len(spec.AccessGroupIDs))
	for _, g := range spec.AccessGroupIDs {
		desired = append(desired, string(g))
	}
	for _, g := range sortedDifference(current, desired) {
		actions = append(actions, Action{Kind: ActionRemoveFromGroup, Group: g})
	}
	if update, fields := updateFor(spec, u); len(fields) > 0 {
		actions = append(actions, Action{Kind: ActionUpdate, Fields: fields, Update: update})
	}
	for _, g := range sortedDifference(desired, current) {
		actions = append(actions, Action{Kind: ActionAddToGroup, Group: g})
	}
	if !spec.Suspended && u.IsSuspended {
		actions = append(actions, Action{Kind: ActionUnsuspend})
	}
	return actions
}

// updateFor builds the /acs/users/update request for the fields that differ.
func updateFor(spec seamv1alpha1.AcsUserSpec, u *seam.AcsUser) (*seam.UpdateUserRequest, []string) {
	req := &seam.UpdateUserRequest{AcsUserID: u.AcsUserID}
	var fields []string
	if spec.FullName != u.FullName {
		req.FullName = &spec.FullName
		fields = append(fields, "fullName")
	}
	if spec.EmailAddress != "" && !emailMatches(spec.EmailAddress, u) {
		req.EmailAddress = &spec.EmailAddress
		fields = append(fields, "emailAddress")
	}
	if spec.PhoneNumber != "" && spec.PhoneNumber != u.PhoneNumber {
		req.PhoneNumber = &spec.PhoneNumber
		fields = append(fields, "phoneNumber")
	}
	if want := spec.AccessSchedule; want != nil && !scheduleMatches(want, u.AccessSchedule) {
		req.AccessSchedule = toSeamSchedule(want)
		fields = append(fields, "accessSchedule")
	}
	return req, fields
}

// emailMatches accepts the deprecated email field as well: some servers (the npm
// fake) update only that one, and both name the same address.
func emailMatches(want string, u *seam.AcsUser) bool {
	return want == u.EmailAddress || want == u.Email
}

// scheduleMatches compares the ends the spec sets, to the second (Kubernetes keeps
// date-times to the second).
func scheduleMatches(want *seamv1alpha1.AccessSchedule, got *seam.AccessSchedule) bool {
	if got == nil {
		return want.StartsAt == nil && want.EndsAt == nil
	}
	same := func(w *time.Time, g *time.Time) bool {
		return w == nil || (g != nil && w.Truncate(time.Second).Equal(g.Truncate(time.Second)))
	}
	var ws, we *time.Time
	if want.StartsAt != nil {
		ws = &want.StartsAt.Time
	}
	if want.EndsAt != nil {
		we = &want.EndsAt.Time
	}
	return same(ws, got.StartsAt) && same(we, got.EndsAt)
}

func toSeamSchedule(s *seamv1alpha1.AccessSchedule) *seam.AccessSchedule {
	if s == nil {
		return nil
	}
	out := &seam.AccessSchedule{}
	if s.StartsAt != nil {
		t := s.StartsAt.UTC()
		out.StartsAt = &t
	}
	if s.EndsAt != nil {
		t := s.EndsAt.UTC()
		out.EndsAt = &t
	}
	return out
}

// sortedDifference is a minus b, sorted, without duplicates.
func sortedDifference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
