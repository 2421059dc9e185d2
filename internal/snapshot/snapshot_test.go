package snapshot_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

func TestSnapshotCostsPagesNotUsers(t *testing.T) {
	srv := sandbox.New(sandbox.DefaultSeed(), sandbox.Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, err := seam.New(seam.Config{Endpoint: ts.URL, APIKey: sandbox.DefaultSeedAPIKey})
	if err != nil {
		t.Fatal(err)
	}
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
