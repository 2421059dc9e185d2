package controller

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

// The catch-up routes what /events/list holds since caughtUpTo, once, whether or
// not a webhook brought it first, and moves caughtUpTo to the newest event.
func TestCatchUp(t *testing.T) {
	srv := sandbox.New(sandbox.DefaultSeed(), sandbox.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	c, err := seam.New(seam.Config{Endpoint: ts.URL, APIKey: sandbox.DefaultSeedAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mk := func(name string) string {
		u, err := c.CreateUser(ctx, seam.CreateUserRequest{AcsSystemID: "acs_system_hq", FullName: name})
		if err != nil {
			t.Fatal(err)
		}
		return u.AcsUserID
	}
	first, second := mk("First"), mk("Second")
	inHQ := func(u *seamv1alpha1.AcsUser) *seamv1alpha1.AcsUser { u.Spec.AcsSystemID = "acs_system_hq"; return u }
	r := routerWith(inHQ(claimingUser("a", "first", first)), inHQ(claimingUser("a", "second", second)))
	conn := webhook.Connection{Namespace: "a", Name: "seam"}
	status := &seamv1alpha1.ConnectionStatus{}

	if err := srv.DeleteUserOutOfBand(first); err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx, conn, c, status); err != nil {
		t.Fatal(err)
	}
	st := status.Webhook
	if got := drain(r.revokedUsers); len(got) != 1 || got[0] != "a/first" {
		t.Fatalf("first catch-up woke %v for deletion, want a/first", got)
	}
	events := srv.Events()
	newest := events[len(events)-1]
	if st.CaughtUpTo == nil || !st.CaughtUpTo.Time.Equal(newest.CreatedAt) || st.LastEventID != newest.ID {
		t.Fatalf("caughtUpTo %v (%s), want the newest event's %v (%s)", st.CaughtUpTo, st.LastEventID, newest.CreatedAt, newest.ID)
	}

	// The second deletion arrives by webhook first: the catch-up then does not route it again.
	if err := srv.DeleteUserOutOfBand(second); err != nil {
		t.Fatal(err)
	}
	deleted := srv.Events()[len(srv.Events())-1]
	if err := r.Deliver(ctx, conn, seam.Event{EventID: deleted.ID, EventType: deleted.Type, AcsUserID: second, AcsSystemID: "acs_system_hq",
		CreatedAt: deleted.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	if got := drain(r.revokedUsers); len(got) != 1 || got[0] != "a/second" {
		t.Fatalf("webhook woke %v, want a/second", got)
	}
	// As status keeps it: whole seconds, so the catch-up lists that second again.
	persisted := metav1.NewTime(st.CaughtUpTo.Truncate(time.Second))
	st.CaughtUpTo = &persisted
	if err := r.CatchUp(ctx, conn, c, status); err != nil {
		t.Fatal(err)
	}
	if got := drain(r.revokedUsers); len(got) != 0 {
		t.Fatalf("the catch-up routed again %v", got)
	}
	if !st.CaughtUpTo.Time.Equal(deleted.CreatedAt) {
		t.Fatalf("caughtUpTo %v, want %v", st.CaughtUpTo, deleted.CreatedAt)
	}

	// A system disconnected while no webhook came: the catch-up writes it into the
	// status its reconcile patches (a separate patch would race that one).
	srv.SetSystemOffline("acs_system_hq", true)
	if err := r.CatchUp(ctx, conn, c, status); err != nil {
		t.Fatal(err)
	}
	cond := meta.FindStatusCondition(status.Conditions, seamv1alpha1.ConditionAcsSystemsConnected)
	if !slices.Equal(st.DisconnectedSystems, []string{"acs_system_hq"}) || cond == nil || cond.Reason != ReasonAcsSystemDisconnected {
		t.Fatalf("after acs_system.disconnected: disconnected %v, condition %+v", st.DisconnectedSystems, cond)
	}
}
