package seam

import (
	"context"
	"errors"
)

// ListAccessGroups lists access groups of a system, or those a user belongs
// to (/acs/access_groups/list). Servers without the route (the npm fake)
// answer with an error matching ErrRouteNotSupported.
func (c *Client) ListAccessGroups(ctx context.Context, req ListAccessGroupsRequest) ([]AccessGroup, error) {
	if req.AcsSystemID == "" && req.AcsUserID == "" {
		return nil, errors.New("seam: ListAccessGroups needs AcsSystemID or AcsUserID")
	}
	in := map[string]string{}
	if req.AcsSystemID != "" {
		in["acs_system_id"] = req.AcsSystemID
	}
	if req.AcsUserID != "" {
		in["acs_user_id"] = req.AcsUserID
	}
	if req.Search != "" {
		in["search"] = req.Search
	}
	var out struct {
		AcsAccessGroups []AccessGroup `json:"acs_access_groups"`
	}
	if err := c.do(ctx, "/acs/access_groups/list", in, &out, true); err != nil {
		return nil, err
	}
	return out.AcsAccessGroups, nil
}

// GetAccessGroup returns one access group (/acs/access_groups/get).
func (c *Client) GetAccessGroup(ctx context.Context, acsAccessGroupID string) (*AccessGroup, error) {
	var out struct {
		AcsAccessGroup *AccessGroup `json:"acs_access_group"`
	}
	in := map[string]string{"acs_access_group_id": acsAccessGroupID}
	if err := c.do(ctx, "/acs/access_groups/get", in, &out, true); err != nil {
		return nil, err
	}
	if out.AcsAccessGroup == nil {
		return nil, missingField("/acs/access_groups/get", "acs_access_group")
	}
	return out.AcsAccessGroup, nil
}

// ListAccessGroupUsers lists the members of an access group
// (/acs/access_groups/list_users).
func (c *Client) ListAccessGroupUsers(ctx context.Context, acsAccessGroupID string) ([]AcsUser, error) {
	var out struct {
		AcsUsers []AcsUser `json:"acs_users"`
	}
	in := map[string]string{"acs_access_group_id": acsAccessGroupID}
	if err := c.do(ctx, "/acs/access_groups/list_users", in, &out, true); err != nil {
		return nil, err
	}
	return out.AcsUsers, nil
}

// AddUserToAccessGroup adds a user to a group (/acs/users/add_to_access_group).
// Adding a member again succeeds.
func (c *Client) AddUserToAccessGroup(ctx context.Context, acsUserID, acsAccessGroupID string) error {
	in := map[string]string{"acs_user_id": acsUserID, "acs_access_group_id": acsAccessGroupID}
	return c.do(ctx, "/acs/users/add_to_access_group", in, nil, true)
}

// RemoveUserFromAccessGroup removes a user from a group
// (/acs/users/remove_from_access_group). Removing a non-member succeeds.
func (c *Client) RemoveUserFromAccessGroup(ctx context.Context, acsUserID, acsAccessGroupID string) error {
	in := map[string]string{"acs_user_id": acsUserID, "acs_access_group_id": acsAccessGroupID}
	return c.do(ctx, "/acs/users/remove_from_access_group", in, nil, true)
}
