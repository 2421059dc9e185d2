package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// fault is one thing that goes wrong, for hold, then is put right.
type fault struct {
	name   string
	inject func(ctx context.Context, s *stack) error
	revert func(ctx context.Context, s *stack) error // nil: nothing to undo
}

// injected is what the run did, for the report.
type injected struct {
	mu       sync.Mutex
	count    map[string]int
	failures []string
	lastEnd  time.Time
}

func (in *injected) record(name string, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.count == nil {
		in.count = map[string]int{}
	}
	in.count[name]++
	if err != nil {
		in.failures = append(in.failures, fmt.Sprintf("%s: %v", name, err))
	}
	in.lastEnd = time.Now()
}

var sandboxWrites = []string{
	"/acs/users/create", "/acs/users/update", "/acs/users/delete", "/acs/users/suspend", "/acs/users/unsuspend",
	"/acs/users/add_to_access_group", "/acs/users/remove_from_access_group",
}

func sandboxFault(f sandbox.Faults) func(context.Context, *stack) error {
	return func(ctx context.Context, s *stack) error { return s.seam.post(ctx, "/_sandbox/faults", f) }
}

func clearSandboxFaults(ctx context.Context, s *stack) error {
	return s.seam.post(ctx, "/_sandbox/faults/clear", nil)
}

// processFaults happen to the operator's processes and its cluster.
func processFaults() []fault {
	return []fault{
		{name: "leader SIGKILLed", inject: killLeader},
		{name: "both managers restarted", inject: restartManagers},
		{name: "apiserver restarted", inject: func(_ context.Context, s *stack) error { return s.cp.RestartAPIServer() }},
		{name: "API key Secret rotated", inject: rotateKey},
	}
}

// seamFaults happen to Seam; they overlap with the process faults.
func seamFaults() []fault {
	dropAll, fail5xx := map[string]int{}, map[string]sandbox.ErrorRate{}
	for _, r := range sandboxWrites {
		dropAll[r] = 1
		fail5xx[r] = sandbox.ErrorRate{Probability: 0.5, Status: 502}
	}
	fail5xx["/acs/users/get"] = sandbox.ErrorRate{Probability: 0.5, Status: 500}
	fail5xx["/acs/users/list"] = sandbox.ErrorRate{Probability: 0.5, Status: 503}
	return []fault{
		{name: "responses dropped after commit", inject: sandboxFault(sandbox.Faults{DropAfterCommit: dropAll}), revert: clearSandboxFaults},
		{name: "5xx burst", inject: sandboxFault(sandbox.Faults{ErrorRates: fail5xx}), revert: clearSandboxFaults},
		{name: "429 storm with Retry-After", inject: sandboxFault(sandbox.Faults{Storm: &sandbox.RateLimitStorm{Remaining: 40, RetryAfter: "1"}}), revert: clearSandboxFaults},
		{name: "timeouts", inject: sandboxFault(sandbox.Faults{RouteLatency: map[string]time.Duration{
			"/acs/users/create": 4 * time.Second, "/acs/users/get": 3 * time.Second, "/acs/users/suspend": 3 * time.Second,
		}}), revert: clearSandboxFaults},
	}
}

// runFaults injects a fault of all every few seconds until ctx ends, one at a
// time: every kind once in a random order, then again in another order, so even a
// short run sees each kind.
func runFaults(ctx context.Context, s *stack, all []fault, rng *rand.Rand, in *injected) {
	for i := 0; ; i++ {
		if i%len(all) == 0 {
			rng.Shuffle(len(all), func(a, b int) { all[a], all[b] = all[b], all[a] })
		}
		gap := time.Duration(500+rng.IntN(1500)) * time.Millisecond
		select {
		case <-ctx.Done():
			return
		case <-time.After(gap):
		}
		f := all[i%len(all)]
		hold := time.Duration(1000+rng.IntN(3000)) * time.Millisecond
		progress("fault: %s", f.name)
		// Faults are put right even after ctx ends: the run must converge afterwards.
		bg := context.WithoutCancel(ctx)
		err := f.inject(bg, s)
		if f.revert != nil {
			select {
			case <-ctx.Done():
			case <-time.After(hold):
			}
			if rerr := f.revert(bg, s); err == nil {
				err = rerr
			}
		}
		in.record(f.name, err)
	}
}

func killLeader(ctx context.Context, s *stack) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.leader()
	if m == nil {
		return nil // between leaders: nothing to kill
	}
	m.p.Kill()
	time.Sleep(time.Second)
	return s.startManager(ctx, m)
}

func restartManagers(ctx context.Context, s *stack) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range s.managers {
		wg.Add(1)
		go func() { defer wg.Done(); m.p.Stop() }()
	}
	wg.Wait()
	for _, m := range s.managers {
		if err := s.startManager(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// rotateKey switches the connection's Secret between the workspace's two keys.
func rotateKey(ctx context.Context, s *stack) error {
	var sec corev1.Secret
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: secretName}, &sec); err != nil {
		return err
	}
	next := rotatedAPIKey
	if string(sec.Data["apiKey"]) == rotatedAPIKey {
		next = sandbox.DefaultSeedAPIKey
	}
	sec.Data["apiKey"] = []byte(next)
	return s.client.Update(ctx, &sec)
}
