package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

const (
	// indexCredentialID finds the AcsCredential holding a remote credential.
	indexCredentialID = "status.acsCredentialId"
	// eventQueue is how many wake-ups wait for the controllers before a webhook is
	// answered 503 (Svix then retries).
	eventQueue = 4096
	// eventsRemembered bounds the event ids kept to drop an event seen twice (by
	// webhook and by catch-up, or redelivered).
	eventsRemembered = 20000
	// lastEventWrite is how often, at most, a connection's lastEventTime is
	// written: a burst of events must not become a burst of status writes.
	lastEventWrite = 10 * time.Second
	// secretTTL is how long a signing secret read from its Secret is reused.
	secretTTL = 30 * time.Second
)

// EventRouter turns Seam events, from the webhook receiver and the catch-up,
// into reconciles of the objects they concern, found through the cache's
// indexes by remote id. It is the receiver's Sink and Secrets.
type EventRouter struct {
	client    client.Client
	apiReader client.Reader
	// operatorNamespace holds the signing secrets of webhooks registered for
	// ClusterSeamConnections.
	operatorNamespace string
	// Observe counts a routed event by source (webhook, catchup) and type.
	Observe func(source, eventType string)
	now     func() time.Time

	// The controllers' sources: revocations go ahead of everything else.
	users, revokedUsers, credentials, revokedCredentials chan event.GenericEvent
	// fresh marks the AcsUsers an event woke: they read Seam, not a snapshot that
	// may predate the event.
	fresh *freshReads
	seen  *webhook.Recent

	mu        sync.Mutex
	secrets   map[webhook.Connection]cachedSecret
	lastWrite map[webhook.Connection]time.Time
}

type cachedSecret struct {
	value string
	at    time.Time
}

// NewEventRouter returns a router reading through c (the manager's cache) and
// apiReader (Secrets, which the cache does not hold).
func NewEventRouter(c client.Client, apiReader client.Reader, operatorNamespace string) *EventRouter {
	ch := func() chan event.GenericEvent { return make(chan event.GenericEvent, eventQueue) }
	return &EventRouter{
		client: c, apiReader: apiReader, operatorNamespace: operatorNamespace, now: time.Now,
		users: ch(), revokedUsers: ch(), credentials: ch(), revokedCredentials: ch(),
		fresh: &freshReads{}, seen: webhook.NewRecent(eventsRemembered),
		secrets: map[webhook.Connection]cachedSecret{}, lastWrite: map[webhook.Connection]time.Time{},
	}
}

// Deliver routes an event the receiver verified, and notes that events flow. An
// event about another workspace than the connection's is acknowledged (Svix
// stops) and dropped: its signature only says the sender holds this
// connection's signing secret, which someone gave to a webhook of another
// workspace too, and that workspace's users are not this connection's.
func (r *EventRouter) Deliver(ctx context.Context, conn webhook.Connection, e seam.Event) error {
	if ws := r.workspaceOf(ctx, conn); e.WorkspaceID != "" && ws != "" && e.WorkspaceID != ws {
		logf.FromContext(ctx).Info("Ignored a webhook event about another workspace: the connection's signing secret is also a webhook's of that workspace",
			"connection", conn.String(), "workspaceId", ws, "eventWorkspaceId", e.WorkspaceID, "type", e.EventType)
		return nil
	}
	if err := r.route(ctx, conn, e, "webhook", nil); err != nil {
		return err
	}
	r.noteEvent(ctx, conn, e)
	return nil
}

// route wakes what an event concerns, once per event id and connection: two
// connections to one workspace each get the event, and each wakes its own objects.
// A system's state goes into st when the connection's reconcile routes (the
// catch-up: its own status write carries it), else it is patched at once.
func (r *EventRouter) route(ctx context.Context, conn webhook.Connection, e seam.Event, source string, st *seamv1alpha1.ConnectionStatus) error {
	plan, ok := planFor(e)
	seenKey := conn.String() + "/" + e.EventID
	if !ok || !r.seen.Add(seenKey) {
		return nil
	}
	if r.Observe != nil {
		r.Observe(source, e.EventType)
	}
	logf.FromContext(ctx).V(1).Info("Seam event", "connection", conn.String(), "type", e.EventType, "id", e.EventID, "source", source)
	err := r.wake(ctx, conn, e, plan, st)
	if err != nil {
		r.seen.Forget(seenKey) // taken again on Svix's retry or the next catch-up
	}
	return err
}

func (r *EventRouter) wake(ctx context.Context, conn webhook.Connection, e seam.Event, plan eventPlan, st *seamv1alpha1.ConnectionStatus) error {
	key := keyOf(conn)
	usersQueue := r.users
	if plan.revoke {
		usersQueue = r.revokedUsers
	}
	switch plan.target {
	case targetUser, targetNewUser:
		users := r.usersClaiming(ctx, key, e.AcsSystemID, e.AcsUserID)
		if plan.target == targetNewUser {
			users = append(users, r.usersOf(ctx, key, e.AcsSystemID, func(u *seamv1alpha1.AcsUser) bool {
				_, pending := u.Annotations[AnnotationCreatePending]
				return pending
			})...)
		}
		return r.send(ctx, usersQueue, users, true)
	case targetGroup:
		return r.send(ctx, usersQueue, r.usersOf(ctx, key, e.AcsSystemID, func(u *seamv1alpha1.AcsUser) bool {
			return slices.Contains(u.Spec.AccessGroupIDs, seamv1alpha1.SeamID(e.AcsAccessGroupID)) ||
				slices.Contains(u.Status.AccessGroupIDs, e.AcsAccessGroupID)
		}), true)
	case targetCredential:
		queue := r.credentials
		if plan.revoke {
			queue = r.revokedCredentials
		}
		return r.send(ctx, queue, r.credentialsHolding(ctx, conn, e.AcsCredentialID), false)
	case targetSystem:
		if st != nil {
			recordSystem(st, e.AcsSystemID, plan.systemConnected)
		} else if err := r.patchWebhookStatus(ctx, conn, func(st *seamv1alpha1.ConnectionStatus) {
			recordSystem(st, e.AcsSystemID, plan.systemConnected)
		}); err != nil {
			return err
		}
		return r.send(ctx, usersQueue, r.usersOf(ctx, key, e.AcsSystemID, nil), true)
	}
	return nil
}

func (r *EventRouter) send(ctx context.Context, queue chan event.GenericEvent, objs []client.Object, fresh bool) error {
	for _, o := range objs {
		if fresh {
			r.fresh.mark(client.ObjectKeyFromObject(o))
		}
		select {
		case queue <- event.GenericEvent{Object: o}:
		case <-ctx.Done():
			return ctx.Err()
		default:
			return errors.New("the controllers' event queue is full")
		}
	}
	return nil
}

func keyOf(conn webhook.Connection) string {
	if conn.Namespace == "" {
		return connection.Key(seamv1alpha1.ClusterSeamConnectionKind, "", conn.Name)
	}
	return connection.Key(seamv1alpha1.SeamConnectionKind, conn.Namespace, conn.Name)
}

// usersClaiming finds the connection's AcsUsers that claim a remote user.
func (r *EventRouter) usersClaiming(ctx context.Context, connKey, systemID, userID string) []client.Object {
	var list seamv1alpha1.AcsUserList
	if err := r.client.List(ctx, &list, client.MatchingFields{indexAcsUserID: indexKey(systemID, userID)}); err != nil {
		return nil
	}
	var out []client.Object
	for i := range list.Items {
		if connectionKeyOf(&list.Items[i]) == connKey {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

// usersOf finds the connection's AcsUsers of a system that keep passes (all, if nil).
func (r *EventRouter) usersOf(ctx context.Context, connKey, systemID string, keep func(*seamv1alpha1.AcsUser) bool) []client.Object {
	var list seamv1alpha1.AcsUserList
	if err := r.client.List(ctx, &list, client.MatchingFields{indexConnection: connKey}); err != nil {
		return nil
	}
	var out []client.Object
	for i := range list.Items {
		u := &list.Items[i]
		if string(u.Spec.AcsSystemID) == systemID && (keep == nil || keep(u)) {
			out = append(out, u)
		}
	}
	return out
}

// credentialsHolding finds the AcsCredentials holding a remote credential, in
// the connection's namespace for a SeamConnection.
func (r *EventRouter) credentialsHolding(ctx context.Context, conn webhook.Connection, credentialID string) []client.Object {
	var list seamv1alpha1.AcsCredentialList
	opts := []client.ListOption{client.MatchingFields{indexCredentialID: credentialID}}
	if conn.Namespace != "" {
		opts = append(opts, client.InNamespace(conn.Namespace))
	}
	if err := r.client.List(ctx, &list, opts...); err != nil {
		return nil
	}
	out := make([]client.Object, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out
}

// connectionObject returns an empty object of the connection's kind and its key.
// workspaceOf is the workspace the connection's check found, from the cache;
// empty while it is not known.
func (r *EventRouter) workspaceOf(ctx context.Context, conn webhook.Connection) string {
	obj, key := connectionObject(conn)
	if err := r.client.Get(ctx, key, obj); err != nil {
		return ""
	}
	return string(connectionStatus(obj).WorkspaceID)
}

func connectionObject(conn webhook.Connection) (client.Object, types.NamespacedName) {
	if conn.Namespace == "" {
		return &seamv1alpha1.ClusterSeamConnection{}, types.NamespacedName{Name: conn.Name}
	}
	return &seamv1alpha1.SeamConnection{}, types.NamespacedName{Namespace: conn.Namespace, Name: conn.Name}
}

func connectionStatus(o client.Object) *seamv1alpha1.ConnectionStatus {
	switch c := o.(type) {
	case *seamv1alpha1.SeamConnection:
		return &c.Status
	case *seamv1alpha1.ClusterSeamConnection:
		return &c.Status
	}
	return nil
}

func webhookSpec(o client.Object) *seamv1alpha1.WebhookSpec {
	switch c := o.(type) {
	case *seamv1alpha1.SeamConnection:
		return c.Spec.Webhook
	case *seamv1alpha1.ClusterSeamConnection:
		return c.Spec.Webhook
	}
	return nil
}

// patchWebhookStatus applies change to the connection's status (read from the
// apiserver: the cache may not hold the router's own last write yet) and
// patches what changed.
func (r *EventRouter) patchWebhookStatus(ctx context.Context, conn webhook.Connection, change func(*seamv1alpha1.ConnectionStatus)) error {
	obj, key := connectionObject(conn)
	if err := r.apiReader.Get(ctx, key, obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	base := obj.DeepCopyObject().(client.Object)
	st := connectionStatus(obj)
	if st.Webhook == nil {
		st.Webhook = &seamv1alpha1.WebhookStatus{}
	}
	before := st.DeepCopy()
	change(st)
	if equality.Semantic.DeepEqual(before, st) {
		return nil
	}
	return client.IgnoreNotFound(r.client.Status().Patch(ctx, obj, client.MergeFrom(base)))
}

// noteEvent records, at most every lastEventWrite, that events reach the
// connection. A failed write is only logged: the next event or catch-up writes it.
func (r *EventRouter) noteEvent(ctx context.Context, conn webhook.Connection, e seam.Event) {
	r.mu.Lock()
	if r.now().Sub(r.lastWrite[conn]) < lastEventWrite {
		r.mu.Unlock()
		return
	}
	r.lastWrite[conn] = r.now()
	r.mu.Unlock()
	err := r.patchWebhookStatus(ctx, conn, func(st *seamv1alpha1.ConnectionStatus) {
		if last := st.Webhook.LastEventTime; last == nil || e.CreatedAt.Truncate(time.Second).After(last.Time) {
			t := metav1.NewTime(e.CreatedAt.Truncate(time.Second))
			st.Webhook.LastEventTime = &t
		}
	})
	if err != nil {
		logf.FromContext(ctx).Info("Could not record the last event time", "connection", conn.String(), "error", err.Error())
	}
}

// recordSystem keeps the connection's list of disconnected systems and its
// AcsSystemsConnected condition.
func recordSystem(st *seamv1alpha1.ConnectionStatus, systemID string, connected bool) {
	if st.Webhook == nil {
		st.Webhook = &seamv1alpha1.WebhookStatus{}
	}
	down := st.Webhook.DisconnectedSystems
	has := slices.Contains(down, systemID)
	switch {
	case connected && has:
		st.Webhook.DisconnectedSystems = slices.DeleteFunc(slices.Clone(down), func(s string) bool { return s == systemID })
	case !connected && !has:
		st.Webhook.DisconnectedSystems = append(slices.Clone(down), systemID)
		slices.Sort(st.Webhook.DisconnectedSystems)
	}
	gen := int64(0)
	if c := meta.FindStatusCondition(st.Conditions, seamv1alpha1.ConditionAcsSystemsConnected); c != nil {
		gen = c.ObservedGeneration
	}
	setSystemsCondition(st, gen)
}

// SigningSecret finds the whsec_ secret deliveries for conn are signed with: from
// spec.webhook.secretRef, or the Secret the operator keeps for a webhook it
// registered. Read through the API (the cache holds no Secret data), kept for
// secretTTL so a flood of requests does not become a flood of reads.
func (r *EventRouter) SigningSecret(ctx context.Context, conn webhook.Connection) (string, error) {
	obj, key := connectionObject(conn)
	if err := r.client.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return "", webhook.ErrUnknownConnection
		}
		return "", err
	}
	spec := webhookSpec(obj)
	if spec == nil || !obj.GetDeletionTimestamp().IsZero() {
		return "", webhook.ErrUnknownConnection
	}
	secretKey, field := r.secretOf(obj, spec)
	if secretKey.Name == "" {
		return "", errors.New("the registered webhook's Secret is not written yet")
	}
	r.mu.Lock()
	c, ok := r.secrets[conn]
	r.mu.Unlock()
	if ok && r.now().Sub(c.at) < secretTTL {
		return c.value, nil
	}
	var s corev1.Secret
	if err := r.apiReader.Get(ctx, secretKey, &s); err != nil {
		return "", fmt.Errorf("reading the webhook signing secret: %w", err)
	}
	value := string(s.Data[field])
	if value == "" {
		return "", fmt.Errorf("the Secret has no key %q", field)
	}
	r.mu.Lock()
	r.secrets[conn] = cachedSecret{value: value, at: r.now()}
	r.mu.Unlock()
	return value, nil
}

// secretOf names the Secret and key holding a connection's signing secret.
func (r *EventRouter) secretOf(obj client.Object, spec *seamv1alpha1.WebhookSpec) (types.NamespacedName, string) {
	if spec.SecretRef != nil {
		ns := spec.SecretRef.Namespace
		if ns == "" {
			ns = obj.GetNamespace()
		}
		key := spec.SecretRef.Key
		if key == "" {
			key = webhookSecretKey
		}
		return types.NamespacedName{Namespace: ns, Name: spec.SecretRef.Name}, key
	}
	st := connectionStatus(obj)
	if st.Webhook == nil || st.Webhook.SecretName == "" {
		return types.NamespacedName{}, ""
	}
	return types.NamespacedName{Namespace: r.registeredSecretNamespace(obj), Name: st.Webhook.SecretName}, webhookSecretKey
}

// registeredSecretNamespace is where the operator keeps a registered webhook's
// secret: beside a SeamConnection, in its own namespace for a cluster one.
func (r *EventRouter) registeredSecretNamespace(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return r.operatorNamespace
	}
	return obj.GetNamespace()
}

// forgetSecret drops a cached signing secret (its Secret changed).
func (r *EventRouter) forgetSecret(conn webhook.Connection) {
	r.mu.Lock()
	delete(r.secrets, conn)
	r.mu.Unlock()
}

// webhookSecretKey is the Secret key of a signing secret, by default.
const webhookSecretKey = "signingSecret"

// freshReads marks AcsUsers whose next reconcile must read Seam rather than a
// shared snapshot: the snapshot may have been read before the event.
type freshReads struct{ m sync.Map }

func (f *freshReads) mark(key types.NamespacedName) { f.m.Store(key, struct{}{}) }

// take reports whether key was marked, and clears the mark.
func (f *freshReads) take(key types.NamespacedName) bool {
	if f == nil {
		return false
	}
	_, ok := f.m.LoadAndDelete(key)
	return ok
}
