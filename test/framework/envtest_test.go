package framework

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/acs-operator/acs-operator/test/proc"
)

// An apiserver restart keeps etcd's data, the port and the credentials handed out.
func TestRestartAPIServerKeepsDataAndCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	cp, err := StartControlPlane()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := cp.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	err = proc.Poll(ctx, 100*time.Millisecond, 30*time.Second, func() (bool, error) {
		return cp.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}) == nil, nil
	})
	if err != nil {
		t.Fatalf("the namespace made before the restart, read with the old client: %v", err)
	}
}

// The test binary doubles as a harness that starts a control plane and is then
// SIGKILLed: nothing of it runs after that, no deferred Stop.
const helperEnv = "FRAMEWORK_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if _, err := StartControlPlane(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		select {}
	}
	os.Exit(m.Run())
}

func TestControlPlaneDiesWithItsHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	harness := exec.Command(os.Args[0], "-test.run=^$")
	harness.Env = append(os.Environ(), helperEnv+"=1")
	out, err := harness.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		_ = harness.Process.Kill()
		t.Fatalf("harness printed %q", line)
	}
	pids := proc.Children(harness.Process.Pid, "etcd", "kube-apiserver")
	if len(pids) != 2 {
		_ = harness.Process.Kill()
		t.Fatalf("found %v, want etcd and kube-apiserver", pids)
	}
	_ = harness.Process.Kill()
	_ = harness.Wait()
	err = proc.Poll(context.Background(), 50*time.Millisecond, 20*time.Second, func() (bool, error) {
		return !proc.Alive(pids[0]) && !proc.Alive(pids[1]), nil
	})
	if err != nil {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Fatalf("etcd and kube-apiserver (%v) outlived their harness: %v", pids, err)
	}
}
