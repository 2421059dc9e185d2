package controller_test

import (
	"cmp"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/controller"
	"github.com/acs-operator/acs-operator/internal/scheme"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/test/framework"
)

// The suite runs one manager for every namespace but the isolated ones, which tests
// that stop and start their own managers use.
const (
	isolatedNamespace = "isolated-restart"
	// lostStatusNamespace is isolated too: its spec stops a manager after a write.
	lostStatusNamespace = "isolated-lost-status"
	// pausedTenantNamespace and otherTenantNamespace share one manager of their
	// own, with one worker: a spec there sees what one tenant's pause does to
	// another's revocations.
	pausedTenantNamespace = "isolated-paused-tenant"
	otherTenantNamespace  = "isolated-other-tenant"
	// busyTenantNamespace and quietTenantNamespace share another: one
	// tenant's flood of revocations and another's single one.
	busyTenantNamespace  = "isolated-busy-tenant"
	quietTenantNamespace = "isolated-quiet-tenant"
	// pausedCheckNamespace and otherCheckNamespace share a third: one
	// tenant's paused connection check and another's.
	pausedCheckNamespace = "isolated-paused-check"
	otherCheckNamespace  = "isolated-other-check"
	// hangingCheckNamespace and quickCheckNamespace share a fourth: one
	// tenant's Seam that stops answering its connection check, and another's.
	hangingCheckNamespace = "isolated-hanging-check"
	quickCheckNamespace   = "isolated-quick-check"
	// floodTenantNamespace and calmTenantNamespace share a fifth: one tenant's
	// flood of creates and another's new user and drift check.
	floodTenantNamespace = "isolated-flood-tenant"
	calmTenantNamespace  = "isolated-calm-tenant"
	operatorNamespace    = "acs-operator-system"
	resyncPeriod         = 3 * time.Second
	createGrace          = 3 * time.Second
	createTimeout        = 5 * time.Second
)

// ownManagerNamespaces are the isolated namespaces: their specs stop and start
// their own managers.
var ownManagerNamespaces = []string{isolatedNamespace, lostStatusNamespace, pausedTenantNamespace, otherTenantNamespace, busyTenantNamespace, quietTenantNamespace,
	pausedCheckNamespace, otherCheckNamespace, hangingCheckNamespace, quickCheckNamespace, floodTenantNamespace, calmTenantNamespace}

var (
	cp        *framework.ControlPlane
	k8s       client.Client
	suiteCtx  context.Context
	cancelAll context.CancelFunc
	// allowedEndpoints is every manager's --allowed-endpoints: Seam's, plus each test
	// server a spec allows before it creates a connection to it.
	allowedEndpoints = connection.DefaultEndpointPolicy()
)

func TestControllers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (make test-unit): this suite runs a control plane and the npm fake")
	}
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(withInfoWatch(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true))))
	suiteCtx, cancelAll = context.WithCancel(context.Background())
	var err error
	cp, err = framework.StartControlPlane()
	Expect(err).NotTo(HaveOccurred())
	k8s = cp.Client
	for _, ns := range slices.Concat(ownManagerNamespaces, eventNamespaces) {
		Expect(k8s.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	Expect(k8s.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())

	startManager(suiteCtx, managerOptions{
		namespaces: map[string]cache.Config{cache.AllNamespaces: {
			FieldSelector: outsideOwnManagers(),
		}},
	})
})

var _ = AfterSuite(func() {
	if cancelAll != nil {
		cancelAll()
	}
	if cp != nil {
		Expect(cp.Stop()).To(Succeed())
	}
})

// outsideOwnManagers selects every namespace but those of the tests that run
// their own managers.
func outsideOwnManagers() fields.Selector {
	var sel []fields.Selector
	for _, ns := range slices.Concat(ownManagerNamespaces, eventNamespaces) {
		sel = append(sel, fields.OneTermNotEqualSelector("metadata.namespace", ns))
	}
	return fields.AndSelectors(sel...)
}

type managerOptions struct {
	namespaces map[string]cache.Config
	transport  http.RoundTripper
	// resync replaces the suite's resync period; events configures the receiver
	// and catch-up.
	resync time.Duration
	events controller.EventsConfig
	// workers replaces the suite's 4 reconcile workers; maxRetryWait the suite's
	// 5 s, the longest Retry-After a call may wait out.
	workers      int
	maxRetryWait time.Duration
	// seamTimeout replaces the suite's 5 s deadline of one Seam call.
	seamTimeout time.Duration
}

// startManager runs a manager with the operator's controllers until ctx ends, and
// returns a channel closed when it has stopped.
func startManager(ctx context.Context, o managerOptions) <-chan struct{} {
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme:  scheme.New(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{DefaultNamespaces: o.namespaces, DefaultTransform: controller.CacheTransform()},
		// Several managers run in one process in this suite.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	resolver := connection.NewResolver(mgr.GetClient(), mgr.GetAPIReader(), connection.Options{
		Logger:           ctrl.Log.WithName("seam"),
		ClientDefaults:   seam.Config{Transport: o.transport, Timeout: cmp.Or(o.seamTimeout, 5*time.Second), MaxRetryWait: cmp.Or(o.maxRetryWait, 5*time.Second)},
		AllowedEndpoints: allowedEndpoints,
		Escrow:           connection.NewKeyEscrow(mgr.GetClient(), mgr.GetAPIReader(), operatorNamespace),
	})
	resync := resyncPeriod
	if o.resync > 0 {
		resync = o.resync
	}
	workers := 4
	if o.workers > 0 {
		workers = o.workers
	}
	Expect(controller.Setup(ctx, mgr, controller.Config{
		Connections: resolver, ResyncPeriod: resync, Events: o.events, CreateGrace: createGrace, MaxConcurrentReconciles: workers,
		CreateTimeout: createTimeout, SeamBudget: 20 * time.Second,
		SigningKeySecret: types.NamespacedName{Namespace: operatorNamespace, Name: "acs-operator-signing-key"},
	})).To(Succeed())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return done
}

// world is what one spec works in: its own namespace, its own Seam sandbox, and a
// SeamConnection to it.
type world struct {
	ns      string
	sandbox *sandbox.Server
	url     string
	seam    *seam.Client // direct access to the sandbox, as a person in the Seam console
}

const (
	systemID = "acs_system_hq"
	groupA   = "acs_access_group_hq_front_door"
	groupB   = "acs_access_group_hq_gym"
	groupC   = "acs_access_group_hq_staff"
)

func newWorld(opts sandbox.Options) *world {
	return newWorldIn("", opts)
}

func newWorldIn(namespace string, opts sandbox.Options) *world {
	return newWorldFrom(namespace, sandbox.DefaultSeed(), opts)
}

// The second workspace of twoWorkspaces: same sandbox, another API key.
const (
	otherWorkspace = "ws_other"
	otherKey       = "seam_sandbox_key_other_workspace_0123"
)

// twoWorkspaces is the default seed plus an empty second workspace with its own key:
// a connection re-pointed at it sees none of the first workspace's users.
func twoWorkspaces() sandbox.Seed {
	seed := sandbox.DefaultSeed()
	seed.Workspaces = append(seed.Workspaces, sandbox.SeedWorkspace{ID: otherWorkspace, Name: "Another workspace"})
	seed.APIKeys = append(seed.APIKeys, sandbox.SeedAPIKey{Key: otherKey, WorkspaceID: otherWorkspace})
	return seed
}

func newWorldFrom(namespace string, seed sandbox.Seed, opts sandbox.Options) *world {
	srv := sandbox.New(seed, opts)
	ts := httptest.NewServer(srv)
	DeferCleanup(ts.Close)
	DeferCleanup(srv.Close) // its webhook deliveries stop first
	Expect(allowedEndpoints.Allow(ts.URL)).To(Succeed())
	w := &world{sandbox: srv, url: ts.URL, ns: namespace}
	if w.ns == "" {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "acs-"}}
		Expect(k8s.Create(suiteCtx, ns)).To(Succeed())
		w.ns = ns.Name
	}
	DeferCleanup(w.release)
	var err error
	w.seam, err = seam.New(seam.Config{Endpoint: ts.URL, APIKey: sandbox.DefaultSeedAPIKey})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Create(suiteCtx, w.secret(sandbox.DefaultSeedAPIKey))).To(Succeed())
	Expect(k8s.Create(suiteCtx, &seamv1alpha1.SeamConnection{
		ObjectMeta: metav1.ObjectMeta{Name: "seam", Namespace: w.ns},
		Spec: seamv1alpha1.SeamConnectionSpec{
			Endpoint: ts.URL, InsecureAllowHTTP: true,
			APIKeySecretRef: seamv1alpha1.SecretKeySelector{Name: "seam-api-key", Key: "apiKey"},
			RateLimit:       &seamv1alpha1.RateLimit{RequestsPerSecond: 100, Burst: 100},
		},
	})).To(Succeed())
	return w
}

func (w *world) secret(key string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "seam-api-key", Namespace: w.ns},
		Data:       map[string][]byte{"apiKey": []byte(key)},
	}
}

// release orphans and deletes what a spec left behind before its sandbox goes away,
// so the manager does not keep retrying against a closed server.
func (w *world) release() {
	var users seamv1alpha1.AcsUserList
	Expect(k8s.List(suiteCtx, &users, client.InNamespace(w.ns))).To(Succeed())
	for i := range users.Items {
		key := client.ObjectKeyFromObject(&users.Items[i])
		Eventually(func() error {
			u := &seamv1alpha1.AcsUser{}
			if err := k8s.Get(suiteCtx, key, u); err != nil {
				return client.IgnoreNotFound(err)
			}
			u.Spec.DeletionPolicy = seamv1alpha1.DeletionPolicyOrphan
			if err := k8s.Update(suiteCtx, u); err != nil {
				return err
			}
			return client.IgnoreNotFound(k8s.Delete(suiteCtx, u))
		}).Should(Succeed())
	}
	_ = k8s.DeleteAllOf(suiteCtx, &seamv1alpha1.SeamConnection{}, client.InNamespace(w.ns))
	Eventually(func() int {
		var left seamv1alpha1.AcsUserList
		_ = k8s.List(suiteCtx, &left, client.InNamespace(w.ns))
		return len(left.Items)
	}).Should(BeZero())
}
