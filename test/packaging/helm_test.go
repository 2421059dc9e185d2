package packaging

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

const (
	chart       = "charts/acs-operator"
	release     = "acs-operator"
	releaseNS   = "acs-operator-system"
	customVals  = "test/packaging/testdata/values-custom.yaml"
	monitorVals = "test/packaging/testdata/values-servicemonitor.yaml"
)

// helmTemplate renders the chart as `helm template` does for an install into releaseNS.
func helmTemplate(extra ...string) []byte {
	GinkgoHelper()
	args := append([]string{"template", release, chart, "--namespace", releaseNS, "--include-crds"}, extra...)
	return mustRun(nil, helm, args...)
}

var _ = Describe("The Helm chart", func() {
	BeforeEach(func() { createNamespace(releaseNS) })

	It("passes helm lint, with default and non-default values", func() {
		mustRun(nil, helm, "lint", "--strict", chart)
		mustRun(nil, helm, "lint", "--strict", chart, "-f", customVals)
		mustRun(nil, helm, "lint", "--strict", chart, "-f", monitorVals)
		mustRun(nil, helm, "lint", "--strict", chart, "-f", "test/packaging/testdata/values-webhook.yaml")
	})

	It("renders with default values into objects the apiserver accepts", func() {
		out := helmTemplate()
		objs := parseManifests(out)
		Expect(kinds(objs)).To(Equal([]string{
			"ClusterRole", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding",
			"CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition",
			"Deployment", "Role", "Role", "RoleBinding", "RoleBinding", "Service", "ServiceAccount",
		}))

		deploy := into(find(objs, "Deployment", "-controller-manager"), &appsv1.Deployment{})
		Expect(deploy.Namespace).To(Equal(releaseNS))
		Expect(*deploy.Spec.Replicas).To(BeEquivalentTo(1))
		Expect(deploy.Spec.Template.Annotations).To(HaveKeyWithValue("kubectl.kubernetes.io/default-container", "manager"))
		c := deploy.Spec.Template.Spec.Containers[0]
		Expect(c.Image).To(Equal("ghcr.io/acs-operator/acs-operator:v0.1.0"), "image.tag defaults to appVersion")
		Expect(c.Args).To(ContainElements("--leader-elect=true", "--metrics-bind-address=:8443",
			"--metrics-secure=true", "--health-probe-bind-address=:8081", "--allowed-endpoints=https://connect.getseam.com"))
		expectRestricted(deploy)
		expectProbes(c)
		Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
		Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceCPU))

		svc := into(find(objs, "Service", "-metrics"), &corev1.Service{})
		Expect(svc.Spec.Ports).To(HaveLen(1))
		Expect(svc.Spec.Ports[0].Name).To(Equal("https"))
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(8443))
		Expect(svc.Spec.Selector).To(Equal(deploy.Spec.Selector.MatchLabels), "the metrics Service selects the manager's pods")

		auth := into(find(objs, "ClusterRole", "-metrics-auth-role"), &rbacv1.ClusterRole{})
		Expect(permissions(auth.Rules)).To(Equal([]string{
			"group=authentication.k8s.io resource=tokenreviews name= verb=create",
			"group=authorization.k8s.io resource=subjectaccessreviews name= verb=create",
		}))
		reader := into(find(objs, "ClusterRole", "-metrics-reader"), &rbacv1.ClusterRole{})
		Expect(permissions(reader.Rules)).To(Equal([]string{"url=/metrics verb=get"}))
		signing := into(find(objs, "Role", "-own-secrets-role"), &rbacv1.Role{})
		Expect(signing.Namespace).To(Equal(releaseNS))
		Expect(permissions(signing.Rules)).To(ConsistOf("group= resource=secrets name= verb=create",
			"group= resource=secrets name= verb=update", "group= resource=secrets name= verb=delete"))
		le := into(find(objs, "Role", "-leader-election-role"), &rbacv1.Role{})
		Expect(le.Namespace).To(Equal(releaseNS))
		Expect(permissions(le.Rules)).To(ContainElements(
			"group=coordination.k8s.io resource=leases name= verb=update",
			"group= resource=events name= verb=create"))

		Expect(dryRunApply(out)).To(ContainSubstring("deployment.apps/acs-operator-controller-manager created (server dry run)"))
	})

	It("renders with non-default values into objects the apiserver accepts", func() {
		out := helmTemplate("-f", customVals)
		objs := parseManifests(out)
		deploy := into(find(objs, "Deployment", "acs-controller-manager"), &appsv1.Deployment{})
		spec := deploy.Spec.Template.Spec
		c := spec.Containers[0]
		Expect(*deploy.Spec.Replicas).To(BeEquivalentTo(2))
		Expect(c.Image).To(Equal("registry.example.com/platform/acs-operator:v0.1.0-rc.1"))
		Expect(c.ImagePullPolicy).To(Equal(corev1.PullAlways))
		Expect(spec.ImagePullSecrets).To(ConsistOf(corev1.LocalObjectReference{Name: "registry-credentials"}))
		Expect(c.Args).To(ContainElements("--metrics-bind-address=:9443", "--health-probe-bind-address=:9081",
			"--zap-log-level=debug", "--zap-encoder=console", "--max-concurrent-reconciles=8",
			"--resync-period=10m", "--zap-devel",
			"--allowed-endpoints=https://connect.getseam.com,http://seam-sandbox.seam.svc:8765"))
		Expect(c.Ports).To(ContainElements(
			corev1.ContainerPort{Name: "metrics", ContainerPort: 9443, Protocol: corev1.ProtocolTCP},
			corev1.ContainerPort{Name: "health", ContainerPort: 9081, Protocol: corev1.ProtocolTCP}))
		Expect(c.Resources.Limits[corev1.ResourceCPU]).To(Equal(resource.MustParse("1")))
		Expect(spec.NodeSelector).To(HaveKeyWithValue("node-role.example.com/infra", "true"))
		Expect(spec.Tolerations).To(ConsistOf(corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual,
			Value: "infra", Effect: corev1.TaintEffectNoSchedule}))
		Expect(spec.Affinity.PodAntiAffinity).NotTo(BeNil())
		Expect(spec.PriorityClassName).To(Equal("system-cluster-critical"))
		Expect(deploy.Spec.Template.Annotations).To(HaveKeyWithValue("example.com/team", "facilities"))
		Expect(deploy.Spec.Template.Labels).To(HaveKeyWithValue("example.com/cost-center", "42"))
		expectRestricted(deploy)

		sa := into(find(objs, "ServiceAccount", "acs-controller-manager"), &corev1.ServiceAccount{})
		Expect(sa.Annotations).To(HaveKey("eks.amazonaws.com/role-arn"))
		Expect(spec.ServiceAccountName).To(Equal(sa.Name))
		svc := into(find(objs, "Service", "acs-metrics"), &corev1.Service{})
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(9443))

		Expect(dryRunApply(out)).To(ContainSubstring("deployment.apps/acs-controller-manager created (server dry run)"))
	})

	It("serves the webhook receiver behind its own Service when webhook.enabled", func() {
		Expect(helmTemplate()).NotTo(ContainSubstring("--webhook-bind-address"), "off by default")
		out := helmTemplate("-f", "test/packaging/testdata/values-webhook.yaml")
		objs := parseManifests(out)
		deploy := into(find(objs, "Deployment", "-controller-manager"), &appsv1.Deployment{})
		c := deploy.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(ContainElements("--webhook-bind-address=:9555", "--events-catch-up-interval=1m", "--webhook-cert-dir=/var/run/webhook-tls"))
		Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "webhook", ContainerPort: 9555, Protocol: corev1.ProtocolTCP}))
		Expect(c.VolumeMounts).To(ContainElement(HaveField("MountPath", "/var/run/webhook-tls")))
		Expect(deploy.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", "acs-operator-webhook-tls")))
		svc := into(find(objs, "Service", "-webhook"), &corev1.Service{})
		Expect(svc.Spec.Selector).To(Equal(deploy.Spec.Selector.MatchLabels), "the webhook Service selects the manager's pods")
		Expect(svc.Spec.Ports[0].Name).To(Equal("https"))
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(9555))
		expectRestricted(deploy)
		Expect(dryRunApply(out)).To(ContainSubstring("service/"))
	})

	It("leaves out metrics and leader-election objects when they are off", func() {
		out := helmTemplate("-f", "test/packaging/testdata/values-metrics-off.yaml")
		objs := parseManifests(out)
		Expect(kinds(objs)).To(Equal([]string{
			"ClusterRole", "ClusterRoleBinding",
			"CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition",
			"Deployment", "Role", "RoleBinding", "ServiceAccount",
		}), "the own-secrets Role stays: the manager needs it whatever the values")
		c := into(find(objs, "Deployment", "-controller-manager"), &appsv1.Deployment{}).Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(ContainElements("--leader-elect=false", "--metrics-bind-address=0"))
		dryRunApply(out)
	})

	It("renders a ServiceMonitor for the metrics Service when asked", func() {
		objs := parseManifests(helmTemplate("-f", monitorVals))
		sm := find(objs, "ServiceMonitor", "-metrics")
		Expect(sm.GetLabels()).To(HaveKeyWithValue("release", "kube-prometheus-stack"))
		svc := into(find(objs, "Service", "-metrics"), &corev1.Service{})
		endpoint := sm.Object["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
		Expect(endpoint).To(HaveKeyWithValue("port", svc.Spec.Ports[0].Name))
		Expect(endpoint).To(HaveKeyWithValue("scheme", "https"))
		Expect(endpoint).To(HaveKeyWithValue("interval", "30s"))
		selector := sm.Object["spec"].(map[string]any)["selector"].(map[string]any)["matchLabels"]
		Expect(selector).To(BeEquivalentTo(toAnyMap(svc.Spec.Selector)))
	})

	DescribeTable("refuses bad values with the schema's error",
		func(valuesFile, wantInError string) {
			for _, cmd := range [][]string{
				{"template", release, chart, "-f", valuesFile},
				{"install", release, chart, "--namespace", releaseNS, "--dry-run=server", "-f", valuesFile},
			} {
				_, err := run(nil, helm, cmd...)
				Expect(err).To(HaveOccurred(), "helm %s accepted %s", cmd[0], valuesFile)
				Expect(err.Error()).To(ContainSubstring("values don't meet the specifications of the schema"))
				Expect(err.Error()).To(ContainSubstring(wantInError))
			}
		},
		Entry("a string replica count", "test/packaging/testdata/values-bad-type.yaml", "at '/replicaCount': got string, want integer"),
		Entry("an unknown key (a typo of replicaCount)", "test/packaging/testdata/values-bad-key.yaml", "additional properties 'replicas' not allowed"),
		Entry("an allowed endpoint with user info", "test/packaging/testdata/values-bad-endpoint.yaml", "at '/allowedEndpoints/0'"),
		Entry("no allowed endpoint at all", "test/packaging/testdata/values-no-endpoint.yaml", "at '/allowedEndpoints'"),
	)

	It("refuses two replicas without leader election", func() {
		_, err := run(nil, helm, "template", release, chart, "--set", "replicaCount=2", "--set", "leaderElection.enabled=false")
		Expect(err).To(MatchError(ContainSubstring("replicaCount > 1 needs leaderElection.enabled: true")))
	})

	It("installs for real with helm install, and uninstalls", func() {
		const ns = "helm-install"
		createNamespace(ns)
		out := mustRun(nil, helm, "install", "acs-real", chart, "--namespace", ns)
		Expect(string(out)).To(ContainSubstring("STATUS: deployed"))
		Expect(string(out)).To(ContainSubstring("kubectl -n helm-install rollout status deployment/acs-real-acs-operator-controller-manager"))
		deploy := &appsv1.Deployment{}
		Expect(cp.Client.Get(ctx, objectKey(ns, "acs-real-acs-operator-controller-manager"), deploy)).To(Succeed())
		mustRun(nil, helm, "uninstall", "acs-real", "--namespace", ns)
	})

	It("ships the generated CRDs, byte for byte", func() {
		bases, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(bases).NotTo(BeEmpty())
		shipped, err := filepath.Glob(filepath.Join(root, chart, "crds", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(names(shipped)).To(Equal(names(bases)), "the chart's crds/ must hold exactly config/crd/bases: run hack/sync-chart-crds.sh")
		for _, base := range bases {
			want, err := os.ReadFile(base)
			Expect(err).NotTo(HaveOccurred())
			have, err := os.ReadFile(filepath.Join(root, chart, "crds", filepath.Base(base)))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(have)).To(Equal(string(want)), "%s differs from config/crd/bases: run hack/sync-chart-crds.sh", filepath.Base(base))
		}
	})

	It("grants its manager exactly what the generated ClusterRole grants", func() {
		generated := generatedManagerRole()
		copied, err := os.ReadFile(filepath.Join(root, chart, "files", "manager-role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		original, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(copied)).To(Equal(string(original)), "the chart's files/manager-role.yaml is stale: run hack/sync-chart-crds.sh")

		for _, values := range []string{"", customVals} {
			args := []string{}
			if values != "" {
				args = []string{"-f", values}
			}
			role := into(find(parseManifests(helmTemplate(args...)), "ClusterRole", "-manager-role"), &rbacv1.ClusterRole{})
			Expect(permissions(role.Rules)).To(Equal(permissions(generated.Rules)))
		}
	})
})

// expectRestricted checks the pod meets the restricted Pod Security Standard.
func expectRestricted(deploy *appsv1.Deployment) {
	GinkgoHelper()
	pod := deploy.Spec.Template.Spec
	Expect(pod.SecurityContext).NotTo(BeNil())
	Expect(pod.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
	Expect(pod.SecurityContext.SeccompProfile).To(Equal(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}))
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		Expect(sc).NotTo(BeNil(), c.Name)
		Expect(sc.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)), c.Name)
		Expect(sc.AllowPrivilegeEscalation).To(Equal(ptr.To(false)), c.Name)
		Expect(sc.Capabilities).To(Equal(&corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}), c.Name)
	}
}

func expectProbes(c corev1.Container) {
	GinkgoHelper()
	Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	Expect(c.LivenessProbe.HTTPGet.Port.String()).To(Equal("health"))
	Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "health", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}))
}

func names(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}

func toAnyMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
