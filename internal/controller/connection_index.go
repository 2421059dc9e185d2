package controller

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
)

// indexConnectionSecrets indexes both connection kinds by the Secret holding their key.
func indexConnectionSecrets(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &seamv1alpha1.SeamConnection{}, indexSecret, func(o client.Object) []string {
		c := o.(*seamv1alpha1.SeamConnection)
		return []string{indexKey(c.Namespace, c.Spec.APIKeySecretRef.Name)}
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &seamv1alpha1.ClusterSeamConnection{}, indexSecret, func(o client.Object) []string {
		c := o.(*seamv1alpha1.ClusterSeamConnection)
		return []string{indexKey(c.Spec.APIKeySecretRef.Namespace, c.Spec.APIKeySecretRef.Name)}
	})
}

// connectionsUsingSecret returns the keys ("Kind/ns/name", "Kind/name") of the
// connections whose API key is in the Secret.
func connectionsUsingSecret(ctx context.Context, c client.Client, secret client.Object) []string {
	key := indexKey(secret.GetNamespace(), secret.GetName())
	var keys []string
	var conns seamv1alpha1.SeamConnectionList
	if err := c.List(ctx, &conns, client.InNamespace(secret.GetNamespace()), client.MatchingFields{indexSecret: key}); err == nil {
		for _, sc := range conns.Items {
			keys = append(keys, connection.Key(seamv1alpha1.SeamConnectionKind, sc.Namespace, sc.Name))
		}
	}
	var cluster seamv1alpha1.ClusterSeamConnectionList
	if err := c.List(ctx, &cluster, client.MatchingFields{indexSecret: key}); err == nil {
		for _, cc := range cluster.Items {
			keys = append(keys, connection.Key(seamv1alpha1.ClusterSeamConnectionKind, "", cc.Name))
		}
	}
	return keys
}
