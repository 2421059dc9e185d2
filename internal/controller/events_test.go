package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/scheme"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

func routerWith(objs ...client.Object) *EventRouter {
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...).
		WithIndex(&seamv1alpha1.AcsUser{}, indexAcsUserID, func(o client.Object) []string {
			u := o.(*seamv1alpha1.AcsUser)
			return []string{indexKey(string(u.Spec.AcsSystemID), u.Status.AcsUserID)}
		}).
		WithIndex(&seamv1alpha1.AcsUser{}, indexConnection, func(o client.Object) []string {
			return []string{connectionKeyOf(o.(*seamv1alpha1.AcsUser))}
		}).
		WithIndex(&seamv1alpha1.AcsCredential{}, indexCredentialID, func(o client.Object) []string {
			return []string{o.(*seamv1alpha1.AcsCredential).Status.AcsCredentialID}
		}).Build()
	return NewEventRouter(c, c, "operator")
}

func claimingUser(ns, name, remoteID string) *seamv1alpha1.AcsUser {
	return &seamv1alpha1.AcsUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: seamv1alpha1.AcsUserSpec{ConnectionRef: seamv1alpha1.ConnectionRef{Kind: seamv1alpha1.SeamConnectionKind, Name: "seam"},
			AcsSystemID: "sys", FullName: name},
		Status: seamv1alpha1.AcsUserStatus{AcsUserID: remoteID},
	}
}

func drain(ch chan event.GenericEvent) []string {
	var out []string
	for {
		select {
		case e := <-ch:
			out = append(out, e.Object.GetNamespace()+"/"+e.Object.GetName())
		default:
			return out
		}
	}
}

// Two connections to one workspace receive the same event: each wakes its own
// users, once, at revocation priority, and they read Seam rather than a snapshot.
func TestRouterWakesEachConnectionsUsersOnce(t *testing.T) {
	r := routerWith(claimingUser("a", "alice", "u1"), claimingUser("b", "alice-too", "u1"), claimingUser("a", "other", "u2"))
	e := seam.Event{EventID: "ev1", EventType: "acs_user.deleted", AcsUserID: "u1", AcsSystemID: "sys"}
	ctx := context.Background()
	for _, conn := range []webhook.Connection{{Namespace: "a", Name: "seam"}, {Namespace: "b", Name: "seam"}, {Namespace: "a", Name: "seam"}} {
		if err := r.route(ctx, conn, e, "webhook"); err != nil {
			t.Fatal(err)
		}
	}
	if got := drain(r.revokedUsers); len(got) != 2 || got[0] != "a/alice" || got[1] != "b/alice-too" {
		t.Fatalf("revocation queue = %v, want a/alice then b/alice-too, once each", got)
	}
	if got := drain(r.users); len(got) != 0 {
		t.Fatalf("normal queue = %v, want nothing", got)
	}
	if !r.fresh.take(types.NamespacedName{Namespace: "a", Name: "alice"}) || r.fresh.take(types.NamespacedName{Namespace: "a", Name: "other"}) {
		t.Fatal("only the woken user must read Seam afresh")
	}
}

func TestRouterIgnoresEventsItHasNoUseFor(t *testing.T) {
	r := routerWith(claimingUser("a", "alice", "u1"))
	conn := webhook.Connection{Namespace: "a", Name: "seam"}
	for _, e := range []seam.Event{
		{EventID: "ev1", EventType: "lock.unlocked", AcsSystemID: "sys"},
		{EventID: "ev2", EventType: "acs_user.deleted", AcsSystemID: "sys"}, // no user id
		{EventID: "ev3", EventType: "acs_user.deleted", AcsUserID: "u9", AcsSystemID: "sys"},
	} {
		if err := r.route(context.Background(), conn, e, "catchup"); err != nil {
			t.Fatal(err)
		}
	}
	if got := append(drain(r.users), drain(r.revokedUsers)...); len(got) != 0 {
		t.Fatalf("woke %v", got)
	}
}

func TestRouterWakesCredentialsAndGroupMembers(t *testing.T) {
	member := claimingUser("a", "member", "u1")
	member.Spec.AccessGroupIDs = []seamv1alpha1.SeamID{"g1"}
	cred := &seamv1alpha1.AcsCredential{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "pin"},
		Status: seamv1alpha1.AcsCredentialStatus{AcsCredentialID: "c1"}}
	r := routerWith(member, claimingUser("a", "outsider", "u2"), cred)
	conn := webhook.Connection{Namespace: "a", Name: "seam"}
	ctx := context.Background()
	if err := r.route(ctx, conn, seam.Event{EventID: "e1", EventType: "acs_access_group.deleted", AcsAccessGroupID: "g1", AcsSystemID: "sys"}, "webhook"); err != nil {
		t.Fatal(err)
	}
	if err := r.route(ctx, conn, seam.Event{EventID: "e2", EventType: "acs_credential.invalidated", AcsCredentialID: "c1", AcsSystemID: "sys"}, "webhook"); err != nil {
		t.Fatal(err)
	}
	if got := drain(r.revokedUsers); len(got) != 1 || got[0] != "a/member" {
		t.Fatalf("group deletion woke %v, want a/member", got)
	}
	if got := drain(r.revokedCredentials); len(got) != 1 || got[0] != "a/pin" {
		t.Fatalf("credential invalidation woke %v, want a/pin", got)
	}
}
