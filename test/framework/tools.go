package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// HelmBinary finds the helm that hack/build-helm.sh builds for the version pinned in
// hack/helm/go.mod.
func HelmBinary() (string, error) {
	root := RepoRoot()
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

// helmHome keeps helm's cache and config out of the user's home.
var helmHome = filepath.Join(os.TempDir(), "acs-operator-packaging-helm")

// Run runs a command (helm, kubectl, a script) from the repository's top directory with
// the kubeconfig, and returns its stdout; a failure carries stderr.
func Run(ctx context.Context, kubeconfig string, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = RepoRoot()
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
