package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// world is what the checker reads at the end: the cluster's AcsUsers and the
// sandbox's full state and audit.
type world struct {
	objects []seamv1alpha1.AcsUser
	state   sandbox.State
	audit   []sandbox.AuditEntry
}

func readWorld(ctx context.Context, s *stack) (world, error) {
	var w world
	var list seamv1alpha1.AcsUserList
	if err := s.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return w, err
	}
	w.objects = list.Items
	if err := s.seam.get(ctx, "/_sandbox/state", &w.state); err != nil {
		return w, err
	}
	return w, s.seam.get(ctx, "/_sandbox/audit", &w.audit)
}

// converged: every AcsUser Ready for its current generation, none being deleted.
func (w world) notReady() (notReady, terminating int) {
	for _, u := range w.objects {
		if u.DeletionTimestamp != nil {
			terminating++
			continue
		}
		c := meta.FindStatusCondition(u.Status.Conditions, "Ready")
		if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != u.Generation || u.Status.ObservedGeneration != u.Generation {
			notReady++
		}
	}
	return notReady, terminating
}

// verdict is the table: each invariant as a number, and whether it holds.
type verdict struct {
	rows   []row
	failed bool
}

type row struct {
	what  string
	value string
	ok    bool // false: an invariant failed
}

func (v *verdict) add(what string, value any, ok bool) {
	v.rows = append(v.rows, row{what, fmt.Sprint(value), ok})
	v.failed = v.failed || !ok
}

func (v *verdict) print(out io.Writer) {
	width := 0
	for _, r := range v.rows {
		width = max(width, len(r.what))
	}
	for _, r := range v.rows {
		mark := "  "
		if !r.ok {
			mark = "✗ "
		}
		fmt.Fprintf(out, "%s%-*s  %s\n", mark, width, r.what, r.value)
	}
}

// check computes the invariants from the final world, the generator's log and
// the console users as they were before the managers started.
func check(w world, log []specChange, console []sandbox.User, v *verdict) (details []string) {
	consoleByID := map[string]sandbox.User{}
	for _, u := range console {
		consoleByID[u.ID] = u
	}
	remoteByEmail := map[string][]sandbox.User{}
	remoteByID := map[string]sandbox.User{}
	for _, u := range w.state.Users {
		remoteByID[u.ID] = u
		if _, isConsole := consoleByID[u.ID]; !isConsole {
			remoteByEmail[u.EmailAddress] = append(remoteByEmail[u.EmailAddress], u)
		}
	}

	perObject := map[int]int{}
	deletedThatShouldExist, differs := 0, 0
	live := map[string]bool{}
	for _, o := range w.objects {
		if o.DeletionTimestamp != nil {
			continue
		}
		live[o.Spec.EmailAddress] = true
		remotes := remoteByEmail[o.Spec.EmailAddress]
		perObject[len(remotes)]++
		if len(remotes) != 1 {
			details = append(details, fmt.Sprintf("%s has %d remote users", o.Name, len(remotes)))
		}
		if c := meta.FindStatusCondition(o.Status.Conditions, "Ready"); c != nil && c.Reason == "RemoteDeleted" ||
			o.Status.AcsUserID != "" && remoteByID[o.Status.AcsUserID].ID == "" {
			deletedThatShouldExist++
			details = append(details, fmt.Sprintf("%s: its remote user %s is gone", o.Name, o.Status.AcsUserID))
		}
		if len(remotes) == 1 && !matches(o, remotes[0]) {
			differs++
			details = append(details, fmt.Sprintf("%s: remote %+v differs from spec %+v", o.Name, remotes[0], o.Spec))
		}
	}
	leaks := 0
	for email, users := range remoteByEmail {
		if !live[email] {
			leaks += len(users)
			details = append(details, fmt.Sprintf("leak: %d remote users of %s, which no AcsUser has", len(users), email))
		}
	}
	touched := map[string]bool{}
	for _, u := range console {
		now, ok := remoteByID[u.ID]
		if !ok || !reflect.DeepEqual(now, u) {
			touched[u.ID] = true
		}
	}
	for _, e := range w.audit {
		if _, isConsole := consoleByID[e.AcsUserID]; isConsole && e.Time.After(consoleSeededAt(console)) {
			touched[e.AcsUserID] = true
		}
	}
	unexplained, destructive := 0, 0
	for _, e := range w.audit {
		if !isDestructive(e.Route) {
			continue
		}
		if _, isConsole := consoleByID[e.AcsUserID]; isConsole {
			continue // counted as touched
		}
		destructive++
		if !explained(e, log) {
			unexplained++
			details = append(details, fmt.Sprintf("unexplained: %s %s %s (%s) at %s", e.Route, e.AcsUserID, e.AccessGroupID, e.EmailAddress, e.Time.Format(time.StampMilli)))
		}
	}

	v.add("remote users per live AcsUser (must be exactly 1)", distribution(perObject), len(perObject) == 0 || len(perObject) == 1 && perObject[1] > 0)
	v.add("leaked remote users (must be 0)", leaks, leaks == 0)
	v.add("remote users deleted that should exist (must be 0)", deletedThatShouldExist, deletedThatShouldExist == 0)
	v.add("console users touched (must be 0)", fmt.Sprintf("%d of %d", len(touched), len(console)), len(touched) == 0)
	v.add("remote users that differ from their spec (must be 0)", differs, differs == 0)
	v.add("destructive calls not explained by a spec change (must be 0)", fmt.Sprintf("%d of %d", unexplained, destructive), unexplained == 0)
	return details
}

// consoleSeededAt is after the console users were made (their own creates are audited).
func consoleSeededAt(console []sandbox.User) time.Time {
	var t time.Time
	for _, u := range console {
		if u.CreatedAt.After(t) {
			t = u.CreatedAt
		}
	}
	return t.Add(time.Millisecond)
}

func matches(o seamv1alpha1.AcsUser, u sandbox.User) bool {
	want := ids(o.Spec.AccessGroupIDs)
	slices.Sort(want)
	got := slices.Clone(u.GroupIDs)
	slices.Sort(got)
	return u.IsSuspended == o.Spec.Suspended && slices.Equal(want, got) && u.FullName == o.Spec.FullName
}

func isDestructive(route string) bool {
	switch route {
	case "/acs/users/delete", "/acs/users/suspend", "/acs/users/remove_from_access_group", "/acs/access_groups/remove_user":
		return true
	}
	return false
}

// explained: the generator asked for it before the call was made. A delete needs
// the object's deletion; a suspension a spec with suspended: true; a removal from
// a group a spec without the group after one with it.
func explained(e sandbox.AuditEntry, log []specChange) bool {
	hadGroup := false
	for _, ch := range log {
		if ch.Email != e.EmailAddress || ch.At.After(e.Time) {
			continue
		}
		switch {
		case e.Route == "/acs/users/delete":
			if ch.Op == "delete" {
				return true
			}
		case e.Route == "/acs/users/suspend":
			if ch.Op != "delete" && ch.Suspended {
				return true
			}
		default: // removal from a group
			if ch.Op == "delete" {
				continue
			}
			has := slices.Contains(ch.Groups, e.AccessGroupID)
			if hadGroup && !has {
				return true
			}
			hadGroup = hadGroup || has
		}
	}
	return false
}

func distribution(m map[int]int) string {
	if len(m) == 0 {
		return "no live AcsUsers"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d objects with %d", m[k], k))
	}
	return strings.Join(parts, ", ")
}
