package controller

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// indexScope says which lookups a field index answers.
type indexScope int

const (
	// allNamespaces answers client.MatchingFields without client.InNamespace.
	allNamespaces indexScope = iota
	// inNamespace answers client.MatchingFields with client.InNamespace.
	inNamespace
)

// indexField registers a field index that client.MatchingFields reads, like
// mgr.GetFieldIndexer().IndexField, but with one key per value instead of two.
//
// controller-runtime's indexer stores every value of a namespaced object twice,
// once for lookups in its namespace and once for lookups across all of them,
// each key in a set of its own when values are unique (an AcsUser's remote id).
// At 10,000 AcsUsers those sets were a sixth of the manager's live heap, and
// every lookup of ours uses one scope only. The keys follow the cache reader's
// format (index "field:<field>", key "<namespace>/<value>" or
// "__all_namespaces/<value>"): a lookup in a scope the index was not registered
// for finds nothing, and the envtest suites, which go through the real cache,
// fail if controller-runtime ever changes that format.
func indexField(ctx context.Context, c cache.Cache, obj client.Object, field string, scope indexScope, extract client.IndexerFunc) error {
	informer, err := c.GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	return informer.AddIndexers(toolscache.Indexers{"field:" + field: func(raw any) ([]string, error) {
		o, ok := raw.(client.Object)
		if !ok {
			return nil, fmt.Errorf("index %s: %T is not an object", field, raw)
		}
		return indexKeys(scope, o.GetNamespace(), extract(o)), nil
	}})
}

// indexKeys are the keys the cache reader looks values up by, in one scope.
func indexKeys(scope indexScope, namespace string, values []string) []string {
	prefix := "__all_namespaces/"
	if scope == inNamespace {
		prefix = namespace + "/"
	}
	keys := make([]string, len(values))
	for i, v := range values {
		keys[i] = prefix + v
	}
	return keys
}
