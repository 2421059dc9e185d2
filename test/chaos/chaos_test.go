package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestChaosShortRun is make test's chaos run: 50 s of workload and faults with a
// fixed seed, then convergence and the invariants. The numbers are logged; only
// the invariants (counts) fail the test.
func TestChaosShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs a control plane, the sandbox and two managers for about a minute")
	}
	var out bytes.Buffer
	err := run(context.Background(), config{
		duration: 50 * time.Second, seed: 10, n: 20, replicas: 2,
		rateLimit: 50, mutationDelay: 300 * time.Millisecond, changeEvery: 200 * time.Millisecond,
		converge: 2 * time.Minute, logDir: t.TempDir(),
	}, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
}
