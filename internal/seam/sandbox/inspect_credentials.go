package sandbox

import (
	"fmt"
	"sort"
	"time"
)

// Credential is a snapshot of a sandbox credential, for tests. Code is the PIN
// itself: tests compare it, nothing else may print it.
type Credential struct {
	ID                   string     `json:"acs_credential_id"`
	UserID               string     `json:"acs_user_id"`
	SystemID             string     `json:"acs_system_id"`
	AccessMethod         string     `json:"access_method"`
	Code                 string     `json:"-"`
	IsMultiPhoneSync     bool       `json:"is_multi_phone_sync_credential"`
	AllowedEntranceIDs   []string   `json:"allowed_acs_entrance_ids"`
	StartsAt             *time.Time `json:"starts_at,omitempty"`
	EndsAt               *time.Time `json:"ends_at,omitempty"`
	CreatedAt            time.Time  `json:"created_at"`
	IsIssued             bool       `json:"is_issued"`
	Errors               []Issue    `json:"errors"`
	Warnings             []Issue    `json:"warnings"`
	DisplayName          string     `json:"display_name"`
	ConnectedAccountID   string     `json:"connected_account_id"`
	WorkspaceID          string     `json:"workspace_id"`
	LatestSyncedProvider bool       `json:"is_latest_desired_state_synced_with_provider"`
}

func (st *store) credentialSnapshot(cr *credentialRecord) Credential {
	return Credential{
		ID: cr.id, UserID: cr.userID, SystemID: cr.systemID, AccessMethod: cr.accessMethod, Code: cr.code,
		IsMultiPhoneSync: cr.multiPhoneSync, AllowedEntranceIDs: append([]string{}, cr.entranceIDs...),
		StartsAt: cr.startsAt, EndsAt: cr.endsAt, CreatedAt: cr.createdAt, IsIssued: cr.issuedAt != nil,
		Errors: append([]Issue{}, cr.errors...), Warnings: append([]Issue{}, cr.warnings...),
		DisplayName: credentialDisplayName(cr), ConnectedAccountID: st.systems[cr.systemID].ConnectedAccountID,
		WorkspaceID: cr.workspaceID, LatestSyncedProvider: !st.offline[cr.systemID],
	}
}

// Credentials returns the credentials of a user ("" for all) in list order.
func (s *Server) Credentials(userID string) []Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.settle(time.Now())
	var items []*credentialRecord
	for _, cr := range s.st.credentials {
		if userID == "" || cr.userID == userID {
			items = append(items, cr)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].position().before(items[j].position()) })
	out := []Credential{}
	for _, cr := range items {
		out = append(out, s.st.credentialSnapshot(cr))
	}
	return out
}

// Credential returns one credential.
func (s *Server) Credential(id string) (Credential, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cr, ok := s.st.credentials[id]
	if !ok {
		return Credential{}, false
	}
	return s.st.credentialSnapshot(cr), true
}

// CollideNextCodes makes the next n creates of a code credential fail as Seam does when
// another credential of the access system already has the PIN
// (duplicate_code_on_acs_system), whatever the PIN: a generated PIN that collides.
func (s *Server) CollideNextCodes(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.collideCodes = n
}

// CollidedCodes lists the PINs CollideNextCodes refused, in order. Tests compare them;
// nothing else may print them.
func (s *Server) CollidedCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.st.collidedCodes...)
}

// IssueCredential encodes a card (or any credential not yet issued): it becomes
// is_issued with issued_at now, and loses its waiting_to_be_issued warning.
func (s *Server) IssueCredential(id string) error {
	return s.UpdateCredentialOutOfBand(id, func(c *Credential) {
		c.IsIssued = true
		kept := c.Warnings[:0]
		for _, w := range c.Warnings {
			if w.Code != "waiting_to_be_issued" {
				kept = append(kept, w)
			}
		}
		c.Warnings = kept
	})
}

// DeleteCredentialOutOfBand removes a credential as if someone deleted it in the
// Seam console or on the access system.
func (s *Server) DeleteCredentialOutOfBand(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.credentials[id]; !ok {
		return fmt.Errorf("sandbox: no credential %q", id)
	}
	delete(s.st.credentials, id)
	return nil
}

// UpdateCredentialOutOfBand changes a credential behind the operator's back. fn
// edits a snapshot; Code, EndsAt, IsIssued, Errors and Warnings are written back.
func (s *Server) UpdateCredentialOutOfBand(id string, fn func(*Credential)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cr, ok := s.st.credentials[id]
	if !ok {
		return fmt.Errorf("sandbox: no credential %q", id)
	}
	snap := s.st.credentialSnapshot(cr)
	fn(&snap)
	cr.code, cr.endsAt = snap.Code, snap.EndsAt
	switch {
	case snap.IsIssued && cr.issuedAt == nil:
		now := time.Now().UTC().Truncate(time.Millisecond)
		cr.issuedAt = &now
	case !snap.IsIssued:
		cr.issuedAt = nil
	}
	cr.errors = append([]Issue{}, snap.Errors...)
	cr.warnings = append([]Issue{}, snap.Warnings...)
	return nil
}
