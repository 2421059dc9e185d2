package controller

import (
	"slices"
	"testing"
)

func TestIndexKeysOnePerValue(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scope     indexScope
		namespace string
		values    []string
		want      []string
	}{
		{"across namespaces", allNamespaces, "tenant-a", []string{"sys/u1"}, []string{"__all_namespaces/sys/u1"}},
		{"in its namespace", inNamespace, "tenant-a", []string{"alice"}, []string{"tenant-a/alice"}},
		{"several values", allNamespaces, "tenant-a", []string{"a", "b"}, []string{"__all_namespaces/a", "__all_namespaces/b"}},
		{"no value, no key", inNamespace, "tenant-a", nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := indexKeys(tc.scope, tc.namespace, tc.values); !slices.Equal(got, tc.want) {
				t.Errorf("indexKeys = %q, want %q", got, tc.want)
			}
		})
	}
}
