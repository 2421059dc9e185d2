package sandbox

import (
	"crypto/rand"
	"fmt"
	"slices"
	"sort"
	"time"
)

// schedule is an access schedule; EndsAt nil means open-ended.
type schedule struct {
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
}

func (s *schedule) clone() *schedule {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

func (s *schedule) equal(o *schedule) bool {
	if s == nil || o == nil {
		return s == o
	}
	return timeEqual(s.StartsAt, o.StartsAt) && timeEqual(s.EndsAt, o.EndsAt)
}

func timeEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// Issue is an entry of an acs_user's errors[] or warnings[].
type Issue struct {
	Code      string    `json:"code"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// userRecord is a user as the store holds it. The visible fields are what
// get/list show; writes waiting in pending change them only when applied.
type userRecord struct {
	seq                int
	id                 string
	workspaceID        string
	systemID           string
	connectedAccountID string
	createdAt          time.Time
	fullName           string
	email              string
	phone              string
	identityID         string
	schedule           *schedule
	suspended          bool
	groups             map[string]bool
	errors             []Issue
	warnings           []Issue
	pending            []*mutation
}

// mutation is a write Seam has accepted but not yet applied.
type mutation struct {
	code      string
	message   string
	createdAt time.Time
	applyAt   time.Time
	from, to  map[string]any
	apply     func(st *store, u *userRecord)
}

// store is the sandbox's state. It is not safe for concurrent use: Server
// guards it with its mutex.
type store struct {
	mutationDelay time.Duration
	// offline are the systems whose writes stay pending until they come back
	// (a building's controller without network): see Server.SetSystemOffline.
	offline     map[string]bool
	workspaces  map[string]SeedWorkspace
	apiKeys     map[string]SeedAPIKey
	systems     map[string]SeedSystem
	systemOrder []string
	groups      map[string]SeedAccessGroup
	groupOrder  []string
	identities  map[string]SeedUserIdentity
	users       map[string]*userRecord
	// userOrder is every user in list order (created_at, then creation
	// sequence): a page of a list starts at its cursor instead of sorting every
	// user of the sandbox, which under the sandbox's one lock held every other
	// call (a bench at 70,000 users paged for 30 s).
	userOrder   []*userRecord
	credentials map[string]*credentialRecord
	seq         int
	created     time.Time // seeded objects' created_at
	// collideCodes refuses that many next code creates as duplicates; collidedCodes are
	// the PINs refused so (see Server.CollideNextCodes).
	collideCodes  int
	collidedCodes []string
	// events are every event emitted, oldest first; webhooks are where they go.
	events       []*Event
	webhooks     map[string]*webhookRecord
	webhookOrder []string
	// deliver queues one event for one webhook URL (Server's deliverer).
	deliver func(url, secret string, event map[string]any)
}

func newStore(seed Seed, mutationDelay time.Duration) *store {
	st := &store{
		mutationDelay: mutationDelay,
		offline:       map[string]bool{},
		workspaces:    map[string]SeedWorkspace{},
		apiKeys:       map[string]SeedAPIKey{},
		systems:       map[string]SeedSystem{},
		groups:        map[string]SeedAccessGroup{},
		identities:    map[string]SeedUserIdentity{},
		users:         map[string]*userRecord{},
		credentials:   map[string]*credentialRecord{},
		webhooks:      map[string]*webhookRecord{},
		created:       time.Now().UTC().Truncate(time.Millisecond),
	}
	for _, w := range seed.Workspaces {
		st.workspaces[w.ID] = w
	}
	for _, k := range seed.APIKeys {
		st.apiKeys[k.Key] = k
	}
	for _, s := range seed.Systems {
		if s.ExternalType == "" {
			s.ExternalType = "salto_site"
		}
		if s.ConnectedAccountID == "" {
			s.ConnectedAccountID = "connected_account_" + s.ID
		}
		st.systems[s.ID] = s
		st.systemOrder = append(st.systemOrder, s.ID)
	}
	for _, g := range seed.AccessGroups {
		if g.ExternalType == "" {
			g.ExternalType = groupTypeForSystem(st.systems[g.SystemID].ExternalType)
		}
		st.groups[g.ID] = g
		st.groupOrder = append(st.groupOrder, g.ID)
	}
	for _, u := range seed.UserIdentities {
		st.identities[u.ID] = u
	}
	return st
}

// newUUID returns a random (version 4) UUID: Seam's ids are UUIDs. Callers
// must treat ids as opaque strings (the npm fake uses "acs_user1").
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// settle applies every pending mutation that is due at now, in order.
func (st *store) settle(now time.Time) {
	if st.mutationDelay <= 0 && len(st.offline) == 0 {
		return // writes are applied synchronously: nothing is ever pending
	}
	for _, u := range st.users {
		st.settleUser(u, now)
	}
}

func (st *store) settleUser(u *userRecord, now time.Time) {
	if st.offline[u.systemID] {
		return
	}
	for len(u.pending) > 0 && !u.pending[0].applyAt.After(now) {
		m := u.pending[0]
		u.pending = u.pending[1:]
		m.apply(st, u)
		if st.users[u.id] == nil {
			return // the mutation deleted the user
		}
	}
}

// settleAll applies every pending mutation now, whatever its due time.
func (st *store) settleAll() {
	for _, u := range st.users {
		for len(u.pending) > 0 {
			m := u.pending[0]
			u.pending = u.pending[1:]
			m.apply(st, u)
			if st.users[u.id] == nil {
				break
			}
		}
	}
}

// mutate applies a write at once when there is no delay, or queues it as a
// pending mutation that get/list show until it is applied.
func (st *store) mutate(u *userRecord, now time.Time, code, message string, from, to map[string]any, apply func(*store, *userRecord)) {
	if st.mutationDelay <= 0 && !st.offline[u.systemID] {
		apply(st, u)
		return
	}
	applyAt := now.Add(st.mutationDelay)
	// Keep pending sorted by due time even if the delay changed in between.
	if n := len(u.pending); n > 0 && u.pending[n-1].applyAt.After(applyAt) {
		applyAt = u.pending[n-1].applyAt
	}
	u.pending = append(u.pending, &mutation{
		code: code, message: message, createdAt: now, applyAt: applyAt,
		from: from, to: to, apply: apply,
	})
}

func (u *userRecord) hasPending(code string) bool {
	return slices.ContainsFunc(u.pending, func(m *mutation) bool { return m.code == code })
}

// projectedSuspended is the suspension state once pending writes land.
func (u *userRecord) projectedSuspended() bool {
	state := u.suspended
	for _, m := range u.pending {
		if m.code == "updating_suspension_state" {
			state, _ = m.to["is_suspended"].(bool)
		}
	}
	return state
}

// projectedMember reports group membership once pending writes land.
func (u *userRecord) projectedMember(groupID string) bool {
	member := u.groups[groupID]
	for _, m := range u.pending {
		switch {
		case m.code == "creating":
			if ids, ok := m.to["acs_access_group_ids"].([]string); ok && slices.Contains(ids, groupID) {
				member = true
			}
		case m.code != "updating_group_membership":
		case m.to["acs_access_group_id"] == groupID:
			member = true
		case m.from["acs_access_group_id"] == groupID:
			member = false
		}
	}
	return member
}

// usersSorted returns users in list order: created_at, then creation sequence.
func (st *store) usersSorted(keep func(*userRecord) bool) []*userRecord {
	return st.usersAfter(nil, len(st.userOrder), keep)
}

// usersAfter returns up to n users kept by keep, in list order, after the
// cursor (from the first if nil).
func (st *store) usersAfter(after *cursor, n int, keep func(*userRecord) bool) []*userRecord {
	start := 0
	if after != nil {
		start = indexAfter(st.userOrder, *after)
	}
	var out []*userRecord
	for _, u := range st.userOrder[start:] {
		if len(out) == n {
			break
		}
		if keep(u) {
			out = append(out, u)
		}
	}
	return out
}

// addUser records a new user, in list order.
func (st *store) addUser(u *userRecord) {
	st.users[u.id] = u
	st.userOrder = slices.Insert(st.userOrder, indexAfter(st.userOrder, u.position()), u)
}

// removeUser forgets a deleted user.
func (st *store) removeUser(u *userRecord) {
	delete(st.users, u.id)
	// Positions are unique: u is the last at or before its own.
	if i := indexAfter(st.userOrder, u.position()) - 1; i >= 0 && st.userOrder[i] == u {
		st.userOrder = slices.Delete(st.userOrder, i, i+1)
	}
}

func (st *store) groupMembers(groupID string) []*userRecord {
	return st.usersSorted(func(u *userRecord) bool { return u.groups[groupID] })
}

// User is a snapshot of a sandbox user, for tests and the state dump.
type User struct {
	ID                 string     `json:"acs_user_id"`
	WorkspaceID        string     `json:"workspace_id"`
	SystemID           string     `json:"acs_system_id"`
	ConnectedAccountID string     `json:"connected_account_id"`
	CreatedAt          time.Time  `json:"created_at"`
	FullName           string     `json:"full_name"`
	EmailAddress       string     `json:"email_address,omitempty"`
	PhoneNumber        string     `json:"phone_number,omitempty"`
	UserIdentityID     string     `json:"user_identity_id,omitempty"`
	AccessStartsAt     *time.Time `json:"access_starts_at,omitempty"`
	AccessEndsAt       *time.Time `json:"access_ends_at,omitempty"`
	IsSuspended        bool       `json:"is_suspended"`
	// GroupIDs are the access groups the user is in now (sorted).
	GroupIDs []string `json:"acs_access_group_ids"`
	// PendingMutations are the codes of writes not yet applied, oldest first.
	PendingMutations []string `json:"pending_mutations"`
	Errors           []Issue  `json:"errors"`
	Warnings         []Issue  `json:"warnings"`
}

func (u *userRecord) snapshot() User {
	out := User{
		ID: u.id, WorkspaceID: u.workspaceID, SystemID: u.systemID, ConnectedAccountID: u.connectedAccountID,
		CreatedAt: u.createdAt, FullName: u.fullName, EmailAddress: u.email, PhoneNumber: u.phone,
		UserIdentityID: u.identityID, IsSuspended: u.suspended,
		GroupIDs: []string{}, PendingMutations: []string{},
		Errors: append([]Issue{}, u.errors...), Warnings: append([]Issue{}, u.warnings...),
	}
	if u.schedule != nil {
		out.AccessStartsAt, out.AccessEndsAt = u.schedule.StartsAt, u.schedule.EndsAt
	}
	for g := range u.groups {
		out.GroupIDs = append(out.GroupIDs, g)
	}
	sort.Strings(out.GroupIDs)
	for _, m := range u.pending {
		out.PendingMutations = append(out.PendingMutations, m.code)
	}
	return out
}

// restore writes back the editable fields of a snapshot (out-of-band change).
func (u *userRecord) restore(s User) {
	u.fullName, u.email, u.phone = s.FullName, s.EmailAddress, s.PhoneNumber
	u.suspended = s.IsSuspended
	if s.AccessStartsAt == nil && s.AccessEndsAt == nil {
		u.schedule = nil
	} else {
		u.schedule = &schedule{StartsAt: s.AccessStartsAt, EndsAt: s.AccessEndsAt}
	}
	u.groups = map[string]bool{}
	for _, g := range s.GroupIDs {
		u.groups[g] = true
	}
	u.errors = append([]Issue{}, s.Errors...)
	u.warnings = append([]Issue{}, s.Warnings...)
}
