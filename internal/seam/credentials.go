package seam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"
)

// PIN is an access code. It prints as "[redacted]" with every fmt verb and in
// logr, so a PIN in a request or a response cannot reach a log line, an event
// or an error string by accident; only JSON (the request body) carries the
// digits. Reveal returns them.
type PIN string

const redactedPIN = "[redacted]"

// String hides the digits.
func (PIN) String() string { return redactedPIN }

// GoString hides the digits from %#v.
func (PIN) GoString() string { return redactedPIN }

// Format hides the digits from every verb.
func (PIN) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, redactedPIN) }

// MarshalLog implements logr.Marshaler.
func (PIN) MarshalLog() any { return redactedPIN }

// Reveal returns the digits, for comparing and sending.
func (p PIN) Reveal() string { return string(p) }

// Access methods of a credential.
const (
	AccessMethodCode      = "code"
	AccessMethodCard      = "card"
	AccessMethodMobileKey = "mobile_key"
)

// Warning codes of acs_credential.warnings[].
const (
	CredentialWarningWaitingToBeIssued = "waiting_to_be_issued"
	CredentialWarningNeedsReissue      = "needs_to_be_reissued"
	CredentialWarningScheduleModified  = "schedule_modified"
	CredentialWarningBeingDeleted      = "being_deleted"
)

// AcsCredential is what opens a door: a PIN code, a card or a mobile key of
// one ACS user.
type AcsCredential struct {
	AcsCredentialID    string    `json:"acs_credential_id"`
	AcsUserID          string    `json:"acs_user_id,omitempty"`
	AcsSystemID        string    `json:"acs_system_id"`
	WorkspaceID        string    `json:"workspace_id"`
	ConnectedAccountID string    `json:"connected_account_id,omitempty"`
	UserIdentityID     string    `json:"user_identity_id,omitempty"`
	DisplayName        string    `json:"display_name"`
	AccessMethod       string    `json:"access_method"`
	CreatedAt          time.Time `json:"created_at"`
	// Code is the PIN of a code credential (Seam returns it); it never prints.
	Code                       PIN        `json:"code,omitempty"`
	IsMultiPhoneSyncCredential bool       `json:"is_multi_phone_sync_credential"`
	IsIssued                   bool       `json:"is_issued"`
	IssuedAt                   *time.Time `json:"issued_at,omitempty"`
	StartsAt                   *time.Time `json:"-"`
	EndsAt                     *time.Time `json:"-"`
	// IsLatestDesiredStateSyncedWithProvider is nil when Seam does not say.
	IsLatestDesiredStateSyncedWithProvider *bool         `json:"is_latest_desired_state_synced_with_provider,omitempty"`
	Errors                                 []UserError   `json:"errors"`
	Warnings                               []UserWarning `json:"warnings"`
}

// UnmarshalJSON decodes the credential: absent arrays become empty, starts_at
// and ends_at (plain strings in the document) are parsed, a null code is empty.
func (c *AcsCredential) UnmarshalJSON(b []byte) error {
	type plain AcsCredential
	var p struct {
		plain
		Code     *string `json:"code"`
		StartsAt *string `json:"starts_at"`
		EndsAt   *string `json:"ends_at"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = AcsCredential(p.plain)
	if p.Code != nil {
		c.Code = PIN(*p.Code)
	}
	var err error
	if c.StartsAt, err = parseTime(p.StartsAt); err != nil {
		return err
	}
	if c.EndsAt, err = parseTime(p.EndsAt); err != nil {
		return err
	}
	if c.Errors == nil {
		c.Errors = []UserError{}
	}
	if c.Warnings == nil {
		c.Warnings = []UserWarning{}
	}
	return nil
}

// HasWarning reports whether Seam warns with the code.
func (c *AcsCredential) HasWarning(code string) bool {
	for _, w := range c.Warnings {
		if w.WarningCode == code {
			return true
		}
	}
	return false
}

// CreateCredentialRequest is the body of /acs/credentials/create.
type CreateCredentialRequest struct {
	AcsUserID                  string
	AccessMethod               string
	Code                       PIN
	StartsAt, EndsAt           *time.Time
	IsMultiPhoneSyncCredential bool
	AllowedAcsEntranceIDs      []string
}

// MarshalJSON sends only what is set, times as UTC with Z.
func (r CreateCredentialRequest) MarshalJSON() ([]byte, error) {
	body := map[string]any{"acs_user_id": r.AcsUserID, "access_method": r.AccessMethod}
	if r.Code != "" {
		body["code"] = r.Code.Reveal()
	}
	if s := formatTime(r.StartsAt); s != nil {
		body["starts_at"] = *s
	}
	if s := formatTime(r.EndsAt); s != nil {
		body["ends_at"] = *s
	}
	if r.IsMultiPhoneSyncCredential {
		body["is_multi_phone_sync_credential"] = true
	}
	if len(r.AllowedAcsEntranceIDs) > 0 {
		body["allowed_acs_entrance_ids"] = r.AllowedAcsEntranceIDs
	}
	return json.Marshal(body)
}

// UpdateCredentialRequest is the body of /acs/credentials/update: Seam changes
// only the code and ends_at.
type UpdateCredentialRequest struct {
	AcsCredentialID string
	Code            PIN
	EndsAt          *time.Time
}

// MarshalJSON sends only what is set.
func (r UpdateCredentialRequest) MarshalJSON() ([]byte, error) {
	body := map[string]any{"acs_credential_id": r.AcsCredentialID}
	if r.Code != "" {
		body["code"] = r.Code.Reveal()
	}
	if s := formatTime(r.EndsAt); s != nil {
		body["ends_at"] = *s
	}
	return json.Marshal(body)
}

// ListCredentialsRequest filters /acs/credentials/list.
type ListCredentialsRequest struct {
	AcsUserID     string
	AcsSystemID   string
	CreatedBefore *time.Time
	Limit         int
	PageCursor    string
}

func (r ListCredentialsRequest) body() map[string]any {
	body := map[string]any{}
	for k, v := range map[string]string{"acs_user_id": r.AcsUserID, "acs_system_id": r.AcsSystemID, "page_cursor": r.PageCursor} {
		if v != "" {
			body[k] = v
		}
	}
	if r.CreatedBefore != nil {
		body["created_before"] = *formatTime(r.CreatedBefore)
	}
	if r.Limit > 0 {
		body["limit"] = r.Limit
	}
	return body
}

// CreateCredential creates a credential (/acs/credentials/create). Like
// CreateUser it is not idempotent: an unknown outcome wraps ErrOutcomeUnknown,
// and the caller must look for the credential (ListCredentials of the user)
// before creating again.
func (c *Client) CreateCredential(ctx context.Context, req CreateCredentialRequest) (*AcsCredential, error) {
	var out struct {
		AcsCredential *AcsCredential `json:"acs_credential"`
	}
	if err := c.do(ctx, "/acs/credentials/create", req, &out, false); err != nil {
		return nil, err
	}
	if out.AcsCredential == nil {
		return nil, &RequestError{Route: "/acs/credentials/create", Attempts: 1, OutcomeUnknown: true,
			Err: errors.New("response has no acs_credential")}
	}
	return out.AcsCredential, nil
}

// GetCredential returns one credential; ErrNotFound once it is deleted.
func (c *Client) GetCredential(ctx context.Context, id string) (*AcsCredential, error) {
	var out struct {
		AcsCredential *AcsCredential `json:"acs_credential"`
	}
	if err := c.do(ctx, "/acs/credentials/get", map[string]string{"acs_credential_id": id}, &out, true); err != nil {
		return nil, err
	}
	if out.AcsCredential == nil {
		return nil, missingField("/acs/credentials/get", "acs_credential")
	}
	return out.AcsCredential, nil
}

// ListCredentials walks every page of /acs/credentials/list. On an error it
// yields (nil, err) once and stops.
func (c *Client) ListCredentials(ctx context.Context, req ListCredentialsRequest) iter.Seq2[*AcsCredential, error] {
	return walkPages("/acs/credentials/list", req.PageCursor, func(cursor string) ([]AcsCredential, string, error) {
		req.PageCursor = cursor
		var out struct {
			AcsCredentials []AcsCredential `json:"acs_credentials"`
			Pagination     *pagination     `json:"pagination"`
		}
		err := c.do(ctx, "/acs/credentials/list", req.body(), &out, true)
		return out.AcsCredentials, out.Pagination.next(), err
	})
}

// UpdateCredential changes the code or ends_at (/acs/credentials/update).
func (c *Client) UpdateCredential(ctx context.Context, req UpdateCredentialRequest) (*AcsCredential, error) {
	var out struct {
		AcsCredential *AcsCredential `json:"acs_credential"`
	}
	if err := c.do(ctx, "/acs/credentials/update", req, &out, true); err != nil {
		return nil, err
	}
	return out.AcsCredential, nil
}

// DeleteCredential deletes a credential (/acs/credentials/delete): the door
// stops opening for it. One already gone gives ErrNotFound.
func (c *Client) DeleteCredential(ctx context.Context, id string) error {
	return c.do(ctx, "/acs/credentials/delete", map[string]string{"acs_credential_id": id}, nil, true)
}
