package seam

import (
	"encoding/json"
	"time"
)

// Workspace is the workspace the API key belongs to.
type Workspace struct {
	WorkspaceID string    `json:"workspace_id"`
	Name        string    `json:"name"`
	CompanyName string    `json:"company_name,omitempty"`
	IsSandbox   bool      `json:"is_sandbox"`
	CreatedAt   time.Time `json:"created_at"`
}

// AcsSystem is an access control system (a building's Salto site, a Brivo
// account, ...).
type AcsSystem struct {
	AcsSystemID             string    `json:"acs_system_id"`
	WorkspaceID             string    `json:"workspace_id"`
	Name                    string    `json:"name"`
	ExternalType            string    `json:"external_type,omitempty"`
	ExternalTypeDisplayName string    `json:"external_type_display_name,omitempty"`
	ConnectedAccountID      string    `json:"connected_account_id,omitempty"`
	ConnectedAccountIDs     []string  `json:"connected_account_ids,omitempty"`
	IsCredentialManager     bool      `json:"is_credential_manager"`
	CreatedAt               time.Time `json:"created_at"`
	// CanAddAcsUsersToAcsAccessGroups is a capability flag; nil when the server
	// does not report it.
	CanAddAcsUsersToAcsAccessGroups *bool `json:"can_add_acs_users_to_acs_access_groups,omitempty"`
}

// AccessGroup is a group of entrances a user can be given access to.
// Seam has no name filter: match names client-side.
type AccessGroup struct {
	AcsAccessGroupID        string    `json:"acs_access_group_id"`
	AcsSystemID             string    `json:"acs_system_id"`
	WorkspaceID             string    `json:"workspace_id"`
	ConnectedAccountID      string    `json:"connected_account_id,omitempty"`
	Name                    string    `json:"name"`
	DisplayName             string    `json:"display_name,omitempty"`
	ExternalType            string    `json:"external_type,omitempty"`
	ExternalTypeDisplayName string    `json:"external_type_display_name,omitempty"`
	IsManaged               *bool     `json:"is_managed,omitempty"`
	CreatedAt               time.Time `json:"created_at"`
}

// AccessSchedule bounds when a user has access. Both ends are pointers: Seam
// allows an open end (EndsAt nil). The client always sends UTC RFC 3339 with a
// "Z" (the fake refuses numeric offsets), and omits a nil end.
type AccessSchedule struct {
	StartsAt *time.Time
	EndsAt   *time.Time
}

type accessScheduleJSON struct {
	StartsAt *string `json:"starts_at,omitempty"`
	EndsAt   *string `json:"ends_at,omitempty"`
}

// MarshalJSON sends UTC timestamps with a Z suffix and leaves nil ends out.
func (s AccessSchedule) MarshalJSON() ([]byte, error) {
	return json.Marshal(accessScheduleJSON{StartsAt: formatTime(s.StartsAt), EndsAt: formatTime(s.EndsAt)})
}

// UnmarshalJSON accepts null or missing ends.
func (s *AccessSchedule) UnmarshalJSON(b []byte) error {
	var raw accessScheduleJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var err error
	if s.StartsAt, err = parseTime(raw.StartsAt); err != nil {
		return err
	}
	s.EndsAt, err = parseTime(raw.EndsAt)
	return err
}

func formatTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func parseTime(s *string) (*time.Time, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// AcsUser is a user of an access control system.
type AcsUser struct {
	AcsUserID          string    `json:"acs_user_id"`
	AcsSystemID        string    `json:"acs_system_id"`
	WorkspaceID        string    `json:"workspace_id"`
	ConnectedAccountID string    `json:"connected_account_id,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	DisplayName        string    `json:"display_name,omitempty"`
	FullName           string    `json:"full_name,omitempty"`
	EmailAddress       string    `json:"email_address,omitempty"`
	// Email is deprecated by Seam in favour of EmailAddress, but the npm fake
	// only updates this one.
	Email                    string          `json:"email,omitempty"`
	PhoneNumber              string          `json:"phone_number,omitempty"`
	UserIdentityID           string          `json:"user_identity_id,omitempty"`
	UserIdentityEmailAddress string          `json:"user_identity_email_address,omitempty"`
	UserIdentityFullName     string          `json:"user_identity_full_name,omitempty"`
	UserIdentityPhoneNumber  string          `json:"user_identity_phone_number,omitempty"`
	AccessSchedule           *AccessSchedule `json:"access_schedule,omitempty"`
	IsSuspended              bool            `json:"is_suspended"`
	// IsManaged is nil when the server does not report it (the fake).
	IsManaged *bool `json:"is_managed,omitempty"`
	// ExternalType is an enum that grows over time; do not validate it.
	ExternalType            string `json:"external_type,omitempty"`
	ExternalTypeDisplayName string `json:"external_type_display_name,omitempty"`
	// Errors, Warnings and PendingMutations are never nil after decoding: an
	// absent array decodes as empty.
	Errors           []UserError       `json:"errors"`
	Warnings         []UserWarning     `json:"warnings"`
	PendingMutations []PendingMutation `json:"pending_mutations"`
}

// UnmarshalJSON decodes the user and turns absent arrays into empty ones.
func (u *AcsUser) UnmarshalJSON(b []byte) error {
	type plain AcsUser
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*u = AcsUser(p)
	if u.Errors == nil {
		u.Errors = []UserError{}
	}
	if u.Warnings == nil {
		u.Warnings = []UserWarning{}
	}
	if u.PendingMutations == nil {
		u.PendingMutations = []PendingMutation{}
	}
	return nil
}

// HasPendingMutation reports whether a mutation with the code is in flight.
func (u *AcsUser) HasPendingMutation(code string) bool {
	for _, m := range u.PendingMutations {
		if m.MutationCode == code {
			return true
		}
	}
	return false
}

// Error codes seen on acs_user.errors[].
const (
	UserErrorDeletedExternally             = "deleted_externally"
	UserErrorFailedToCreateOnAcsSystem     = "failed_to_create_on_acs_system"
	UserErrorFailedToUpdateOnAcsSystem     = "failed_to_update_on_acs_system"
	UserErrorFailedToDeleteOnAcsSystem     = "failed_to_delete_on_acs_system"
	UserErrorSaltoKsSubscriptionLimit      = "salto_ks_subscription_limit_exceeded"
	UserErrorLatchConflictWithResidentUser = "latch_conflict_with_resident_user"
)

// Mutation codes seen on acs_user.pending_mutations[].
const (
	MutationCreating                = "creating"
	MutationDeleting                = "deleting"
	MutationDeferringCreation       = "deferring_creation"
	MutationUpdatingUserInformation = "updating_user_information"
	MutationUpdatingAccessSchedule  = "updating_access_schedule"
	MutationUpdatingSuspensionState = "updating_suspension_state"
	MutationUpdatingGroupMembership = "updating_group_membership"
)

// UserError is one entry of acs_user.errors[].
type UserError struct {
	ErrorCode string    `json:"error_code"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// UserWarning is one entry of acs_user.warnings[].
type UserWarning struct {
	WarningCode string    `json:"warning_code"`
	Message     string    `json:"message"`
	CreatedAt   time.Time `json:"created_at"`
}

// PendingMutation is one entry of acs_user.pending_mutations[]: a write Seam
// has accepted but not yet pushed to the access system.
type PendingMutation struct {
	MutationCode string    `json:"mutation_code"`
	Message      string    `json:"message,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// From and To are the mutation-specific before/after values (e.g.
	// {"full_name": ...}, {"acs_access_group_id": ...}), kept raw.
	From json.RawMessage `json:"from,omitempty"`
	To   json.RawMessage `json:"to,omitempty"`
	// Raw is the whole object as received, for fields this type does not name.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the raw object next to the named fields.
func (m *PendingMutation) UnmarshalJSON(b []byte) error {
	type plain PendingMutation
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = PendingMutation(p)
	m.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// CreateUserRequest is the body of /acs/users/create.
type CreateUserRequest struct {
	AcsSystemID    string          `json:"acs_system_id"`
	FullName       string          `json:"full_name"`
	EmailAddress   string          `json:"email_address,omitempty"`
	PhoneNumber    string          `json:"phone_number,omitempty"`
	UserIdentityID string          `json:"user_identity_id,omitempty"`
	AccessGroupIDs []string        `json:"acs_access_group_ids,omitempty"`
	AccessSchedule *AccessSchedule `json:"access_schedule,omitempty"`
}

// UpdateUserRequest is the body of /acs/users/update: only non-nil fields are
// sent. Seam cannot re-link a user identity through update.
type UpdateUserRequest struct {
	AcsUserID      string
	FullName       *string
	EmailAddress   *string
	PhoneNumber    *string
	AccessSchedule *AccessSchedule
	// ClearAccessSchedule sends "access_schedule": null (Seam allows it; the
	// npm fake refuses null). Ignored when AccessSchedule is set.
	ClearAccessSchedule bool
}

// MarshalJSON sends only the fields that are set.
func (r UpdateUserRequest) MarshalJSON() ([]byte, error) {
	body := map[string]any{"acs_user_id": r.AcsUserID}
	if r.FullName != nil {
		body["full_name"] = *r.FullName
	}
	if r.EmailAddress != nil {
		body["email_address"] = *r.EmailAddress
	}
	if r.PhoneNumber != nil {
		body["phone_number"] = *r.PhoneNumber
	}
	switch {
	case r.AccessSchedule != nil:
		body["access_schedule"] = r.AccessSchedule
	case r.ClearAccessSchedule:
		body["access_schedule"] = nil
	}
	return json.Marshal(body)
}

// ListUsersRequest is the body of /acs/users/list. Empty fields are not sent.
type ListUsersRequest struct {
	AcsSystemID    string
	UserIdentityID string
	// UserIdentityEmailAddress filters by the linked user identity's email.
	UserIdentityEmailAddress string
	Search                   string
	CreatedBefore            *time.Time
	// Limit is the page size; 0 means Seam's default (500).
	Limit      int
	PageCursor string
}

func (r ListUsersRequest) body() map[string]any {
	body := map[string]any{}
	set := func(k, v string) {
		if v != "" {
			body[k] = v
		}
	}
	set("acs_system_id", r.AcsSystemID)
	set("user_identity_id", r.UserIdentityID)
	set("user_identity_email_address", r.UserIdentityEmailAddress)
	set("search", r.Search)
	set("page_cursor", r.PageCursor)
	if r.CreatedBefore != nil {
		body["created_before"] = *formatTime(r.CreatedBefore)
	}
	if r.Limit > 0 {
		body["limit"] = r.Limit
	}
	return body
}

// UsersPage is one page of /acs/users/list.
type UsersPage struct {
	Users          []AcsUser
	NextPageCursor string
	HasNextPage    bool
}

// ListAccessGroupsRequest filters /acs/access_groups/list; set at least one.
type ListAccessGroupsRequest struct {
	AcsSystemID string
	AcsUserID   string
	// Search keeps the groups whose name or id contains it (a partial match, as
	// Seam defines it): callers wanting one name still compare names exactly.
	Search string
}
