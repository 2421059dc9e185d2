package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/test/framework"
	"github.com/acs-operator/acs-operator/test/proc"
)

const (
	namespace         = "chaos"
	operatorNamespace = "acs-operator-system"
	// rotatedAPIKey is the second key of the sandbox's workspace: rotating a
	// connection's Secret to it must change nothing.
	rotatedAPIKey = "seam_sandbox_key_rotated_fedcba9876543210"
)

// stack is the control plane, the sandbox and the managers of one run.
type stack struct {
	cfg        config
	binDir     string
	cp         *framework.ControlPlane
	client     client.Client
	kubeconfig string
	sandbox    *proc.Process
	sandboxURL string
	seam       admin

	mu        sync.Mutex // held while a fault or the supervisor stops or starts managers
	managers  []*manager
	restarted int // managers that exited on their own
}

// manager is one replica, restarted on the same addresses.
type manager struct {
	index      int
	started    time.Time
	p          *proc.Process
	probeAddr  string
	metricsURL string
}

// buildBinaries builds the manager and the sandbox from this tree, so a run never
// tests a stale bin/.
func buildBinaries(dir string) error {
	root := framework.RepoRoot()
	for bin, pkg := range map[string]string{"manager": "./cmd/manager", "seam-sandbox": "./cmd/seam-sandbox"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, bin), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return nil
}

func startStack(ctx context.Context, cfg config) (s *stack, err error) {
	s = &stack{cfg: cfg, binDir: filepath.Join(cfg.logDir, "bin")}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := buildBinaries(s.binDir); err != nil {
		return s, err
	}
	if s.cp, err = framework.StartControlPlane(); err != nil {
		return s, err
	}
	restConfig := rest.CopyConfig(s.cp.Config)
	restConfig.QPS, restConfig.Burst = 200, 400
	if s.client, err = client.New(restConfig, client.Options{Scheme: framework.Scheme()}); err != nil {
		return s, err
	}
	if s.kubeconfig, err = s.cp.Kubeconfig(cfg.logDir); err != nil {
		return s, err
	}
	if err := s.startSandbox(ctx); err != nil {
		return s, err
	}
	return s, nil
}

func (s *stack) startSandbox(ctx context.Context) error {
	seed := sandbox.DefaultSeed()
	seed.APIKeys = append(seed.APIKeys, sandbox.SeedAPIKey{Key: rotatedAPIKey, WorkspaceID: seed.APIKeys[0].WorkspaceID})
	seedFile := filepath.Join(s.cfg.logDir, "seed.json")
	b, _ := json.Marshal(seed)
	if err := os.WriteFile(seedFile, b, 0o600); err != nil {
		return err
	}
	addr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	s.sandbox, err = proc.Start(filepath.Join(s.binDir, "seam-sandbox"), []string{
		"--addr", addr, "--seed", seedFile,
		"--rate-limit", fmt.Sprint(s.cfg.rateLimit),
		"--mutation-delay", s.cfg.mutationDelay.String(),
	}, proc.Options{LogFile: filepath.Join(s.cfg.logDir, "seam-sandbox.log")})
	if err != nil {
		return err
	}
	s.sandboxURL = "http://" + addr
	s.seam = admin{base: s.sandboxURL, http: &http.Client{Timeout: 10 * time.Second}}
	return proc.WaitHTTP(ctx, s.sandboxURL+"/_sandbox/counters", s.sandbox, 30*time.Second)
}

// startManagers starts the replicas and waits until one holds the lease.
func (s *stack) startManagers(ctx context.Context) error {
	for i := range s.cfg.replicas {
		probe, err := proc.FreeAddr()
		if err != nil {
			return err
		}
		metrics, err := proc.FreeAddr()
		if err != nil {
			return err
		}
		m := &manager{index: i, probeAddr: probe, metricsURL: "http://" + metrics + "/metrics"}
		s.managers = append(s.managers, m)
		if err := s.startManager(ctx, m); err != nil {
			return err
		}
	}
	return proc.Poll(ctx, 200*time.Millisecond, time.Minute, func() (bool, error) { return s.leader() != nil, nil })
}

func (s *stack) startManager(ctx context.Context, m *manager) error {
	var err error
	m.started = time.Now()
	m.p, err = proc.Start(filepath.Join(s.binDir, "manager"), []string{
		"--leader-elect",
		"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
		"--metrics-bind-address=" + strings.TrimSuffix(strings.TrimPrefix(m.metricsURL, "http://"), "/metrics"),
		"--metrics-secure=false",
		"--health-probe-bind-address=" + m.probeAddr,
		"--operator-namespace=" + operatorNamespace,
		"--allowed-endpoints=" + s.sandboxURL,
		"--resync-period=10s", "--create-timeout=3s", "--create-grace=5s",
		"--max-concurrent-reconciles=4",
	}, proc.Options{
		Env:     []string{"KUBECONFIG=" + s.kubeconfig},
		LogFile: filepath.Join(s.cfg.logDir, fmt.Sprintf("manager-%d.log", m.index)),
	})
	if err != nil {
		return err
	}
	return proc.WaitHTTP(ctx, "http://"+m.probeAddr+"/healthz", m.p, time.Minute)
}

// leader is the replica whose metrics say it holds the lease, or nil.
func (s *stack) leader() *manager {
	for _, m := range s.managers {
		if m.p != nil && !m.p.Exited() && isLeader(m.metricsURL) {
			return m
		}
	}
	return nil
}

func isLeader(url string) bool {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return false
	}
	for _, m := range families["leader_election_master_status"].GetMetric() {
		if m.GetGauge().GetValue() == 1 {
			return true
		}
	}
	return false
}

// supervise restarts a manager that exits on its own, as a kubelet restarts a
// container: one that loses the lease (the apiserver was away longer than the
// renew deadline) exits by design.
func (s *stack) supervise(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		for _, m := range s.managers {
			// At most one restart a second per replica: a crash loop backs off.
			if m.p.Exited() && ctx.Err() == nil && time.Since(m.started) > time.Second {
				s.restarted++
				progress("manager %d exited on its own (%v); restarting it", m.index, m.p.Err())
				_ = s.startManager(ctx, m)
			}
		}
		s.mu.Unlock()
	}
}

func (s *stack) selfExits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarted
}

// checkAlive fails when the sandbox died.
func (s *stack) checkAlive() error {
	if s.sandbox.Exited() {
		return s.sandbox.Err()
	}
	return nil
}

func (s *stack) stop() {
	for _, m := range s.managers {
		if m.p != nil {
			m.p.Stop()
		}
	}
	s.sandbox.Stop()
	if s.cp != nil {
		_ = s.cp.Stop()
	}
}

// admin talks to the sandbox's /_sandbox/ routes.
type admin struct {
	base string
	http *http.Client
}

func (a admin) get(ctx context.Context, path string, into any) error {
	return a.do(ctx, http.MethodGet, path, nil, into)
}

func (a admin) post(ctx context.Context, path string, body any) error {
	return a.do(ctx, http.MethodPost, path, body, nil)
}

func (a admin) do(ctx context.Context, method, path string, body, into any) error {
	return a.send(ctx, method, path, "", body, into)
}

// seamCall is an authenticated Seam API call, for seeding the console users.
func (a admin) seamCall(ctx context.Context, key, path string, body, into any) error {
	return a.send(ctx, http.MethodPost, path, key, body, into)
}

func (a admin) send(ctx context.Context, method, path, key string, body, into any) error {
	return sandbox.AdminClient{Base: a.base, HTTP: a.http}.Do(ctx, method, path, key, body, into)
}
