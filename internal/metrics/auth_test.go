package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/acs-operator/acs-operator/test/framework"
	"github.com/acs-operator/acs-operator/test/proc"
)

// countingTransport counts the requests the filter sends to the apiserver.
type countingTransport struct {
	next  http.RoundTripper
	calls atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(r)
}

func TestAuthFilterServesOnlyCallersTheAPIServerAllows(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the control plane (make envtest)")
	}
	cp, err := framework.StartControlPlane()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	ctx := t.Context()
	cs := kubernetes.NewForConfigOrDie(cp.Config)

	const ns = "metrics-auth"
	must(t, create(ctx, cs.CoreV1().Namespaces().Create, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	token := map[string]string{}
	for _, name := range []string{"reader", "stranger"} {
		must(t, create(ctx, cs.CoreV1().ServiceAccounts(ns).Create, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}))
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		must(t, err)
		token[name] = tr.Status.Token
	}
	// What the chart's metrics-reader ClusterRole grants, bound to reader only.
	must(t, create(ctx, cs.RbacV1().ClusterRoles().Create, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-auth-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}))
	must(t, create(ctx, cs.RbacV1().ClusterRoleBindings().Create, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-auth-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "metrics-auth-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "reader"}},
	}))
	// The apiserver's RBAC reads bindings from its own cache: wait until it knows this one.
	must(t, proc.Poll(ctx, 50*time.Millisecond, 30*time.Second, func() (bool, error) {
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:serviceaccount:" + ns + ":reader", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		}}, metav1.CreateOptions{})
		return err == nil && sar.Status.Allowed, nil
	}))

	hc, err := rest.HTTPClientFor(cp.Config)
	must(t, err)
	counter := &countingTransport{next: hc.Transport}
	hc.Transport = counter
	filter, err := AuthFilter(cp.Config, hc)
	must(t, err)
	handler, err := filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("acs_operator_acsusers 1\n"))
	}))
	must(t, err)

	serve := func(method, path, authorization string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ctx, method, path, nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	for _, c := range []struct {
		name, method, path, authorization string
		want                              int
		calls                             int32
	}{
		{"no token", http.MethodGet, "/metrics", "", http.StatusUnauthorized, 0},
		{"not a bearer token", http.MethodGet, "/metrics", "Basic dXNlcjpwYXNz", http.StatusUnauthorized, 0},
		{"a token the apiserver does not know", http.MethodGet, "/metrics", "Bearer not-a-token", http.StatusUnauthorized, 1},
		{"a service account without the role", http.MethodGet, "/metrics", "Bearer " + token["stranger"], http.StatusForbidden, 2},
		{"the reader", http.MethodGet, "/metrics", "Bearer " + token["reader"], http.StatusOK, 2},
		{"the reader, the scheme in lower case", http.MethodGet, "/metrics", "bearer " + token["reader"], http.StatusOK, 0},
		{"the reader again, decided from the cache", http.MethodGet, "/metrics", "Bearer " + token["reader"], http.StatusOK, 0},
		{"the reader on another path", http.MethodGet, "/debug", "Bearer " + token["reader"], http.StatusForbidden, 2},
		{"the reader with another verb", http.MethodPost, "/metrics", "Bearer " + token["reader"], http.StatusForbidden, 2},
	} {
		before := counter.calls.Load()
		rec := serve(c.method, c.path, c.authorization)
		if rec.Code != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, rec.Code, rec.Body.String(), c.want)
		}
		if got := counter.calls.Load() - before; got != c.calls {
			t.Errorf("%s: %d calls to the apiserver, want %d", c.name, got, c.calls)
		}
		if (rec.Code == http.StatusOK) != (rec.Body.String() == "acs_operator_acsusers 1\n") {
			t.Errorf("%s: %d with body %q: the metrics must be served exactly when allowed", c.name, rec.Code, rec.Body.String())
		}
	}
}

func TestAuthFilterKeepsABoundedCacheAndForgetsExpiredDecisions(t *testing.T) {
	now := time.Unix(0, 0)
	a := &reviewer{now: func() time.Time { return now }, decisions: map[decisionKey]decision{}}
	key := func(i int) decisionKey {
		return decisionKey{token: [32]byte{byte(i), byte(i >> 8)}, verb: "get", path: "/metrics"}
	}
	a.remember(key(0), decision{code: http.StatusOK, until: now.Add(allowTTL)})
	if _, ok := a.cached(key(0)); !ok {
		t.Fatal("a fresh decision is not cached")
	}
	now = now.Add(allowTTL)
	if _, ok := a.cached(key(0)); ok {
		t.Fatal("an expired decision is still used")
	}
	for i := range 3 * decisionsKept {
		a.remember(key(i), decision{code: http.StatusForbidden, until: now.Add(denyTTL)})
		if len(a.decisions) > decisionsKept {
			t.Fatalf("%d decisions kept, more than %d", len(a.decisions), decisionsKept)
		}
	}
	if _, ok := a.cached(key(3*decisionsKept - 1)); !ok {
		t.Fatal("the newest decision is not cached")
	}
}

func create[T any](ctx context.Context, f func(context.Context, T, metav1.CreateOptions) (T, error), obj T) error {
	_, err := f(ctx, obj, metav1.CreateOptions{})
	return err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
