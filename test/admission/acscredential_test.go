package admission

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

const validPINCredential = `
acsUserRef: {name: ada}
accessMethod: code
code: {generate: {length: 6}}
`

var _ = Describe("Admission of AcsCredentials", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("refuses bad manifests with a message naming the field",
		func(specYAML string, wantInMessage ...string) {
			err := cp.Client.Create(ctx, manifest("AcsCredential", ns, specYAML))
			Expect(err).To(HaveOccurred())
			for _, want := range wantInMessage {
				Expect(err.Error()).To(ContainSubstring(want))
			}
		},
		Entry("an unknown access method", `{acsUserRef: {name: ada}, accessMethod: pin}`, "spec.accessMethod", "Unsupported value"),
		Entry("a code without its source", `{acsUserRef: {name: ada}, accessMethod: code}`, "spec.code", "required for accessMethod code"),
		Entry("a card with a code", `{acsUserRef: {name: ada}, accessMethod: card, code: {generate: {}}}`, "spec.code", "not allowed otherwise"),
		Entry("a code from both a Secret and the generator", `{acsUserRef: {name: ada}, accessMethod: code, code: {secretRef: {name: s, key: pin}, generate: {}}}`,
			"spec.code", "exactly one of secretRef and generate"),
		Entry("a code from neither", `{acsUserRef: {name: ada}, accessMethod: code, code: {rotate: "2026-01-01"}}`, "spec.code", "exactly one"),
		Entry("a generated PIN too short", `{acsUserRef: {name: ada}, accessMethod: code, code: {generate: {length: 3}}}`, "spec.code.generate.length"),
		Entry("endsAt before startsAt", validPINCredential+"startsAt: 2026-02-01T00:00:00Z\nendsAt: 2026-01-01T00:00:00Z", "spec.endsAt", "after startsAt"),
		Entry("multi-phone sync on a card", `{acsUserRef: {name: ada}, accessMethod: card, isMultiPhoneSyncCredential: true}`, "spec.isMultiPhoneSyncCredential"),
		Entry("an unknown deletion policy", validPINCredential+"deletionPolicy: Keep", "spec.deletionPolicy"),
		Entry("no user", `{accessMethod: card}`, "spec.acsUserRef"),
	)

	create := func(specYAML string) *unstructured.Unstructured {
		obj := manifest("AcsCredential", ns, specYAML)
		Expect(cp.Client.Create(ctx, obj)).To(Succeed())
		return obj
	}
	set := func(obj *unstructured.Unstructured, value any, path ...string) error {
		Expect(unstructured.SetNestedField(obj.Object, value, path...)).To(Succeed())
		return cp.Client.Update(ctx, obj)
	}

	It("refuses a change of accessMethod or of the user", func() {
		obj := create(`{acsUserRef: {name: ada}, accessMethod: card}`)
		Expect(set(obj, "mobile_key", "spec", "accessMethod")).To(MatchError(And(ContainSubstring("spec.accessMethod"), ContainSubstring("immutable"))))
		obj = create(`{acsUserRef: {name: ada}, accessMethod: card}`)
		Expect(set(obj, "grace", "spec", "acsUserRef", "name")).To(MatchError(And(ContainSubstring("spec.acsUserRef"), ContainSubstring("immutable"))))
	})

	It("accepts changes of the mutable fields and fills in the defaults", func() {
		obj := create(validPINCredential + "endsAt: 2031-01-01T00:00:00Z")
		typed := &seamv1alpha1.AcsCredential{}
		Expect(cp.Client.Get(ctx, client.ObjectKeyFromObject(obj), typed)).To(Succeed())
		Expect(typed.Spec.DeletionPolicy).To(Equal(seamv1alpha1.DeletionPolicyDelete))
		Expect(set(obj, "2032-01-01T00:00:00Z", "spec", "endsAt")).To(Succeed())
		Expect(set(obj, "2026-06-01", "spec", "code", "rotate")).To(Succeed())
		Expect(set(obj, "2026-01-01T00:00:00Z", "spec", "startsAt")).To(Succeed())
		Expect(set(obj, "Orphan", "spec", "deletionPolicy")).To(Succeed())

		mobile := create(`{acsUserRef: {name: ada}, accessMethod: mobile_key, isMultiPhoneSyncCredential: true, allowedAcsEntranceIds: [e1, e2]}`)
		Expect(set(mobile, false, "spec", "isMultiPhoneSyncCredential")).To(Succeed())
	})
})
