package controller

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
		if err := r.route(ctx, conn, e, "webhook", nil); err != nil {
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

// A delivery signed with the connection's secret but about another workspace
// (one signing secret given to two connections) wakes nothing: only the
// connection's own workspace's events concern its users.
func TestRouterIgnoresWebhookEventsOfAnotherWorkspace(t *testing.T) {
	conn := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "seam"},
		Status: seamv1alpha1.ConnectionStatus{WorkspaceID: "ws_mine"}}
	r := routerWith(conn, claimingUser("a", "alice", "u1"))
	to := webhook.Connection{Namespace: "a", Name: "seam"}
	ctx := context.Background()
	foreign := seam.Event{EventID: "ev1", EventType: "acs_user.deleted", WorkspaceID: "ws_other", AcsUserID: "u1", AcsSystemID: "sys"}
	if err := r.Deliver(ctx, to, foreign); err != nil {
		t.Fatal(err)
	}
	if got := append(drain(r.users), drain(r.revokedUsers)...); len(got) != 0 {
		t.Fatalf("an event of another workspace woke %v", got)
	}
	own := foreign
	own.EventID, own.WorkspaceID = "ev2", "ws_mine"
	if err := r.Deliver(ctx, to, own); err != nil {
		t.Fatal(err)
	}
	if got := drain(r.revokedUsers); len(got) != 1 {
		t.Fatalf("an event of the connection's workspace woke %v, want a/alice", got)
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
		if err := r.route(context.Background(), conn, e, "catchup", nil); err != nil {
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
	if err := r.route(ctx, conn, seam.Event{EventID: "e1", EventType: "acs_access_group.deleted", AcsAccessGroupID: "g1", AcsSystemID: "sys"}, "webhook", nil); err != nil {
		t.Fatal(err)
	}
	if err := r.route(ctx, conn, seam.Event{EventID: "e2", EventType: "acs_credential.invalidated", AcsCredentialID: "c1", AcsSystemID: "sys"}, "webhook", nil); err != nil {
		t.Fatal(err)
	}
	if got := drain(r.revokedUsers); len(got) != 1 || got[0] != "a/member" {
		t.Fatalf("group deletion woke %v, want a/member", got)
	}
	if got := drain(r.revokedCredentials); len(got) != 1 || got[0] != "a/pin" {
		t.Fatalf("credential invalidation woke %v, want a/pin", got)
	}
}

func TestSigningSecret(t *testing.T) {
	secret := func(ns, name, key, value string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{key: []byte(value)}}
	}
	withRef := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "by-hand"},
		Spec: seamv1alpha1.SeamConnectionSpec{Webhook: &seamv1alpha1.WebhookSpec{SecretRef: &seamv1alpha1.WebhookSecretRef{Name: "hook"}}}}
	noWebhook := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "polling"}}
	clusterRef := &seamv1alpha1.ClusterSeamConnection{ObjectMeta: metav1.ObjectMeta{Name: "shared"},
		Spec: seamv1alpha1.ClusterSeamConnectionSpec{Webhook: &seamv1alpha1.WebhookSpec{
			SecretRef: &seamv1alpha1.WebhookSecretRef{Name: "hook", Namespace: "ops", Key: "whsec"}}}}
	clusterRegistered := &seamv1alpha1.ClusterSeamConnection{ObjectMeta: metav1.ObjectMeta{Name: "registered"},
		Spec: seamv1alpha1.ClusterSeamConnectionSpec{Webhook: &seamv1alpha1.WebhookSpec{
			Register: &seamv1alpha1.WebhookRegistration{URL: "https://hooks.example.com/webhooks/seam/cluster/registered"}}},
		Status: seamv1alpha1.ConnectionStatus{Webhook: &seamv1alpha1.WebhookStatus{WebhookID: "wh", SecretName: "cluster-registered-seam-webhook"}}}
	notYet := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "registering"},
		Spec: seamv1alpha1.SeamConnectionSpec{Webhook: &seamv1alpha1.WebhookSpec{
			Register: &seamv1alpha1.WebhookRegistration{URL: "https://hooks.example.com/webhooks/seam/a/registering"}}}}
	r := routerWith(withRef, noWebhook, clusterRef, clusterRegistered, notYet,
		secret("a", "hook", "signingSecret", "whsec_namespaced"),
		secret("ops", "hook", "whsec", "whsec_cluster"),
		secret("operator", "cluster-registered-seam-webhook", "signingSecret", "whsec_registered"))
	cases := []struct {
		reason  string
		conn    webhook.Connection
		want    string
		unknown bool
	}{
		{"a SeamConnection's secretRef, in its namespace, default key", webhook.Connection{Namespace: "a", Name: "by-hand"}, "whsec_namespaced", false},
		{"a ClusterSeamConnection's secretRef, in its namespace, its key", webhook.Connection{Name: "shared"}, "whsec_cluster", false},
		{"a cluster connection's registered webhook, kept in the operator's namespace", webhook.Connection{Name: "registered"}, "whsec_registered", false},
		{"a connection without spec.webhook expects no webhook", webhook.Connection{Namespace: "a", Name: "polling"}, "", true},
		{"a connection that does not exist", webhook.Connection{Namespace: "a", Name: "nobody"}, "", true},
		{"a namespaced name is not the cluster connection of that name", webhook.Connection{Namespace: "a", Name: "shared"}, "", true},
		{"a registration whose Secret is not written yet is not unknown (503, Svix retries)", webhook.Connection{Namespace: "a", Name: "registering"}, "", false},
	}
	for _, tc := range cases {
		got, err := r.SigningSecret(context.Background(), tc.conn)
		if tc.unknown != errors.Is(err, webhook.ErrUnknownConnection) || got != tc.want || (tc.want == "" && err == nil) {
			t.Errorf("%s: SigningSecret = %q, %v", tc.reason, got, err)
		}
	}
}
