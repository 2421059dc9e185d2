package controller

import (
	"sync"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// CacheTransform is the manager's cache transform (cache.Options.DefaultTransform).
// It drops managedFields, never read here and larger than the objects themselves,
// and makes the strings every cached AcsUser repeats (namespace, finalizer, system,
// connection, groups, conditions) share one copy: the JSON decoder allocates each
// one again for every object, and at 10,000 AcsUsers those copies were a tenth of
// the manager's live heap. Interning changes no value, only where it is stored.
func CacheTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	shared := &internTable{max: internMax, m: map[string]string{}}
	return func(in any) (any, error) {
		out, err := strip(in)
		if u, ok := out.(*seamv1alpha1.AcsUser); ok && err == nil {
			shared.acsUser(u)
		}
		return out, err
	}
}

// internMax bounds the table: the fields interned take a few values each (a
// cluster's namespaces, systems, groups, condition reasons), but a condition's
// message may carry an id, and a table must not grow with the objects.
const internMax = 10000

// internTable maps a string to its one shared copy.
type internTable struct {
	mu  sync.Mutex
	max int
	m   map[string]string
}

func (t *internTable) intern(s string) string {
	if s == "" {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.m[s]; ok {
		return c
	}
	if len(t.m) < t.max {
		t.m[s] = s
	}
	return s
}

func (t *internTable) acsUser(u *seamv1alpha1.AcsUser) {
	u.APIVersion, u.Kind = t.intern(u.APIVersion), t.intern(u.Kind)
	u.Namespace = t.intern(u.Namespace)
	for i := range u.Finalizers {
		u.Finalizers[i] = t.intern(u.Finalizers[i])
	}
	s := &u.Spec
	s.AcsSystemID = seamv1alpha1.SeamID(t.intern(string(s.AcsSystemID)))
	s.ConnectionRef.Kind, s.ConnectionRef.Name = t.intern(s.ConnectionRef.Kind), t.intern(s.ConnectionRef.Name)
	s.ManagementPolicy = seamv1alpha1.ManagementPolicy(t.intern(string(s.ManagementPolicy)))
	s.DeletionPolicy = seamv1alpha1.DeletionPolicy(t.intern(string(s.DeletionPolicy)))
	for i := range s.AccessGroupIDs {
		s.AccessGroupIDs[i] = seamv1alpha1.SeamID(t.intern(string(s.AccessGroupIDs[i])))
	}
	for i := range s.AccessGroupNames {
		s.AccessGroupNames[i] = t.intern(s.AccessGroupNames[i])
	}
	st := &u.Status
	st.WorkspaceID = t.intern(st.WorkspaceID)
	for i := range st.AccessGroupIDs {
		st.AccessGroupIDs[i] = t.intern(st.AccessGroupIDs[i])
	}
	for i := range st.AccessGroups {
		st.AccessGroups[i].ID, st.AccessGroups[i].Name = t.intern(st.AccessGroups[i].ID), t.intern(st.AccessGroups[i].Name)
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		c.Type, c.Reason, c.Message = t.intern(c.Type), t.intern(c.Reason), t.intern(c.Message)
	}
}
