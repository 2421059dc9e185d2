package packaging

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// parseManifests splits a multi-document YAML stream into objects, skipping empty documents.
func parseManifests(data []byte) []*unstructured.Unstructured {
	GinkgoHelper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs
		}
		Expect(err).NotTo(HaveOccurred())
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// find returns the one object of a kind whose name ends with suffix.
func find(objs []*unstructured.Unstructured, kind, nameSuffix string) *unstructured.Unstructured {
	GinkgoHelper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), nameSuffix) {
			found = append(found, o)
		}
	}
	Expect(found).To(HaveLen(1), "want exactly one %s named *%s, have %s", kind, nameSuffix, describeAll(objs))
	return found[0]
}

func kinds(objs []*unstructured.Unstructured) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.GetKind())
	}
	sort.Strings(ks)
	return ks
}

func describeAll(objs []*unstructured.Unstructured) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.GetKind()+"/"+o.GetName())
	}
	return strings.Join(s, ", ")
}

// into converts an unstructured object to a typed one.
func into[T any](o *unstructured.Unstructured, typed *T) *T {
	GinkgoHelper()
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, typed)).To(Succeed())
	return typed
}

// permissions flattens RBAC rules into one sorted line per permission (group, resource,
// verb, ...), so two roles compare equal when they grant the same, however their rules are
// grouped or ordered.
func permissions(rules []rbacv1.PolicyRule) []string {
	set := map[string]bool{}
	orEmpty := func(s []string) []string {
		if len(s) == 0 {
			return []string{""}
		}
		return s
	}
	for _, r := range rules {
		for _, verb := range r.Verbs {
			if len(r.APIGroups) == 0 && len(r.Resources) == 0 {
				// A nonResourceURLs rule.
				for _, url := range r.NonResourceURLs {
					set["url="+url+" verb="+verb] = true
				}
				continue
			}
			for _, g := range orEmpty(r.APIGroups) {
				for _, res := range orEmpty(r.Resources) {
					for _, name := range orEmpty(r.ResourceNames) {
						set["group="+g+" resource="+res+" name="+name+" verb="+verb] = true
					}
				}
			}
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// generatedManagerRole is config/rbac/role.yaml, which controller-gen generates from the
// reconcilers' RBAC markers.
func generatedManagerRole() *rbacv1.ClusterRole {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(data, role)).To(Succeed())
	Expect(role.Kind).To(Equal("ClusterRole"))
	Expect(role.Name).To(Equal("manager-role"))
	Expect(role.Rules).NotTo(BeEmpty())
	return role
}

// createNamespace creates a namespace for real, as an installer would before a dry run
// of namespaced objects; it is fine if it already exists.
func createNamespace(name string) {
	GinkgoHelper()
	err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
}

func objectKey(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}
