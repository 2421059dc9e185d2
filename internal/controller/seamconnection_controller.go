package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// Reasons of a connection's Ready condition.
const (
	ReasonConnected         = "Connected"
	ReasonUnreachable       = "Unreachable"
	ReasonWorkspaceMismatch = "WorkspaceMismatch"
)

// ConnectionReconciler checks SeamConnections and ClusterSeamConnections with one
// cheap authenticated call (/workspaces/get) and reports it in their Ready condition.
type ConnectionReconciler struct {
	client.Client
	Recorder    EventRecorder
	Connections *connection.Resolver
	// ResyncPeriod is how often a connection is checked again.
	ResyncPeriod time.Duration
	// Cluster selects the kind: ClusterSeamConnection when true.
	Cluster bool
	// Events routes the events a catch-up lists; nil when the operator does not
	// follow Seam's events.
	Events *EventRouter
	// CatchUpInterval is how often a connection with spec.webhook lists the events
	// it may have missed (default 3m).
	CatchUpInterval time.Duration
}

// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=seamconnections;clusterseamconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups=seam.acs-operator.io,resources=seamconnections/status;clusterseamconnections/status,verbs=get;update;patch

// Reconcile checks one connection.
func (r *ConnectionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj, status, err := r.get(ctx, req.NamespacedName)
	if err != nil || obj == nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := status.DeepCopy()
	// A few workers check every connection of the manager: one that Seam paused
	// (Retry-After) is not waited for here, while other tenants' checks and
	// their catch-up on events queue behind it (workerWait).
	ctx = seam.WithWaitBudget(ctx, workerWait)

	var result ctrl.Result
	var checkErr error
	if obj.GetDeletionTimestamp().IsZero() {
		if err := r.protect(ctx, obj); err != nil {
			return ctrl.Result{}, err
		}
		result, checkErr = r.check(ctx, obj, status)
	} else {
		result, checkErr = r.reconcileDelete(ctx, obj, status)
	}
	if res, deferred := deferral(checkErr); deferred {
		result, checkErr = res, nil
	}
	if !equality.Semantic.DeepEqual(before, status) {
		base := obj.DeepCopyObject().(client.Object)
		setStatus(base, *before)
		if err := r.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	return result, checkErr
}

func (r *ConnectionReconciler) check(ctx context.Context, obj client.Object, st *seamv1alpha1.ConnectionStatus) (ctrl.Result, error) {
	name, generation := client.ObjectKeyFromObject(obj), obj.GetGeneration()
	// An unreachable endpoint or a missing Secret may pass on their own (Reconciling);
	// a refused key or a wrong workspace needs a person (Stalled).
	set := func(s metav1.ConditionStatus, reason, msg string, stalled bool) {
		prev := meta.FindStatusCondition(st.Conditions, ConditionReady)
		if s == metav1.ConditionFalse && (prev == nil || prev.Reason != reason || prev.Message != msg) {
			r.Recorder.Eventf(r.objectRef(name), nil, corev1.EventTypeWarning, reason, "Check", "%s", msg)
		}
		setConditions(&st.Conditions, generation, outcome{ready: s, reason: reason, message: msg, stalled: stalled, synced: true})
		meta.RemoveStatusCondition(&st.Conditions, ConditionSynced)
		if s == metav1.ConditionTrue || stalled {
			st.ObservedGeneration = generation
		}
	}
	var resolved *connection.Resolved
	var err error
	if r.Cluster {
		resolved, err = r.Connections.ForClusterSeamConnection(ctx, name.Name)
	} else {
		resolved, err = r.Connections.ForSeamConnection(ctx, name)
	}
	if ce, ok := connection.IsNotUsable(err); ok {
		set(metav1.ConditionFalse, ce.Reason, ce.Message, ce.Terminal)
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
	} else if err != nil {
		return ctrl.Result{}, err
	}
	ws, err := resolved.Client.GetWorkspace(ctx)
	switch {
	case errors.Is(err, seam.ErrDeferred):
		// Not sent: nothing is known that was not before, so nothing changes.
		return ctrl.Result{}, err
	case errors.Is(err, seam.ErrUnauthorized):
		set(metav1.ConditionFalse, ReasonUnauthorized, "Seam refused the API key: put a valid key in the Secret", true)
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
	case errors.Is(err, seam.ErrRateLimited):
		// Seam answered: the key's rate is spent, by this operator or anything else
		// using the key. Checked again when Seam said, not on an error backoff.
		wait, _ := seam.RetryAfter(err)
		set(metav1.ConditionFalse, ReasonRateLimited, "Seam is rate-limiting this API key (429); the check is retried after its Retry-After", false)
		return ctrl.Result{RequeueAfter: max(wait, time.Second)}, nil
	case err != nil:
		set(metav1.ConditionFalse, ReasonUnreachable, fmt.Sprintf("Cannot reach Seam at the endpoint: %v", err), false)
		return ctrl.Result{}, err
	case resolved.WorkspaceID != "" && ws.WorkspaceID != resolved.WorkspaceID:
		set(metav1.ConditionFalse, ReasonWorkspaceMismatch, fmt.Sprintf("The API key belongs to workspace %s, not to spec.workspaceId %s", ws.WorkspaceID, resolved.WorkspaceID), true)
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
	}
	st.WorkspaceID, st.WorkspaceName = ws.WorkspaceID, ws.Name
	set(metav1.ConditionTrue, ReasonConnected, "Seam accepted the API key", false)
	next, err := r.followEvents(ctx, obj, resolved.Client, st)
	if err != nil {
		// Ready stays: the key works. The error is retried, and logged.
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

func (r *ConnectionReconciler) get(ctx context.Context, name types.NamespacedName) (client.Object, *seamv1alpha1.ConnectionStatus, error) {
	if r.Cluster {
		c := &seamv1alpha1.ClusterSeamConnection{}
		if err := r.Get(ctx, name, c); err != nil {
			return nil, nil, err
		}
		return c, &c.Status, nil
	}
	c := &seamv1alpha1.SeamConnection{}
	if err := r.Get(ctx, name, c); err != nil {
		return nil, nil, err
	}
	return c, &c.Status, nil
}

func (r *ConnectionReconciler) objectRef(name types.NamespacedName) client.Object {
	if r.Cluster {
		c := &seamv1alpha1.ClusterSeamConnection{}
		c.Name = name.Name
		c.SetGroupVersionKind(seamv1alpha1.GroupVersion.WithKind(seamv1alpha1.ClusterSeamConnectionKind))
		return c
	}
	c := &seamv1alpha1.SeamConnection{}
	c.Namespace, c.Name = name.Namespace, name.Name
	c.SetGroupVersionKind(seamv1alpha1.GroupVersion.WithKind(seamv1alpha1.SeamConnectionKind))
	return c
}

func setStatus(o client.Object, st seamv1alpha1.ConnectionStatus) {
	switch c := o.(type) {
	case *seamv1alpha1.SeamConnection:
		c.Status = st
	case *seamv1alpha1.ClusterSeamConnection:
		c.Status = st
	}
}

// SetupWithManager watches the connections and the Secrets holding their keys, so a
// key rotation is checked at once. Connections are checked by as many workers as
// the other kinds: with one, a tenant's Seam that hangs (up to the client's
// timeout) held every other tenant's check and its catch-up on missed events.
func (r *ConnectionReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	var obj client.Object = &seamv1alpha1.SeamConnection{}
	name := "seamconnection"
	if r.Cluster {
		obj, name = &seamv1alpha1.ClusterSeamConnection{}, "clusterseamconnection"
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(obj, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.connectionsOfSecret),
			builder.OnlyMetadata, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		WithOptions(controller.Options{RateLimiter: retryLimiter(), MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).
		Named(name).
		Complete(r)
}

func (r *ConnectionReconciler) connectionsOfSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	var out []reconcile.Request
	for _, key := range connectionsUsingSecret(ctx, r.Client, secret) {
		kind, rest, _ := strings.Cut(key, "/")
		if (kind == seamv1alpha1.ClusterSeamConnectionKind) != r.Cluster {
			continue
		}
		ns, name := "", rest
		if !r.Cluster {
			ns, name, _ = strings.Cut(rest, "/")
		}
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	}
	return out
}
