package sandbox

import (
	"errors"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Seed is the fixed world the sandbox starts with. Load it from YAML or JSON
// with LoadSeed; field names are snake_case in both.
type Seed struct {
	Workspaces     []SeedWorkspace    `json:"workspaces"`
	APIKeys        []SeedAPIKey       `json:"api_keys"`
	Systems        []SeedSystem       `json:"systems"`
	AccessGroups   []SeedAccessGroup  `json:"access_groups"`
	UserIdentities []SeedUserIdentity `json:"user_identities"`
}

// SeedWorkspace is a Seam workspace.
type SeedWorkspace struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SeedAPIKey is a bearer token. With a WorkspaceID it is an API key bound to
// that workspace (seam-workspace header optional, must match if sent). With
// no WorkspaceID it behaves like a personal access token: every request must
// name a workspace in the seam-workspace header.
type SeedAPIKey struct {
	Key         string `json:"key"`
	WorkspaceID string `json:"workspace_id,omitempty"`
}

// SeedSystem is an ACS system. ExternalType defaults to "salto_site".
type SeedSystem struct {
	ID                 string `json:"id"`
	WorkspaceID        string `json:"workspace_id"`
	Name               string `json:"name"`
	ExternalType       string `json:"external_type,omitempty"`
	ConnectedAccountID string `json:"connected_account_id,omitempty"`
}

// SeedAccessGroup is an access group of one system.
type SeedAccessGroup struct {
	ID           string `json:"id"`
	SystemID     string `json:"system_id"`
	Name         string `json:"name"`
	ExternalType string `json:"external_type,omitempty"`
}

// SeedUserIdentity is a Seam user identity (a person across systems).
type SeedUserIdentity struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	Email       string `json:"email,omitempty"`
	FullName    string `json:"full_name,omitempty"`
	Phone       string `json:"phone,omitempty"`
}

// DefaultSeedAPIKey is the API key of DefaultSeed. It only opens the sandbox.
const DefaultSeedAPIKey = "seam_sandbox_key_0123456789abcdef"

// DefaultSeed is one workspace with one API key, two systems with four access
// groups each, and two user identities (used by `make demo`).
func DefaultSeed() Seed {
	const ws = "ws_sandbox"
	s := Seed{
		Workspaces: []SeedWorkspace{{ID: ws, Name: "Sandbox workspace"}},
		APIKeys:    []SeedAPIKey{{Key: DefaultSeedAPIKey, WorkspaceID: ws}},
		Systems: []SeedSystem{
			{ID: "acs_system_hq", WorkspaceID: ws, Name: "Headquarters", ExternalType: "salto_site"},
			{ID: "acs_system_annex", WorkspaceID: ws, Name: "Annex", ExternalType: "brivo_account"},
		},
		UserIdentities: []SeedUserIdentity{
			{ID: "uid_alice", WorkspaceID: ws, Email: "alice@example.com", FullName: "Alice Example", Phone: "+15555550101"},
			{ID: "uid_bob", WorkspaceID: ws, Email: "bob@example.com", FullName: "Bob Example", Phone: "+15555550102"},
		},
	}
	for _, sys := range []struct{ id, short string }{{"acs_system_hq", "hq"}, {"acs_system_annex", "annex"}} {
		for _, g := range []struct{ id, name string }{
			{"front_door", "Front door"}, {"staff", "Staff"}, {"gym", "Gym"}, {"parking", "Parking"},
		} {
			s.AccessGroups = append(s.AccessGroups, SeedAccessGroup{
				ID: "acs_access_group_" + sys.short + "_" + g.id, SystemID: sys.id, Name: g.name,
			})
		}
	}
	return s
}

// LoadSeed reads a seed from a YAML or JSON file and validates it.
func LoadSeed(path string) (Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, err
	}
	var s Seed
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return Seed{}, fmt.Errorf("seed %s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return Seed{}, fmt.Errorf("seed %s: %w", path, err)
	}
	return s, nil
}

// Validate checks ids are present and unique and references resolve.
func (s Seed) Validate() error {
	var errs []error
	ids := map[string]bool{}
	unique := func(kind, id string) {
		if id == "" {
			errs = append(errs, fmt.Errorf("%s with an empty id", kind))
		} else if ids[kind+"/"+id] {
			errs = append(errs, fmt.Errorf("duplicate %s %q", kind, id))
		}
		ids[kind+"/"+id] = true
	}
	ref := func(kind, id, from string) {
		if !ids[kind+"/"+id] {
			errs = append(errs, fmt.Errorf("%s refers to unknown %s %q", from, kind, id))
		}
	}
	for _, w := range s.Workspaces {
		unique("workspace", w.ID)
	}
	for i, k := range s.APIKeys {
		if k.Key == "" {
			errs = append(errs, fmt.Errorf("api_keys[%d] has an empty key", i))
		}
		if k.WorkspaceID != "" {
			ref("workspace", k.WorkspaceID, fmt.Sprintf("api_keys[%d]", i))
		}
	}
	for _, sys := range s.Systems {
		unique("system", sys.ID)
		ref("workspace", sys.WorkspaceID, "system "+sys.ID)
	}
	for _, g := range s.AccessGroups {
		unique("access group", g.ID)
		ref("system", g.SystemID, "access group "+g.ID)
	}
	for _, u := range s.UserIdentities {
		unique("user identity", u.ID)
		ref("workspace", u.WorkspaceID, "user identity "+u.ID)
	}
	return errors.Join(errs...)
}
