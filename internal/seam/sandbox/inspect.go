package sandbox

import (
	"fmt"
	"sort"
	"time"
)

// Go methods for tests that run the sandbox in-process: counters, state
// inspection, out-of-band changes and fault switches.

// Counters returns calls per route and status (StatusDropped for calls whose
// connection was dropped after the write).
func (s *Server) Counters() map[string]map[int]int { return s.counters.snapshot() }

// Received is how many calls reached route, whatever their status.
func (s *Server) Received(route string) int {
	n := 0
	for _, c := range s.counters.snapshot()[route] {
		n += c
	}
	return n
}

// InFlight is how many calls to route arrived and are not answered yet (held by
// injected latency, say). ResetCounters leaves it alone.
func (s *Server) InFlight(route string) int { return s.counters.inFlight(route) }

// ResetCounters zeroes the counters.
func (s *Server) ResetCounters() { s.counters.reset() }

// Users returns the users of a system ("" for all) in list order, with their
// current (applied) fields and group ids.
func (s *Server) Users(systemID string) []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.settle(time.Now())
	out := []User{}
	for _, u := range s.st.usersSorted(func(u *userRecord) bool { return systemID == "" || u.systemID == systemID }) {
		out = append(out, u.snapshot())
	}
	return out
}

// User returns one user.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.settle(time.Now())
	u, ok := s.st.users[id]
	if !ok {
		return User{}, false
	}
	return u.snapshot(), true
}

// GroupMembers returns the ids of the group's current members in list order.
func (s *Server) GroupMembers(groupID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.settle(time.Now())
	out := []string{}
	for _, u := range s.st.groupMembers(groupID) {
		out = append(out, u.id)
	}
	return out
}

// SettleMutations applies every pending mutation now, ignoring MutationDelay.
func (s *Server) SettleMutations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.settleAll()
}

// SetSystemOffline takes a system's controller off the network (true): Seam
// keeps accepting writes for its users, which stay pending mutations until it
// comes back (false), when they are applied in order.
func (s *Server) SetSystemOffline(systemID string, offline bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if sys, ok := s.st.systems[systemID]; ok && s.st.offline[systemID] != offline {
		eventType := EventSystemConnected
		if offline {
			eventType = EventSystemDisconnected
		}
		s.st.emit(sys.WorkspaceID, eventType, now, map[string]string{"acs_system_id": systemID, "connected_account_id": sys.ConnectedAccountID})
	}
	if offline {
		s.st.offline[systemID] = true
		return
	}
	delete(s.st.offline, systemID)
	for _, u := range s.st.users {
		if u.systemID != systemID {
			continue
		}
		for _, m := range u.pending {
			if m.applyAt.After(now.Add(s.st.mutationDelay)) {
				m.applyAt = now.Add(s.st.mutationDelay)
			}
		}
		s.st.settleUser(u, now)
	}
}

// FailAfterCommit makes the next successful call to route commit its write and
// then answer status (a gateway's 5xx for a backend that did the work).
func (s *Server) FailAfterCommit(route string, status int) {
	s.faults.update(func(f *Faults) {
		if f.FailAfterCommit == nil {
			f.FailAfterCommit = map[string]int{}
		}
		f.FailAfterCommit[route] = status
	})
}

// DeleteUserOutOfBand removes a user as if someone deleted it on the access
// system or in the Seam console: no pending mutation, no delay.
func (s *Server) DeleteUserOutOfBand(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok {
		return fmt.Errorf("sandbox: no user %q", id)
	}
	s.st.removeUser(u)
	s.st.emitUserDeleted(u, s.st.deleteCredentialsOf(id), time.Now())
	return nil
}

// RenameAccessGroup renames a group as a building admin would on the access system.
func (s *Server) RenameAccessGroup(id, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[id]
	if !ok {
		return fmt.Errorf("sandbox: no access group %q", id)
	}
	g.Name = name
	s.st.groups[id] = g
	return nil
}

// UpdateUserOutOfBand changes a user behind the operator's back. fn edits a
// snapshot; FullName, EmailAddress, PhoneNumber, AccessStartsAt/EndsAt,
// IsSuspended, GroupIDs, Errors and Warnings are written back at once.
func (s *Server) UpdateUserOutOfBand(id string, fn func(*User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok {
		return fmt.Errorf("sandbox: no user %q", id)
	}
	snap := u.snapshot()
	fn(&snap)
	for _, g := range snap.GroupIDs {
		if grp, ok := s.st.groups[g]; !ok || grp.SystemID != u.systemID {
			return fmt.Errorf("sandbox: group %q is not in the user's system", g)
		}
	}
	u.restore(snap)
	return nil
}

// Faults returns the current faults.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetFaults replaces every fault.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// ClearFaults makes the server well-behaved again.
func (s *Server) ClearFaults() { s.faults.set(Faults{}) }

// SetLatency delays every API call by d.
func (s *Server) SetLatency(d time.Duration) { s.faults.update(func(f *Faults) { f.Latency = d }) }

// SetRouteLatency delays one route by d (on top of SetLatency).
func (s *Server) SetRouteLatency(route string, d time.Duration) {
	s.faults.update(func(f *Faults) {
		if f.RouteLatency == nil {
			f.RouteLatency = map[string]time.Duration{}
		}
		f.RouteLatency[route] = d
	})
}

// SetErrorRate answers route with status (0 = 503) with probability p;
// p = 0 removes it.
func (s *Server) SetErrorRate(route string, p float64, status int) {
	s.faults.update(func(f *Faults) {
		if p <= 0 {
			delete(f.ErrorRates, route)
			return
		}
		if f.ErrorRates == nil {
			f.ErrorRates = map[string]ErrorRate{}
		}
		f.ErrorRates[route] = ErrorRate{Probability: p, Status: status}
	})
}

// StartRateLimitStorm answers the next n API calls (0 = until cleared) with
// 429, sending Retry-After: retryAfter unless it is empty.
func (s *Server) StartRateLimitStorm(n int, retryAfter string) {
	s.faults.update(func(f *Faults) { f.Storm = &RateLimitStorm{Remaining: n, RetryAfter: retryAfter} })
}

// StopRateLimitStorm ends a storm.
func (s *Server) StopRateLimitStorm() { s.faults.update(func(f *Faults) { f.Storm = nil }) }

// SetOutage answers every API call with 503 while on.
func (s *Server) SetOutage(on bool) { s.faults.update(func(f *Faults) { f.Outage = on }) }

// DropAfterCommit makes the next n successful calls to route commit their
// write and then close the connection without answering (n < 0: until
// cleared; n = 0: stop).
func (s *Server) DropAfterCommit(route string, n int) {
	s.faults.update(func(f *Faults) {
		if n == 0 {
			delete(f.DropAfterCommit, route)
			return
		}
		if f.DropAfterCommit == nil {
			f.DropAfterCommit = map[string]int{}
		}
		f.DropAfterCommit[route] = n
	})
}

// State is a dump of everything the sandbox holds.
type State struct {
	Workspaces     []SeedWorkspace    `json:"workspaces"`
	APIKeys        []APIKeyInfo       `json:"api_keys"`
	Systems        []SeedSystem       `json:"systems"`
	AccessGroups   []GroupState       `json:"access_groups"`
	UserIdentities []SeedUserIdentity `json:"user_identities"`
	Users          []User             `json:"users"`
	Faults         Faults             `json:"faults"`
}

// APIKeyInfo names a key without revealing it.
type APIKeyInfo struct {
	Prefix      string `json:"prefix"`
	WorkspaceID string `json:"workspace_id,omitempty"`
}

// GroupState is an access group with its members.
type GroupState struct {
	SeedAccessGroup
	MemberIDs []string `json:"member_ids"`
}

// KeyPrefix shortens a key for display: enough to tell keys apart, not
// enough to use one.
func KeyPrefix(key string) string {
	const n = 12
	if len(key) <= n {
		return key[:len(key)/2] + "..."
	}
	return key[:n] + "..."
}

// State returns a snapshot of the whole sandbox (API keys by prefix only).
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.settle(time.Now())
	out := State{Faults: s.faults.get()}
	for _, w := range st.workspaces {
		out.Workspaces = append(out.Workspaces, w)
	}
	for k, v := range st.apiKeys {
		out.APIKeys = append(out.APIKeys, APIKeyInfo{Prefix: KeyPrefix(k), WorkspaceID: v.WorkspaceID})
	}
	for _, id := range st.systemOrder {
		out.Systems = append(out.Systems, st.systems[id])
	}
	for _, id := range st.groupOrder {
		gs := GroupState{SeedAccessGroup: st.groups[id], MemberIDs: []string{}}
		for _, u := range st.groupMembers(id) {
			gs.MemberIDs = append(gs.MemberIDs, u.id)
		}
		out.AccessGroups = append(out.AccessGroups, gs)
	}
	for _, u := range st.identities {
		out.UserIdentities = append(out.UserIdentities, u)
	}
	for _, u := range st.usersSorted(func(*userRecord) bool { return true }) {
		out.Users = append(out.Users, u.snapshot())
	}
	sort.Slice(out.Workspaces, func(i, j int) bool { return out.Workspaces[i].ID < out.Workspaces[j].ID })
	sort.Slice(out.APIKeys, func(i, j int) bool { return out.APIKeys[i].Prefix < out.APIKeys[j].Prefix })
	sort.Slice(out.UserIdentities, func(i, j int) bool { return out.UserIdentities[i].ID < out.UserIdentities[j].ID })
	return out
}
