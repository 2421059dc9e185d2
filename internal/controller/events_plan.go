package controller

import "github.com/acs-operator/acs-operator/internal/seam"

// What a Seam event wakes up. An event is only ever a reason to read Seam now
// rather than at the next resync: the reconcile it triggers decides from what it
// reads, never from the event's body (an event may be old, repeated, or, were a
// signing secret to leak, forged).
type eventTarget int

const (
	// targetUser: the AcsUsers claiming acs_user_id.
	targetUser eventTarget = iota + 1
	// targetNewUser: the AcsUsers claiming acs_user_id, and those of the system
	// waiting on a create whose answer was lost (the user may be theirs).
	targetNewUser
	// targetCredential: the AcsCredentials holding acs_credential_id.
	targetCredential
	// targetGroup: the AcsUsers of the system whose spec names acs_access_group_id.
	targetGroup
	// targetSystem: the connection's record of the system's state, and the
	// AcsUsers of the system.
	targetSystem
)

// eventPlan is what to do about one event.
type eventPlan struct {
	target eventTarget
	// revoke: the event may mean access was taken away or must be: the objects it
	// wakes go ahead of everything else in the queue.
	revoke bool
	// systemConnected reports the system's new state, for targetSystem.
	systemConnected bool
}

// eventTypes are the events the operator subscribes to (a registered webhook's
// event_types, the catch-up's filter).
var eventTypes = []string{
	"acs_user.created", "acs_user.deleted",
	"acs_credential.deleted", "acs_credential.issued", "acs_credential.reissued", "acs_credential.invalidated",
	"acs_access_group.deleted",
	"acs_system.connected", "acs_system.disconnected",
}

// planFor maps an event to what it wakes; false for an event the operator has no
// use for, or one without the ids it needs.
func planFor(e seam.Event) (eventPlan, bool) {
	need := func(ids ...string) bool {
		for _, id := range ids {
			if id == "" {
				return false
			}
		}
		return true
	}
	switch e.EventType {
	case "acs_user.deleted":
		return eventPlan{target: targetUser, revoke: true}, need(e.AcsUserID, e.AcsSystemID)
	case "acs_user.created":
		return eventPlan{target: targetNewUser}, need(e.AcsUserID, e.AcsSystemID)
	case "acs_credential.deleted", "acs_credential.invalidated":
		return eventPlan{target: targetCredential, revoke: true}, need(e.AcsCredentialID)
	case "acs_credential.issued", "acs_credential.reissued":
		return eventPlan{target: targetCredential}, need(e.AcsCredentialID)
	case "acs_access_group.deleted":
		return eventPlan{target: targetGroup, revoke: true}, need(e.AcsAccessGroupID, e.AcsSystemID)
	case "acs_system.disconnected":
		return eventPlan{target: targetSystem}, need(e.AcsSystemID)
	case "acs_system.connected":
		return eventPlan{target: targetSystem, systemConnected: true}, need(e.AcsSystemID)
	}
	return eventPlan{}, false
}
