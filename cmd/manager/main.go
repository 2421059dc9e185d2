// Command manager runs the acs-operator controllers.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	uberzap "go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/controller"
	"github.com/acs-operator/acs-operator/internal/logging"
	"github.com/acs-operator/acs-operator/internal/metrics"
	"github.com/acs-operator/acs-operator/internal/scheme"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// options are the manager's flags.
type options struct {
	metricsAddr             string
	metricsSecure           bool
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
	enableHTTP2             bool
	maxConcurrentReconciles int
	resyncPeriod            time.Duration
	createGrace             time.Duration
	createTimeout           time.Duration
	operatorNamespace       string
	signingKeySecret        string
	allowedEndpoints        *connection.EndpointPolicy
	webhookAddr             string
	webhookCertDir          string
	catchUpInterval         time.Duration
	zap                     zap.Options
}

// serviceAccountNamespace is where a pod's own namespace is mounted.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// ownNamespace is the namespace the manager runs in: POD_NAMESPACE, or the one its
// service account token is mounted for.
func ownNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	b, err := os.ReadFile(serviceAccountNamespace)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint, e.g. :8443 (served behind authentication and authorization with --metrics-secure) or 127.0.0.1:8080. 0 turns it off.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS, only to callers allowed to get /metrics (TokenReview + SubjectAccessReview).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "Address of Go's /debug/pprof/ profiles, e.g. 127.0.0.1:6060 (no authentication: keep it on loopback). 0 turns it off.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader, so only one replica reconciles. On in the shipped Deployment.")
	// Defaults are controller-runtime's (15s, 10s, 2s); make chaos shortens them to fail over fast.
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a non-leader waits after the last renewal before taking the lease.")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before it gives up the lease (and exits).")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often candidates try to take or renew the lease.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "Serve the metrics endpoint over HTTP/2 as well. Off because of the HTTP/2 Rapid Reset and Stream Cancellation vulnerabilities (CVE-2023-44487, CVE-2023-39325).")
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 4, "Objects of each kind (AcsUsers, AcsCredentials, SeamConnections, ClusterSeamConnections) reconciled at once.")
	fs.DurationVar(&o.resyncPeriod, "resync-period", 5*time.Minute, "How often a settled AcsUser is read again from Seam to correct drift (jittered by 10%).")
	fs.DurationVar(&o.createGrace, "create-grace", time.Minute, "How long the operator looks for the user a create with a lost response may have made, before creating again (at least --create-timeout).")
	fs.DurationVar(&o.createTimeout, "create-timeout", 30*time.Second, "Deadline of one create call to Seam. A create whose answer is lost is looked for among the users Seam created from just before it was sent until this deadline.")
	fs.StringVar(&o.operatorNamespace, "operator-namespace", ownNamespace(), "The manager's own namespace, where its signing key Secret lives. Default: POD_NAMESPACE, or the namespace of the pod's service account.")
	fs.StringVar(&o.signingKeySecret, "signing-key-secret", "acs-operator-signing-key", "Secret in --operator-namespace whose key signs the operator's annotations on AcsUsers (generated on first start). Only the operator should be able to read it.")
	allowed := fs.String("allowed-endpoints", seam.DefaultEndpoint, "Comma-separated base URLs the operator may send requests (and API keys) to. A connection's endpoint must match one on scheme, host and port exactly and on path by prefix; any other connection is refused (EndpointNotAllowed) and nothing is sent to it.")
	fs.StringVar(&o.webhookAddr, "webhook-bind-address", "0", "Address of the Seam webhook receiver, e.g. :9443 (paths /webhooks/seam/<namespace>/<name> and /webhooks/seam/cluster/<name>). 0 turns it off; connections with spec.webhook then only catch up through /events/list.")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", "", "Directory with tls.crt and tls.key for the webhook receiver to serve HTTPS. Empty serves plain HTTP, for TLS ended at an Ingress or Gateway.")
	fs.DurationVar(&o.catchUpInterval, "events-catch-up-interval", 3*time.Minute, "How often a connection with spec.webhook lists the Seam events it may have missed (/events/list), e.g. while the receiver was unreachable.")
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.allowedEndpoints, err = connection.ParseEndpointPolicy(*allowed); err != nil {
		return o, fmt.Errorf("--allowed-endpoints: %w", err)
	}
	if o.resyncPeriod < 10*time.Second {
		return o, fmt.Errorf("--resync-period must be at least 10s, got %s", o.resyncPeriod)
	}
	if o.operatorNamespace == "" {
		return o, fmt.Errorf("--operator-namespace is required outside a pod (it holds the signing key Secret)")
	}
	if o.createTimeout < time.Second {
		return o, fmt.Errorf("--create-timeout must be at least 1s, got %s", o.createTimeout)
	}
	if !(o.retryPeriod > 0 && o.retryPeriod < o.renewDeadline && o.renewDeadline < o.leaseDuration) {
		return o, fmt.Errorf("leader election needs 0 < --leader-elect-retry-period < --leader-elect-renew-deadline < --leader-elect-lease-duration, got %s, %s, %s", o.retryPeriod, o.renewDeadline, o.leaseDuration)
	}
	if o.catchUpInterval < 10*time.Second {
		return o, fmt.Errorf("--events-catch-up-interval must be at least 10s, got %s", o.catchUpInterval)
	}
	if o.maxConcurrentReconciles < 1 {
		return o, fmt.Errorf("--max-concurrent-reconciles must be at least 1, got %d", o.maxConcurrentReconciles)
	}
	return o, nil
}

func newManager(o options) (ctrl.Manager, error) {
	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.metricsSecure, TLSOpts: tlsOpts}
	if o.metricsSecure {
		metricsOpts.FilterProvider = metrics.AuthFilter
	}
	return ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:  scheme.New(),
		Metrics: metricsOpts,
		// Cached objects without managedFields and with their repeated strings shared.
		Cache:                  cache.Options{DefaultTransform: controller.CacheTransform()},
		HealthProbeBindAddress: o.probeAddr,
		PprofBindAddress:       o.pprofAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "acs-operator.seam.acs-operator.io",
		// The lease lives beside the signing key; controller-runtime would only find a
		// namespace in a pod, so --leader-elect failed anywhere else.
		LeaderElectionNamespace: o.operatorNamespace,
		LeaseDuration:           &o.leaseDuration,
		RenewDeadline:           &o.renewDeadline,
		RetryPeriod:             &o.retryPeriod,
		// The manager exits right after losing the lease, so a new leader never runs
		// beside an old one still sending writes.
		LeaderElectionReleaseOnCancel: true,
	})
}

func run(ctx context.Context, o options) error {
	mgr, err := newManager(o)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	resolver := connection.NewResolver(mgr.GetClient(), mgr.GetAPIReader(), connection.Options{
		Observer:         metrics.ObserveSeamRequest,
		Logger:           ctrl.Log.WithName("seam"),
		AllowedEndpoints: o.allowedEndpoints,
		Escrow:           connection.NewKeyEscrow(mgr.GetClient(), mgr.GetAPIReader(), o.operatorNamespace),
	})
	if err := controller.Setup(ctx, mgr, controller.Config{
		Connections:             resolver,
		ResyncPeriod:            o.resyncPeriod,
		CreateGrace:             o.createGrace,
		CreateTimeout:           o.createTimeout,
		SigningKeySecret:        types.NamespacedName{Namespace: o.operatorNamespace, Name: o.signingKeySecret},
		MaxConcurrentReconciles: o.maxConcurrentReconciles,
		Events: controller.EventsConfig{
			WebhookBindAddress: o.webhookAddr, WebhookCertDir: o.webhookCertDir, CatchUpInterval: o.catchUpInterval,
		},
	}); err != nil {
		return fmt.Errorf("setting up the controllers: %w", err)
	}
	if err := metrics.RegisterAcsUserGauge(mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if o.pprofAddr != "0" && o.pprofAddr != "" {
		// Someone is going to read the heap profile: sample finely enough that a
		// few kilobytes per object show up (Go's default records one sample per 512 KiB).
		runtime.MemProfileRate = 16 << 10
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap), zap.RawZapOpts(uberzap.WrapCore(logging.LazyFields))))
	setMemoryLimit()
	setGCPercent()
	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

// defaultGOGC is the collector's target when GOGC is not set: collect when the heap
// has grown by half the live objects, not by all of them (Go's 100). The live heap
// is nearly all long-lived caches (the informers' objects, the snapshots, the
// indexes, the work queue), so Go's default headroom is a second copy of them kept
// for little garbage. At 10,000 AcsUsers (make bench) RSS settled / peak went from
// 111-119 / 139-148 MiB to 92 / 116 MiB, converging at the same 1.05x of the rate
// bound, the manager's CPU for the run within the noise between runs (60 s and 67 s).
const defaultGOGC = 50

// setGCPercent sets defaultGOGC, unless GOGC is set in the environment: that wins,
// as Go reads it at start.
func setGCPercent() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(defaultGOGC)
	ctrl.Log.Info("Go collector target", "GOGC", defaultGOGC)
}

// setMemoryLimit gives Go's collector the container's memory limit, which it does
// not know on its own: without it the heap grows to twice the live objects before a
// collection (a 680 MiB peak at 30,000 AcsUsers, far over the chart's 256 MiB
// limit), and the kernel kills the manager where the collector could have worked
// harder. It sets GOMEMLIMIT to 90% of the cgroup's limit (automemlimit, the
// library Prometheus and Grafana's agents use for this). GOMEMLIMIT set in the
// environment wins; AUTOMEMLIMIT=off turns it off, AUTOMEMLIMIT=0.8 changes the share.
func setMemoryLimit() {
	limit, err := memlimit.Set()
	switch {
	case err != nil:
		ctrl.Log.Info("No container memory limit found: GOMEMLIMIT left as it is", "reason", err.Error())
	case limit < math.MaxInt64:
		ctrl.Log.Info("Go memory limit", "GOMEMLIMIT", limit)
	}
}
