package controller

import (
	"testing"

	"github.com/acs-operator/acs-operator/internal/seam"
)

func TestPlanFor(t *testing.T) {
	user := seam.Event{AcsUserID: "u", AcsSystemID: "s"}
	cred := seam.Event{AcsCredentialID: "c", AcsSystemID: "s"}
	group := seam.Event{AcsAccessGroupID: "g", AcsSystemID: "s"}
	system := seam.Event{AcsSystemID: "s"}
	with := func(e seam.Event, t string) seam.Event { e.EventType = t; return e }
	cases := []struct {
		reason string
		event  seam.Event
		want   eventPlan
		ok     bool
	}{
		{"a deleted user wakes its AcsUser first in line", with(user, "acs_user.deleted"), eventPlan{target: targetUser, revoke: true}, true},
		{"a created user may be a lost create's", with(user, "acs_user.created"), eventPlan{target: targetNewUser}, true},
		{"a deleted credential is a revocation", with(cred, "acs_credential.deleted"), eventPlan{target: targetCredential, revoke: true}, true},
		{"an invalidated credential is a revocation", with(cred, "acs_credential.invalidated"), eventPlan{target: targetCredential, revoke: true}, true},
		{"an issued credential is news, not a revocation", with(cred, "acs_credential.issued"), eventPlan{target: targetCredential}, true},
		{"a reissued credential too", with(cred, "acs_credential.reissued"), eventPlan{target: targetCredential}, true},
		{"a deleted access group takes access away", with(group, "acs_access_group.deleted"), eventPlan{target: targetGroup, revoke: true}, true},
		{"a disconnected system", with(system, "acs_system.disconnected"), eventPlan{target: targetSystem}, true},
		{"a reconnected system", with(system, "acs_system.connected"), eventPlan{target: targetSystem, systemConnected: true}, true},
		{"a user event without a user id names nobody", with(system, "acs_user.deleted"), eventPlan{target: targetUser, revoke: true}, false},
		{"a credential event without its id", with(system, "acs_credential.deleted"), eventPlan{target: targetCredential, revoke: true}, false},
		{"an event the operator has no use for", with(system, "lock.unlocked"), eventPlan{}, false},
		{"an entrance added changes no AcsUser", with(system, "acs_entrance.added"), eventPlan{}, false},
	}
	for _, tc := range cases {
		got, ok := planFor(tc.event)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: planFor = %+v, %v; want %+v, %v", tc.reason, got, ok, tc.want, tc.ok)
		}
	}
}

// Every type the operator subscribes to has a plan, and no plan is for a type it
// does not subscribe to.
func TestSubscribedEventTypesArePlanned(t *testing.T) {
	for _, typ := range eventTypes {
		e := seam.Event{EventType: typ, AcsUserID: "u", AcsSystemID: "s", AcsCredentialID: "c", AcsAccessGroupID: "g"}
		if _, ok := planFor(e); !ok {
			t.Errorf("%s is subscribed to but has no plan", typ)
		}
	}
}
