package connection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KeyEscrow keeps a copy of each connection's API key in a Secret in the operator's
// own namespace, for teardown only. Deleting a namespace deletes its Secret, its
// SeamConnection and its AcsUsers in no particular order; the AcsUsers still need
// the key to delete their remote users. The copy is read only for AcsUsers being
// deleted, when the connection's own Secret is gone, and is deleted with the
// connection. A finalizer on the tenant's Secret would do the same, but needs the
// right to patch every Secret in the cluster; this needs writes in one namespace.
type KeyEscrow struct {
	writer    client.Client
	reader    client.Reader // the apiserver: the manager does not cache Secrets' data
	namespace string

	mu     sync.Mutex
	stored map[string]string // connection key -> hash of the key stored for it
}

const (
	escrowDataKey          = "apiKey"
	escrowConnectionAnnot  = "seam.acs-operator.io/connection"
	escrowComponentLabel   = "app.kubernetes.io/component"
	escrowComponentValue   = "api-key-escrow"
	escrowSecretNamePrefix = "acs-operator-key-"
)

// NewKeyEscrow stores copies in namespace (the operator's own).
func NewKeyEscrow(writer client.Client, reader client.Reader, namespace string) *KeyEscrow {
	return &KeyEscrow{writer: writer, reader: reader, namespace: namespace, stored: map[string]string{}}
}

func (e *KeyEscrow) name(connectionKey string) types.NamespacedName {
	sum := sha256.Sum256([]byte(connectionKey))
	return types.NamespacedName{Namespace: e.namespace, Name: escrowSecretNamePrefix + hex.EncodeToString(sum[:10])}
}

// Store keeps apiKey for the connection; a key already stored is not written again.
func (e *KeyEscrow) Store(ctx context.Context, connectionKey, apiKey string) error {
	sum := sha256.Sum256([]byte(apiKey))
	hash := hex.EncodeToString(sum[:])
	e.mu.Lock()
	known := e.stored[connectionKey] == hash
	e.mu.Unlock()
	if known {
		return nil
	}
	name := e.name(connectionKey)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name.Name, Namespace: name.Namespace,
			Labels:      map[string]string{"app.kubernetes.io/name": "acs-operator", escrowComponentLabel: escrowComponentValue},
			Annotations: map[string]string{escrowConnectionAnnot: connectionKey}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{escrowDataKey: []byte(apiKey)},
	}
	ctx = SecretContext(ctx)
	err := e.writer.Create(ctx, s)
	if apierrors.IsAlreadyExists(err) {
		current := &corev1.Secret{}
		if err = e.reader.Get(ctx, name, current); err == nil {
			current.Data, current.Annotations = s.Data, s.Annotations
			err = e.writer.Update(ctx, current)
		}
	}
	if err != nil {
		return fmt.Errorf("keeping a copy of the API key of %s for teardown: %w", connectionKey, err)
	}
	e.mu.Lock()
	e.stored[connectionKey] = hash
	e.mu.Unlock()
	return nil
}

// Load returns the stored key of the connection and the copy's resourceVersion.
func (e *KeyEscrow) Load(ctx context.Context, connectionKey string) (key, version string, err error) {
	s := &corev1.Secret{}
	if err := e.reader.Get(SecretContext(ctx), e.name(connectionKey), s); err != nil {
		return "", "", err
	}
	if s.Annotations[escrowConnectionAnnot] != connectionKey {
		return "", "", fmt.Errorf("escrow Secret %s belongs to another connection", e.name(connectionKey))
	}
	return string(s.Data[escrowDataKey]), s.ResourceVersion, nil
}

// Delete removes the connection's copy (the connection is gone).
func (e *KeyEscrow) Delete(ctx context.Context, connectionKey string) error {
	name := e.name(connectionKey)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name.Name, Namespace: name.Namespace}}
	if err := e.writer.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	e.mu.Lock()
	delete(e.stored, connectionKey)
	e.mu.Unlock()
	return nil
}

// SecretContext is ctx without its logger, for every call that reads or writes a
// Secret holding a key or a PIN: client-go logs request and response bodies at its
// most verbose levels (V(8)) through the context's logger, and such a body holds the
// secret.
func SecretContext(ctx context.Context) context.Context {
	return logr.NewContext(ctx, logr.Discard())
}
