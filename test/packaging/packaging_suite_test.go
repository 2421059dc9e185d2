// Package packaging tests what users install and watch: the kustomize config, the Helm
// chart, the image's Dockerfile, and the health that kstatus (Flux, kubectl wait) and
// Argo CD read from the operator's conditions. Rendered manifests are sent to the real
// kube-apiserver the other suites run, as a server-side dry run.
package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	helm, err = helmBinary()
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

// helmBinary finds the helm that hack/build-helm.sh builds for the version pinned in
// hack/helm/go.mod.
func helmBinary() (string, error) {
	mod, err := os.ReadFile(filepath.Join(root, "hack", "helm", "go.mod"))
	if err != nil {
		return "", err
	}
	version := ""
	for line := range strings.SplitSeq(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "helm.sh/helm/v3" {
			version = f[1]
		}
	}
	if version == "" {
		return "", fmt.Errorf("hack/helm/go.mod does not require helm.sh/helm/v3")
	}
	path := filepath.Join(root, "bin", "helm-"+version)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no helm at %s: run `make helm` (it builds helm %s from the Go module proxy)", path, version)
	}
	return path, nil
}

// run runs a command from the repository's top directory with the control plane's
// kubeconfig and returns its stdout; a failure carries stderr.
func run(stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HELM_CACHE_HOME="+helmHome, "HELM_CONFIG_HOME="+helmHome, "HELM_DATA_HOME="+helmHome)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// helmHome keeps helm's cache and config out of the user's home.
var helmHome = filepath.Join(os.TempDir(), "acs-operator-packaging-helm")

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
