package sandbox

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// call is one authenticated API request, handled under the store lock.
type call struct {
	workspaceID string
	now         time.Time
	p           *params
	// pageURL builds next_page_url for list routes.
	pageURL func(query map[string]string) string
}

func (st *store) userInWorkspace(c *call, id string) *userRecord {
	u := st.users[id]
	if u == nil || u.workspaceID != c.workspaceID {
		return nil
	}
	return u
}

func (st *store) createUser(c *call) response {
	p := c.p
	systemID := p.requiredStr("acs_system_id")
	fullName, hasName, _ := p.str("full_name")
	email, hasEmail, _ := p.email("email_address")
	if !hasEmail {
		email, _, _ = p.email("email") // deprecated spelling
	}
	phone, _, _ := p.phone("phone_number")
	identityID, hasIdentity, _ := p.str("user_identity_id")
	groupIDs := p.stringList("acs_access_group_ids")
	sched, _, _ := p.schedule("access_schedule", c.now, false)
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	if !hasName || strings.TrimSpace(fullName) == "" {
		return errorResponse(badRequest("full_name_required", "Full name field is required to create a user"))
	}
	if hasIdentity {
		if id, ok := st.identities[identityID]; !ok || id.WorkspaceID != c.workspaceID {
			return errorResponse(badRequest("user_identity_not_found", "User identity not found"))
		}
	}
	sys, ok := st.systems[systemID]
	if !ok || sys.WorkspaceID != c.workspaceID {
		return errorResponse(errSystemNotFound())
	}
	// Unlike the npm fake (which skips unknown groups silently), refuse them:
	// a user created without the access it was asked for is worse than an error.
	for _, g := range groupIDs {
		if grp, ok := st.groups[g]; !ok || grp.SystemID != systemID {
			return errorResponse(errGroupNotFound())
		}
	}

	st.seq++
	u := &userRecord{
		seq: st.seq, id: newUUID(), workspaceID: c.workspaceID, systemID: systemID,
		connectedAccountID: sys.ConnectedAccountID, createdAt: c.now.UTC().Truncate(time.Millisecond),
		fullName: fullName, email: email, phone: phone, identityID: identityID, schedule: sched,
		groups: map[string]bool{},
	}
	st.addUser(u)
	st.emit(u.workspaceID, EventUserCreated, c.now, map[string]string{"acs_user_id": u.id, "acs_system_id": u.systemID,
		"connected_account_id": u.connectedAccountID})
	groups := slices.Clone(groupIDs)
	st.mutate(u, c.now, "creating", "User is being created on the access system",
		nil, map[string]any{"acs_access_group_ids": groups}, func(_ *store, u *userRecord) {
			for _, g := range groups {
				u.groups[g] = true
			}
		})
	return okResponse(map[string]any{"acs_user": st.renderUser(u)})
}

func (st *store) getUser(c *call) response {
	p := c.p
	id, hasID, _ := p.str("acs_user_id")
	identityID, hasIdentity, _ := p.str("user_identity_id")
	systemID, hasSystem, _ := p.str("acs_system_id")
	if !hasID && !(hasIdentity && hasSystem) {
		p.fail("acs_user_id", "Required")
	}
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	u := st.userByIDOrIdentity(c, id, hasID, identityID, systemID)
	if u == nil {
		return errorResponse(errUserNotFound())
	}
	return okResponse(map[string]any{"acs_user": st.renderUser(u)})
}

func (st *store) listUsers(c *call) response {
	lq := c.p.listQuery("acs_system_id", "user_identity_id", "user_identity_email_address", "user_identity_phone_number", "search")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	f := lq.filters
	systemID, identityID, search := f["acs_system_id"], f["user_identity_id"], strings.ToLower(f["search"])
	if systemID != "" {
		if sys, ok := st.systems[systemID]; !ok || sys.WorkspaceID != c.workspaceID {
			return errorResponse(errSystemNotFound())
		}
	}
	// One more than the page, from the cursor on: paginate then says whether a
	// next page exists.
	users := st.usersAfter(lq.after, lq.limit+1, func(u *userRecord) bool {
		id := st.identities[u.identityID]
		return u.workspaceID == c.workspaceID &&
			(systemID == "" || u.systemID == systemID) &&
			(identityID == "" || u.identityID == identityID) &&
			(f["user_identity_email_address"] == "" || (u.identityID != "" && id.Email == f["user_identity_email_address"])) &&
			(f["user_identity_phone_number"] == "" || (u.identityID != "" && id.Phone == f["user_identity_phone_number"])) &&
			lq.createdBeforeOK(u.createdAt) &&
			(search == "" || matchesSearch(u, search))
	})
	lq.after = nil // users already start after it
	return page(lq, c, "acs_users", users, st.renderUser)
}

func matchesSearch(u *userRecord, lowerNeedle string) bool {
	for _, hay := range []string{u.fullName, u.email, u.phone, u.id} {
		if strings.Contains(strings.ToLower(hay), lowerNeedle) {
			return true
		}
	}
	return false
}

func (st *store) updateUser(c *call) response {
	p := c.p
	id := p.requiredStr("acs_user_id")
	fullName, hasName, _ := p.str("full_name")
	email, hasEmail, emailNull := p.email("email_address")
	phone, hasPhone, phoneNull := p.phone("phone_number")
	sched, hasSched, schedNull := p.schedule("access_schedule", c.now, true)
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	u := st.userInWorkspace(c, id)
	if u == nil {
		return errorResponse(errUserNotFound())
	}
	from, to := map[string]any{}, map[string]any{}
	change := func(key, old, new string, given bool) {
		if given && old != new {
			from[key], to[key] = nullIfEmpty(old), nullIfEmpty(new)
		}
	}
	change("full_name", u.fullName, fullName, hasName)
	change("email_address", u.email, email, hasEmail || emailNull)
	change("phone_number", u.phone, phone, hasPhone || phoneNull)
	if len(to) > 0 {
		st.mutate(u, c.now, "updating_user_information", "User information is being updated on the access system",
			from, to, func(_ *store, u *userRecord) {
				if v, ok := to["full_name"]; ok {
					u.fullName = stringOrEmpty(v)
				}
				if v, ok := to["email_address"]; ok {
					u.email = stringOrEmpty(v)
				}
				if v, ok := to["phone_number"]; ok {
					u.phone = stringOrEmpty(v)
				}
			})
	}
	if (hasSched || schedNull) && !u.schedule.equal(sched) {
		newSched := sched.clone()
		st.mutate(u, c.now, "updating_access_schedule", "Access schedule is being updated on the access system",
			renderSchedule(u.schedule), renderSchedule(newSched), func(_ *store, u *userRecord) { u.schedule = newSched })
	}
	return okResponse(nil)
}

func renderSchedule(s *schedule) map[string]any {
	if s == nil {
		return map[string]any{"starts_at": nil, "ends_at": nil}
	}
	return map[string]any{"starts_at": seamTimePtr(s.StartsAt), "ends_at": seamTimePtr(s.EndsAt)}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func stringOrEmpty(v any) string {
	s, _ := v.(string)
	return s
}

func (st *store) setSuspended(suspend bool) func(*call) response {
	return func(c *call) response {
		id := c.p.requiredStr("acs_user_id")
		if e := c.p.err(); e != nil {
			return errorResponse(e)
		}
		u := st.userInWorkspace(c, id)
		if u == nil {
			return errorResponse(errUserNotFound())
		}
		if u.projectedSuspended() != suspend {
			st.mutate(u, c.now, "updating_suspension_state", "Suspension state is being updated on the access system",
				map[string]any{"is_suspended": !suspend}, map[string]any{"is_suspended": suspend},
				func(_ *store, u *userRecord) { u.suspended = suspend })
		}
		return okResponse(nil)
	}
}

func (st *store) deleteUser(c *call) response {
	id := c.p.requiredStr("acs_user_id")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	u := st.userInWorkspace(c, id)
	if u == nil {
		return errorResponse(errUserNotFound())
	}
	// Like the npm fake, answer with the user as it was.
	body := map[string]any{"acs_user": st.renderUser(u)}
	if !u.hasPending("deleting") {
		st.mutate(u, c.now, "deleting", "User is being deleted from the access system", nil, nil,
			func(st *store, u *userRecord) {
				st.removeUser(u)
				// Seam invalidates a deleted user's credentials.
				st.emitUserDeleted(u, st.deleteCredentialsOf(u.id), time.Now())
			})
	}
	return okResponse(body)
}

// setMembership serves add_to_access_group / remove_from_access_group (and
// the /acs/access_groups/add_user, remove_user aliases). Repeats succeed.
func (st *store) setMembership(add bool) func(*call) response {
	return func(c *call) response {
		userID := c.p.requiredStr("acs_user_id")
		groupID := c.p.requiredStr("acs_access_group_id")
		if e := c.p.err(); e != nil {
			return errorResponse(e)
		}
		u := st.userInWorkspace(c, userID)
		if u == nil {
			return errorResponse(errUserNotFound())
		}
		if g, ok := st.groups[groupID]; !ok || g.SystemID != u.systemID {
			return errorResponse(errGroupNotFound())
		}
		if u.projectedMember(groupID) == add {
			return okResponse(nil)
		}
		from, to := map[string]any{"acs_access_group_id": nil}, map[string]any{"acs_access_group_id": groupID}
		if !add {
			from, to = to, from
		}
		st.mutate(u, c.now, "updating_group_membership", "Group membership is being updated on the access system",
			maps.Clone(from), maps.Clone(to), func(_ *store, u *userRecord) {
				if add {
					u.groups[groupID] = true
				} else {
					delete(u.groups, groupID)
				}
			})
		return okResponse(nil)
	}
}
