package sandbox

// Handlers for /workspaces/get, /acs/systems/* and /acs/access_groups/*.

import "strings"

func (st *store) getWorkspace(c *call) response {
	w, ok := st.workspaces[c.workspaceID]
	if !ok {
		return errorResponse(notFound("workspace_not_found", "Workspace not found"))
	}
	return okResponse(map[string]any{"workspace": st.renderWorkspace(w)})
}

func (st *store) systemInWorkspace(c *call, id string) (SeedSystem, bool) {
	s, ok := st.systems[id]
	return s, ok && s.WorkspaceID == c.workspaceID
}

func (st *store) getSystem(c *call) response {
	id := c.p.requiredStr("acs_system_id")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	s, ok := st.systemInWorkspace(c, id)
	if !ok {
		return errorResponse(errSystemNotFound())
	}
	return okResponse(map[string]any{"acs_system": st.renderSystem(s)})
}

func (st *store) listSystems(c *call) response {
	account, _, _ := c.p.str("connected_account_id")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	out := []map[string]any{}
	for _, id := range st.systemOrder {
		s := st.systems[id]
		if s.WorkspaceID == c.workspaceID && (account == "" || s.ConnectedAccountID == account) {
			out = append(out, st.renderSystem(s))
		}
	}
	return okResponse(map[string]any{"acs_systems": out})
}

func (st *store) groupInWorkspace(c *call, id string) (SeedAccessGroup, bool) {
	g, ok := st.groups[id]
	if !ok {
		return g, false
	}
	_, ok = st.systemInWorkspace(c, g.SystemID)
	return g, ok
}

func (st *store) listGroups(c *call) response {
	systemID, hasSystem, _ := c.p.str("acs_system_id")
	userID, hasUser, _ := c.p.str("acs_user_id")
	search, hasSearch, _ := c.p.str("search")
	if !hasSystem && !hasUser {
		c.p.fail("acs_system_id", "Required")
	}
	if hasSearch && search == "" {
		c.p.fail("search", "String must contain at least 1 character(s)")
	}
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	if hasSystem {
		if _, ok := st.systemInWorkspace(c, systemID); !ok {
			return errorResponse(errSystemNotFound())
		}
	}
	var u *userRecord
	if hasUser {
		if u = st.userInWorkspace(c, userID); u == nil {
			return errorResponse(errUserNotFound())
		}
	}
	out := []map[string]any{}
	for _, id := range st.groupOrder {
		g := st.groups[id]
		if _, ok := st.systemInWorkspace(c, g.SystemID); !ok {
			continue
		}
		if (hasSystem && g.SystemID != systemID) || (u != nil && !u.groups[id]) || !groupMatchesSearch(g, search) {
			continue
		}
		out = append(out, st.renderGroup(g))
	}
	return okResponse(map[string]any{"acs_access_groups": out})
}

// groupMatchesSearch is Seam's search of access groups: a partial match on name or
// acs_access_group_id (case-insensitive, like the user search). Empty matches all.
func groupMatchesSearch(g SeedAccessGroup, search string) bool {
	needle := strings.ToLower(search)
	return strings.Contains(strings.ToLower(g.Name), needle) || strings.Contains(strings.ToLower(g.ID), needle)
}

func (st *store) getGroup(c *call) response {
	id := c.p.requiredStr("acs_access_group_id")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	g, ok := st.groupInWorkspace(c, id)
	if !ok {
		return errorResponse(errGroupNotFound())
	}
	return okResponse(map[string]any{"acs_access_group": st.renderGroup(g)})
}

func (st *store) listGroupUsers(c *call) response {
	id := c.p.requiredStr("acs_access_group_id")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	if _, ok := st.groupInWorkspace(c, id); !ok {
		return errorResponse(errGroupNotFound())
	}
	out := []map[string]any{}
	for _, u := range st.groupMembers(id) {
		out = append(out, st.renderUser(u))
	}
	return okResponse(map[string]any{"acs_users": out})
}
