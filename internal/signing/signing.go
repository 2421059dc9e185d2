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
	"hash"
	"strconv"
	"strings"
	"sync"

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
type Key struct {
	secret []byte
	// macs are HMACs keyed with secret, reset between uses: every reconcile
	// verifies the object's signed annotations, and a new HMAC each time was
	// most of what a resync of 10,000 settled objects allocated for them.
	macs sync.Pool
}

// NewKey returns a Key over secret (at least 16 bytes).
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < 16 {
		return nil, errors.New("signing: a key needs at least 16 bytes")
	}
	k := &Key{secret: append([]byte(nil), secret...)}
	k.macs.New = func() any { return &pooledMAC{Hash: hmac.New(sha256.New, k.secret)} }
	return k, nil
}

// macEncoding is how a MAC is written, and macLen its length written (unpadded
// base64 of sha256.Size bytes).
var macEncoding = base64.RawURLEncoding.Strict()

const macLen = (sha256.Size*8 + 5) / 6

// pooledMAC is an HMAC of the pool with a buffer for the bytes it covers.
type pooledMAC struct {
	hash.Hash
	buf []byte
}

// sum is the MAC of parts, unambiguously joined: each as "<length>:<part>;" (a
// part may contain spaces). Those bytes are what earlier builds signed too.
func (k *Key) sum(out *[sha256.Size]byte, parts []string) {
	m := k.macs.Get().(*pooledMAC)
	m.Reset()
	m.buf = m.buf[:0]
	for _, p := range parts {
		m.buf = strconv.AppendInt(m.buf, int64(len(p)), 10)
		m.buf = append(m.buf, ':')
		m.buf = append(m.buf, p...)
		m.buf = append(m.buf, ';')
	}
	_, _ = m.Write(m.buf)
	m.Sum(out[:0])
	k.macs.Put(m)
}

// Sign returns the MAC of parts, unambiguously joined (a part may contain spaces).
func (k *Key) Sign(parts ...string) string {
	var sum [sha256.Size]byte
	k.sum(&sum, parts)
	return macEncoding.EncodeToString(sum[:])
}

// Verify reports, in constant time, whether mac is the MAC of parts.
func (k *Key) Verify(mac string, parts ...string) bool {
	// Decoded strictly: a MAC has one encoding, the one Sign gives.
	var encoded [macLen]byte
	var got, want [sha256.Size]byte
	if len(mac) != macLen {
		return false
	}
	copy(encoded[:], mac)
	if n, err := macEncoding.Decode(got[:], encoded[:]); err != nil || n != len(got) {
		return false
	}
	k.sum(&want, parts)
	return hmac.Equal(got[:], want[:])
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
