// Command demo runs the operator's main job on a laptop: a local control plane
// (kube-apiserver + etcd built by hack/envtest-binaries.sh), the Seam sandbox, the
// manager binary, and config/samples applied. It waits for the samples to be Ready,
// prints them, and keeps everything running until Ctrl-C.
//
// Run it with `make demo`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/acs-operator/acs-operator/test/framework"
	"github.com/acs-operator/acs-operator/test/proc"
)

const sandboxAddr = "127.0.0.1:8765" // config/samples/seamconnection.yaml points here

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// `make demo | tee log` and Ctrl-C: tee is gone before we print "Stopping", and a
	// write to a closed pipe must not end us before the cleanup below has run.
	signal.Ignore(syscall.SIGPIPE)
	root := framework.RepoRoot()
	bin := filepath.Join(root, "bin")

	step("Starting a local control plane (kube-apiserver + etcd)")
	cp, err := framework.StartControlPlane()
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping the control plane")
		_ = cp.Stop()
	}()
	kubeconfig, err := cp.Kubeconfig(bin)
	if err != nil {
		return err
	}
	kubeconfig, _ = filepath.Abs(kubeconfig)
	demoKubeconfig := filepath.Join(bin, "demo.kubeconfig")
	if err := os.Rename(kubeconfig, demoKubeconfig); err != nil {
		return err
	}

	step("Starting the Seam sandbox on " + sandboxAddr)
	sandbox, err := startProcess(filepath.Join(bin, "seam-sandbox"), nil, "--addr", sandboxAddr, "--mutation-delay", "1s")
	if err != nil {
		return err
	}
	defer sandbox.Stop()
	if err := proc.WaitHTTP(ctx, "http://"+sandboxAddr+"/_sandbox/counters", sandbox, 30*time.Second); err != nil {
		return err
	}

	step("Starting the operator (bin/manager)")
	manager, err := startProcess(filepath.Join(bin, "manager"), []string{"KUBECONFIG=" + demoKubeconfig},
		"--metrics-bind-address=127.0.0.1:8766", "--metrics-secure=false", "--health-probe-bind-address=127.0.0.1:8767",
		"--resync-period=30s", "--zap-log-level=info",
		// Seam's webhooks (the sandbox delivers them) report console changes at once.
		"--webhook-bind-address="+webhookAddr, "--events-catch-up-interval=30s",
		// Outside a pod the manager cannot find its own namespace: its signing key Secret goes here.
		"--operator-namespace=default",
		// The samples' connection points at the sandbox; the operator refuses any endpoint not listed here.
		"--allowed-endpoints=http://"+sandboxAddr)
	if err != nil {
		return err
	}
	defer manager.Stop()
	if err := proc.WaitHTTP(ctx, "http://127.0.0.1:8767/readyz", manager, 60*time.Second); err != nil {
		return err
	}

	kubectl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", demoKubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	step("Applying config/samples (kubectl apply -k config/samples)")
	if err := kubectl("apply", "-n", "default", "-k", filepath.Join(root, "config", "samples")); err != nil {
		return err
	}

	step("Waiting for the AcsUsers to be Ready")
	if err := kubectl("wait", "-n", "default", "--for=condition=Ready", "acsusers", "--all", "--timeout=120s"); err != nil {
		return err
	}
	_ = kubectl("get", "-n", "default", "seamconnections,acsusers", "-o", "wide")

	step("Deleting a user in the Seam console (the sandbox's admin route), with webhooks on")
	took, err := showConsoleDelete(ctx, cp.Client)
	if err != nil {
		return err
	}
	fmt.Printf("AcsUser console-deleted was RemoteDeleted %s after the console deletion (resync period: 30s)\n", took.Round(time.Millisecond))

	fmt.Printf(`
The operator is running. Try, in another terminal:

  export KUBECONFIG=%s
  kubectl get acsusers
  kubectl patch acsuser alan-turing --type=merge -p '{"spec":{"suspended":false}}'
  kubectl describe acsuser alan-turing
  kubectl delete acsuser ada-lovelace
  curl -s http://%s/_sandbox/state            # what Seam holds
  curl -s http://127.0.0.1:8765/_sandbox/deliveries  # the webhooks it sent
  curl -s http://127.0.0.1:8766/metrics | grep acs_operator_

Ctrl-C stops everything.
`, demoKubeconfig, sandboxAddr)
	if os.Getenv("DEMO_EXIT_WHEN_READY") != "" {
		return nil
	}
	<-ctx.Done()
	return nil
}

func step(msg string) { fmt.Printf("\n==> %s\n", msg) }

// startProcess runs a binary with its output prefixed by its name.
func startProcess(path string, env []string, args ...string) (*proc.Process, error) {
	name := filepath.Base(path)
	p, err := proc.Start(path, args, proc.Options{
		Env:    env,
		Stdout: prefixWriter{name: name, out: os.Stdout},
		Stderr: prefixWriter{name: name, out: os.Stderr},
	})
	if err != nil {
		return nil, fmt.Errorf("%w (run `make build` first)", err)
	}
	return p, nil
}

type prefixWriter struct {
	name string
	out  *os.File
}

func (w prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprintf(w.out, "[%s] %s", w.name, line)
		}
	}
	return len(b), nil
}
