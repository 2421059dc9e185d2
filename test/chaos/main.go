// Command chaos runs two (or more) managers with leader election against the
// sandbox, changes AcsUsers at random while it kills the leader, restarts the
// managers and the apiserver and makes Seam misbehave, then waits for
// convergence and checks the README's invariants, printing them as numbers.
// It exits non-zero, with the seed to replay, when one fails.
//
//	make chaos CHAOS_ARGS="-duration 10m -n 300 -seed 7"
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/test/proc"
)

type config struct {
	duration      time.Duration
	seed          uint64
	n             int
	replicas      int
	rateLimit     float64
	mutationDelay time.Duration
	changeEvery   time.Duration
	converge      time.Duration
	logDir        string
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 2*time.Minute, "how long the workload and the faults run")
	flag.Uint64Var(&cfg.seed, "seed", uint64(time.Now().UnixNano()%1_000_000), "random seed (printed; pass it again to replay the same workload and faults)")
	flag.IntVar(&cfg.n, "n", 50, "AcsUsers")
	flag.IntVar(&cfg.replicas, "replicas", 2, "manager replicas, with leader election")
	flag.Float64Var(&cfg.rateLimit, "rate-limit", 50, "the sandbox's rate limit, requests per second (the connection's rateLimit is set to match)")
	flag.DurationVar(&cfg.mutationDelay, "mutation-delay", 300*time.Millisecond, "how long Seam takes to apply a write")
	flag.DurationVar(&cfg.changeEvery, "change-every", 100*time.Millisecond, "how often the workload changes an AcsUser")
	flag.DurationVar(&cfg.converge, "converge-timeout", 3*time.Minute, "how long to wait for convergence after the faults stop")
	flag.StringVar(&cfg.logDir, "log-dir", "", "where the processes' logs go (default: a new temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s chaos: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// errInvariant is returned when the run finished and an invariant failed.
var errInvariant = errors.New("an invariant failed")

func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	if cfg.logDir == "" {
		if cfg.logDir, err = os.MkdirTemp("", "acs-operator-chaos-"); err != nil {
			return err
		}
	}
	// Every setting that shapes the workload, so that the line replays this run.
	replay := fmt.Sprintf("replay: make chaos CHAOS_ARGS=\"-seed %d -duration %s -n %d -replicas %d -rate-limit %g -mutation-delay %s -change-every %s -converge-timeout %s\"  (logs, spec-changes.jsonl, seam-audit.jsonl: %s)",
		cfg.seed, cfg.duration, cfg.n, cfg.replicas, cfg.rateLimit, cfg.mutationDelay, cfg.changeEvery, cfg.converge, cfg.logDir)
	defer func() {
		if err != nil {
			fmt.Fprintln(out, replay)
		}
	}()
	progress("building and starting the control plane and the sandbox (logs in %s)", cfg.logDir)
	s, err := startStack(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.stop()
	if err := setup(ctx, s.client, s.sandboxURL, int32(cfg.rateLimit)); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	console, err := seedConsoleUsers(ctx, s)
	if err != nil {
		return fmt.Errorf("seeding console users: %w", err)
	}
	progress("starting %d managers", cfg.replicas)
	if err := s.startManagers(ctx); err != nil {
		return err
	}
	// The supervisor stops (and is waited for) before the stack does: a manager it
	// restarted after the checks would outlive the run and write into its log
	// directory while that is removed.
	superviseCtx, stopSupervising := context.WithCancel(ctx)
	supervised := make(chan struct{})
	go func() { s.supervise(superviseCtx); close(supervised) }()
	defer func() { stopSupervising(); <-supervised }()

	w := newWorkload(s.client, rand.New(rand.NewPCG(cfg.seed, 1)), cfg.n)
	if err := w.createAll(ctx); err != nil {
		return fmt.Errorf("creating the AcsUsers: %w", err)
	}
	progress("workload and faults for %s", cfg.duration)
	chaosCtx, stopChaos := context.WithTimeout(ctx, cfg.duration)
	defer stopChaos()
	in := &injected{}
	done := make(chan struct{}, 3)
	go func() { w.run(chaosCtx, cfg.changeEvery); done <- struct{}{} }()
	go func() {
		runFaults(chaosCtx, s, processFaults(), rand.New(rand.NewPCG(cfg.seed, 2)), in)
		done <- struct{}{}
	}()
	go func() {
		runFaults(chaosCtx, s, seamFaults(), rand.New(rand.NewPCG(cfg.seed, 3)), in)
		done <- struct{}{}
	}()
	for range 3 {
		<-done
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	quiet := time.Now()
	if err := s.checkAlive(); err != nil {
		return err
	}

	progress("faults stopped; waiting for convergence")
	var final world
	convergeErr := proc.Poll(ctx, time.Second, cfg.converge, func() (bool, error) {
		if err := s.checkAlive(); err != nil {
			return false, err
		}
		wd, err := readWorld(ctx, s)
		if err != nil {
			return false, nil // the apiserver may still be coming back
		}
		final = wd
		notReady, terminating := wd.notReady()
		return notReady == 0 && terminating == 0, nil
	})
	if convergeErr != nil && !errors.Is(convergeErr, proc.ErrTimeout) {
		return convergeErr
	}
	convergedIn := time.Since(quiet)

	changes, genErrors := w.changes()
	if err := writeJSONLines(filepath.Join(cfg.logDir, "spec-changes.jsonl"), changes); err != nil {
		return err
	}
	if err := writeJSONLines(filepath.Join(cfg.logDir, "seam-audit.jsonl"), final.audit); err != nil {
		return err
	}
	v := &verdict{}
	v.add("seed", cfg.seed, true)
	v.add("AcsUsers (N), replicas, run", fmt.Sprintf("%d, %d, %s", cfg.n, cfg.replicas, cfg.duration), true)
	v.add("spec changes made (logged)", fmt.Sprintf("%d (%s); %d refused or failed", len(changes), opCounts(changes), genErrors), true)
	v.add("faults injected", faultCounts(in), len(in.failures) == 0)
	notReady, terminating := final.notReady()
	v.add("live AcsUsers at the end", len(final.objects)-terminating, true)
	v.add("objects not Ready at the end (must be 0)", fmt.Sprintf("%d (+%d still being deleted)", notReady, terminating), notReady == 0 && terminating == 0)
	if convergeErr == nil {
		v.add("time to converge after the last fault", convergedIn.Round(100*time.Millisecond), true)
	} else {
		v.add("time to converge after the last fault", fmt.Sprintf("not within %s", cfg.converge), false)
	}
	details := check(final, changes, console, v)
	v.add("Seam writes audited", len(final.audit), true)
	v.add("managers that exited on their own (restarted, as a kubelet would)", s.selfExits(), true)
	v.print(out)
	for _, f := range in.failures {
		fmt.Fprintln(out, "fault failed:", f)
	}
	for i, d := range details {
		if i == 20 {
			fmt.Fprintf(out, "... and %d more\n", len(details)-20)
			break
		}
		fmt.Fprintln(out, d)
	}
	if v.failed {
		return errInvariant
	}
	return nil
}

// seedConsoleUsers makes users as a building admin would in the Seam console:
// the operator must never change them.
func seedConsoleUsers(ctx context.Context, s *stack) ([]sandbox.User, error) {
	for i := range 5 {
		body := map[string]any{
			"acs_system_id": acsSystemID, "full_name": fmt.Sprintf("Console Admin %d", i),
			"email_address": fmt.Sprintf("console-%d@building.example.com", i), "acs_access_group_ids": accessGroups[:1+i%4],
		}
		err := proc.Poll(ctx, 200*time.Millisecond, 30*time.Second, func() (bool, error) {
			return s.seam.seamCall(ctx, sandbox.DefaultSeedAPIKey, "/acs/users/create", body, &map[string]any{}) == nil, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := s.seam.post(ctx, "/_sandbox/mutations/settle", nil); err != nil {
		return nil, err
	}
	var st sandbox.State
	if err := s.seam.get(ctx, "/_sandbox/state", &st); err != nil {
		return nil, err
	}
	return st.Users, nil
}

func opCounts(changes []specChange) string {
	m := map[string]int{}
	for _, c := range changes {
		m[c.Op]++
	}
	return joinCounts(m)
}

func faultCounts(in *injected) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return joinCounts(in.count)
}

func joinCounts(m map[string]int) string {
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// writeJSONLines keeps the generator's log and the sandbox's audit beside the
// processes' logs, to read after a failed run.
func writeJSONLines[T any](path string, items []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			_ = f.Close()
			return err
		}
	}
	return f.Close()
}
