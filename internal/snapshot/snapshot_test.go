package snapshot_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http/httptest"
	"testing"
	"time"
	"unsafe"

	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

// sandboxClient starts a sandbox with the demo seed for the test and returns it
// with a client of its key.
func sandboxClient(t *testing.T) (*sandbox.Server, *seam.Client) {
	t.Helper()
	srv := sandbox.New(sandbox.DefaultSeed(), sandbox.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c, err := seam.New(seam.Config{Endpoint: ts.URL, APIKey: sandbox.DefaultSeedAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestSnapshotCostsPagesNotUsers(t *testing.T) {
	srv, c := sandboxClient(t)
	ctx := context.Background()
	const n = 1234
	var ids []string
	for i := range n {
		req := seam.CreateUserRequest{AcsSystemID: "acs_system_hq", FullName: fmt.Sprintf("User %d", i)}
		if i%2 == 0 {
			req.AccessGroupIDs = []string{"acs_access_group_hq_gym"}
		}
		u, err := c.CreateUser(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.AcsUserID)
	}
	srv.ResetCounters()

	cache := &snapshot.Cache{MaxAge: time.Minute, PageSize: 500}
	key := snapshot.Key{Connection: "c", System: "acs_system_hq"}
	var s *snapshot.Snapshot
	var err error
	for range 100 { // a hundred reconcilers asking in one resync period
		if s, err = cache.Get(ctx, key, c, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != n {
		t.Fatalf("snapshot has %d users, want %d", s.Len(), n)
	}
	if got := srv.Received("/acs/users/list"); got != 3 {
		t.Errorf("/acs/users/list called %d times, want 3 pages of 500", got)
	}
	if got := srv.Received("/acs/users/get"); got != 0 {
		t.Errorf("/acs/users/get called %d times, want 0", got)
	}
	a, b := s.User(ids[0]), s.User(ids[1])
	if a.FullName != "User 0" || a.AcsSystemID != "acs_system_hq" || a.DisplayName != "" {
		t.Errorf("a snapshot keeps what a reconcile compares and drops the rest: %+v", a)
	}
	if unsafe.StringData(a.WorkspaceID) != unsafe.StringData(b.WorkspaceID) {
		t.Errorf("the users of a snapshot do not share one copy of their workspace id")
	}
	if g := s.Groups(ids[0]); len(g) != 1 || g[0] != "acs_access_group_hq_gym" {
		t.Errorf("groups of a member: %v", g)
	}
	if g := s.Groups(ids[1]); g == nil || len(g) != 0 {
		t.Errorf("groups of a non-member must be known and empty, got %v", g)
	}

	// A snapshot older than the caller's last write is not used.
	before := srv.Received("/acs/users/list")
	if _, err := cache.Get(ctx, key, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	if srv.Received("/acs/users/list") == before {
		t.Error("a snapshot taken before notBefore was reused")
	}
}

// blockingLister pages until released, and counts its reads.
type blockingLister struct {
	started chan struct{}
	release chan struct{}
	err     error
	reads   int
}

func (b *blockingLister) ListUsers(ctx context.Context, _ seam.ListUsersRequest) iter.Seq2[*seam.AcsUser, error] {
	return func(yield func(*seam.AcsUser, error) bool) {
		b.reads++
		if b.started != nil {
			close(b.started)
			<-b.release
		}
		if b.err != nil {
			yield(nil, b.err)
			return
		}
		yield(&seam.AcsUser{AcsUserID: "u1"}, nil)
	}
}

func (b *blockingLister) ListAccessGroups(context.Context, seam.ListAccessGroupsRequest) ([]seam.AccessGroup, error) {
	return nil, nil
}

func (b *blockingLister) ListAccessGroupUsers(context.Context, string) ([]seam.AcsUser, error) {
	return nil, nil
}

func TestSnapshotReadBlocksNoOtherCaller(t *testing.T) {
	cache := &snapshot.Cache{MaxAge: time.Minute, PageSize: 500}
	key := snapshot.Key{Connection: "c", System: "s"}
	l := &blockingLister{started: make(chan struct{}), release: make(chan struct{})}
	first := make(chan error, 1)
	go func() {
		_, err := cache.Get(context.Background(), key, l, time.Time{})
		first <- err
	}()
	<-l.started
	// While the first caller pages, another returns at once instead of waiting.
	if _, err := cache.Get(context.Background(), key, l, time.Time{}); !errors.Is(err, snapshot.ErrRefreshing) {
		t.Fatalf("a second caller during a read got %v, want ErrRefreshing", err)
	}
	close(l.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if s, err := cache.Get(context.Background(), key, l, time.Time{}); err != nil || s.Len() != 1 || l.reads != 1 {
		t.Fatalf("after the read: %v, %v, %d reads", s, err, l.reads)
	}
}

func TestSnapshotFailedReadIsNotRepeatedByEveryCaller(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cache := &snapshot.Cache{MaxAge: time.Minute, PageSize: 500, Now: func() time.Time { return now }}
	key := snapshot.Key{Connection: "c", System: "s"}
	l := &blockingLister{err: errors.New("seam: HTTP 503")}
	for range 10 {
		if _, err := cache.Get(context.Background(), key, l, time.Time{}); err == nil {
			t.Fatal("a failed read returned no error")
		}
	}
	if l.reads != 1 {
		t.Errorf("%d reads for ten callers within the failure's TTL, want 1", l.reads)
	}
	now = now.Add(time.Minute)
	l.err = nil
	if _, err := cache.Get(context.Background(), key, l, time.Time{}); err != nil || l.reads != 2 {
		t.Errorf("after the TTL: %v, %d reads", err, l.reads)
	}
}

func TestLatestNeverReadsNorWaits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cache := &snapshot.Cache{MaxAge: time.Minute, PageSize: 500, Now: func() time.Time { return now }}
	key := snapshot.Key{Connection: "c", System: "s"}
	if s := cache.Latest(key); s != nil {
		t.Fatalf("Latest before any read = %v, want nil", s)
	}
	l := &blockingLister{started: make(chan struct{}), release: make(chan struct{})}
	close(l.release)
	old, err := cache.Get(context.Background(), key, l, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	<-l.started

	// The snapshot is stale and another caller is reading a fresh one.
	now = now.Add(2 * time.Minute)
	l2 := &blockingLister{started: make(chan struct{}), release: make(chan struct{})}
	refreshed := make(chan error, 1)
	go func() {
		_, err := cache.Get(context.Background(), key, l2, time.Time{})
		refreshed <- err
	}()
	<-l2.started
	if s := cache.Latest(key); s != old {
		t.Errorf("Latest during a refresh = %v, want the stale snapshot", s)
	}
	close(l2.release)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	if s := cache.Latest(key); s == old || s == nil {
		t.Errorf("Latest after the refresh = %v, want the new snapshot", s)
	}
	if l.reads+l2.reads != 2 {
		t.Errorf("%d reads, want 2: Latest must never read", l.reads+l2.reads)
	}
}

// A refresh keeps the previous snapshot's copy of each user and membership that
// did not change: during a read both snapshots are live, and at 10,000 users a
// second full copy was the manager's peak heap at every resync.
func TestRefreshKeepsUnchangedUsers(t *testing.T) {
	_, c := sandboxClient(t)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		u, err := c.CreateUser(ctx, seam.CreateUserRequest{AcsSystemID: "acs_system_hq", FullName: fmt.Sprintf("User %d", i),
			AccessGroupIDs: []string{"acs_access_group_hq_gym"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.AcsUserID)
	}
	now := time.Now()
	cache := &snapshot.Cache{MaxAge: time.Minute, PageSize: 500, Now: func() time.Time { return now }}
	key := snapshot.Key{Connection: "c", System: "acs_system_hq"}
	first, err := cache.Get(ctx, key, c, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SuspendUser(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveUserFromAccessGroup(ctx, ids[2], "acs_access_group_hq_gym"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	second, err := cache.Get(ctx, key, c, time.Time{})
	if err != nil || second == first {
		t.Fatalf("refresh: %v (same snapshot: %v)", err, second == first)
	}
	if second.User(ids[0]) != first.User(ids[0]) {
		t.Errorf("an unchanged user was copied again")
	}
	if g1, g2 := first.Groups(ids[0]), second.Groups(ids[0]); unsafe.SliceData(g1) != unsafe.SliceData(g2) {
		t.Errorf("an unchanged membership was copied again")
	}
	if u := second.User(ids[1]); u == first.User(ids[1]) || !u.IsSuspended {
		t.Errorf("a changed user kept its old copy: suspended %v", u.IsSuspended)
	}
	if g := second.Groups(ids[2]); len(g) != 0 {
		t.Errorf("a changed membership kept its old copy: %v", g)
	}
}

// priorityLister records the rate-limit priority of each call it answers.
type priorityLister struct{ got []seam.Priority }

func (p *priorityLister) ListUsers(ctx context.Context, _ seam.ListUsersRequest) iter.Seq2[*seam.AcsUser, error] {
	p.got = append(p.got, seam.PriorityOf(ctx))
	return func(yield func(*seam.AcsUser, error) bool) {
		yield(&seam.AcsUser{AcsUserID: "u1"}, nil)
	}
}

func (p *priorityLister) ListAccessGroups(ctx context.Context, _ seam.ListAccessGroupsRequest) ([]seam.AccessGroup, error) {
	p.got = append(p.got, seam.PriorityOf(ctx))
	return []seam.AccessGroup{{AcsAccessGroupID: "g1", Name: "Gym"}}, nil
}

func (p *priorityLister) ListAccessGroupUsers(ctx context.Context, _ string) ([]seam.AcsUser, error) {
	p.got = append(p.got, seam.PriorityOf(ctx))
	return nil, nil
}

// A snapshot is read for every reconcile of its system: its calls go ahead of the
// creates and grants queued for one object each (else, with a batch of creates in
// the connection's queue, each page waited for the whole queue, and the creates
// made meanwhile named no groups, a status write each at the first resync), and
// never behind its caller's own priority (a revocation's).
func TestSnapshotReadsAheadOfSingleObjectCalls(t *testing.T) {
	for _, tc := range []struct {
		caller, want seam.Priority
	}{
		{seam.PriorityDefault, seam.PrioritySharedRead},
		{seam.PriorityRevoke, seam.PriorityRevoke},
	} {
		lister := &priorityLister{}
		cache := &snapshot.Cache{MaxAge: time.Minute, PageSize: 500}
		ctx := seam.WithPriority(context.Background(), tc.caller)
		if _, err := cache.Get(ctx, snapshot.Key{Connection: "c", System: "s"}, lister, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if len(lister.got) != 3 {
			t.Fatalf("caller at %d: %d calls, want a page, the groups and one group's members", tc.caller, len(lister.got))
		}
		for i, p := range lister.got {
			if p != tc.want {
				t.Errorf("caller at %d: call %d at priority %d, want %d", tc.caller, i, p, tc.want)
			}
		}
	}
}
