package packaging

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// The tenant-access chart's packaging: its schema and templates. Installing, upgrading
// and uninstalling it against the operator and a Seam sandbox is in internal/controller.
const (
	tenantChart    = "charts/tenant-access"
	tenantExample  = "charts/tenant-access/ci/example-values.yaml"
	tenantsRelease = "riverside"
)

var _ = Describe("The tenant-access chart", func() {
	BeforeEach(func() { createNamespace(releaseNS) })

	It("passes helm lint with its default and example values", func() {
		mustRun(nil, helm, "lint", "--strict", tenantChart)
		mustRun(nil, helm, "lint", "--strict", tenantChart, "-f", tenantExample)
	})

	It("renders one AcsUser a tenant and one AcsCredential a credential, named after the tenant, that the apiserver accepts", func() {
		out := mustRun(nil, helm, "template", tenantsRelease, tenantChart, "--namespace", releaseNS, "-f", tenantExample)
		objs := parseManifests(out)
		names := []string{}
		for _, o := range objs {
			names = append(names, o.GetKind()+"/"+o.GetName())
		}
		Expect(names).To(ConsistOf(
			"AcsUser/ada-lovelace", "AcsCredential/ada-lovelace-code", "AcsCredential/ada-lovelace-mobile-key",
			"AcsUser/grace-hopper", "AcsCredential/grace-hopper-code", "AcsCredential/grace-hopper-card",
			"AcsUser/zoe-angstrom"))

		ada := into(find(objs, "AcsUser", "ada-lovelace"), &seamv1alpha1.AcsUser{})
		Expect(ada.Spec.ConnectionRef).To(Equal(seamv1alpha1.ConnectionRef{Kind: "ClusterSeamConnection", Name: "seam-production"}))
		Expect(ada.Spec.EmailAddress).To(Equal("ada@example.com"))
		Expect(ada.Spec.AccessGroupIDs).To(ConsistOf(seamv1alpha1.SeamID("acs_access_group_front_door"), seamv1alpha1.SeamID("acs_access_group_gym")))
		Expect(ada.Annotations).To(HaveKeyWithValue("tenant-access.acs-operator.io/unit", "4B"))
		grace := into(find(objs, "AcsUser", "grace-hopper"), &seamv1alpha1.AcsUser{})
		Expect(grace.Spec.AcsUserID).To(Equal(seamv1alpha1.SeamID("acs_user_grace_since_2019")), "an existing tenant is adopted")
		Expect(grace.Spec.AccessGroupNames).To(Equal([]string{"Laundry"}))
		code := into(find(objs, "AcsCredential", "grace-hopper-code"), &seamv1alpha1.AcsCredential{})
		Expect(code.Spec.AcsUserRef.Name).To(Equal("grace-hopper"))
		Expect(*code.Spec.Code.SecretRef).To(Equal(seamv1alpha1.SecretKeyRef{Name: "grace-pin", Key: "pin"}))
		Expect(code.Spec.Code.Rotate).To(Equal("2026-03-01"))

		Expect(dryRunApply(out)).To(ContainSubstring("acsuser.seam.acs-operator.io/zoe-angstrom created (server dry run)"))
		// The same values render the same names: upgrades update in place.
		Expect(mustRun(nil, helm, "template", tenantsRelease, tenantChart, "--namespace", releaseNS, "-f", tenantExample)).To(Equal(out))
	})

	DescribeTable("refuses values a person got wrong, saying where",
		func(values, want string) {
			file := filepath.Join(GinkgoT().TempDir(), "values.yaml")
			Expect(os.WriteFile(file, []byte("acsSystemId: acs_system_1\n"+values), 0o600)).To(Succeed())
			_, err := run(nil, helm, "template", tenantsRelease, tenantChart, "-f", file)
			Expect(err).To(MatchError(ContainSubstring(want)))
			if want != "both name their objects" {
				// helm lint says what is wrong on stdout.
				out, err := run(nil, helm, "lint", "--strict", tenantChart, "-f", file)
				Expect(err).To(HaveOccurred())
				Expect(string(out)).To(ContainSubstring(want))
			}
		},
		Entry("an unknown key", "tenants: [{name: Ada, mail: ada@example.com}]", "additional properties 'mail' not allowed"),
		Entry("an unknown top-level key", "tenant: []\ntenants: []", "additional properties 'tenant' not allowed"),
		Entry("a bad email", "tenants: [{name: Ada, email: ada-at-example.com}]", "/tenants/0/email"),
		Entry("a phone number that is not E.164", "tenants: [{name: Ada, phone: 555-0100}]", "/tenants/0/phone"),
		Entry("an unknown credential kind", "tenants: [{name: Ada, credentials: [{kind: cloud_key}]}]", "/tenants/0/credentials/0/kind"),
		Entry("a code without a source", "tenants: [{name: Ada, credentials: [{kind: code}]}]", "/tenants/0/credentials/0"),
		Entry("a code with two sources", "tenants: [{name: Ada, credentials: [{kind: code, generate: {}, secretRef: {name: a, key: pin}}]}]", "/tenants/0/credentials/0"),
		Entry("a card with a PIN", "tenants: [{name: Ada, credentials: [{kind: card, generate: {length: 6}}]}]", "/tenants/0/credentials/0"),
		Entry("a multi-phone card", "tenants: [{name: Ada, credentials: [{kind: card, multiPhoneSync: true}]}]", "/tenants/0/credentials/0"),
		Entry("a bad connection kind", "connection: {kind: Connection, name: seam}\ntenants: []", "/connection/kind"),
		Entry("two tenants whose names give the same objects", "tenants: [{name: Ada King}, {name: ada-king}]", "both name their objects"),
	)

	It("requires the access system once there are tenants", func() {
		_, err := run(nil, helm, "template", tenantsRelease, tenantChart, "--set", "tenants[0].name=Ada")
		Expect(err).To(MatchError(ContainSubstring("acsSystemId")))
	})
})
