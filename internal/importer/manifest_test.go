package importer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acs-operator/acs-operator/internal/seam"
)

func TestManifest(t *testing.T) {
	starts := time.Date(2026, 1, 1, 9, 0, 0, 123, time.FixedZone("CET", 3600))
	all := []seam.AccessGroup{
		{AcsAccessGroupID: "g1", Name: "Gym"}, {AcsAccessGroupID: "g2", Name: "Staff"}, {AcsAccessGroupID: "g3", Name: "Staff"},
	}
	u := &seam.AcsUser{AcsUserID: "u1", AcsSystemID: "sys", FullName: "Ada", Email: "ada@example.com", PhoneNumber: "+15555550100",
		UserIdentityID: "uid", IsSuspended: true, AccessSchedule: &seam.AccessSchedule{StartsAt: &starts}}
	tg := target{namespace: "tenants", connectionKind: "SeamConnection", connectionName: "seam", system: "sys"}

	got := manifest(tg, "ada", u, []string{"g3", "g1"}, all)
	want := map[string]any{
		"apiVersion": "seam.acs-operator.io/v1alpha1", "kind": "AcsUser",
		"metadata": map[string]any{"name": "ada", "namespace": "tenants"},
		"spec": map[string]any{
			"connectionRef": map[string]any{"kind": "SeamConnection", "name": "seam"},
			"acsSystemId":   "sys", "acsUserId": "u1", "fullName": "Ada", "managementPolicy": "ObserveOnly",
			"emailAddress": "ada@example.com", "phoneNumber": "+15555550100", "userIdentityId": "uid",
			"accessSchedule":   map[string]any{"startsAt": "2026-01-01T08:00:00Z"},
			"accessGroupNames": []string{"Gym"}, "accessGroupIds": []string{"g3"}, // "Staff" names two groups
			"suspended": true,
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("manifest (-want +got):\n%s", d)
	}

	tg.manage = true
	managed := manifest(tg, "ada", &seam.AcsUser{AcsUserID: "u2", AcsSystemID: "sys", DisplayName: "Shown"}, nil, all)
	spec := managed["spec"].(map[string]any)
	if _, ok := spec["managementPolicy"]; ok {
		t.Error("--manage: managementPolicy should be left to its default, Manage")
	}
	if spec["fullName"] != "Shown" {
		t.Errorf("a user without a full name: fullName %v, want the display name", spec["fullName"])
	}
	for _, k := range []string{"emailAddress", "phoneNumber", "accessSchedule", "accessGroupNames", "accessGroupIds", "suspended", "userIdentityId"} {
		if _, ok := spec[k]; ok {
			t.Errorf("a field the user does not have is printed: %s", k)
		}
	}
}
