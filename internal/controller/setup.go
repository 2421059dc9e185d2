package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/signing"
	"github.com/acs-operator/acs-operator/internal/snapshot"
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
	recorder := mgr.GetEventRecorder("acs-operator")
	users := &AcsUserReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Connections: cfg.Connections,
		ResyncPeriod: cfg.ResyncPeriod, CreateGrace: cfg.CreateGrace, CreateTimeout: cfg.CreateTimeout,
		SeamBudget: cfg.SeamBudget, Signer: key,
		Snapshots: &snapshot.Cache{MaxAge: cfg.ResyncPeriod, PageSize: 500},
	}
	if err := users.SetupWithManager(ctx, mgr, Options{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}); err != nil {
		return err
	}
	credentials := &AcsCredentialReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Connections: cfg.Connections,
		ResyncPeriod: cfg.ResyncPeriod, CreateGrace: cfg.CreateGrace, CreateTimeout: cfg.CreateTimeout,
		SeamBudget: cfg.SeamBudget, Signer: key,
	}
	if err := credentials.SetupWithManager(ctx, mgr, Options{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}); err != nil {
		return err
	}
	for _, cluster := range []bool{false, true} {
		conns := &ConnectionReconciler{Client: mgr.GetClient(), Recorder: recorder, Connections: cfg.Connections,
			ResyncPeriod: cfg.ResyncPeriod, Cluster: cluster}
		if err := conns.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}
