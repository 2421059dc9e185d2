package importer

import (
	"bytes"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// target is where the printed AcsUsers live and which connection they use.
type target struct {
	namespace      string
	connectionKind string
	connectionName string
	system         string
	// manage leaves managementPolicy out (Manage, the default) instead of ObserveOnly.
	manage bool
}

// groupRefs turns a user's groups into names where the name is unique in the system
// (readable, and what a person would write) and ids otherwise. Both sorted.
func groupRefs(member []string, all []seam.AccessGroup) (names, ids []string) {
	count := map[string]int{}
	nameOf := map[string]string{}
	for _, g := range all {
		count[g.Name]++
		nameOf[g.AcsAccessGroupID] = g.Name
	}
	for _, id := range member {
		if n, ok := nameOf[id]; ok && n != "" && count[n] == 1 {
			names = append(names, n)
		} else {
			ids = append(ids, id)
		}
	}
	slices.Sort(names)
	slices.Sort(ids)
	return names, ids
}

// manifest is the AcsUser that adopts u with every field u has, so that applying it
// changes nothing in Seam. Pure.
func manifest(t target, name string, u *seam.AcsUser, groups []string, all []seam.AccessGroup) map[string]any {
	spec := map[string]any{
		"connectionRef": map[string]any{"kind": t.connectionKind, "name": t.connectionName},
		"acsSystemId":   u.AcsSystemID,
		"acsUserId":     u.AcsUserID,
		"fullName":      fullNameOf(u),
	}
	if !t.manage {
		spec["managementPolicy"] = string(seamv1alpha1.ManagementPolicyObserveOnly)
	}
	setIf(spec, "emailAddress", u.EmailAddress, u.Email)
	setIf(spec, "phoneNumber", u.PhoneNumber)
	setIf(spec, "userIdentityId", u.UserIdentityID)
	if s := u.AccessSchedule; s != nil && (s.StartsAt != nil || s.EndsAt != nil) {
		sched := map[string]any{}
		setTime(sched, "startsAt", s.StartsAt)
		setTime(sched, "endsAt", s.EndsAt)
		spec["accessSchedule"] = sched
	}
	names, ids := groupRefs(groups, all)
	if len(names) > 0 {
		spec["accessGroupNames"] = names
	}
	if len(ids) > 0 {
		spec["accessGroupIds"] = ids
	}
	if u.IsSuspended {
		spec["suspended"] = true
	}
	return map[string]any{
		"apiVersion": seamv1alpha1.GroupVersion.String(),
		"kind":       "AcsUser",
		"metadata":   map[string]any{"name": name, "namespace": t.namespace},
		"spec":       spec,
	}
}

// fullNameOf is the name to declare: Seam's full name, else its display name, else
// the id (the spec requires one).
func fullNameOf(u *seam.AcsUser) string {
	for _, n := range []string{u.FullName, u.DisplayName, u.AcsUserID} {
		if n != "" {
			return n
		}
	}
	return u.AcsUserID
}

func setIf(m map[string]any, key string, values ...string) {
	for _, v := range values {
		if v != "" {
			m[key] = v
			return
		}
	}
}

// setTime writes t as the apiserver keeps it: RFC 3339, to the second, in UTC.
func setTime(m map[string]any, key string, t *time.Time) {
	if t != nil {
		m[key] = t.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
}

// render prints the manifests as one YAML stream, in the order given (keys sorted
// by the encoder), so the same input prints the same bytes.
func render(docs []map[string]any) ([]byte, error) {
	var out bytes.Buffer
	for _, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.Bytes(), nil
}
