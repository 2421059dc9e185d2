// Command bench measures the operator at scale: for each size N it starts a fresh
// local control plane (kube-apiserver + etcd from bin/k8s), the Seam sandbox with
// per-call latency and a server-side rate limit, and bin/manager as a subprocess,
// creates N AcsUsers and prints how long they took to converge, the remote calls
// they cost (to converge and in one idle resync), the apiserver writes per object,
// the revoke latency under load and the manager's peak memory.
//
// Run it with `make bench` (BENCH_ARGS="-n 1000,10000,30000" to add the slope's
// third point). Numbers are printed, never asserted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// config are the harness's flags.
type config struct {
	sizes         []int
	latency       time.Duration
	rateLimit     float64
	serverBurst   int
	over          float64
	singles       int
	storm         int
	resync        time.Duration
	concurrency   int
	mutationDelay time.Duration
	revokeAt      int
	timeout       time.Duration
	out           string
	markdown      string
	logs          string
	logLevel      string
	drift         bool
	// containerMiB is the memory limit of the container the manager is run as if
	// in (0: none).
	containerMiB int
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("n", "1000,10000", "comma-separated numbers of AcsUsers, one fresh run each (30000 shows the slope)")
	fs.DurationVar(&cfg.latency, "latency", 25*time.Millisecond, "latency the sandbox adds to every Seam call")
	fs.Float64Var(&cfg.rateLimit, "rate-limit", 50, "sandbox rate limit in requests/s (429 + Retry-After beyond); the SeamConnection's rateLimit is set to match")
	fs.IntVar(&cfg.serverBurst, "server-burst", 0, "requests the sandbox lets through at once (0: rate-limit ÷ 5); the SeamConnection's burst is set to match")
	fs.Float64Var(&cfg.over, "over", 2, "in the run of the -revoke size, converge N more users with the SeamConnection told this many times the sandbox's real rate and burst (0: skip)")
	fs.IntVar(&cfg.singles, "singles", 20, "in the run of the -revoke size, suspend this many users one at a time during a create storm")
	fs.IntVar(&cfg.storm, "storm", 1000, "creates in flight during each burst of suspends (the issue's 1,000-create storm, at every size); the single suspends get twice as many, to keep the queue full until the last try")
	fs.DurationVar(&cfg.resync, "resync", 30*time.Second, "manager --resync-period (at least 10s)")
	fs.IntVar(&cfg.concurrency, "concurrency", 8, "manager --max-concurrent-reconciles")
	fs.DurationVar(&cfg.mutationDelay, "mutation-delay", 0, "sandbox --mutation-delay: how long Seam keeps a write pending (0 = applied at once)")
	fs.IntVar(&cfg.revokeAt, "revoke", 1000, "run the revoke-under-load phase in the run of this size (0: never)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "how long to wait for a batch to converge (0: 3m + 20 × N/rps)")
	fs.StringVar(&cfg.out, "out", "", "also write the figures as JSON to this file")
	fs.StringVar(&cfg.markdown, "markdown", "", "also write every table as Markdown to this file")
	fs.StringVar(&cfg.logs, "logs", "", "directory for the sandbox and manager logs (default: a new temporary directory, kept)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "manager --zap-log-level")
	fs.IntVar(&cfg.containerMiB, "container-memory", 0, "run the manager as in a container with this memory limit in MiB: GOMEMLIMIT at 90% of it, what the manager's automemlimit sets from the cgroup (0: no limit)")
	fs.BoolVar(&cfg.drift, "drift", false, "measure drift detection instead (test/bench/drift.go): console delete -> RemoteDeleted with webhooks and with polling at -resync, and Seam reads per hour at 10,000 users in each mode")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("-n: %q is not a positive number", s)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	if cfg.containerMiB < 0 {
		return cfg, errors.New("-container-memory must be 0 or a size in MiB")
	}
	if cfg.serverBurst == 0 {
		cfg.serverBurst = max(1, int(cfg.rateLimit/5))
	}
	switch {
	case cfg.serverBurst < 1:
		return cfg, errors.New("-server-burst must be at least 1")
	case cfg.over != 0 && (cfg.over < 1 || cfg.over*cfg.rateLimit > 1000):
		return cfg, errors.New("-over must be 0, or at least 1 with -over × -rate-limit at most 1000")
	case cfg.rateLimit < 1 || cfg.rateLimit > 1000:
		return cfg, errors.New("-rate-limit must be between 1 and 1000 (the SeamConnection's bounds)")
	case cfg.resync < 10*time.Second:
		return cfg, errors.New("-resync must be at least 10s (the manager's minimum)")
	case cfg.storm < 1:
		return cfg, errors.New("-storm must be at least 1")
	case cfg.concurrency < 1:
		return cfg, errors.New("-concurrency must be at least 1")
	}
	return cfg, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The harness's own cache would log through controller-runtime: keep stdout for results.
	ctrllog.SetLogger(logr.Discard())
	logRoot, err := logDir(cfg.logs)
	if err != nil {
		return err
	}
	fmt.Printf("acs-operator bench: %s\nlogs: %s\n", settings(cfg), logRoot)
	if cfg.drift {
		return runDrift(ctx, cfg, logRoot)
	}
	var results []*result
	failed := false
	for _, n := range cfg.sizes {
		progress("N=%d: starting a control plane, the sandbox and the manager", n)
		start := time.Now()
		res := measure(ctx, cfg, n, filepath.Join(logRoot, fmt.Sprintf("n%d", n)))
		progress("N=%d: done in %s", n, dur(time.Since(start)))
		results = append(results, res)
		renderText(os.Stdout, sizeTables(cfg, res))
		failed = failed || res.err != nil
		if ctx.Err() != nil {
			break
		}
	}
	summary := summaryTable(cfg, results)
	renderText(os.Stdout, []table{summary})
	if cfg.markdown != "" {
		if err := writeMarkdown(cfg, results, summary); err != nil {
			return err
		}
	}
	if cfg.out != "" {
		if err := writeJSON(cfg, results); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if failed {
		return errors.New("some runs failed: see the tables and the logs")
	}
	return nil
}

func writeMarkdown(cfg config, results []*result, summary table) error {
	f, err := os.Create(cfg.markdown)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "# acs-operator bench\n\nrun at %s\n", time.Now().UTC().Format(time.RFC3339))
	renderMarkdown(f, []table{summary})
	for _, r := range results {
		fmt.Fprintf(f, "\n## N = %d\n", r.n)
		renderMarkdown(f, sizeTables(cfg, r))
	}
	return f.Close()
}

func logDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "acs-bench-")
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// progress goes to stderr, so stdout holds only the results.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
