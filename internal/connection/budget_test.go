package connection

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/scheme"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// Seam's rate limit is the API key's, not the connection's: two connections with one
// key at one endpoint spend one server bucket. Each with its own limiter, each would
// take the other's calls for the server's limit, and a revocation on one would wait
// behind the other's creates at the server (a 429, then a Retry-After pause) instead
// of in a queue that serves revocations first.
func TestConnectionsWithOneKeyShareOneLimiter(t *testing.T) {
	const endpoint = "https://connect.getseam.com"
	conn := func(ns, name string, rl *seamv1alpha1.RateLimit) *seamv1alpha1.SeamConnection {
		return &seamv1alpha1.SeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: seamv1alpha1.SeamConnectionSpec{Endpoint: endpoint, RateLimit: rl,
				APIKeySecretRef: seamv1alpha1.SecretKeySelector{Name: "key", Key: "apiKey"}},
		}
	}
	secret := func(ns, key string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: ns}, Data: map[string][]byte{"apiKey": []byte(key)}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(
		conn("a", "seam", &seamv1alpha1.RateLimit{RequestsPerSecond: 50, Burst: 10}), secret("a", "seam_shared"),
		conn("b", "seam", &seamv1alpha1.RateLimit{RequestsPerSecond: 20, Burst: 40}), secret("b", "seam_shared"),
		conn("c", "seam", &seamv1alpha1.RateLimit{RequestsPerSecond: 50, Burst: 10}), secret("c", "seam_other"),
	).Build()
	r := NewResolver(c, c, Options{})
	ctx := context.Background()
	limiterOf := func(ns string) *seam.AdaptiveLimiter {
		t.Helper()
		res, err := r.ForSeamConnection(ctx, types.NamespacedName{Namespace: ns, Name: "seam"})
		if err != nil {
			t.Fatalf("resolve %s: %v", ns, err)
		}
		return res.entry.limiter
	}
	wantLimit := func(l *seam.AdaptiveLimiter, rps float64, burst int) {
		t.Helper()
		if gotRPS, gotBurst := l.Limit(); gotRPS != rps || gotBurst != burst {
			t.Errorf("limit %g rps burst %d, want %g burst %d", gotRPS, gotBurst, rps, burst)
		}
	}

	a, b, other := limiterOf("a"), limiterOf("b"), limiterOf("c")
	if a != b {
		t.Fatal("two connections with one API key at one endpoint have a limiter each")
	}
	if other == a {
		t.Fatal("a connection with another API key shares their limiter")
	}
	// Neither connection may send more than it was told: the lowest of each.
	wantLimit(limiterOf("a"), 20, 10)
	wantLimit(other, 50, 10)

	// A key rotated to another key moves the connection to that key's budget, and
	// its limit from the old one.
	if err := c.Update(ctx, secret("b", "seam_other")); err != nil {
		t.Fatal(err)
	}
	if got := limiterOf("b"); got != other {
		t.Error("a connection rotated to another key did not join that key's limiter")
	}
	wantLimit(limiterOf("a"), 50, 10)
	wantLimit(limiterOf("c"), 20, 10)

	// A connection that is gone no longer lowers the others' limit.
	if err := r.ReleaseKey(ctx, Key(seamv1alpha1.SeamConnectionKind, "b", "seam")); err != nil {
		t.Fatal(err)
	}
	wantLimit(limiterOf("c"), 50, 10)

	// A connection alone on its key keeps what its limiter learnt through a rotation.
	if err := c.Update(ctx, secret("a", "seam_rotated")); err != nil {
		t.Fatal(err)
	}
	if limiterOf("a") != a {
		t.Error("a key rotation started the connection's limiter anew")
	}
}
