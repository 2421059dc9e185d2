package packaging

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

var _ = Describe("The kustomize config", func() {
	It("renders config/default into one namespace, with objects the apiserver accepts", func() {
		out := mustRun(nil, "kubectl", "kustomize", "config/default")
		objs := parseManifests(out)
		Expect(kinds(objs)).To(Equal([]string{
			"ClusterRole", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding",
			"CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition",
			"Deployment", "Namespace", "Role", "Role", "RoleBinding", "RoleBinding", "Service", "ServiceAccount",
		}))
		signing := into(find(objs, "Role", "-own-secrets-role"), &rbacv1.Role{})
		Expect(permissions(signing.Rules)).To(ConsistOf("group= resource=secrets name= verb=create",
			"group= resource=secrets name= verb=update", "group= resource=secrets name= verb=delete"),
			"the manager writes Secrets in its own namespace only")
		for _, o := range objs {
			Expect(o.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/part-of", "acs-operator"), o.GetKind()+"/"+o.GetName())
			switch o.GetKind() {
			case "Namespace":
				Expect(o.GetName()).To(Equal("acs-operator-system"))
			case "Deployment", "Service", "ServiceAccount", "Role", "RoleBinding":
				Expect(o.GetNamespace()).To(Equal("acs-operator-system"), o.GetKind()+"/"+o.GetName())
			}
		}

		deploy := into(find(objs, "Deployment", "acs-operator-controller-manager"), &appsv1.Deployment{})
		c := deploy.Spec.Template.Spec.Containers[0]
		Expect(c.Name).To(Equal("manager"))
		Expect(c.Image).To(Equal("ghcr.io/acs-operator/acs-operator:v0.1.0"))
		Expect(c.Command).To(Equal([]string{"/manager"}))
		Expect(c.Args).To(Equal([]string{"--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081",
			"--allowed-endpoints=https://connect.getseam.com"}))
		Expect(deploy.Spec.Template.Annotations).To(HaveKeyWithValue("kubectl.kubernetes.io/default-container", "manager"))
		Expect(deploy.Spec.Template.Spec.ServiceAccountName).To(Equal("acs-operator-controller-manager"))
		Expect(c.Resources.Requests).NotTo(BeEmpty())
		Expect(c.Resources.Limits).NotTo(BeEmpty())
		expectRestricted(deploy)
		expectProbes(c)

		svc := into(find(objs, "Service", "acs-operator-controller-manager-metrics-service"), &corev1.Service{})
		Expect(svc.Spec.Ports).To(HaveLen(1))
		Expect(svc.Spec.Ports[0].Name).To(Equal("https"))
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(8443))
		Expect(svc.Spec.Selector).To(Equal(deploy.Spec.Selector.MatchLabels))

		// The bindings point at the prefixed roles and ServiceAccount.
		for _, name := range []string{"acs-operator-manager-rolebinding", "acs-operator-metrics-auth-rolebinding"} {
			b := into(find(objs, "ClusterRoleBinding", name), &rbacv1.ClusterRoleBinding{})
			Expect(b.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: "acs-operator-controller-manager", Namespace: "acs-operator-system"}))
		}
		manager := into(find(objs, "ClusterRole", "acs-operator-manager-role"), &rbacv1.ClusterRole{})
		Expect(permissions(manager.Rules)).To(Equal(permissions(generatedManagerRole().Rules)))
		Expect(permissions(manager.Rules)).NotTo(ContainElement(MatchRegexp(`resource=secrets .* verb=(patch|delete)`)),
			"outside its own namespace the manager reads Secrets, and writes only the generated-PIN Secrets it owns (create, update)")

		// The Namespace comes first in the output, so it is created for real before the
		// namespaced objects are dry-run into it.
		createNamespace("acs-operator-system")
		Expect(dryRunApply(out)).To(ContainSubstring("deployment.apps/acs-operator-controller-manager created (server dry run)"))
	})

	It("changes --allowed-endpoints with the documented patch in config/allowed-endpoints", func() {
		objs := parseManifests(mustRun(nil, "kubectl", "kustomize", "config/allowed-endpoints"))
		c := into(find(objs, "Deployment", "acs-operator-controller-manager"), &appsv1.Deployment{}).Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(ContainElement("--allowed-endpoints=https://connect.getseam.com,http://seam-sandbox.seam.svc:8765"))
		Expect(c.Args).To(HaveEach(Not(Equal("--allowed-endpoints=https://connect.getseam.com"))), "the default is replaced, not kept beside")
	})

	It("turns the webhook receiver on with the component in config/webhook-receiver (used by config/webhook)", func() {
		objs := parseManifests(mustRun(nil, "kubectl", "kustomize", "config/webhook"))
		deploy := into(find(objs, "Deployment", "acs-operator-controller-manager"), &appsv1.Deployment{})
		c := deploy.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(ContainElements("--webhook-bind-address=:9444", "--events-catch-up-interval=3m"))
		Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "webhook", ContainerPort: 9444, Protocol: corev1.ProtocolTCP}))
		svc := into(find(objs, "Service", "acs-operator-webhook-service"), &corev1.Service{})
		Expect(svc.GetNamespace()).To(Equal("acs-operator-system"))
		Expect(svc.Spec.Selector).To(Equal(deploy.Spec.Selector.MatchLabels), "the webhook Service selects the manager's pods")
		Expect(svc.Spec.Ports[0].TargetPort.String()).To(Equal("webhook"))
		defaults := parseManifests(mustRun(nil, "kubectl", "kustomize", "config/default"))
		plain := into(find(defaults, "Deployment", "acs-operator-controller-manager"), &appsv1.Deployment{})
		Expect(plain.Spec.Template.Spec.Containers[0].Args).NotTo(ContainElement(HavePrefix("--webhook-bind-address")), "off by default")
	})

	It("keeps the ServiceMonitor in config/prometheus, aimed at the metrics Service", func() {
		objs := parseManifests(mustRun(nil, "kubectl", "kustomize", "config/prometheus"))
		sm := find(objs, "ServiceMonitor", "acs-operator-controller-manager-metrics-monitor")
		Expect(sm.GetNamespace()).To(Equal("acs-operator-system"))
		defaults := parseManifests(mustRun(nil, "kubectl", "kustomize", "config/default"))
		svc := into(find(defaults, "Service", "-metrics-service"), &corev1.Service{})
		spec := sm.Object["spec"].(map[string]any)
		Expect(spec["selector"].(map[string]any)["matchLabels"]).To(BeEquivalentTo(toAnyMap(svc.Spec.Selector)))
		Expect(spec["endpoints"].([]any)[0].(map[string]any)).To(HaveKeyWithValue("port", "https"))
	})

	It("writes one dist/install.yaml with hack/build-installer.sh, for any image", func() {
		dist := filepath.Join(GinkgoT().TempDir(), "install.yaml")
		GinkgoT().Setenv("OUT", dist)
		mustRun(nil, "hack/build-installer.sh", "registry.example.com:5000/acs-operator:dev")
		data, err := os.ReadFile(dist)
		Expect(err).NotTo(HaveOccurred())
		deploy := into(find(parseManifests(data), "Deployment", "-controller-manager"), &appsv1.Deployment{})
		Expect(deploy.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example.com:5000/acs-operator:dev"))
		_, err = run(nil, "hack/build-installer.sh", "no-tag")
		Expect(err).To(MatchError(ContainSubstring("IMAGE must be REPOSITORY:TAG")))
	})
})
