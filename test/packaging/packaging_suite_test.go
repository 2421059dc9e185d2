// Package packaging tests what users install and watch: the kustomize config, the Helm
// chart, the image's Dockerfile, and the health that kstatus (Flux, kubectl wait) and
// Argo CD read from the operator's conditions. Rendered manifests are sent to the real
// kube-apiserver the other suites run, as a server-side dry run.
package packaging

import (
	"context"
	"os/exec"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/acs-operator/acs-operator/test/framework"
)

var (
	cp *framework.ControlPlane
	// kubeconfig is an admin kubeconfig for the control plane, for kubectl and helm.
	kubeconfig string
	// helm is the binary built from hack/helm/go.mod by `make helm`.
	helm string
	root = framework.RepoRoot()
	ctx  = context.Background()
)

func TestPackaging(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Packaging Suite")
}

var _ = BeforeSuite(func() {
	var err error
	helm, err = framework.HelmBinary()
	Expect(err).NotTo(HaveOccurred())
	_, err = exec.LookPath("kubectl")
	Expect(err).NotTo(HaveOccurred(), "kubectl is needed to render config/ (kubectl kustomize) and to dry-run manifests")

	cp, err = framework.StartControlPlane()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err = cp.Kubeconfig(GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if cp != nil {
		Expect(cp.Stop()).To(Succeed())
	}
})

// run runs a command from the repository's top directory with the control plane's
// kubeconfig and returns its stdout; a failure carries stderr.
func run(stdin []byte, name string, args ...string) ([]byte, error) {
	return framework.Run(ctx, kubeconfig, stdin, name, args...)
}

// mustRun is run for commands that must succeed.
func mustRun(stdin []byte, name string, args ...string) []byte {
	GinkgoHelper()
	out, err := run(stdin, name, args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// dryRunApply sends manifests to the apiserver as `kubectl apply --dry-run=server`: the
// apiserver validates each object against its schema (the CRDs', RBAC's, ...) and admission,
// and stores nothing.
func dryRunApply(manifests []byte) string {
	GinkgoHelper()
	out := mustRun(manifests, "kubectl", "apply", "--dry-run=server", "-f", "-")
	return string(out)
}
