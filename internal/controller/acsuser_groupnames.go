package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

// Reasons of the Ready condition when spec.accessGroupNames cannot all be resolved.
const (
	ReasonUnknownAccessGroupName   = "UnknownAccessGroupName"
	ReasonAmbiguousAccessGroupName = "AmbiguousAccessGroupName"
)

// groupNameProblem is a name of spec.accessGroupNames that grants nothing: it
// matches no group of the system (matches 0) or several.
type groupNameProblem struct {
	name    string
	matches int
}

// resolveGroupNames maps names to the ids of the groups so named, by exact match on
// name: a name that matches no group or several is a problem and yields no id. A
// name must never grant a group it might not mean. Pure.
func resolveGroupNames(names []string, groups []seam.AccessGroup) (ids []string, problems []groupNameProblem) {
	for _, name := range names {
		var found []string
		for _, g := range groups {
			if g.Name == name && !slices.Contains(found, g.AcsAccessGroupID) {
				found = append(found, g.AcsAccessGroupID)
			}
		}
		if len(found) == 1 {
			ids = append(ids, found[0])
		} else {
			problems = append(problems, groupNameProblem{name: name, matches: len(found)})
		}
	}
	return ids, problems
}

// desiredSpec is the spec with its access-group names resolved into ids: what the
// diff, the early revocations and a create work from. The object's own spec is never
// changed (it is patched and updated during the reconcile).
func (r *AcsUserReconciler) desiredSpec(ctx context.Context, conn *connection.Resolved, u *seamv1alpha1.AcsUser) (seamv1alpha1.AcsUserSpec, []groupNameProblem, error) {
	want := u.Spec
	if len(u.Spec.AccessGroupNames) == 0 {
		return want, nil, nil
	}
	ids, problems, err := r.groupIDsByName(ctx, conn, string(u.Spec.AcsSystemID), u.Spec.AccessGroupNames)
	if err != nil {
		return want, nil, err
	}
	want.AccessGroupIDs = slices.Clone(u.Spec.AccessGroupIDs)
	for _, id := range ids {
		if !slices.Contains(want.AccessGroupIDs, seamv1alpha1.SeamID(id)) {
			want.AccessGroupIDs = append(want.AccessGroupIDs, seamv1alpha1.SeamID(id))
		}
	}
	return want, problems, nil
}

// groupIDsByName resolves names against the system's snapshot (one list of groups per
// system, refreshed with it). A name the snapshot cannot resolve is searched for in
// Seam before it is reported: the group may have been created or renamed since.
func (r *AcsUserReconciler) groupIDsByName(ctx context.Context, conn *connection.Resolved, system string, names []string) ([]string, []groupNameProblem, error) {
	unresolved := names
	var ids []string
	if r.Snapshots != nil {
		snap, err := r.Snapshots.Get(ctx, snapshot.Key{Connection: conn.Key, System: system}, conn.Client, time.Time{})
		if err != nil {
			return nil, nil, err
		}
		var problems []groupNameProblem
		ids, problems = resolveGroupNames(names, snap.AccessGroups())
		unresolved = nil
		for _, p := range problems {
			unresolved = append(unresolved, p.name)
		}
	}
	var problems []groupNameProblem
	for _, name := range unresolved {
		found, err := conn.Client.ListAccessGroups(ctx, seam.ListAccessGroupsRequest{AcsSystemID: system, Search: name})
		if errors.Is(err, seam.ErrRouteNotSupported) {
			found = nil // the server has no groups to name: reported as unknown
		} else if err != nil {
			return nil, nil, err
		}
		got, p := resolveGroupNames([]string{name}, found)
		ids, problems = append(ids, got...), append(problems, p...)
	}
	return ids, problems, nil
}

// groupNamesOutcome is the Ready condition for names that grant nothing, or false
// when every name resolved. Removals from other groups went ahead regardless.
func groupNamesOutcome(system string, problems []groupNameProblem) (outcome, bool) {
	if len(problems) == 0 {
		return outcome{}, false
	}
	reason := ReasonAmbiguousAccessGroupName
	var parts []string
	for _, p := range problems {
		if p.matches == 0 {
			reason = ReasonUnknownAccessGroupName
			parts = append(parts, fmt.Sprintf("no access group of system %s is named %q", system, p.name))
		} else {
			parts = append(parts, fmt.Sprintf("%d access groups of system %s are named %q (list the one meant in accessGroupIds instead)", p.matches, system, p.name))
		}
	}
	msg := "spec.accessGroupNames: " + strings.Join(parts, "; ") + ". The user is not added to a group for these names; everything else in the spec is applied"
	return outcome{ready: "False", reason: reason, message: msg, synced: true, stalled: true, settled: true}, true
}
