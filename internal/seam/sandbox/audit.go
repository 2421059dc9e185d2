package sandbox

import (
	"encoding/json"
	"sync"
	"time"
)

// AuditEntry is one write call the sandbox committed (a 2xx from the handler,
// whether or not its answer was then dropped or replaced by an injected error).
// A chaos run explains every destructive entry (delete, suspend, removal from a
// group) by a spec change, and checks that users nobody asked the operator to
// manage have none.
type AuditEntry struct {
	Seq           int       `json:"seq"`
	Time          time.Time `json:"time"`
	Route         string    `json:"route"`
	AcsUserID     string    `json:"acs_user_id"`
	AccessGroupID string    `json:"acs_access_group_id,omitempty"`
	// AcsCredentialID is set by credential routes that name one.
	AcsCredentialID string `json:"acs_credential_id,omitempty"`
	// EmailAddress is the user's when the call was made, so an entry can be tied
	// to its owner after the user is gone.
	EmailAddress string `json:"email_address,omitempty"`
	// Answered is false when the write was committed but the client got no
	// answer or an injected error instead (DropAfterCommit, FailAfterCommit).
	Answered bool `json:"answered"`
}

// auditLog is the list of committed writes; it has its own lock, like the
// counters.
type auditLog struct {
	mu      sync.Mutex
	entries []AuditEntry
}

func (a *auditLog) add(e AuditEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e.Seq = len(a.entries) + 1
	a.entries = append(a.entries, e)
}

func (a *auditLog) snapshot() []AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AuditEntry{}, a.entries...)
}

// auditEntry describes a committed write call; ok is false for reads. The
// caller holds s.mu.
func (s *Server) auditEntry(path string, p *params, resp response, now time.Time) (AuditEntry, bool) {
	if rt := s.routes[path]; rt.allowGET || resp.status >= 300 {
		return AuditEntry{}, false
	}
	e := AuditEntry{Time: now, Route: path}
	e.AcsUserID, _, _ = p.str("acs_user_id")
	e.AccessGroupID, _, _ = p.str("acs_access_group_id")
	e.AcsCredentialID, _, _ = p.str("acs_credential_id")
	if e.AcsUserID == "" && path == "/acs/users/create" { // the id is in the answer
		var created struct {
			AcsUser struct {
				ID string `json:"acs_user_id"`
			} `json:"acs_user"`
		}
		_ = json.Unmarshal(resp.body, &created)
		e.AcsUserID = created.AcsUser.ID
	}
	if u, ok := s.st.users[e.AcsUserID]; ok {
		e.EmailAddress = u.email
	}
	return e, true
}

// Audit returns every committed write call, oldest first.
func (s *Server) Audit() []AuditEntry { return s.audit.snapshot() }
