package seam

import "context"

// GetWorkspace returns the workspace the API key belongs to (/workspaces/get).
func (c *Client) GetWorkspace(ctx context.Context) (*Workspace, error) {
	var out struct {
		Workspace *Workspace `json:"workspace"`
	}
	if err := c.do(ctx, "/workspaces/get", struct{}{}, &out, true); err != nil {
		return nil, err
	}
	if out.Workspace == nil {
		return nil, missingField("/workspaces/get", "workspace")
	}
	return out.Workspace, nil
}

// GetSystem returns one ACS system (/acs/systems/get).
func (c *Client) GetSystem(ctx context.Context, acsSystemID string) (*AcsSystem, error) {
	var out struct {
		AcsSystem *AcsSystem `json:"acs_system"`
	}
	in := map[string]string{"acs_system_id": acsSystemID}
	if err := c.do(ctx, "/acs/systems/get", in, &out, true); err != nil {
		return nil, err
	}
	if out.AcsSystem == nil {
		return nil, missingField("/acs/systems/get", "acs_system")
	}
	return out.AcsSystem, nil
}

// ListSystems returns the workspace's ACS systems (/acs/systems/list).
func (c *Client) ListSystems(ctx context.Context) ([]AcsSystem, error) {
	var out struct {
		AcsSystems []AcsSystem `json:"acs_systems"`
	}
	if err := c.do(ctx, "/acs/systems/list", struct{}{}, &out, true); err != nil {
		return nil, err
	}
	return out.AcsSystems, nil
}
