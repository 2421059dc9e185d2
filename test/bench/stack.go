package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/acs-operator/acs-operator/test/framework"
	"github.com/acs-operator/acs-operator/test/proc"
)

// stack is one measured setup: a fresh control plane, Seam sandbox and manager.
type stack struct {
	cp         *framework.ControlPlane
	client     client.Client // high QPS, for the harness's own creates and patches
	restConfig *rest.Config
	apiserver  *http.Client // admin, for the apiserver's /metrics
	sandbox    *proc.Process
	seam       sandboxAdmin
	sandboxURL string
	manager    *proc.Process
	metricsURL string
	pprofURL   string // the manager's /debug/pprof
	heap       *heapSampler
	stopHeap   context.CancelFunc
}

// startStack starts everything for one run, with logs under logDir. On error, what
// was started is stopped.
func startStack(ctx context.Context, cfg config, logDir string) (s *stack, err error) {
	s = &stack{}
	defer func() {
		if err != nil {
			s.stop()
			s = nil
		}
	}()
	if err = os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	if err = s.startControlPlane(); err != nil {
		return nil, err
	}
	if err = s.startSandbox(ctx, cfg, logDir); err != nil {
		return nil, err
	}
	if err = s.startManager(ctx, cfg, logDir); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stack) startControlPlane() error {
	cp, err := framework.StartControlPlane()
	if err != nil {
		return err
	}
	s.cp = cp
	s.restConfig = rest.CopyConfig(cp.Config)
	s.restConfig.QPS, s.restConfig.Burst = 500, 1000
	if s.client, err = client.New(s.restConfig, client.Options{Scheme: framework.Scheme()}); err != nil {
		return err
	}
	s.apiserver, err = rest.HTTPClientFor(cp.Config)
	return err
}

func (s *stack) startSandbox(ctx context.Context, cfg config, logDir string) error {
	addr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	seed, err := writeSeed(logDir)
	if err != nil {
		return err
	}
	s.sandbox, err = startBin(logDir, "seam-sandbox", nil,
		"--addr", addr,
		"--seed", seed,
		"--latency", cfg.latency.String(),
		"--rate-limit", fmt.Sprint(cfg.rateLimit),
		"--rate-limit-burst", fmt.Sprint(cfg.serverBurst),
		"--mutation-delay", cfg.mutationDelay.String())
	if err != nil {
		return err
	}
	s.sandboxURL = "http://" + addr
	s.seam = sandboxAdmin{base: s.sandboxURL, http: &http.Client{Timeout: 10 * time.Second}}
	return proc.WaitHTTP(ctx, s.sandboxURL+"/_sandbox/counters", s.sandbox, 30*time.Second)
}

func (s *stack) startManager(ctx context.Context, cfg config, logDir string) error {
	kubeconfig, err := s.cp.Kubeconfig(logDir)
	if err != nil {
		return err
	}
	metricsAddr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	probeAddr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	pprofAddr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	env := []string{"KUBECONFIG=" + kubeconfig}
	if cfg.containerMiB > 0 {
		// What automemlimit sets in a container with that limit (cmd/manager).
		env = append(env, fmt.Sprintf("GOMEMLIMIT=%d", int64(cfg.containerMiB)<<20*9/10))
	}
	s.manager, err = startBin(logDir, "manager", env,
		"--metrics-bind-address="+metricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address="+probeAddr,
		"--pprof-bind-address="+pprofAddr,
		fmt.Sprintf("--max-concurrent-reconciles=%d", cfg.concurrency),
		"--resync-period="+cfg.resync.String(),
		"--operator-namespace=default",
		"--zap-log-level="+cfg.logLevel,
		"--allowed-endpoints="+s.sandboxURL)
	if err != nil {
		return err
	}
	s.metricsURL = "http://" + metricsAddr + "/metrics"
	s.pprofURL = "http://" + pprofAddr + "/debug/pprof"
	if err := proc.WaitHTTP(ctx, "http://"+probeAddr+"/readyz", s.manager, 60*time.Second); err != nil {
		return fmt.Errorf("manager not ready: %w", err)
	}
	s.heap = &heapSampler{}
	heapCtx, cancel := context.WithCancel(context.Background())
	s.stopHeap = cancel
	go s.heap.run(heapCtx, s.metricsURL)
	return nil
}

// apiserverMetrics scrapes the kube-apiserver's own /metrics.
func (s *stack) apiserverMetrics(ctx context.Context) ([]sample, error) {
	return scrape(ctx, s.apiserver, strings.TrimSuffix(s.cp.Config.Host, "/")+"/metrics")
}

// managerMetrics scrapes the manager's /metrics.
func (s *stack) managerMetrics(ctx context.Context) ([]sample, error) {
	return scrape(ctx, http.DefaultClient, s.metricsURL)
}

// checkAlive fails when a subprocess died.
func (s *stack) checkAlive() error {
	for _, p := range []*proc.Process{s.sandbox, s.manager} {
		if p != nil && p.Exited() {
			return p.Err()
		}
	}
	return nil
}

// stop stops the manager, the sandbox and the control plane, in that order.
func (s *stack) stop() {
	if s.stopHeap != nil {
		s.stopHeap()
	}
	s.manager.Stop()
	s.sandbox.Stop()
	if s.cp != nil {
		if err := s.cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stopping the control plane:", err)
		}
	}
}

// startBin runs bin/<name> with args, its stdout and stderr in logDir/<name>.log.
func startBin(logDir, name string, env []string, args ...string) (*proc.Process, error) {
	path := filepath.Join(framework.RepoRoot(), "bin", name)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s not found: run `make build` first", path)
	}
	return proc.Start(path, args, proc.Options{Env: env, LogFile: filepath.Join(logDir, name+".log")})
}
