package controller_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/controller"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// What a tenant who can write connections and AcsUsers in their own namespace can make
// the operator do (the README's "Security" section makes the same claims).

// countingServer is an HTTP server that is not Seam: it counts what it receives.
type countingServer struct {
	*httptest.Server
	mu     sync.Mutex
	byPath map[string]int
}

func newCountingServer(answer http.HandlerFunc) *countingServer {
	s := &countingServer{byPath: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.byPath[r.URL.Path]++
		s.mu.Unlock()
		answer(w, r)
	}))
	DeferCleanup(s.Close)
	return s
}

func (s *countingServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.byPath {
		n += c
	}
	return n
}

func (s *countingServer) received(path string) func() int {
	return func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.byPath[path]
	}
}

// tenantWorld is a namespace with a Secret holding the tenant's key and a SeamConnection
// "seam" to endpoint, which the manager's --allowed-endpoints includes only if allowed.
func tenantWorld(endpoint string, allowed bool) *world {
	if allowed {
		Expect(allowedEndpoints.Allow(endpoint)).To(Succeed())
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tenant-"}}
	Expect(k8s.Create(suiteCtx, ns)).To(Succeed())
	w := &world{ns: ns.Name, url: endpoint}
	DeferCleanup(w.release)
	Expect(k8s.Create(suiteCtx, w.secret("seam_tenant_key"))).To(Succeed())
	Expect(k8s.Create(suiteCtx, &seamv1alpha1.SeamConnection{
		ObjectMeta: metav1.ObjectMeta{Name: "seam", Namespace: w.ns},
		Spec: seamv1alpha1.SeamConnectionSpec{Endpoint: endpoint, InsecureAllowHTTP: true,
			APIKeySecretRef: seamv1alpha1.SecretKeySelector{Name: "seam-api-key", Key: "apiKey"}},
	})).To(Succeed())
	return w
}

// readyOf returns the Ready condition of a connection or AcsUser, for Eventually.
func readyOf(obj client.Object) func() *metav1.Condition {
	return func() *metav1.Condition {
		if err := k8s.Get(suiteCtx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return nil
		}
		return meta.FindStatusCondition(conditionsOf(obj), seamv1alpha1.ConditionReady)
	}
}

func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *seamv1alpha1.SeamConnection:
		return o.Status.Conditions
	case *seamv1alpha1.ClusterSeamConnection:
		return o.Status.Conditions
	case *seamv1alpha1.AcsUser:
		return o.Status.Conditions
	}
	Fail("no conditions on a " + obj.GetObjectKind().GroupVersionKind().Kind)
	return nil
}

func withReason(reason string) OmegaMatcher {
	return And(Not(BeNil()), HaveField("Status", metav1.ConditionFalse), HaveField("Reason", reason))
}

// everythingTheTenantCanRead is every condition message of the objects and every event
// note and message in the namespace.
func everythingTheTenantCanRead(namespace string, objs ...client.Object) []string {
	var out []string
	for _, obj := range objs {
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		for _, c := range conditionsOf(obj) {
			out = append(out, c.Type+": "+c.Message)
		}
	}
	var events eventsv1.EventList
	Expect(k8s.List(suiteCtx, &events, client.InNamespace(namespace))).To(Succeed())
	for _, e := range events.Items {
		out = append(out, e.Reason+": "+e.Note)
	}
	var coreEvents corev1.EventList
	Expect(k8s.List(suiteCtx, &coreEvents, client.InNamespace(namespace))).To(Succeed())
	for _, e := range coreEvents.Items {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

var _ = Describe("A tenant's connection endpoint", func() {
	It("is refused, and sent nothing, when it is not in --allowed-endpoints: SeamConnection, ClusterSeamConnection and their AcsUsers", func() {
		internal := newCountingServer(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"workspace":{"workspace_id":"ws_internal","name":"internal"}}`))
		})
		w := tenantWorld(internal.URL, false)
		cluster := &seamv1alpha1.ClusterSeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: "internal-" + w.ns},
			Spec: seamv1alpha1.ClusterSeamConnectionSpec{
				Endpoint: internal.URL + "/cluster", InsecureAllowHTTP: true,
				APIKeySecretRef:   seamv1alpha1.NamespacedSecretKeySelector{Namespace: w.ns, Name: "seam-api-key", Key: "apiKey"},
				NamespaceSelector: &metav1.LabelSelector{},
			},
		}
		Expect(k8s.Create(suiteCtx, cluster)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(suiteCtx, cluster) })
		viaConnection := w.newAcsUser("via-connection")
		viaCluster := w.newAcsUser("via-cluster", func(s *seamv1alpha1.AcsUserSpec) {
			s.ConnectionRef = seamv1alpha1.ConnectionRef{Kind: seamv1alpha1.ClusterSeamConnectionKind, Name: cluster.Name}
		})

		conn := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "seam"}}
		for _, obj := range []client.Object{conn, cluster, viaConnection, viaCluster} {
			Eventually(readyOf(obj)).Should(withReason(connection.ReasonEndpointNotAllowed), client.ObjectKeyFromObject(obj).String())
			ready := readyOf(obj)()
			Expect(ready.Message).To(ContainSubstring("--allowed-endpoints"))
			Expect(ready.Message).To(ContainSubstring(internal.URL))
			Expect(meta.IsStatusConditionTrue(conditionsOf(obj), "Stalled")).To(BeTrue(), "a person must act: Stalled")
		}
		Consistently(internal.total, 2*resyncPeriod).Should(BeZero(), "requests reached a server that is not allowed")
	})

	It("keeps what a server that is not Seam answers out of every condition, event and info log", func() {
		secret := "db_password=hunter2-" + rand.String(8)
		leaks := infoLogs.watch(secret)
		foreign := newCountingServer(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("INTERNAL-ONLY: " + secret + "\n"))
		})
		w := tenantWorld(foreign.URL, true)
		user := w.newAcsUser("reader")
		conn := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "seam"}}

		Eventually(readyOf(conn)).Should(And(withReason(controller.ReasonUnreachable),
			HaveField("Message", ContainSubstring("/workspaces/get: HTTP 500"))))
		// The AcsUser's own requests (it checks the workspace before creating) get the same 500.
		Eventually(readyOf(user)).Should(And(Not(BeNil()), HaveField("Status", metav1.ConditionFalse),
			HaveField("Message", ContainSubstring("HTTP 500"))))

		Consistently(func() []string {
			return everythingTheTenantCanRead(w.ns, conn, user)
		}, resyncPeriod).ShouldNot(ContainElement(Or(ContainSubstring("hunter2"), ContainSubstring("INTERNAL-ONLY"))))
		Expect(leaks()).To(BeEmpty(), "info-level log lines echo the server's body")
	})

	It("does not follow a redirect: the other port gets neither the request nor the key", func() {
		elsewhere := newCountingServer(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"workspace":{"workspace_id":"ws_elsewhere","name":"elsewhere"}}`))
		})
		// Both are allowed: what stops the request is the client, not the allowlist.
		Expect(allowedEndpoints.Allow(elsewhere.URL)).To(Succeed())
		redirector := newCountingServer(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
		})
		w := tenantWorld(redirector.URL, true)
		user := w.newAcsUser("redirected")
		conn := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "seam"}}

		Eventually(readyOf(conn)).Should(And(withReason(controller.ReasonUnreachable),
			HaveField("Message", And(ContainSubstring("HTTP 307"), ContainSubstring("redirects are not followed"),
				Not(ContainSubstring(elsewhere.URL))))))
		// The AcsUser's own requests (it checks the workspace before creating) get the same 307.
		Eventually(readyOf(user)).Should(And(Not(BeNil()), HaveField("Status", metav1.ConditionFalse),
			HaveField("Message", ContainSubstring("HTTP 307"))))
		Consistently(elsewhere.total, resyncPeriod).Should(BeZero(), "the redirect was followed")
	})
})

var _ = Describe("A tenant's references", func() {
	It("reach only their own namespace: an AcsUser's connectionRef and a SeamConnection's Secret", func() {
		victim := newWorld(sandbox.Options{})
		Eventually(func() string { return connReady(victim, "seam") }).Should(Equal("True/Connected"))

		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tenant-"}}
		Expect(k8s.Create(suiteCtx, ns)).To(Succeed())
		attacker := &world{ns: ns.Name}
		DeferCleanup(attacker.release)
		// The victim's namespace has a SeamConnection "seam" and a Secret "seam-api-key".
		intruder := attacker.newAcsUser("intruder")
		Eventually(readyOf(intruder)).Should(withReason(connection.ReasonConnectionNotFound))
		Expect(intruder.Status.Conditions).To(ContainElement(HaveField("Message", ContainSubstring(attacker.ns))))

		Expect(k8s.Create(suiteCtx, &seamv1alpha1.SeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: "seam", Namespace: attacker.ns},
			Spec: seamv1alpha1.SeamConnectionSpec{Endpoint: victim.url, InsecureAllowHTTP: true,
				APIKeySecretRef: seamv1alpha1.SecretKeySelector{Name: "seam-api-key", Key: "apiKey"}},
		})).To(Succeed())
		conn := &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Namespace: attacker.ns, Name: "seam"}}
		Eventually(readyOf(conn)).Should(And(withReason(connection.ReasonSecretNotFound),
			HaveField("Message", ContainSubstring(`namespace "`+attacker.ns+`"`))))
		Eventually(readyOf(intruder)).Should(withReason(connection.ReasonSecretNotFound))
		Consistently(func() int { return victim.received("/acs/users/create") }, resyncPeriod).Should(BeZero())
		Expect(strings.Join(everythingTheTenantCanRead(attacker.ns, conn, intruder), "\n")).NotTo(ContainSubstring(sandbox.DefaultSeedAPIKey))
	})
})
