package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/acs-operator/acs-operator/test/framework"
)

// TestDemo runs `make demo` as a user would, up to the samples being Ready: the manager
// and sandbox binaries, their flags, the samples and the control plane together.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and two binaries")
	}
	root := framework.RepoRoot()
	for _, b := range []string{"manager", "seam-sandbox"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(root, "bin", b), "./cmd/"+b)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", b, err, out)
		}
	}
	t.Setenv("DEMO_EXIT_WHEN_READY", "1")
	if err := run(); err != nil {
		t.Fatalf("make demo failed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "demo.kubeconfig")); err != nil {
		t.Errorf("the demo did not leave the kubeconfig it tells users to export: %v", err)
	}
}
