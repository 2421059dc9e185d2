// Package connection turns an AcsUser's connectionRef into a Seam client: it finds the
// SeamConnection or ClusterSeamConnection, checks that the namespace may use it, reads
// the API key from its Secret, and keeps one client (and one rate limiter) per
// connection, rebuilt only when the key or the endpoint changes.
package connection

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// Reasons a connection cannot be used. Each is a *Error whose Reason is one of these,
// so reconcilers can put it in a condition as it is.
const (
	ReasonConnectionNotFound   = "ConnectionNotFound"
	ReasonConnectionNotAllowed = "ConnectionNotAllowed"
	ReasonAdoptionNotAllowed   = "AdoptionNotAllowed"
	ReasonSecretNotFound       = "SecretNotFound"
	ReasonSecretKeyMissing     = "SecretKeyMissing"
	ReasonInvalidConnection    = "InvalidConnection"
	ReasonWorkspaceMismatch    = "WorkspaceMismatch"
	// ReasonEndpointNotAllowed: the endpoint is not in the manager's --allowed-endpoints,
	// so nothing is sent to it.
	ReasonEndpointNotAllowed = "EndpointNotAllowed"
)

// Error says why a connection cannot be used, in words a user can act on.
type Error struct {
	Reason  string
	Message string
	// Terminal is true when a person must fix something (Stalled). A missing connection
	// or Secret is not terminal: in GitOps it often arrives a moment later (from
	// external-secrets, say). Either way the watches on connections and Secrets bring
	// the reconcile back when it changes, so neither is retried in a loop.
	Terminal bool
}

func (e *Error) Error() string { return e.Message }

// IsNotUsable reports whether err is a connection problem (as opposed to a Seam error).
func IsNotUsable(err error) (*Error, bool) {
	var ce *Error
	ok := errors.As(err, &ce)
	return ce, ok
}

// Key names a connection: "SeamConnection/<namespace>/<name>" or
// "ClusterSeamConnection/<name>". Clients, the key escrow and the controllers' index
// of AcsUsers by connection all use it, so they must agree on it.
func Key(kind, namespace, name string) string {
	if kind == seamv1alpha1.ClusterSeamConnectionKind {
		return kind + "/" + name
	}
	return seamv1alpha1.SeamConnectionKind + "/" + namespace + "/" + name
}

// Resolved is a usable connection.
type Resolved struct {
	// Key identifies the connection ("SeamConnection/ns/name" or "ClusterSeamConnection/name").
	Key string
	// Client talks to the connection's workspace; shared by every object using it.
	Client *seam.Client
	// WorkspaceID is the workspace pinned in the connection's spec, if any.
	WorkspaceID string

	entry *cached
}

// Workspace returns the id of the workspace the connection's key opens, asked of
// Seam (/workspaces/get) once per client: a new key or endpoint asks again. Users
// are pinned to the workspace they were created in; a connection re-pointed
// elsewhere must never make their 404s look like deletions.
func (r *Resolved) Workspace(ctx context.Context) (string, error) {
	r.entry.wsMu.Lock()
	defer r.entry.wsMu.Unlock()
	if r.entry.workspaceOf == r.Client && r.entry.workspaceID != "" {
		return r.entry.workspaceID, nil
	}
	ws, err := r.Client.GetWorkspace(ctx)
	if err != nil {
		return "", err
	}
	if ws.WorkspaceID == "" {
		return "", fmt.Errorf("seam: /workspaces/get: the answer names no workspace")
	}
	if r.WorkspaceID != "" && ws.WorkspaceID != r.WorkspaceID {
		return "", &Error{Reason: ReasonWorkspaceMismatch, Terminal: true,
			Message: fmt.Sprintf("%s: the API key belongs to workspace %s, not to spec.workspaceId %s", r.Key, ws.WorkspaceID, r.WorkspaceID)}
	}
	r.entry.workspaceID, r.entry.workspaceOf = ws.WorkspaceID, r.Client
	return ws.WorkspaceID, nil
}

// Options tune the clients the resolver builds.
type Options struct {
	// Observer receives every Seam request, for metrics.
	Observer func(key string, info seam.RequestInfo)
	// Logger is given to each client (at V(1) it logs request summaries, never keys).
	Logger logr.Logger
	// ClientDefaults is the base configuration of every client (timeouts, retries, transport).
	ClientDefaults seam.Config
	// AllowedEndpoints are the only endpoints requests are sent to (--allowed-endpoints).
	// Nil allows Seam's production API only.
	AllowedEndpoints *EndpointPolicy
	// Escrow keeps each connection's key for the teardown of its AcsUsers; nil keeps none.
	Escrow *KeyEscrow
}

// Resolver resolves connections and caches one client per connection.
type Resolver struct {
	reader client.Reader
	// secrets reads Secrets from the apiserver. The manager caches only the
	// metadata of Secrets (not every Secret's data in the cluster); a Secret is read
	// again only when its resourceVersion changes.
	secrets client.Reader
	opts    Options

	mu      sync.Mutex
	clients map[string]*cached
	keys    map[types.NamespacedName]apiKey
	// budgets are the limiters, one per API key and endpoint, and budgetOf the
	// one each connection spends (budget.go).
	budgets  map[budgetKey]*budget
	budgetOf map[string]budgetKey
}

type apiKey struct {
	resourceVersion string
	data            map[string][]byte
}

type cached struct {
	fingerprint string // endpoint, workspace, secret resourceVersion: a change rebuilds the client
	client      *seam.Client
	limiter     *seam.AdaptiveLimiter // the client's: its budget's when it was built

	wsMu        sync.Mutex
	workspaceID string       // what /workspaces/get answered for workspaceOf
	workspaceOf *seam.Client // the client that asked: a rebuilt client asks again
}

// NewResolver reads connections and Secret metadata through reader (the manager's
// cache) and Secret data through secrets (the manager's API reader).
func NewResolver(reader, secrets client.Reader, opts Options) *Resolver {
	if opts.AllowedEndpoints == nil {
		opts.AllowedEndpoints = DefaultEndpointPolicy()
	}
	return &Resolver{reader: reader, secrets: secrets, opts: opts, clients: map[string]*cached{}, keys: map[types.NamespacedName]apiKey{},
		budgets: map[budgetKey]*budget{}, budgetOf: map[string]budgetKey{}}
}

// settings is what the two connection kinds have in common.
type settings struct {
	key               string
	endpoint          string
	insecureAllowHTTP bool
	workspaceID       string
	rateLimit         *seamv1alpha1.RateLimit
	secret            types.NamespacedName
	secretKey         string
	namespaceSelector *metav1.LabelSelector // only for the cluster kind
}

// ForAcsUser resolves the connection an AcsUser refers to.
// An AcsUser being deleted may use the escrowed key when its connection's Secret is
// already gone (a namespace deleted with everything in it).
func (r *Resolver) ForAcsUser(ctx context.Context, u *seamv1alpha1.AcsUser) (*Resolved, error) {
	teardown := !u.DeletionTimestamp.IsZero()
	ref := u.Spec.ConnectionRef
	if ref.Kind == seamv1alpha1.ClusterSeamConnectionKind {
		s, err := r.clusterSettings(ctx, ref.Name)
		if err != nil {
			return nil, err
		}
		if err := r.checkNamespaceAllowed(ctx, s, u.Namespace); err != nil {
			return nil, err
		}
		return r.resolve(ctx, s, teardown)
	}
	return r.forSeamConnection(ctx, types.NamespacedName{Namespace: u.Namespace, Name: ref.Name}, teardown)
}

// ForSeamConnection resolves a namespaced connection.
func (r *Resolver) ForSeamConnection(ctx context.Context, name types.NamespacedName) (*Resolved, error) {
	return r.forSeamConnection(ctx, name, false)
}

func (r *Resolver) forSeamConnection(ctx context.Context, name types.NamespacedName, teardown bool) (*Resolved, error) {
	conn := &seamv1alpha1.SeamConnection{}
	if err := r.reader.Get(ctx, name, conn, readOnly); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &Error{Reason: ReasonConnectionNotFound,
				Message: fmt.Sprintf("SeamConnection %q not found in namespace %q: create it, or fix spec.connectionRef", name.Name, name.Namespace)}
		}
		return nil, err
	}
	return r.resolve(ctx, settingsOfSeamConnection(conn), teardown)
}

// ReleaseKey forgets the escrowed key of a connection that is gone, and takes it
// out of the rate budget it shared, so that its limit no longer binds the others.
func (r *Resolver) ReleaseKey(ctx context.Context, connectionKey string) error {
	r.mu.Lock()
	r.leave(connectionKey)
	r.mu.Unlock()
	if r.opts.Escrow == nil {
		return nil
	}
	return r.opts.Escrow.Delete(ctx, connectionKey)
}

// ForClusterSeamConnection resolves a cluster-scoped connection without a namespace check.
func (r *Resolver) ForClusterSeamConnection(ctx context.Context, name string) (*Resolved, error) {
	s, err := r.clusterSettings(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.resolve(ctx, s, false)
}

// readOnly reads a connection or a Secret's metadata from the manager's cache
// without a deep copy: every reconcile of every AcsUser resolves its connection,
// and the copies were a tenth of what a resync of 10,000 settled objects
// allocated. What is read is only copied into settings (rateLimit points into
// the cached object, which the cache replaces on change and never modifies): it
// must never be written to.
var readOnly = client.UnsafeDisableDeepCopy

func settingsOfSeamConnection(c *seamv1alpha1.SeamConnection) settings {
	return settings{
		key:               Key(seamv1alpha1.SeamConnectionKind, c.Namespace, c.Name),
		endpoint:          c.Spec.Endpoint,
		insecureAllowHTTP: c.Spec.InsecureAllowHTTP,
		workspaceID:       string(c.Spec.WorkspaceID),
		rateLimit:         c.Spec.RateLimit,
		secret:            types.NamespacedName{Namespace: c.Namespace, Name: c.Spec.APIKeySecretRef.Name},
		secretKey:         c.Spec.APIKeySecretRef.Key,
	}
}

func (r *Resolver) clusterSettings(ctx context.Context, name string) (settings, error) {
	c := &seamv1alpha1.ClusterSeamConnection{}
	if err := r.reader.Get(ctx, types.NamespacedName{Name: name}, c, readOnly); err != nil {
		if apierrors.IsNotFound(err) {
			return settings{}, &Error{Reason: ReasonConnectionNotFound,
				Message: fmt.Sprintf("ClusterSeamConnection %q not found: create it, or fix spec.connectionRef", name)}
		}
		return settings{}, err
	}
	return settings{
		key:               Key(seamv1alpha1.ClusterSeamConnectionKind, "", c.Name),
		endpoint:          c.Spec.Endpoint,
		insecureAllowHTTP: c.Spec.InsecureAllowHTTP,
		workspaceID:       string(c.Spec.WorkspaceID),
		rateLimit:         c.Spec.RateLimit,
		secret:            types.NamespacedName{Namespace: c.Spec.APIKeySecretRef.Namespace, Name: c.Spec.APIKeySecretRef.Name},
		secretKey:         c.Spec.APIKeySecretRef.Key,
		namespaceSelector: c.Spec.NamespaceSelector,
	}, nil
}

// checkNamespaceAllowed applies a ClusterSeamConnection's namespaceSelector: unset
// allows no namespace, so sharing a workspace's key is always an explicit decision.
func (r *Resolver) checkNamespaceAllowed(ctx context.Context, s settings, namespace string) error {
	return r.checkSelected(ctx, s.key, s.namespaceSelector, "namespaceSelector", ReasonConnectionNotAllowed, namespace)
}

// CheckAdoptionAllowed reports whether an AcsUser may adopt or observe an existing
// remote user (spec.acsUserId) through its connection. Through its own namespace's
// SeamConnection it may: the key is its own, and opens the workspace to it anyway.
// Through a ClusterSeamConnection the shared key must not let a tenant take over or
// read another's user: its adoptionNamespaceSelector must select the namespace.
func (r *Resolver) CheckAdoptionAllowed(ctx context.Context, u *seamv1alpha1.AcsUser) error {
	if u.Spec.ConnectionRef.Kind != seamv1alpha1.ClusterSeamConnectionKind {
		return nil
	}
	c := &seamv1alpha1.ClusterSeamConnection{}
	if err := r.reader.Get(ctx, types.NamespacedName{Name: u.Spec.ConnectionRef.Name}, c); err != nil {
		return err
	}
	return r.checkSelected(ctx, Key(seamv1alpha1.ClusterSeamConnectionKind, "", c.Name), c.Spec.AdoptionNamespaceSelector,
		"adoptionNamespaceSelector", ReasonAdoptionNotAllowed, u.Namespace)
}

// checkSelected applies one of a ClusterSeamConnection's namespace selectors: unset
// selects no namespace.
func (r *Resolver) checkSelected(ctx context.Context, key string, sel *metav1.LabelSelector, field, reason, namespace string) error {
	notAllowed := &Error{Reason: reason, Terminal: true,
		Message: fmt.Sprintf("%s does not allow namespace %q: its spec.%s must select this namespace", key, namespace, field)}
	if sel == nil {
		return notAllowed
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return &Error{Reason: reason, Terminal: true,
			Message: fmt.Sprintf("%s has an invalid spec.%s: %v", key, field, err)}
	}
	ns := &corev1.Namespace{}
	if err := r.reader.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		return err
	}
	if !selector.Matches(labels.Set(ns.Labels)) {
		return notAllowed
	}
	return nil
}

// resolve checks the endpoint before anything else: a connection the installer did not
// allow must not even cost a Secret read, let alone a request.
func (r *Resolver) resolve(ctx context.Context, s settings, teardown bool) (*Resolved, error) {
	if err := r.checkEndpoint(&s); err != nil {
		return nil, err
	}
	apiKey, version, err := r.apiKey(ctx, s, teardown)
	if err != nil {
		return nil, err
	}
	c, entry, err := r.clientFor(s, apiKey, version)
	if err != nil {
		return nil, err
	}
	return &Resolved{Key: s.key, Client: c, WorkspaceID: s.workspaceID, entry: entry}, nil
}

// apiKey reads the connection's key from its Secret and keeps the escrow's copy
// current; during a teardown, a Secret already gone falls back on that copy.
func (r *Resolver) apiKey(ctx context.Context, s settings, teardown bool) (key, version string, err error) {
	data, version, err := r.secretData(ctx, s.secret)
	if apierrors.IsNotFound(err) {
		if teardown && r.opts.Escrow != nil {
			if key, escrowVersion, eerr := r.opts.Escrow.Load(ctx, s.key); eerr == nil && key != "" {
				return key, "escrow@" + escrowVersion, nil
			}
		}
		return "", "", &Error{Reason: ReasonSecretNotFound,
			Message: fmt.Sprintf("Secret %q in namespace %q (the API key of %s) not found", s.secret.Name, s.secret.Namespace, s.key)}
	}
	if err != nil {
		return "", "", err
	}
	key = string(data[s.secretKey])
	if key == "" {
		return "", "", &Error{Reason: ReasonSecretKeyMissing, Terminal: true,
			Message: fmt.Sprintf("Secret %q in namespace %q has no key %q (the API key of %s)", s.secret.Name, s.secret.Namespace, s.secretKey, s.key)}
	}
	if r.opts.Escrow != nil {
		if err := r.opts.Escrow.Store(ctx, s.key, key); err != nil {
			// The connection works without it; only a later teardown in the wrong
			// order would miss the key. Say so, do not fail.
			r.opts.Logger.Info("Could not keep the API key for teardown", "connection", s.key, "error", err.Error())
		}
	}
	return key, version, nil
}

// checkEndpoint applies the manager's --allowed-endpoints and, for plain http, the
// connection's insecureAllowHTTP (admission checks it too; this holds if it did not).
func (r *Resolver) checkEndpoint(s *settings) error {
	if s.endpoint == "" {
		s.endpoint = seam.DefaultEndpoint
	}
	if !r.opts.AllowedEndpoints.Allows(s.endpoint) {
		return &Error{Reason: ReasonEndpointNotAllowed, Terminal: true,
			Message: fmt.Sprintf("%s: endpoint %q is not in the manager's --allowed-endpoints, so no request is sent to it: use an endpoint the operator's installer allows (by default only %s), or ask them to add it",
				s.key, s.endpoint, seam.DefaultEndpoint)}
	}
	if strings.HasPrefix(strings.ToLower(s.endpoint), "http:") && !s.insecureAllowHTTP {
		return &Error{Reason: ReasonInvalidConnection, Terminal: true,
			Message: fmt.Sprintf("%s: endpoint %q is plain http: set insecureAllowHTTP: true (local sandboxes only), or use https", s.key, s.endpoint)}
	}
	return nil
}

// clientFor returns the cached client of a connection, rebuilding it when the
// endpoint, workspace or Secret changed (key rotation takes effect on the next call).
func (r *Resolver) clientFor(s settings, apiKey, secretVersion string) (*seam.Client, *cached, error) {
	fingerprint := s.endpoint + "|" + s.workspaceID + "|" + s.secret.String() + "|" + s.secretKey + "@" + secretVersion
	rps, burst := rateOf(s.rateLimit)

	r.mu.Lock()
	defer r.mu.Unlock()
	entry := r.clients[s.key]
	if entry == nil {
		entry = &cached{}
		r.clients[s.key] = entry
	}
	limiter := r.join(s.key, budgetKeyOf(s.endpoint, apiKey), limit{rps: rps, burst: burst})
	if entry.client != nil && entry.fingerprint == fingerprint && entry.limiter == limiter {
		return entry.client, entry, nil
	}
	cfg := r.opts.ClientDefaults
	cfg.Endpoint = s.endpoint
	cfg.APIKey = apiKey
	cfg.WorkspaceID = s.workspaceID
	cfg.Limiter = limiter
	cfg.Logger = r.opts.Logger.WithValues("connection", s.key)
	if observe := r.opts.Observer; observe != nil {
		key := s.key
		cfg.Observer = func(info seam.RequestInfo) { observe(key, info) }
	}
	c, err := seam.New(cfg)
	if err != nil {
		r.leave(s.key) // a connection that cannot send does not lower the others' limit
		return nil, nil, &Error{Reason: ReasonInvalidConnection, Terminal: true, Message: fmt.Sprintf("%s: %v", s.key, err)}
	}
	entry.client, entry.fingerprint, entry.limiter = c, fingerprint, limiter
	return c, entry, nil
}

func rateOf(rl *seamv1alpha1.RateLimit) (float64, int) {
	rps, burst := int32(10), int32(20)
	if rl != nil {
		if rl.RequestsPerSecond > 0 {
			rps = rl.RequestsPerSecond
		}
		if rl.Burst > 0 {
			burst = rl.Burst
		}
	}
	return float64(rps), int(burst)
}

// secretData returns a Secret's data, read from the apiserver only when the cached
// metadata shows a new resourceVersion (a key rotation).
func (r *Resolver) secretData(ctx context.Context, name types.NamespacedName) (map[string][]byte, string, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := r.reader.Get(ctx, name, meta, readOnly); err != nil {
		return nil, "", err
	}
	r.mu.Lock()
	known, ok := r.keys[name]
	r.mu.Unlock()
	if ok && known.resourceVersion == meta.ResourceVersion {
		return known.data, known.resourceVersion, nil
	}
	secret := &corev1.Secret{}
	if err := r.secrets.Get(SecretContext(ctx), name, secret); err != nil {
		return nil, "", err
	}
	r.mu.Lock()
	r.keys[name] = apiKey{resourceVersion: secret.ResourceVersion, data: secret.Data}
	r.mu.Unlock()
	return secret.Data, secret.ResourceVersion, nil
}
