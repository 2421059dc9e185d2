package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// controller-gen keeps a Go comment's line breaks in the CRD description, and kubectl
// explain prints them where they fall, mid-sentence. Every field of api/v1alpha1 is
// written one line per paragraph; these come from Kubernetes' own types, not ours.
// So do the fields inside any metav1.LabelSelector (see isLabelSelector).
var upstreamDescriptions = []string{".apiVersion", ".kind", ".metadata", ".status.conditions"}

// midSentenceBreak is a line break that is not a paragraph break.
var midSentenceBreak = regexp.MustCompile(`[^\n]\n[^\n]`)

var _ = Describe("CRD descriptions", func() {
	It("read as prose in kubectl explain: no line break inside a paragraph", func() {
		files, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		var broken []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			var crd apiextensionsv1.CustomResourceDefinition
			Expect(yaml.Unmarshal(b, &crd)).To(Succeed())
			for _, v := range crd.Spec.Versions {
				walkDescriptions("", v.Schema.OpenAPIV3Schema, func(path, desc string) {
					if !isUpstream(path) && midSentenceBreak.MatchString(desc) {
						broken = append(broken, crd.Spec.Names.Kind+path)
					}
				})
			}
		}
		Expect(broken).To(BeEmpty(), "descriptions with a line break inside a paragraph: join each paragraph of the Go comment onto one line")
	})

	It("catches a description broken mid-sentence", func() {
		Expect(midSentenceBreak.MatchString("accessSchedule limits when the user's\ncredentials grant access.")).To(BeTrue())
		Expect(midSentenceBreak.MatchString("First paragraph.\n\nSecond paragraph.")).To(BeFalse())
	})
})

func isUpstream(path string) bool {
	return slices.ContainsFunc(upstreamDescriptions, func(p string) bool {
		return strings.HasPrefix(path, p) && (len(path) == len(p) || path[len(p)] == '.' || path[len(p)] == '[')
	})
}

func walkDescriptions(path string, s *apiextensionsv1.JSONSchemaProps, visit func(path, desc string)) {
	if s == nil {
		return
	}
	visit(path, s.Description)
	if isLabelSelector(s) {
		return // our description of the field; the selector's own fields are Kubernetes'
	}
	for name, p := range s.Properties {
		walkDescriptions(path+"."+name, &p, visit)
	}
	if s.Items != nil {
		walkDescriptions(path+"[]", s.Items.Schema, visit)
	}
}

// isLabelSelector recognises a metav1.LabelSelector by its two fields.
func isLabelSelector(s *apiextensionsv1.JSONSchemaProps) bool {
	_, labels := s.Properties["matchLabels"]
	_, exprs := s.Properties["matchExpressions"]
	return labels && exprs && len(s.Properties) == 2
}
