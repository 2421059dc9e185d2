package admission

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/test/framework"
)

// newNamespace creates a namespace for one spec, so specs never see each other's objects.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"}}
	Expect(cp.Client.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// manifest turns a kind and the YAML of its spec into an object to create.
func manifest(kind, namespace, specYAML string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	var spec map[string]any
	Expect(yaml.Unmarshal([]byte(specYAML), &spec)).To(Succeed())
	obj.Object = map[string]any{"spec": spec}
	obj.SetGroupVersionKind(framework.GVK(kind))
	obj.SetGenerateName("obj-")
	if kind != "ClusterSeamConnection" {
		obj.SetNamespace(namespace)
	}
	return obj
}

const validAcsUser = `
connectionRef: {name: seam}
acsSystemId: acs_system1
fullName: Ada Lovelace
`

const validConnection = `
apiKeySecretRef: {name: seam-api-key}
`

func longID(n int) string { return strings.Repeat("a", n) }

func groups(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("g%d", i)
	}
	return "[" + strings.Join(ids, ", ") + "]"
}

var _ = Describe("Admission of bad manifests", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("is refused by the apiserver with a message naming the field",
		func(kind, specYAML string, wantInMessage ...string) {
			err := cp.Client.Create(ctx, manifest(kind, ns, specYAML))
			Expect(err).To(HaveOccurred(), "the apiserver accepted a bad manifest")
			for _, want := range wantInMessage {
				Expect(err.Error()).To(ContainSubstring(want))
			}
		},
		// AcsUser: required fields.
		Entry("AcsUser without connectionRef", "AcsUser", `{acsSystemId: s1, fullName: Ada}`,
			"spec.connectionRef: Required value"),
		Entry("AcsUser without connectionRef.name", "AcsUser", `{connectionRef: {kind: SeamConnection}, acsSystemId: s1, fullName: Ada}`,
			"spec.connectionRef.name: Required value"),
		Entry("AcsUser without acsSystemId", "AcsUser", `{connectionRef: {name: seam}, fullName: Ada}`,
			"spec.acsSystemId: Required value"),
		Entry("AcsUser without fullName", "AcsUser", `{connectionRef: {name: seam}, acsSystemId: s1}`,
			"spec.fullName: Required value"),
		Entry("AcsUser with an empty fullName", "AcsUser", `{connectionRef: {name: seam}, acsSystemId: s1, fullName: ""}`,
			"spec.fullName", "at least 1 chars long"),
		Entry("AcsUser with a blank fullName", "AcsUser", `{connectionRef: {name: seam}, acsSystemId: s1, fullName: "   "}`,
			"spec.fullName", "fullName must not be blank"),
		// AcsUser: connection kind.
		Entry("AcsUser with a connection of another kind", "AcsUser", `{connectionRef: {kind: Secret, name: seam}, acsSystemId: s1, fullName: Ada}`,
			"spec.connectionRef.kind: Unsupported value: \"Secret\""),
		Entry("AcsUser with a connection kind in the wrong case", "AcsUser", `{connectionRef: {kind: seamconnection, name: seam}, acsSystemId: s1, fullName: Ada}`,
			"spec.connectionRef.kind: Unsupported value"),
		// AcsUser: ids.
		Entry("AcsUser with whitespace in acsSystemId", "AcsUser", `{connectionRef: {name: seam}, acsSystemId: "acs system", fullName: Ada}`,
			"spec.acsSystemId", "should match"),
		Entry("AcsUser with an acsSystemId over 128 characters", "AcsUser", `{connectionRef: {name: seam}, acsSystemId: `+longID(129)+`, fullName: Ada}`,
			"spec.acsSystemId: Too long"),
		Entry("AcsUser with whitespace in userIdentityId", "AcsUser", validAcsUser+`userIdentityId: "user identity"`,
			"spec.userIdentityId", "should match"),
		// AcsUser: adoption and observation.
		Entry("AcsUser with whitespace in acsUserId", "AcsUser", validAcsUser+`acsUserId: "acs user"`,
			"spec.acsUserId", "should match"),
		Entry("AcsUser with an unknown managementPolicy", "AcsUser", validAcsUser+`managementPolicy: ReadOnly`,
			"spec.managementPolicy: Unsupported value"),
		Entry("AcsUser with an empty access group name", "AcsUser", validAcsUser+`accessGroupNames: [""]`,
			"spec.accessGroupNames[0]", "at least 1 chars long"),
		Entry("AcsUser with the same access group name twice", "AcsUser", validAcsUser+`accessGroupNames: [Gym, Gym]`,
			"spec.accessGroupNames[1]", "Duplicate value"),
		Entry("AcsUser with more than 64 groups by id and name together", "AcsUser", validAcsUser+`accessGroupIds: `+groups(40)+"\naccessGroupNames: "+groups(30),
			"spec.accessGroupNames", "at most 64 access groups"),
		// AcsUser: email.
		Entry("AcsUser with an email without @", "AcsUser", validAcsUser+`emailAddress: ada.example.com`,
			"spec.emailAddress", "must be an email address"),
		Entry("AcsUser with a space in the email", "AcsUser", validAcsUser+`emailAddress: "ada @example.com"`,
			"spec.emailAddress", "must be an email address"),
		Entry("AcsUser with an email without a domain dot", "AcsUser", validAcsUser+`emailAddress: ada@localhost`,
			"spec.emailAddress", "must be an email address"),
		// AcsUser: E.164 phones.
		Entry("AcsUser with a phone without +", "AcsUser", validAcsUser+`phoneNumber: "15555550100"`,
			"spec.phoneNumber", "E.164"),
		Entry("AcsUser with a phone whose country code starts with 0", "AcsUser", validAcsUser+`phoneNumber: "+0155555501"`,
			"spec.phoneNumber", "E.164"),
		Entry("AcsUser with dashes in the phone", "AcsUser", validAcsUser+`phoneNumber: "+1-555-555-0100"`,
			"spec.phoneNumber", "E.164"),
		Entry("AcsUser with letters in the phone", "AcsUser", validAcsUser+`phoneNumber: "+1555CALLNOW"`,
			"spec.phoneNumber", "E.164"),
		Entry("AcsUser with a phone of 16 digits", "AcsUser", validAcsUser+`phoneNumber: "+1234567890123456"`,
			"spec.phoneNumber"),
		Entry("AcsUser with only a country code", "AcsUser", validAcsUser+`phoneNumber: "+1"`,
			"spec.phoneNumber", "E.164"),
		// AcsUser: schedule.
		Entry("AcsUser whose schedule ends before it starts", "AcsUser", validAcsUser+`accessSchedule: {startsAt: "2026-06-01T00:00:00Z", endsAt: "2026-05-01T00:00:00Z"}`,
			"spec.accessSchedule.endsAt", "endsAt must be after startsAt"),
		Entry("AcsUser whose schedule ends when it starts", "AcsUser", validAcsUser+`accessSchedule: {startsAt: "2026-06-01T00:00:00Z", endsAt: "2026-06-01T00:00:00Z"}`,
			"spec.accessSchedule.endsAt", "endsAt must be after startsAt"),
		Entry("AcsUser with a startsAt that is not a date-time", "AcsUser", validAcsUser+`accessSchedule: {startsAt: tomorrow}`,
			"spec.accessSchedule.startsAt"),
		Entry("AcsUser with an endsAt that is a date without a time", "AcsUser", validAcsUser+`accessSchedule: {endsAt: "2026-06-01"}`,
			"spec.accessSchedule.endsAt"),
		// AcsUser: groups.
		Entry("AcsUser with a duplicate access group", "AcsUser", validAcsUser+`accessGroupIds: [g1, g2, g1]`,
			"spec.accessGroupIds[2]: Duplicate value: \"g1\""),
		Entry("AcsUser with an empty access group id", "AcsUser", validAcsUser+`accessGroupIds: [g1, ""]`,
			"spec.accessGroupIds[1]", "at least 1 chars long"),
		Entry("AcsUser with whitespace in an access group id", "AcsUser", validAcsUser+`accessGroupIds: ["g 1"]`,
			"spec.accessGroupIds[0]", "should match"),
		Entry("AcsUser with too many access groups", "AcsUser", validAcsUser+`accessGroupIds: `+groups(seamv1alpha1.MaxAccessGroups+1),
			"spec.accessGroupIds: Too many"),
		// AcsUser: policy.
		Entry("AcsUser with an unknown deletionPolicy", "AcsUser", validAcsUser+`deletionPolicy: Retain`,
			"spec.deletionPolicy: Unsupported value: \"Retain\""),
		Entry("AcsUser with suspended not a boolean", "AcsUser", validAcsUser+`suspended: "yes"`,
			"spec.suspended"),
		// SeamConnection.
		Entry("SeamConnection with plain http and no opt-in", "SeamConnection", validConnection+`endpoint: http://connect.example.com`,
			"spec.endpoint", "insecureAllowHTTP"),
		Entry("SeamConnection with plain http and the opt-in false", "SeamConnection", validConnection+"endpoint: http://127.0.0.1:8765\ninsecureAllowHTTP: false",
			"spec.endpoint", "insecureAllowHTTP"),
		Entry("SeamConnection with an endpoint that is not a URL", "SeamConnection", validConnection+`endpoint: connect.getseam.com`,
			"spec.endpoint", "absolute http(s) URL"),
		Entry("SeamConnection with an ftp endpoint", "SeamConnection", validConnection+`endpoint: ftp://connect.getseam.com`,
			"spec.endpoint", "absolute http(s) URL"),
		Entry("SeamConnection with user info in the endpoint (the key would go to evil.example.com)", "SeamConnection", validConnection+`endpoint: "https://connect.getseam.com@evil.example.com"`,
			"spec.endpoint", "must not carry user info"),
		Entry("SeamConnection with user and password in the endpoint", "SeamConnection", validConnection+`endpoint: "https://u:p@connect.getseam.com"`,
			"spec.endpoint", "must not carry user info"),
		Entry("SeamConnection with a query in the endpoint", "SeamConnection", validConnection+`endpoint: "https://connect.getseam.com/?next=http://evil"`,
			"spec.endpoint", "a query or a fragment"),
		Entry("SeamConnection with a fragment in the endpoint", "SeamConnection", validConnection+`endpoint: "https://connect.getseam.com/#x"`,
			"spec.endpoint", "a query or a fragment"),
		Entry("SeamConnection with a Secret name that is a path", "SeamConnection", `{apiKeySecretRef: {name: "../other-ns/secrets/key"}}`,
			"spec.apiKeySecretRef.name", "should match"),
		Entry("SeamConnection with an upper-case Secret name", "SeamConnection", `{apiKeySecretRef: {name: "Seam-Key"}}`,
			"spec.apiKeySecretRef.name", "should match"),
		Entry("SeamConnection with a slash in the Secret key", "SeamConnection", `{apiKeySecretRef: {name: s, key: "../token"}}`,
			"spec.apiKeySecretRef.key", "should match"),
		Entry("SeamConnection without apiKeySecretRef", "SeamConnection", `{endpoint: "https://connect.getseam.com"}`,
			"spec.apiKeySecretRef: Required value"),
		Entry("SeamConnection without a secret name", "SeamConnection", `{apiKeySecretRef: {key: apiKey}}`,
			"spec.apiKeySecretRef.name: Required value"),
		Entry("SeamConnection with an empty secret key", "SeamConnection", `{apiKeySecretRef: {name: s, key: ""}}`,
			"spec.apiKeySecretRef.key", "at least 1 chars long"),
		Entry("SeamConnection with whitespace in workspaceId", "SeamConnection", validConnection+`workspaceId: "my workspace"`,
			"spec.workspaceId", "should match"),
		Entry("SeamConnection with a zero rate limit", "SeamConnection", validConnection+`rateLimit: {requestsPerSecond: 0}`,
			"spec.rateLimit.requestsPerSecond", "greater than or equal to 1"),
		// ClusterSeamConnection.
		Entry("ClusterSeamConnection without the secret's namespace", "ClusterSeamConnection", validConnection,
			"spec.apiKeySecretRef.namespace: Required value"),
		Entry("ClusterSeamConnection with user info in the endpoint", "ClusterSeamConnection", `{apiKeySecretRef: {name: s, namespace: ops}, endpoint: "https://connect.getseam.com@10.0.0.1"}`,
			"spec.endpoint", "must not carry user info"),
		Entry("ClusterSeamConnection with a Secret namespace that is not a namespace name", "ClusterSeamConnection", `{apiKeySecretRef: {name: s, namespace: "ops/../kube-system"}}`,
			"spec.apiKeySecretRef.namespace", "should match"),
		Entry("AcsUser with a connection name that is a path", "AcsUser", `{connectionRef: {name: "../../clusterseamconnections/x"}, acsSystemId: s1, fullName: Ada}`,
			"spec.connectionRef.name", "should match"),
		Entry("ClusterSeamConnection with plain http and no opt-in", "ClusterSeamConnection", `{apiKeySecretRef: {name: s, namespace: ops}, endpoint: "http://seam.internal"}`,
			"spec.endpoint", "insecureAllowHTTP"),
		// spec.webhook.
		Entry("SeamConnection with an empty webhook", "SeamConnection", validConnection+`webhook: {}`,
			"spec.webhook", "exactly one of secretRef"),
		Entry("SeamConnection with both a webhook secret and a registration", "SeamConnection",
			validConnection+`webhook: {secretRef: {name: hook}, register: {url: "https://hooks.example.com/webhooks/seam/ns/seam"}}`,
			"spec.webhook", "exactly one of secretRef"),
		Entry("SeamConnection with a webhook secret in another namespace", "SeamConnection",
			validConnection+`webhook: {secretRef: {name: hook, namespace: kube-system}}`,
			"spec.webhook", "leave secretRef.namespace unset"),
		Entry("SeamConnection registering a webhook at a URL that is not one", "SeamConnection",
			validConnection+`webhook: {register: {url: "hooks.example.com"}}`,
			"spec.webhook.register.url", "absolute http(s) URL"),
		Entry("SeamConnection registering a webhook at another connection's path", "SeamConnection",
			validConnection+`webhook: {register: {url: "https://hooks.example.com/webhooks/seam/ns/other"}}`,
			"spec.webhook.register.url", "must end in this connection's receiver path"),
		Entry("ClusterSeamConnection registering a webhook at a namespaced connection's path", "ClusterSeamConnection",
			`{apiKeySecretRef: {name: s, namespace: ops}, webhook: {register: {url: "https://hooks.example.com/webhooks/seam/ns/seam"}}}`,
			"spec.webhook.register.url", "/webhooks/seam/cluster/<name>"),
		Entry("ClusterSeamConnection with a webhook secret without a namespace", "ClusterSeamConnection",
			`{apiKeySecretRef: {name: s, namespace: ops}, webhook: {secretRef: {name: hook}}}`,
			"spec.webhook", "needs a namespace"),
	)

	It("accepts each form of spec.webhook", func() {
		for _, tc := range []struct{ kind, name, spec string }{
			{"SeamConnection", "", validConnection + `webhook: {secretRef: {name: hook}}`},
			{"SeamConnection", "seam", validConnection + `webhook: {register: {url: "https://hooks.example.com/webhooks/seam/` + ns + `/seam"}}`},
			// Behind a proxy that adds a prefix, the path still ends in the connection's.
			{"SeamConnection", "behind-proxy", validConnection + `webhook: {register: {url: "https://example.com/hooks/webhooks/seam/` + ns + `/behind-proxy"}}`},
			{"ClusterSeamConnection", "", `{apiKeySecretRef: {name: s, namespace: ops}, webhook: {secretRef: {name: hook, namespace: ops}}}`},
			{"ClusterSeamConnection", "registered-" + ns, `{apiKeySecretRef: {name: s, namespace: ops}, webhook: {register: {url: "https://hooks.example.com/webhooks/seam/cluster/registered-` + ns + `"}}}`},
		} {
			obj := manifest(tc.kind, ns, tc.spec)
			if tc.name != "" {
				obj.SetGenerateName("")
				obj.SetName(tc.name)
			}
			Expect(cp.Client.Create(ctx, obj)).To(Succeed(), tc.spec)
		}
	})
})

var _ = Describe("Admission of updates", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	create := func(specYAML string) *unstructured.Unstructured {
		obj := manifest("AcsUser", ns, specYAML)
		Expect(cp.Client.Create(ctx, obj)).To(Succeed())
		return obj
	}
	update := func(obj *unstructured.Unstructured, path []string, value any) error {
		if value == nil {
			unstructured.RemoveNestedField(obj.Object, path...)
		} else {
			Expect(unstructured.SetNestedField(obj.Object, value, path...)).To(Succeed())
		}
		return cp.Client.Update(ctx, obj)
	}

	It("refuses a change of acsSystemId", func() {
		obj := create(validAcsUser)
		err := update(obj, []string{"spec", "acsSystemId"}, "acs_system2")
		Expect(err).To(MatchError(And(ContainSubstring("spec.acsSystemId"), ContainSubstring("acsSystemId is immutable"))))
	})
	// Seam cannot re-link an ACS user, and an adopted user cannot be swapped for
	// another: both ids are fixed at creation.
	DescribeTable("ids fixed at creation",
		func(field, atCreation string, value any, want string) {
			spec := validAcsUser
			if atCreation != "" {
				spec += field + ": " + atCreation
			}
			err := update(create(spec), []string{"spec", field}, value)
			Expect(err).To(MatchError(And(ContainSubstring("spec."+field), ContainSubstring(want))))
		},
		Entry("userIdentityId changed", "userIdentityId", "uid1", "uid2", "fixed at creation"),
		Entry("userIdentityId added later", "userIdentityId", "", "uid1", "fixed at creation"),
		Entry("userIdentityId removed", "userIdentityId", "uid1", nil, "fixed at creation"),
		Entry("acsUserId changed", "acsUserId", "u1", "u2", "set at creation only"),
		Entry("acsUserId added later", "acsUserId", "", "u1", "set at creation only"),
		Entry("acsUserId removed", "acsUserId", "u1", nil, "set at creation only"),
	)
	It("lets managementPolicy and accessGroupNames change both ways", func() {
		obj := create(validAcsUser + "acsUserId: u1\nmanagementPolicy: ObserveOnly")
		Expect(update(obj, []string{"spec", "managementPolicy"}, "Manage")).To(Succeed())
		Expect(update(obj, []string{"spec", "managementPolicy"}, "ObserveOnly")).To(Succeed())
		Expect(update(obj, []string{"spec", "accessGroupNames"}, []any{"Gym", "Front door"})).To(Succeed())
		Expect(update(obj, []string{"spec", "accessGroupNames"}, nil)).To(Succeed())
	})
	It("accepts changes of every mutable field", func() {
		obj := create(validAcsUser + "userIdentityId: uid1")
		Expect(update(obj, []string{"spec", "fullName"}, "Ada King")).To(Succeed())
		Expect(update(obj, []string{"spec", "emailAddress"}, "ada@example.org")).To(Succeed())
		Expect(update(obj, []string{"spec", "phoneNumber"}, "+442071234567")).To(Succeed())
		Expect(update(obj, []string{"spec", "suspended"}, true)).To(Succeed())
		Expect(update(obj, []string{"spec", "accessGroupIds"}, []any{"g1", "g2"})).To(Succeed())
		Expect(update(obj, []string{"spec", "deletionPolicy"}, "Orphan")).To(Succeed())
		Expect(update(obj, []string{"spec", "accessSchedule"}, map[string]any{"startsAt": "2026-01-01T00:00:00Z", "endsAt": "2031-01-01T00:00:00Z"})).To(Succeed())
		Expect(update(obj, []string{"spec", "accessSchedule"}, map[string]any{"endsAt": "2032-01-01T00:00:00Z"})).To(Succeed())
		Expect(update(obj, []string{"spec", "accessSchedule"}, nil)).To(Succeed())
	})

	// Seam's /acs/users/update takes a schedule only with both ends: a schedule without
	// an end is refused at admission unless it was there, unchanged, since creation.
	DescribeTable("schedules Seam cannot apply to an existing user",
		func(before string, after map[string]any) {
			obj := create(validAcsUser + before)
			err := update(obj, []string{"spec", "accessSchedule"}, after)
			Expect(err).To(MatchError(And(ContainSubstring("spec.accessSchedule"), ContainSubstring("both ends"))))
		},
		Entry("adding a schedule with only a start", "", map[string]any{"startsAt": "2026-01-01T00:00:00Z"}),
		Entry("dropping the end of a schedule", "accessSchedule: {startsAt: 2026-01-01T00:00:00Z, endsAt: 2031-01-01T00:00:00Z}",
			map[string]any{"startsAt": "2026-01-01T00:00:00Z"}),
		Entry("moving the start of a schedule without an end", "accessSchedule: {startsAt: 2026-01-01T00:00:00Z}",
			map[string]any{"startsAt": "2026-02-01T00:00:00Z"}),
	)
	It("keeps a schedule without an end that was set at creation", func() {
		obj := create(validAcsUser + "accessSchedule: {startsAt: 2026-01-01T00:00:00Z}")
		Expect(update(obj, []string{"spec", "fullName"}, "Ada King")).To(Succeed())
	})
})

var _ = Describe("Admission of good manifests", func() {
	It("accepts every sample in config/samples", func() {
		ns := newNamespace()
		objs := readManifests(filepath.Join(framework.RepoRoot(), "config", "samples"))
		Expect(len(objs)).To(BeNumerically(">=", 4))
		for _, obj := range objs {
			obj.SetNamespace(ns)
			Expect(cp.Client.Create(ctx, obj)).To(Succeed(), "sample %s %s", obj.GetKind(), obj.GetName())
		}
	})

	It("fills in the documented defaults", func() {
		ns := newNamespace()
		user := manifest("AcsUser", ns, validAcsUser)
		Expect(cp.Client.Create(ctx, user)).To(Succeed())
		typed := &seamv1alpha1.AcsUser{}
		Expect(cp.Client.Get(ctx, client.ObjectKeyFromObject(user), typed)).To(Succeed())
		Expect(typed.Spec.ConnectionRef.Kind).To(Equal("SeamConnection"))
		Expect(typed.Spec.DeletionPolicy).To(Equal(seamv1alpha1.DeletionPolicyDelete))
		Expect(typed.Spec.Suspended).To(BeFalse())
		Expect(typed.Spec.ManagementPolicy).To(Equal(seamv1alpha1.ManagementPolicyManage))

		conn := manifest("SeamConnection", ns, validConnection)
		Expect(cp.Client.Create(ctx, conn)).To(Succeed())
		typedConn := &seamv1alpha1.SeamConnection{}
		Expect(cp.Client.Get(ctx, client.ObjectKeyFromObject(conn), typedConn)).To(Succeed())
		Expect(typedConn.Spec.Endpoint).To(Equal("https://connect.getseam.com"))
		Expect(typedConn.Spec.APIKeySecretRef.Key).To(Equal("apiKey"))
	})

	It("accepts opaque ids that are not UUIDs, a plain-http sandbox with the opt-in, and an open-ended schedule", func() {
		ns := newNamespace()
		Expect(cp.Client.Create(ctx, manifest("AcsUser", ns, validAcsUser+"accessGroupIds: [acs_access_group1, 0a6c1d9e-2c51-4b6e-9f0e-3f1f6c1f2d7a]\naccessSchedule: {startsAt: \"2026-01-01T09:00:00+02:00\"}"))).To(Succeed())
		Expect(cp.Client.Create(ctx, manifest("SeamConnection", ns, validConnection+"endpoint: http://127.0.0.1:8765\ninsecureAllowHTTP: true"))).To(Succeed())
		Expect(cp.Client.Create(ctx, manifest("SeamConnection", ns, `{apiKeySecretRef: {name: seam.api-key, key: api_Key.v2}, endpoint: "https://seam-proxy.example.com:8443/seam/"}`))).To(Succeed())
		Expect(cp.Client.Create(ctx, manifest("ClusterSeamConnection", ns, `{apiKeySecretRef: {name: s, namespace: ops}, namespaceSelector: {matchLabels: {tenant: "true"}}}`))).To(Succeed())
	})
})

var _ = Describe("kubectl explain", func() {
	It("shows the godoc of AcsUser's fields", func() {
		kubeconfig, err := cp.Kubeconfig(GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			var out bytes.Buffer
			cmd := exec.Command("kubectl", "explain", "acsuser.spec", "--kubeconfig", kubeconfig)
			cmd.Stdout, cmd.Stderr = &out, &out
			g.Expect(cmd.Run()).To(Succeed(), out.String())
			g.Expect(out.String()).To(ContainSubstring("acsSystemId is the Seam ACS system"))
			g.Expect(out.String()).To(ContainSubstring("deletionPolicy says what happens to the remote ACS user"))
			g.Expect(out.String()).To(ContainSubstring("E.164"))
		}).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(),
			"the apiserver publishes a new CRD's schema to OpenAPI a few seconds after it is established")
	})
})

// readManifests decodes every YAML document of the directory's files, except the
// kustomization itself.
func readManifests(dir string) []*unstructured.Unstructured {
	entries, err := os.ReadDir(dir)
	Expect(err).NotTo(HaveOccurred())
	var objs []*unstructured.Unstructured
	for _, e := range entries {
		if e.IsDir() || e.Name() == "kustomization.yaml" || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		Expect(err).NotTo(HaveOccurred())
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); err != nil {
				break
			}
			if len(obj.Object) > 0 {
				objs = append(objs, obj)
			}
		}
	}
	return objs
}
