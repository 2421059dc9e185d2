// Package snapshot keeps, per Seam connection and ACS system, one recent picture of
// every remote user and its access-group membership, read with the paged list routes.
// Reconcilers check settled objects against it, so a resync of N users costs a few
// pages instead of N reads. A snapshot only ever tells a reconciler that nothing needs
// doing: any difference it shows is confirmed with a fresh read before a write.
package snapshot

import (
	"context"
	"errors"
	"iter"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acs-operator/acs-operator/internal/seam"
)

// Key names one system seen through one connection.
type Key struct {
	Connection string
	System     string
}

// Snapshot is the remote users of one system at one moment.
type Snapshot struct {
	FetchedAt time.Time
	users     map[string]*seam.AcsUser
	// groups maps a user to its access groups; nil when the server cannot report
	// membership (no access-group routes).
	groups map[string][]string
	// accessGroups are the system's access groups, for names; nil as groups is.
	accessGroups []seam.AccessGroup
}

// AccessGroups returns the system's access groups, or nil when the server cannot
// list them. AcsUsers resolve spec.accessGroupNames against it: the names are
// cached per system and refreshed with the snapshot.
func (s *Snapshot) AccessGroups() []seam.AccessGroup { return s.accessGroups }

// User returns the user with the id, or nil if it was not there when the snapshot was taken.
func (s *Snapshot) User(id string) *seam.AcsUser { return s.users[id] }

// Groups returns the user's access groups (sorted), or nil when membership is unknown.
func (s *Snapshot) Groups(id string) []string {
	if s.groups == nil {
		return nil
	}
	g := s.groups[id]
	if g == nil {
		return []string{}
	}
	return g
}

// Users returns every user of the snapshot, ordered by id.
func (s *Snapshot) Users() []*seam.AcsUser {
	out := make([]*seam.AcsUser, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *seam.AcsUser) int { return strings.Compare(a.AcsUserID, b.AcsUserID) })
	return out
}

// Len is the number of users in the snapshot.
func (s *Snapshot) Len() int { return len(s.users) }

// Lister is the part of the Seam client a snapshot is read with.
type Lister interface {
	ListUsers(ctx context.Context, req seam.ListUsersRequest) iter.Seq2[*seam.AcsUser, error]
	ListAccessGroups(ctx context.Context, req seam.ListAccessGroupsRequest) ([]seam.AccessGroup, error)
	ListAccessGroupUsers(ctx context.Context, acsAccessGroupID string) ([]seam.AcsUser, error)
}

// Cache holds the snapshots and refreshes each at most once per MaxAge, whatever the
// number of reconcilers asking for it.
type Cache struct {
	// MaxAge is how old a snapshot may be before the next request refreshes it.
	MaxAge time.Duration
	// PageSize is the page size of the user list (Seam's maximum is 500).
	PageSize int
	Now      func() time.Time

	mu      sync.Mutex
	entries map[Key]*entry
}

type entry struct {
	mu         sync.Mutex // held only to look and to swap, never across a read
	snap       *Snapshot
	refreshing bool
	err        error // the last failed read, handed to callers until errUntil
	errUntil   time.Time
}

// ErrRefreshing says another reconcile is reading the snapshot right now. The caller
// comes back a moment later instead of waiting: a worker must not sit behind
// someone else's paging while revocations queue up.
var ErrRefreshing = errors.New("snapshot: being read by another reconcile")

// failedReadTTL is how long a failed read is handed to every caller before the next
// one tries again: an outage must not make each waiting reconcile page the system.
const failedReadTTL = 5 * time.Second

// Get returns the snapshot of key, read after notBefore and younger than MaxAge,
// reading it with lister if needed. When another caller is reading it, Get returns
// ErrRefreshing at once; a read that failed less than failedReadTTL ago returns its
// error without another read.
func (c *Cache) Get(ctx context.Context, key Key, lister Lister, notBefore time.Time) (*Snapshot, error) {
	e := c.entry(key)
	now := c.now()
	e.mu.Lock()
	switch {
	case e.snap != nil && e.snap.FetchedAt.After(notBefore) && now.Sub(e.snap.FetchedAt) < c.MaxAge:
		s := e.snap
		e.mu.Unlock()
		return s, nil
	case e.refreshing:
		e.mu.Unlock()
		return nil, ErrRefreshing
	case e.err != nil && now.Before(e.errUntil):
		err := e.err
		e.mu.Unlock()
		return nil, err
	}
	e.refreshing = true
	prev := e.snap
	e.mu.Unlock()

	s, err := c.read(ctx, key.System, lister, prev)

	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshing = false
	if err != nil {
		e.err, e.errUntil = err, c.now().Add(failedReadTTL)
		return nil, err
	}
	e.snap, e.err = s, nil
	return s, nil
}

// Latest returns the newest snapshot of key whatever its age, or nil if none was
// read yet. It never reads and never waits: for what changes rarely and is checked
// again at the next resync anyway (group names), while another caller may be
// reading a fresh one.
func (c *Cache) Latest(key Key) *Snapshot {
	e := c.entry(key)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snap
}

func (c *Cache) entry(key Key) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[Key]*entry{}
	}
	e := c.entries[key]
	if e == nil {
		e = &entry{}
		c.entries[key] = e
	}
	return e
}

// read lists every user of the system (paged) and the members of each of its groups.
// What did not change since prev (nil if none) keeps prev's copy: reconcilers may
// hold prev while this one is read, and without sharing both are live at once, at
// 10,000 users the manager's peak heap at every resync.
func (c *Cache) read(ctx context.Context, system string, lister Lister, prev *Snapshot) (*Snapshot, error) {
	if prev == nil {
		prev = &Snapshot{}
	}
	// Every reconcile of the system waits for this read: its calls go ahead of
	// the connection's queue of creates and grants, each for one object.
	ctx = seam.AtLeast(ctx, seam.PrioritySharedRead)
	started := c.now()
	s := &Snapshot{FetchedAt: started, users: make(map[string]*seam.AcsUser, len(prev.users))}
	var shared sharedStrings
	for u, err := range lister.ListUsers(ctx, seam.ListUsersRequest{AcsSystemID: system, Limit: c.PageSize}) {
		if err != nil {
			return nil, err
		}
		u = shared.trim(u)
		if old := prev.users[u.AcsUserID]; old != nil && reflect.DeepEqual(old, u) {
			u = old
		}
		s.users[u.AcsUserID] = u
	}
	groups, err := lister.ListAccessGroups(ctx, seam.ListAccessGroupsRequest{AcsSystemID: system})
	if errors.Is(err, seam.ErrRouteNotSupported) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	s.groups = map[string][]string{}
	s.accessGroups = groups
	for _, g := range groups {
		members, err := lister.ListAccessGroupUsers(ctx, g.AcsAccessGroupID)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			s.groups[m.AcsUserID] = append(s.groups[m.AcsUserID], g.AcsAccessGroupID)
		}
	}
	for id, groups := range s.groups {
		slices.Sort(groups)
		groups = slices.Compact(groups)
		if old, ok := prev.groups[id]; ok && slices.Equal(old, groups) {
			groups = old
		}
		s.groups[id] = groups
	}
	return s, nil
}

// sharedStrings makes the users of one snapshot share one copy of the ids they all
// repeat (system, workspace, connected account).
type sharedStrings map[string]string

// trim keeps what a reconcile compares and reports, and drops the rest: a snapshot
// holds every user of a system for a whole resync period, and at 10,000 users each
// string the decoder allocated is memory held for nothing.
func (s *sharedStrings) trim(u *seam.AcsUser) *seam.AcsUser {
	if *s == nil {
		*s = sharedStrings{}
	}
	u.AcsSystemID, u.WorkspaceID, u.ConnectedAccountID = s.intern(u.AcsSystemID), s.intern(u.WorkspaceID), s.intern(u.ConnectedAccountID)
	u.DisplayName, u.ExternalType, u.ExternalTypeDisplayName = "", "", ""
	u.UserIdentityEmailAddress, u.UserIdentityFullName, u.UserIdentityPhoneNumber = "", "", ""
	return u
}

func (s sharedStrings) intern(v string) string {
	if v == "" {
		return v
	}
	if c, ok := s[v]; ok {
		return c
	}
	s[v] = v
	return v
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
