package controller

import (
	"context"
	"fmt"
	"net"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/metrics"
	"github.com/acs-operator/acs-operator/internal/signing"
	"github.com/acs-operator/acs-operator/internal/snapshot"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

// Config is what the controllers need from the manager's flags.
type Config struct {
	Connections             *connection.Resolver
	ResyncPeriod            time.Duration
	CreateGrace             time.Duration
	MaxConcurrentReconciles int
	// SigningKeySecret is the Secret, in the operator's own namespace, whose key
	// signs the operator's annotations; generated on first start.
	SigningKeySecret types.NamespacedName
	// CreateTimeout is the deadline of one create call (default 30s).
	CreateTimeout time.Duration
	// SeamBudget bounds the Seam calls of one reconcile (default 2m).
	SeamBudget time.Duration
	// Events says how Seam's events reach the operator.
	Events EventsConfig
}

// EventsConfig sets up the webhook receiver and the events catch-up.
type EventsConfig struct {
	// WebhookBindAddress is where the receiver listens (e.g. ":9443"); "" or "0"
	// runs no receiver (connections with spec.webhook then rely on the catch-up).
	WebhookBindAddress string
	// WebhookListener, when set, is used instead of WebhookBindAddress (tests).
	WebhookListener net.Listener
	// WebhookCertDir holds tls.crt and tls.key to serve HTTPS; "" serves HTTP
	// (TLS then ends at the Ingress or Gateway).
	WebhookCertDir string
	// CatchUpInterval is how often a connection with spec.webhook lists missed
	// events (default 3m).
	CatchUpInterval time.Duration
	// Now is the receiver's clock (tests); time.Now when nil.
	Now func() time.Time
}

// Setup loads the signing key and registers the cache indexes and the controllers
// with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if cfg.SigningKeySecret.Name == "" || cfg.SigningKeySecret.Namespace == "" {
		return fmt.Errorf("the signing key Secret needs a namespace and a name")
	}
	// The cache is not running yet: read and create through the apiserver.
	key, err := signing.LoadOrCreate(ctx, mgr.GetAPIReader(), mgr.GetClient(), cfg.SigningKeySecret)
	if err != nil {
		return err
	}
	if cfg.CreateTimeout <= 0 {
		cfg.CreateTimeout = 30 * time.Second
	}
	if cfg.SeamBudget <= 0 {
		cfg.SeamBudget = 2 * time.Minute
	}
	if err := indexConnectionSecrets(ctx, mgr); err != nil {
		return err
	}
	recorder, err := newEventRecorder(ctx, mgr)
	if err != nil {
		return err
	}
	router, err := setupEvents(mgr, cfg)
	if err != nil {
		return err
	}
	users := &AcsUserReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Connections: cfg.Connections,
		ResyncPeriod: cfg.ResyncPeriod, CreateGrace: cfg.CreateGrace, CreateTimeout: cfg.CreateTimeout,
		SeamBudget: cfg.SeamBudget, Signer: key, Events: router,
		Snapshots: &snapshot.Cache{MaxAge: cfg.ResyncPeriod, PageSize: 500},
	}
	if err := users.SetupWithManager(ctx, mgr, Options{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}); err != nil {
		return err
	}
	credentials := &AcsCredentialReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Connections: cfg.Connections,
		ResyncPeriod: cfg.ResyncPeriod, CreateGrace: cfg.CreateGrace, CreateTimeout: cfg.CreateTimeout,
		SeamBudget: cfg.SeamBudget, Signer: key, Events: router,
	}
	if err := credentials.SetupWithManager(ctx, mgr, Options{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}); err != nil {
		return err
	}
	for _, cluster := range []bool{false, true} {
		conns := &ConnectionReconciler{Client: mgr.GetClient(), Recorder: recorder, Connections: cfg.Connections,
			ResyncPeriod: cfg.ResyncPeriod, Cluster: cluster, Events: router, CatchUpInterval: cfg.Events.CatchUpInterval}
		if err := conns.SetupWithManager(mgr, Options{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}); err != nil {
			return err
		}
	}
	return nil
}

// setupEvents makes the event router and, when asked, adds the webhook receiver
// to the manager.
func setupEvents(mgr ctrl.Manager, cfg Config) (*EventRouter, error) {
	router := NewEventRouter(mgr.GetClient(), mgr.GetAPIReader(), cfg.SigningKeySecret.Namespace)
	router.Observe = metrics.ObserveSeamEvent
	ev := cfg.Events
	if ev.WebhookListener == nil && (ev.WebhookBindAddress == "" || ev.WebhookBindAddress == "0") {
		return router, nil
	}
	receiver := webhook.NewReceiver(router, router, metrics.ObserveWebhookDelivery, ctrl.Log.WithName("webhook"))
	if ev.Now != nil {
		receiver.Now = ev.Now
	}
	return router, mgr.Add(&webhook.Server{BindAddress: ev.WebhookBindAddress, Listener: ev.WebhookListener,
		CertDir: ev.WebhookCertDir, Receiver: receiver})
}
