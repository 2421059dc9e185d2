package controller

import (
	"encoding/json"
	"slices"
	"time"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// ActionKind is one kind of remote write.
type ActionKind string

// The remote writes a reconcile can send. Revocations (Suspend, RemoveFromGroup,
// NarrowSchedule) are idempotent and go out whatever Seam has pending. Grants
// (Update, AddToGroup, Unsuspend) wait until nothing is pending and no revocation is
// outstanding, so a person never holds more access than the spec says, not even
// for the time a building's system takes to apply a suspension.
const (
	ActionSuspend         ActionKind = "Suspend"
	ActionRemoveFromGroup ActionKind = "RemoveFromGroup"
	// ActionNarrowSchedule is an access schedule inside the current one.
	ActionNarrowSchedule ActionKind = "NarrowSchedule"
	ActionUpdate         ActionKind = "Update"
	ActionAddToGroup     ActionKind = "AddToGroup"
	ActionUnsuspend      ActionKind = "Unsuspend"
)

// Revokes reports whether the action takes access away.
func (k ActionKind) Revokes() bool {
	return k == ActionSuspend || k == ActionRemoveFromGroup || k == ActionNarrowSchedule
}

// Action is one remote write.
type Action struct {
	Kind ActionKind
	// Group is the access group of AddToGroup and RemoveFromGroup.
	Group string
	// Fields are the fields an Update changes (fullName, emailAddress, phoneNumber,
	// accessSchedule), for events and logs.
	Fields []string
	// Update is the request of an Update or a NarrowSchedule.
	Update *seam.UpdateUserRequest
}

// Observed is what one reconcile saw of the remote user.
type Observed struct {
	User *seam.AcsUser
	// Groups is the user's access-group membership. Nil when the server cannot report
	// it: the diff then trusts the membership the operator recorded in status.
	Groups []string
	// GroupNames maps group ids to names where they were read, for status.
	GroupNames map[string]string
}

// Diff decides the remote writes that bring the remote user to spec at time now.
// It is pure: no I/O, the clock is an argument. Revocations come first and are sent
// whatever is pending (each unless the same revocation is already in flight);
// grants only once nothing is pending and every revocation is confirmed applied.
func Diff(spec seamv1alpha1.AcsUserSpec, observed Observed, recordedGroups []string, now time.Time) []Action {
	u := observed.User
	if u == nil || u.HasPendingMutation(seam.MutationDeleting) {
		return nil
	}
	current := observed.Groups
	if current == nil {
		current = recordedGroups
	}
	desired := desiredGroups(spec, current)
	suspend := effectivelySuspended(spec, now)
	var schedule *scheduleChange
	var scheduleFields []string
	if !leftAsIs(spec, fieldAccessSchedule) {
		schedule, scheduleFields = scheduleUpdate(spec, u, now)
	}
	narrows := schedule != nil && scheduleNarrows(schedule, u.AccessSchedule)

	var revocations []Action
	outstanding := false // a revocation not yet confirmed applied
	if suspend && !u.IsSuspended {
		outstanding = true
		if !suspensionInFlight(u) {
			revocations = append(revocations, Action{Kind: ActionSuspend})
		}
	}
	for _, g := range sortedDifference(current, desired) {
		outstanding = true
		if !groupRemovalInFlight(u, g) {
			revocations = append(revocations, Action{Kind: ActionRemoveFromGroup, Group: g})
		}
	}
	if narrows {
		outstanding = true
		if !u.HasPendingMutation(seam.MutationUpdatingAccessSchedule) {
			revocations = append(revocations, Action{Kind: ActionNarrowSchedule, Fields: scheduleFields,
				Update: &seam.UpdateUserRequest{AcsUserID: u.AcsUserID, AccessSchedule: schedule.AccessSchedule, ClearAccessSchedule: schedule.clear}})
		}
	}
	if outstanding || len(u.PendingMutations) > 0 {
		return revocations
	}

	var grants []Action
	update, fields := identityUpdate(spec, u)
	if schedule != nil {
		update.AccessSchedule, update.ClearAccessSchedule = schedule.AccessSchedule, schedule.clear
		fields = append(fields, scheduleFields...)
	}
	if len(fields) > 0 {
		grants = append(grants, Action{Kind: ActionUpdate, Fields: fields, Update: update})
	}
	for _, g := range sortedDifference(desired, current) {
		grants = append(grants, Action{Kind: ActionAddToGroup, Group: g})
	}
	if !suspend && u.IsSuspended {
		grants = append(grants, Action{Kind: ActionUnsuspend})
	}
	return grants
}

// Spec fields an adopted user may leave out.
const (
	fieldAccessSchedule = "accessSchedule"
	fieldAccessGroups   = "accessGroups"
)

// leftAsIs reports whether the spec leaves a field of the remote user as Seam has it:
// an adopted user (spec.acsUserId) keeps what its spec does not mention. A user the
// operator created has no such field: its spec said everything at creation.
func leftAsIs(spec seamv1alpha1.AcsUserSpec, field string) bool {
	if spec.AcsUserID == "" {
		return false
	}
	switch field {
	case fieldAccessSchedule:
		return spec.AccessSchedule == nil
	case fieldAccessGroups:
		return len(spec.AccessGroupIDs) == 0 && len(spec.AccessGroupNames) == 0
	}
	return false
}

// desiredGroups are the groups the user must be in: the spec's ids (with its names
// already resolved into them), or the current ones when the spec leaves them as is.
func desiredGroups(spec seamv1alpha1.AcsUserSpec, current []string) []string {
	if leftAsIs(spec, fieldAccessGroups) {
		return slices.Clone(current)
	}
	desired := make([]string, 0, len(spec.AccessGroupIDs))
	for _, g := range spec.AccessGroupIDs {
		desired = append(desired, string(g))
	}
	return desired
}

// effectivelySuspended: the spec says suspended, or its schedule has ended. Seam
// refuses a schedule whose end is past, so a past endsAt ends access by suspension.
func effectivelySuspended(spec seamv1alpha1.AcsUserSpec, now time.Time) bool {
	return spec.Suspended || scheduleEnded(spec.AccessSchedule, now)
}

func scheduleEnded(s *seamv1alpha1.AccessSchedule, now time.Time) bool {
	return s != nil && s.EndsAt != nil && !s.EndsAt.After(now)
}

// suspensionInFlight: Seam has accepted a suspension it has not applied yet. A
// pending change whose target cannot be read does not count: Suspend is idempotent,
// sending it again is the safe side.
func suspensionInFlight(u *seam.AcsUser) bool {
	for _, m := range u.PendingMutations {
		var to struct {
			IsSuspended *bool `json:"is_suspended"`
		}
		if m.MutationCode == seam.MutationUpdatingSuspensionState && json.Unmarshal(m.To, &to) == nil &&
			to.IsSuspended != nil && *to.IsSuspended {
			return true
		}
	}
	return false
}

// groupRemovalInFlight: Seam has accepted the removal from group g and not applied it.
func groupRemovalInFlight(u *seam.AcsUser, g string) bool {
	for _, m := range u.PendingMutations {
		switch m.MutationCode {
		case "updating_group_membership":
			var from, to struct {
				Group *string `json:"acs_access_group_id"`
			}
			if json.Unmarshal(m.From, &from) == nil && json.Unmarshal(m.To, &to) == nil &&
				from.Group != nil && *from.Group == g && to.Group == nil {
				return true
			}
		case "deferring_group_membership_update":
			var raw struct {
				Group   string `json:"acs_access_group_id"`
				Variant string `json:"variant"`
			}
			if json.Unmarshal(m.Raw, &raw) == nil && raw.Group == g && raw.Variant == "removing" {
				return true
			}
		}
	}
	return false
}

// identityUpdate builds the /acs/users/update request for the identity fields that
// differ. Seam's update cannot clear an email address or a phone number: a field
// removed from the spec is left as it is (the report says so).
func identityUpdate(spec seamv1alpha1.AcsUserSpec, u *seam.AcsUser) (*seam.UpdateUserRequest, []string) {
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
	return req, fields
}

// emailMatches accepts the deprecated email field as well: some servers (the npm
// fake) update only that one, and both name the same address.
func emailMatches(want string, u *seam.AcsUser) bool {
	return want == u.EmailAddress || want == u.Email
}

// scheduleChange is the access_schedule an update sends: a complete schedule, or
// null to clear it.
type scheduleChange struct {
	*seam.AccessSchedule
	clear bool
}

// scheduleUpdate decides the access_schedule to send, if any. Seam's update takes a
// schedule only with both ends, or null. An end the spec leaves open at the start
// is sent as "now" (the same access); a schedule that has ended is not sent (Seam
// refuses it: the suspension ends access instead); a schedule without endsAt that
// differs from Seam's cannot be sent (admission keeps it to creation).
func scheduleUpdate(spec seamv1alpha1.AcsUserSpec, u *seam.AcsUser, now time.Time) (*scheduleChange, []string) {
	want, got := spec.AccessSchedule, u.AccessSchedule
	switch {
	case scheduleEnded(want, now), scheduleMatches(want, got, now):
		return nil, nil
	case want == nil:
		return &scheduleChange{clear: true}, []string{"accessSchedule"}
	case want.EndsAt == nil:
		return nil, nil
	}
	starts := now.UTC().Truncate(time.Second)
	if want.StartsAt != nil {
		starts = want.StartsAt.UTC()
	} else if got != nil && got.StartsAt != nil && !got.StartsAt.After(now) {
		starts = got.StartsAt.UTC() // already open: keep Seam's start rather than move it
	}
	ends := want.EndsAt.UTC()
	return &scheduleChange{AccessSchedule: &seam.AccessSchedule{StartsAt: &starts, EndsAt: &ends}}, []string{"accessSchedule"}
}

// scheduleMatches compares the spec's schedule with Seam's at time now, to the
// second (Kubernetes keeps date-times to the second). An open start matches any
// start already past; an open end matches only no end.
func scheduleMatches(want *seamv1alpha1.AccessSchedule, got *seam.AccessSchedule, now time.Time) bool {
	var gs, ge *time.Time
	if got != nil {
		gs, ge = got.StartsAt, got.EndsAt
	}
	startOpen := gs == nil || !gs.After(now)
	if want == nil {
		return startOpen && ge == nil
	}
	same := func(w time.Time, g *time.Time) bool {
		return g != nil && w.Truncate(time.Second).Equal(g.Truncate(time.Second))
	}
	startOK := (want.StartsAt == nil && startOpen) || (want.StartsAt != nil && same(want.StartsAt.Time, gs))
	endOK := (want.EndsAt == nil && ge == nil) || (want.EndsAt != nil && same(want.EndsAt.Time, ge))
	return startOK && endOK
}

// scheduleNarrows reports whether the new schedule grants no time the current one
// does not: a later or equal start and an earlier or equal end.
func scheduleNarrows(next *scheduleChange, current *seam.AccessSchedule) bool {
	if next.clear || next.AccessSchedule == nil {
		return false // clearing a schedule widens access
	}
	var cs, ce *time.Time
	if current != nil {
		cs, ce = current.StartsAt, current.EndsAt
	}
	startLater := cs == nil || (next.StartsAt != nil && !next.StartsAt.Before(*cs))
	endEarlier := ce == nil || (next.EndsAt != nil && !next.EndsAt.After(*ce))
	return startLater && endEarlier
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
