package sandbox

import "time"

// The JSON shapes below follow @seamapi/fake-seam-connect 1.86.0 where it has
// the field, and Seam's OpenAPI document for what the fake leaves out
// (errors, warnings, pending_mutations, is_managed, connected_account_id).

// seamTime formats like Seam: UTC, milliseconds, Z.
func seamTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func seamTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return seamTime(*t)
}

var systemTypeDisplayNames = map[string]string{
	"pti_site": "PTI site", "alta_org": "Alta org", "brivo_account": "Brivo account",
	"salto_site": "Salto site", "salto_ks_site": "Salto KS site", "visionline_system": "Visionline",
	"hid_credential_manager_organization": "HID org",
}

var userTypeForSystem = map[string]string{
	"pti_site": "pti_user", "brivo_account": "brivo_user", "salto_site": "salto_site_user",
	"salto_ks_site": "salto_ks_user", "hid_credential_manager_organization": "hid_credential_manager_user",
}

var displayNames = map[string]string{
	"pti_user": "PTI user", "brivo_user": "Brivo user", "salto_site_user": "Salto site user",
	"salto_ks_user": "Salto KS user", "hid_credential_manager_user": "HID user",
	"pti_unit": "PTI unit", "pti_access_level": "PTI access level",
	"salto_access_group": "Salto access group", "salto_ks_access_group": "Salto KS access group",
	"brivo_group": "Brivo group",
}

func groupTypeForSystem(systemType string) string {
	switch systemType {
	case "brivo_account":
		return "brivo_group"
	case "pti_site":
		return "pti_access_level"
	case "salto_ks_site":
		return "salto_ks_access_group"
	}
	return "salto_access_group"
}

func (st *store) renderWorkspace(w SeedWorkspace) map[string]any {
	return map[string]any{
		"workspace_id": w.ID, "name": w.Name, "company_name": w.Name, "is_sandbox": true,
		"is_suspended": false, "connect_partner_name": nil, "created_at": seamTime(st.created),
	}
}

func (st *store) renderSystem(s SeedSystem) map[string]any {
	users, groups := 0, 0
	for _, u := range st.users {
		if u.systemID == s.ID {
			users++
		}
	}
	for _, g := range st.groups {
		if g.SystemID == s.ID {
			groups++
		}
	}
	display := systemTypeDisplayNames[s.ExternalType]
	return map[string]any{
		"acs_system_id": s.ID, "name": s.Name, "workspace_id": s.WorkspaceID,
		"created_at": seamTime(st.created), "system_type": s.ExternalType, "system_type_display_name": display,
		"external_type": s.ExternalType, "external_type_display_name": display,
		"connected_account_id": s.ConnectedAccountID, "connected_account_ids": []string{s.ConnectedAccountID},
		"is_credential_manager": false, "errors": []any{}, "warnings": []any{},
		"location": map[string]any{"time_zone": nil}, "image_url": "", "image_alt_text": s.Name,
		"acs_user_count": users, "acs_access_group_count": groups,
		"can_add_acs_users_to_acs_access_groups": true,
	}
}

func (st *store) renderGroup(g SeedAccessGroup) map[string]any {
	sys := st.systems[g.SystemID]
	display := displayNames[g.ExternalType]
	return map[string]any{
		"acs_access_group_id": g.ID, "acs_system_id": g.SystemID, "workspace_id": sys.WorkspaceID,
		"connected_account_id": sys.ConnectedAccountID, "name": g.Name, "display_name": g.Name,
		"created_at": seamTime(st.created), "access_group_type": g.ExternalType,
		"access_group_type_display_name": display, "external_type": g.ExternalType,
		"external_type_display_name": display, "is_managed": true, "warnings": []any{},
	}
}

func (st *store) renderUser(u *userRecord) map[string]any {
	sys := st.systems[u.systemID]
	display := u.fullName
	if display == "" {
		display = u.email
	}
	out := map[string]any{
		"acs_user_id":             u.id,
		"acs_system_id":           u.systemID,
		"workspace_id":            u.workspaceID,
		"connected_account_id":    u.connectedAccountID,
		"created_at":              seamTime(u.createdAt),
		"full_name":               u.fullName,
		"display_name":            display,
		"is_suspended":            u.suspended,
		"is_managed":              true,
		"last_successful_sync_at": nil,
		"errors":                  renderIssues(u.errors, "error_code"),
		"warnings":                renderIssues(u.warnings, "warning_code"),
		"pending_mutations":       renderMutations(u.pending),
	}
	if t := userTypeForSystem[sys.ExternalType]; t != "" {
		out["external_type"], out["external_type_display_name"] = t, displayNames[t]
	}
	if u.email != "" {
		out["email_address"], out["email"] = u.email, u.email
	}
	if u.phone != "" {
		out["phone_number"] = u.phone
	}
	if u.schedule != nil {
		out["access_schedule"] = map[string]any{
			"starts_at": seamTimePtr(u.schedule.StartsAt), "ends_at": seamTimePtr(u.schedule.EndsAt),
		}
	}
	if id, ok := st.identities[u.identityID]; ok {
		out["user_identity_id"] = id.ID
		setIf(out, "user_identity_email_address", id.Email)
		setIf(out, "user_identity_full_name", id.FullName)
		setIf(out, "user_identity_phone_number", id.Phone)
	}
	return out
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func renderIssues(issues []Issue, codeField string) []map[string]any {
	out := make([]map[string]any, 0, len(issues))
	for _, i := range issues {
		out = append(out, map[string]any{codeField: i.Code, "message": i.Message, "created_at": seamTime(i.CreatedAt)})
	}
	return out
}

func renderMutations(pending []*mutation) []map[string]any {
	out := make([]map[string]any, 0, len(pending))
	for _, m := range pending {
		entry := map[string]any{"mutation_code": m.code, "message": m.message, "created_at": seamTime(m.createdAt)}
		if m.from != nil && m.code != "creating" {
			entry["from"] = m.from
		}
		if m.to != nil && m.code != "creating" {
			entry["to"] = m.to
		}
		out = append(out, entry)
	}
	return out
}
