package controller

import (
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// decoded returns an AcsUser whose strings are all separate copies, as the JSON
// decoder leaves them.
func decoded(name string) *seamv1alpha1.AcsUser {
	c := func(s string) string { return string([]byte(s)) }
	return &seamv1alpha1.AcsUser{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: c("tenant-a"), Finalizers: []string{c(Finalizer)},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: c("kubectl")}},
		},
		Spec: seamv1alpha1.AcsUserSpec{
			AcsSystemID:    seamv1alpha1.SeamID(c("acs_system_hq")),
			ConnectionRef:  seamv1alpha1.ConnectionRef{Kind: c("SeamConnection"), Name: c("seam")},
			AccessGroupIDs: []seamv1alpha1.SeamID{seamv1alpha1.SeamID(c("group_a"))},
		},
		Status: seamv1alpha1.AcsUserStatus{
			WorkspaceID:    c("ws"),
			AccessGroupIDs: []string{c("group_a")},
			AccessGroups:   []seamv1alpha1.AccessGroupRef{{ID: c("group_a"), Name: c("Front door")}},
			Conditions:     []metav1.Condition{{Type: c("Ready"), Reason: c("Available"), Message: c("The ACS user matches the spec")}},
		},
	}
}

func sameStorage(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestCacheTransformSharesRepeatedStrings(t *testing.T) {
	transform := CacheTransform()
	want := decoded("ada")
	want.ManagedFields = nil
	var users []*seamv1alpha1.AcsUser
	for _, name := range []string{"ada", "bob"} {
		out, err := transform(decoded(name))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, out.(*seamv1alpha1.AcsUser))
	}
	if !equality.Semantic.DeepEqual(users[0], want) {
		t.Fatalf("the transform changed a value:\n got %+v\nwant %+v", users[0], want)
	}
	a, b := users[0], users[1]
	for field, pair := range map[string][2]string{
		"namespace":          {a.Namespace, b.Namespace},
		"finalizer":          {a.Finalizers[0], b.Finalizers[0]},
		"system":             {string(a.Spec.AcsSystemID), string(b.Spec.AcsSystemID)},
		"connection":         {a.Spec.ConnectionRef.Name, b.Spec.ConnectionRef.Name},
		"spec group":         {string(a.Spec.AccessGroupIDs[0]), string(b.Spec.AccessGroupIDs[0])},
		"status group":       {a.Status.AccessGroups[0].Name, b.Status.AccessGroups[0].Name},
		"condition message":  {a.Status.Conditions[0].Message, b.Status.Conditions[0].Message},
		"status workspace":   {a.Status.WorkspaceID, b.Status.WorkspaceID},
		"status group ids":   {a.Status.AccessGroupIDs[0], b.Status.AccessGroupIDs[0]},
		"condition reason":   {a.Status.Conditions[0].Reason, b.Status.Conditions[0].Reason},
		"connection kind":    {a.Spec.ConnectionRef.Kind, b.Spec.ConnectionRef.Kind},
		"spec vs status ids": {string(a.Spec.AccessGroupIDs[0]), b.Status.AccessGroupIDs[0]},
	} {
		if !sameStorage(pair[0], pair[1]) {
			t.Errorf("%s: two cached objects hold separate copies of %q", field, pair[0])
		}
	}
	if sameStorage(a.Name, b.Name) {
		t.Error("names differ and must not be interned")
	}
}

func TestInternTableIsBounded(t *testing.T) {
	table := &internTable{max: 2, m: map[string]string{}}
	for _, s := range []string{"a", "b", "c", "d"} {
		if got := table.intern(s); got != s {
			t.Fatalf("intern(%q) = %q", s, got)
		}
	}
	if len(table.m) != 2 {
		t.Errorf("the table holds %d strings, want at most 2", len(table.m))
	}
}
