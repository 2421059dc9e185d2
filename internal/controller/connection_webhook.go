package controller

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update

// Annotations on the Secret of a registered webhook: which webhook its secret
// signs, and for which URL, so a changed URL or a lost Secret is noticed.
const (
	annotationWebhookID  = "seam.acs-operator.io/webhook-id"
	annotationWebhookURL = "seam.acs-operator.io/webhook-url"
	// Reasons of the AcsSystemsConnected condition.
	ReasonAcsSystemDisconnected = "AcsSystemDisconnected"
	ReasonAcsSystemsConnected   = "Connected"
	// Reasons of the WebhookRegistered condition.
	ReasonWebhookRegistered    = "Registered"
	ReasonWebhookPathNotRouted = "PathNotRouted"
	ReasonRegistrationFailed   = "RegistrationFailed"
	// defaultCatchUpInterval is how often a connection with a webhook lists the
	// events it may have missed.
	defaultCatchUpInterval = 3 * time.Minute
)

func webhookConnection(obj client.Object) webhook.Connection {
	return webhook.Connection{Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// registeredSecretName is the Secret the operator keeps a registered webhook's
// signing secret in.
func registeredSecretName(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return "cluster-" + obj.GetName() + "-seam-webhook"
	}
	return obj.GetName() + "-seam-webhook"
}

// events runs the webhook part of a connection's check: the registered webhook
// is there, the events missed are routed, the systems' condition is current. It
// returns how soon the connection must be checked again.
func (r *ConnectionReconciler) followEvents(ctx context.Context, obj client.Object, c *seam.Client, st *seamv1alpha1.ConnectionStatus) (time.Duration, error) {
	spec := webhookSpec(obj)
	if spec == nil || spec.Register == nil || r.Events == nil {
		meta.RemoveStatusCondition(&st.Conditions, seamv1alpha1.ConditionWebhookRegistered)
	}
	if r.Events == nil || spec == nil {
		meta.RemoveStatusCondition(&st.Conditions, seamv1alpha1.ConditionAcsSystemsConnected)
		if st.Webhook != nil && r.Events != nil {
			if err := r.unregister(ctx, obj, c, st.Webhook); err != nil {
				return 0, err
			}
		}
		st.Webhook = nil
		return r.ResyncPeriod, nil
	}
	if st.Webhook == nil {
		st.Webhook = &seamv1alpha1.WebhookStatus{}
	}
	if err := r.register(ctx, obj, c, spec, st); err != nil {
		return 0, err
	}
	if err := r.Events.CatchUp(ctx, webhookConnection(obj), c, st); err != nil {
		return 0, fmt.Errorf("catching up on events: %w", err)
	}
	setSystemsCondition(st, obj.GetGeneration())
	return min(r.ResyncPeriod, r.catchUpInterval()), nil
}

// register runs ensureRegistered for spec.webhook.register, unless the URL's path
// would not lead Seam's deliveries to this connection, and reports which in the
// WebhookRegistered condition. Neither outcome stops the catch-up.
func (r *ConnectionReconciler) register(ctx context.Context, obj client.Object, c *seam.Client, spec *seamv1alpha1.WebhookSpec, st *seamv1alpha1.ConnectionStatus) error {
	if spec.Register != nil {
		if problem := webhookPathProblem(webhookConnection(obj), spec.Register.URL); problem != "" {
			r.setRegistered(obj, st, metav1.ConditionFalse, ReasonWebhookPathNotRouted, problem)
			return nil
		}
	}
	err := r.ensureRegistered(ctx, obj, c, spec, st.Webhook)
	switch {
	case spec.Register == nil || errors.Is(err, seam.ErrDeferred):
	case err != nil:
		r.setRegistered(obj, st, metav1.ConditionFalse, ReasonRegistrationFailed, fmt.Sprintf(
			"Seam did not register the webhook at %s: %v. Retried with backoff; the catch-up lists missed events every %s meanwhile",
			spec.Register.URL, err, r.catchUpInterval()))
	default:
		r.setRegistered(obj, st, metav1.ConditionTrue, ReasonWebhookRegistered, fmt.Sprintf(
			"Seam delivers events to %s (webhook %s)", spec.Register.URL, st.Webhook.WebhookID))
	}
	if err != nil {
		return fmt.Errorf("registering the webhook: %w", err)
	}
	return nil
}

// webhookPathProblem says why Seam's deliveries to rawURL would not reach the
// connection conn ("" when they would). The receiver finds the connection by the
// path's last two segments, <namespace>/<name> or cluster/<name>: admission checks
// the name, the namespace is checked here, before anything is sent.
func webhookPathProblem(conn webhook.Connection, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Sprintf("spec.webhook.register.url is not a URL: %v", err)
	}
	want := webhook.PathPrefix + conn.String()
	switch routed, ok := webhook.ParsePath(want); {
	case !ok || routed != conn:
		// The receiver's own reading of the connection's path: it takes
		// cluster/<name> for a ClusterSeamConnection's.
		return "The receiver reads " + want + " as the path of another connection (" + routed.String() +
			"): a SeamConnection in a namespace named cluster cannot receive webhooks. Remove spec.webhook (the resync finds every change) or use a connection in another namespace"
	case !strings.HasSuffix(u.EscapedPath(), "/"+conn.String()):
		return fmt.Sprintf("The path of spec.webhook.register.url, %q, does not end in %s: the receiver would refuse Seam's deliveries there, "+
			"so no webhook is registered. Set it to the receiver's public address followed by %s", u.EscapedPath(), conn.String(), want)
	}
	return ""
}

// setRegistered sets the WebhookRegistered condition, with a Warning when it
// turns False or, while False, its reason or message changes.
func (r *ConnectionReconciler) setRegistered(obj client.Object, st *seamv1alpha1.ConnectionStatus, status metav1.ConditionStatus, reason, msg string) {
	prev := meta.FindStatusCondition(st.Conditions, seamv1alpha1.ConditionWebhookRegistered)
	if status == metav1.ConditionFalse && (prev == nil || prev.Reason != reason || prev.Message != msg) {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, reason, "Register", "%s", msg)
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: seamv1alpha1.ConditionWebhookRegistered,
		Status: status, Reason: reason, Message: msg, ObservedGeneration: obj.GetGeneration()})
}

func (r *ConnectionReconciler) catchUpInterval() time.Duration {
	if r.CatchUpInterval > 0 {
		return r.CatchUpInterval
	}
	return defaultCatchUpInterval
}

// setSystemsCondition reports the systems Seam said are disconnected.
func setSystemsCondition(st *seamv1alpha1.ConnectionStatus, generation int64) {
	c := metav1.Condition{Type: seamv1alpha1.ConditionAcsSystemsConnected, Status: metav1.ConditionTrue,
		Reason: ReasonAcsSystemsConnected, Message: "Seam reports no ACS system of this workspace disconnected", ObservedGeneration: generation}
	if down := st.Webhook.DisconnectedSystems; len(down) > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, ReasonAcsSystemDisconnected
		c.Message = fmt.Sprintf("Seam reports ACS system(s) %s disconnected (acs_system.disconnected): changes to their users wait "+
			"as pending mutations until the building's system is back online", strings.Join(down, ", "))
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

// ensureRegistered keeps the webhook of spec.webhook.register in Seam, with its
// signing secret in a Secret the connection owns. A webhook at the same URL the
// status does not know is one a create whose answer was lost made: it is
// deleted before creating, so none is left behind.
func (r *ConnectionReconciler) ensureRegistered(ctx context.Context, obj client.Object, c *seam.Client, spec *seamv1alpha1.WebhookSpec, st *seamv1alpha1.WebhookStatus) error {
	if spec.Register == nil {
		return r.unregister(ctx, obj, c, st) // moved to a webhook made by hand
	}
	url := spec.Register.URL
	key := types.NamespacedName{Namespace: r.Events.registeredSecretNamespace(obj), Name: registeredSecretName(obj)}
	if st.WebhookID != "" {
		var s corev1.Secret
		err := r.Events.apiReader.Get(ctx, key, &s)
		if err == nil && s.Annotations[annotationWebhookID] == st.WebhookID && s.Annotations[annotationWebhookURL] == url {
			return nil
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		// The URL changed, or the secret is lost: replace the webhook.
		if err := deleteWebhook(ctx, c, st.WebhookID); err != nil {
			return err
		}
		st.WebhookID = ""
	}
	hooks, err := c.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.URL == url {
			if err := deleteWebhook(ctx, c, h.WebhookID); err != nil {
				return err
			}
		}
	}
	wh, err := c.CreateWebhook(ctx, url, eventTypes)
	if err != nil {
		return err
	}
	if err := r.writeWebhookSecret(ctx, obj, key, wh); err != nil {
		return err
	}
	st.WebhookID, st.SecretName = wh.WebhookID, key.Name
	r.Events.forgetSecret(webhookConnection(obj))
	r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, "WebhookRegistered", "Register", "Seam delivers events to %s (webhook %s)", url, wh.WebhookID)
	return nil
}

func (r *ConnectionReconciler) writeWebhookSecret(ctx context.Context, owner client.Object, key types.NamespacedName, wh *seam.Webhook) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, s, func() error {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[annotationWebhookID] = wh.WebhookID
		s.Annotations[annotationWebhookURL] = wh.URL
		s.Type = corev1.SecretTypeOpaque
		s.Data = map[string][]byte{webhookSecretKey: []byte(wh.Secret)}
		// Garbage-collected with the connection (a cluster-scoped owner may own a
		// namespaced Secret).
		return controllerutil.SetControllerReference(owner, s, r.Scheme())
	})
	return err
}

// unregister deletes the webhook the operator registered. Its Secret is left to
// the garbage collector (the connection owns it): the manager deletes no Secret.
func (r *ConnectionReconciler) unregister(ctx context.Context, obj client.Object, c *seam.Client, st *seamv1alpha1.WebhookStatus) error {
	if st.WebhookID != "" {
		if err := deleteWebhook(ctx, c, st.WebhookID); err != nil {
			return err
		}
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, "WebhookDeleted", "Unregister", "Deleted webhook %s from Seam", st.WebhookID)
		st.WebhookID = ""
	}
	st.SecretName = ""
	return nil
}

// seamClientFor resolves the connection's client, or nil when it cannot be used.
func (r *ConnectionReconciler) seamClientFor(ctx context.Context, obj client.Object) *seam.Client {
	if r.Events == nil || webhookStatusOf(obj) == "" {
		return nil
	}
	var err error
	if obj.GetNamespace() == "" {
		res, e := r.Connections.ForClusterSeamConnection(ctx, obj.GetName())
		if e == nil {
			return res.Client
		}
		err = e
	} else {
		res, e := r.Connections.ForSeamConnection(ctx, client.ObjectKeyFromObject(obj))
		if e == nil {
			return res.Client
		}
		err = e
	}
	logf.FromContext(ctx).Info("Cannot resolve the connection to delete its webhook", "error", err.Error())
	return nil
}

func webhookStatusOf(obj client.Object) string {
	if st := connectionStatus(obj); st != nil && st.Webhook != nil {
		return st.Webhook.WebhookID
	}
	return ""
}

func deleteWebhook(ctx context.Context, c *seam.Client, id string) error {
	if err := c.DeleteWebhook(ctx, id); err != nil && !errors.Is(err, seam.ErrNotFound) {
		return err
	}
	return nil
}

// unregisterOnDelete deletes a registered webhook before the connection goes. If
// Seam cannot be reached through the connection any more, the webhook is left
// (said in an Event): it keeps delivering to a path that answers 404.
func (r *ConnectionReconciler) unregisterOnDelete(ctx context.Context, obj client.Object, c *seam.Client, st *seamv1alpha1.ConnectionStatus) error {
	if r.Events == nil || st.Webhook == nil || st.Webhook.WebhookID == "" {
		return nil
	}
	if c == nil {
		logf.FromContext(ctx).Info("Cannot reach Seam to delete the registered webhook", "webhook", st.Webhook.WebhookID)
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, "WebhookLeft", "Unregister",
			"Could not reach Seam through this connection to delete webhook %s: delete it in the Seam console", st.Webhook.WebhookID)
		return nil
	}
	return r.unregister(ctx, obj, c, st.Webhook)
}
