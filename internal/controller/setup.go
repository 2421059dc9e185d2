package controller

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

// Config is what the controllers need from the manager's flags.
type Config struct {
	Connections             *connection.Resolver
	ResyncPeriod            time.Duration
	CreateGrace             time.Duration
	MaxConcurrentReconciles int
}

// Setup registers the cache indexes and the three controllers with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if err := indexConnectionSecrets(ctx, mgr); err != nil {
		return err
	}
	recorder := mgr.GetEventRecorder("acs-operator")
	users := &AcsUserReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Connections: cfg.Connections,
		ResyncPeriod: cfg.ResyncPeriod, CreateGrace: cfg.CreateGrace,
		Snapshots: &snapshot.Cache{MaxAge: cfg.ResyncPeriod, PageSize: 500},
	}
	if err := users.SetupWithManager(ctx, mgr, Options{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}); err != nil {
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
