// Package signing lets the operator tell the annotations it wrote from ones anyone
// else wrote. Annotations are writable by whoever can edit an object; the operator's
// own records in them (a create in flight, the remote user an object owns) carry an
// HMAC keyed by a Secret only the operator can read, in its own namespace.
package signing

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// secretKey is the data key of the signing Secret.
const secretKey = "hmac-sha256-key"

// keyBytes is the length of a generated key.
const keyBytes = 32

// Key signs and verifies short records. The zero value cannot be used.
type Key struct{ secret []byte }

// NewKey returns a Key over secret (at least 16 bytes).
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < 16 {
		return nil, errors.New("signing: a key needs at least 16 bytes")
	}
	return &Key{secret: append([]byte(nil), secret...)}, nil
}

// Sign returns the MAC of parts, unambiguously joined (a part may contain spaces).
func (k *Key) Sign(parts ...string) string {
	m := hmac.New(sha256.New, k.secret)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:%s;", len(p), p)
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports, in constant time, whether mac is the MAC of parts.
func (k *Key) Verify(mac string, parts ...string) bool {
	return hmac.Equal([]byte(mac), []byte(k.Sign(parts...)))
}

// String never shows the key.
func (k *Key) String() string { return "signing.Key{[redacted]}" }

// LoadOrCreate reads the key from the Secret name in the operator's namespace,
// generating it on first start. Two replicas starting together both try to create
// it: the loser reads the winner's. reader must read from the apiserver (not a
// cache), because the manager does not cache Secrets' data.
func LoadOrCreate(ctx context.Context, reader client.Reader, writer client.Writer, name types.NamespacedName) (*Key, error) {
	for range 3 {
		s := &corev1.Secret{}
		err := reader.Get(ctx, name, s)
		if err == nil {
			return fromSecret(s, name)
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading the signing key Secret %s: %w", name, err)
		}
		secret := make([]byte, keyBytes)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name.Name, Namespace: name.Namespace, Labels: map[string]string{
				"app.kubernetes.io/name": "acs-operator", "app.kubernetes.io/component": "signing-key",
			}, Annotations: map[string]string{
				"seam.acs-operator.io/purpose": "Signs the operator's annotations on AcsUsers. Deleting it makes every " +
					"create still in flight unverifiable: those AcsUsers then wait for a person (see the README).",
			}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{secretKey: secret},
		}
		err = writer.Create(ctx, s)
		if err == nil {
			return NewKey(secret)
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating the signing key Secret %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("signing key Secret %s: created and deleted concurrently", name)
}

func fromSecret(s *corev1.Secret, name types.NamespacedName) (*Key, error) {
	k, err := NewKey(s.Data[secretKey])
	if err != nil {
		return nil, fmt.Errorf("signing key Secret %s: key %q: %w", name, secretKey, err)
	}
	return k, nil
}

// Fields splits a signed record "v1 <field>... <mac>" into its fields and MAC.
func Fields(record string) (fields []string, mac string, ok bool) {
	parts := strings.Fields(record)
	if len(parts) < 3 || parts[0] != "v1" {
		return nil, "", false
	}
	return parts[1 : len(parts)-1], parts[len(parts)-1], true
}

// Record joins fields and their MAC into "v1 <field>... <mac>". Fields must not
// contain spaces.
func Record(mac string, fields ...string) string {
	return "v1 " + strings.Join(fields, " ") + " " + mac
}
