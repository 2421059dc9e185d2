package controller

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// memberships is, per object, the group membership this process last read from
// Seam or left there with its own writes. Unlike status.accessGroupIds it is exact
// in both directions: status may still list a group the operator removed when the
// status write after the removal was lost (the manager stopped, the apiserver
// refused), which is safe for deciding removals but would hide a grant. Only this
// record may stand in for a membership read (observeRevokeConfirm). A new process
// starts without it and reads.
type memberships struct {
	m sync.Map // types.UID -> knownMembership
}

// knownMembership is the membership of one remote user: an object re-pointed at
// another user (adopted, re-created) does not inherit it.
type knownMembership struct {
	acsUserID string
	groups    []string
}

// seen records the membership just read of the user acsUserID.
func (ms *memberships) seen(uid types.UID, acsUserID string, groups []string) {
	ms.m.Store(uid, knownMembership{acsUserID: acsUserID, groups: slices.Clone(groups)})
}

// sent applies one membership write to the record: a grant or a removal Seam
// accepted changes it; one that failed leaves the membership unknown.
func (ms *memberships) sent(uid types.UID, a Action, err error) {
	if a.Kind != ActionAddToGroup && a.Kind != ActionRemoveFromGroup {
		return
	}
	v, ok := ms.m.Load(uid)
	if !ok {
		return
	}
	if err != nil {
		ms.m.Delete(uid)
		return
	}
	k := v.(knownMembership)
	groups := slices.DeleteFunc(slices.Clone(k.groups), func(g string) bool { return g == a.Group })
	if a.Kind == ActionAddToGroup {
		groups = append(groups, a.Group)
		slices.Sort(groups)
	}
	ms.m.Store(uid, knownMembership{acsUserID: k.acsUserID, groups: groups})
}

// of returns the membership known for the user acsUserID, if this process knows it.
func (ms *memberships) of(uid types.UID, acsUserID string) ([]string, bool) {
	v, ok := ms.m.Load(uid)
	if !ok || v.(knownMembership).acsUserID != acsUserID || acsUserID == "" {
		return nil, false
	}
	return slices.Clone(v.(knownMembership).groups), true
}

func (ms *memberships) forget(uid types.UID) { ms.m.Delete(uid) }
