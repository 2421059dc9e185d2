package connection

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/scheme"
)

// countingReader counts the reads that reach it.
type countingReader struct {
	client.Reader
	reads int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.reads++
	return c.Reader.Get(ctx, key, obj, opts...)
}

func TestResolverChecksTheEndpointBeforeTheSecret(t *testing.T) {
	const ns = "tenant"
	conn := func(name, endpoint string, insecure bool) *seamv1alpha1.SeamConnection {
		return &seamv1alpha1.SeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: seamv1alpha1.SeamConnectionSpec{Endpoint: endpoint, InsecureAllowHTTP: insecure,
				APIKeySecretRef: seamv1alpha1.SecretKeySelector{Name: "key", Key: "apiKey"}},
		}
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: ns}, Data: map[string][]byte{"apiKey": []byte("seam_k")}}
	cases := []struct {
		reason      string
		policy      *EndpointPolicy // nil: the resolver's default
		conn        *seamv1alpha1.SeamConnection
		wantReason  string // "" for a usable connection
		secretReads int
	}{
		{reason: "no policy allows Seam's production API", conn: conn("prod", "https://connect.getseam.com", false), secretReads: 1},
		{reason: "an empty endpoint is Seam's production API", conn: conn("empty", "", false), secretReads: 1},
		{reason: "no policy refuses anything else, before reading the Secret",
			conn: conn("internal", "http://10.0.0.1:8080", true), wantReason: ReasonEndpointNotAllowed},
		{reason: "insecureAllowHTTP does not widen the policy",
			policy: mustPolicy(t, "https://seam-proxy.internal"), conn: conn("downgrade", "http://seam-proxy.internal", true), wantReason: ReasonEndpointNotAllowed},
		{reason: "an allowed http base still needs insecureAllowHTTP (if admission let it through)",
			policy: mustPolicy(t, "http://127.0.0.1:8765"), conn: conn("no-opt-in", "http://127.0.0.1:8765", false), wantReason: ReasonInvalidConnection},
		{reason: "an allowed http base with insecureAllowHTTP is usable",
			policy: mustPolicy(t, "http://127.0.0.1:8765"), conn: conn("sandbox", "http://127.0.0.1:8765", true), secretReads: 1},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(tc.conn, secret).Build()
			secrets := &countingReader{Reader: c}
			r := NewResolver(c, secrets, Options{AllowedEndpoints: tc.policy})
			res, err := r.ForSeamConnection(context.Background(), types.NamespacedName{Namespace: ns, Name: tc.conn.Name})
			if tc.wantReason == "" {
				if err != nil || res.Client == nil {
					t.Fatalf("got %v, %v; want a client", res, err)
				}
			} else {
				ce, ok := IsNotUsable(err)
				if !ok || ce.Reason != tc.wantReason || !ce.Terminal {
					t.Fatalf("got %v (%#v), want a terminal %s", err, ce, tc.wantReason)
				}
				if tc.wantReason == ReasonEndpointNotAllowed && !strings.Contains(ce.Message, "--allowed-endpoints") {
					t.Errorf("message %q does not name the flag", ce.Message)
				}
			}
			if secrets.reads != tc.secretReads {
				t.Errorf("Secret read %d times, want %d", secrets.reads, tc.secretReads)
			}
		})
	}
}

func mustPolicy(t *testing.T, list string) *EndpointPolicy {
	t.Helper()
	p, err := ParseEndpointPolicy(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
