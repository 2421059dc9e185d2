package main

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/test/proc"
)

// revokeResult is one revoke phase: suspensions sent while a storm of creates is in
// flight.
type revokeResult struct {
	// toldOver is how many times the real rate the connection was told (0: the real
	// rate).
	toldOver                           float64
	extra, patched, createdBeforePatch int
	// toSeam is from the patch to the suspend call reaching the sandbox (its audit
	// log); toConfirmed to the AcsUser showing it suspended and converged. Sorted.
	toSeam, toConfirmed []time.Duration
	calls               calls // from the first create to the last suspend converged
	waitErr             error
	// extraReadyAtLastRevoke shows the revocations were measured under load: how
	// many of the storm's users were Ready when the last suspend converged.
	extraReadyAtLastRevoke int
	extraReadyIn           time.Duration
}

// storm creates n users named prefix-… in the background and returns once a
// quarter of them are created, so the operator's queue and the connection's
// limiter are full. done receives the creates' error.
func (r *sizeRun) storm(ctx context.Context, prefix string, n int, rv *revokeResult) (names []string, done <-chan error, err error) {
	names = userNames(prefix, n)
	var created atomic.Int64
	errc := make(chan error, 1)
	go func() { errc <- createUsers(ctx, r.st.client, names, &created) }()
	if err := proc.Poll(ctx, 10*time.Millisecond, time.Minute, func() (bool, error) {
		return created.Load() >= int64(len(names)/4), nil
	}); err != nil {
		return nil, nil, fmt.Errorf("waiting for the creates to start: %w", err)
	}
	rv.extra, rv.createdBeforePatch = len(names), int(created.Load())
	return names, errc, nil
}

// revokeSingles suspends converged users one at a time while twice -storm creates
// are in flight: the latency of one revocation with the connection's queue full.
func (r *sizeRun) revokeSingles(ctx context.Context) error {
	rv := &revokeResult{}
	r.res.revokeSingle = rv
	r.res.peakRSSBeforeRevoke, r.res.peakHeapBeforeRevoke = r.memory()
	targets, _ := revokeTargetSets(userNames("user", r.res.n), r.cfg.singles, burstSizes())
	if err := r.st.seam.resetCounters(ctx); err != nil {
		return err
	}
	start := time.Now()
	// Each try waits for its confirmation (a second after the write): twice the
	// storm keeps the queue full until the last one.
	extra, done, err := r.storm(ctx, "storm", 2*r.cfg.storm, rv)
	if err != nil {
		return err
	}
	for _, name := range targets {
		if err := r.suspend(ctx, []string{name}); err != nil {
			return err
		}
		rv.patched++
		if rv.waitErr = r.waitSuspended(ctx, rv.patched); rv.waitErr != nil {
			break
		}
	}
	return r.finishRevoke(ctx, rv, targets, extra, done, start)
}

// revoke starts a storm of -storm creates and, while they are in flight, suspends the
// converged users of revokeBursts[i] at once, timing each from its patch to the
// suspension reaching Seam and to it showing as converged.
func (r *sizeRun) revoke(ctx context.Context, i int) error {
	rv := &revokeResult{}
	if revokeBursts[i].toldOver {
		rv.toldOver = r.cfg.over
	}
	r.res.revokeBursts = append(r.res.revokeBursts, rv)
	_, bursts := revokeTargetSets(userNames("user", r.res.n), r.cfg.singles, burstSizes())
	targets := bursts[i]
	r.tracker.resetSuspended()
	if err := r.st.seam.resetCounters(ctx); err != nil {
		return err
	}
	start := time.Now()
	extra, done, err := r.storm(ctx, fmt.Sprintf("extra%d", i), r.cfg.storm, rv)
	if err != nil {
		return err
	}
	if err := r.suspend(ctx, targets); err != nil {
		return err
	}
	rv.patched = len(targets)
	rv.waitErr = r.waitSuspended(ctx, len(targets))
	return r.finishRevoke(ctx, rv, targets, extra, done, start)
}

// waitSuspended waits until n patched users show as suspended and converged.
func (r *sizeRun) waitSuspended(ctx context.Context, n int) error {
	return proc.Poll(ctx, 10*time.Millisecond, r.timeout(n), func() (bool, error) {
		return r.tracker.suspendedCount() >= n, r.st.checkAlive()
	})
}

// finishRevoke collects a revoke phase's latencies and calls, then waits for the
// storm's users to converge.
func (r *sizeRun) finishRevoke(ctx context.Context, rv *revokeResult, targets, extra []string, done <-chan error, start time.Time) error {
	var last time.Time
	rv.toConfirmed, last = r.tracker.revokeLatencies()
	rv.calls, _ = r.st.seam.counters(ctx)
	audit, err := r.st.seam.audit(ctx)
	if err != nil {
		return err
	}
	rv.toSeam = r.tracker.seamLatencies(targets, audit, "/acs/users/suspend")
	slices.Sort(rv.toConfirmed)
	slices.Sort(rv.toSeam)
	rv.extraReadyAtLastRevoke = r.tracker.readyBefore(extra, last)
	if err := <-done; err != nil {
		return err
	}
	if err := r.waitConverged(ctx, extra); err != nil {
		return fmt.Errorf("the %d storm users: %w", len(extra), err)
	}
	rv.extraReadyIn = r.tracker.lastReady(extra).Sub(start)
	r.tracker.resetSuspended()
	return nil
}

// suspend patches spec.suspended: true on every target, recording each send time.
func (r *sizeRun) suspend(ctx context.Context, targets []string) error {
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"suspended":true}}`))
	return parallel(ctx, 4, len(targets), func(i int) error {
		u := &seamv1alpha1.AcsUser{ObjectMeta: metav1.ObjectMeta{Name: targets[i], Namespace: namespace}}
		r.tracker.markPatched(targets[i], time.Now())
		return r.st.client.Patch(ctx, u, patch)
	})
}

// convergeOver tells the connection over × the sandbox's real rate and burst, then
// creates N more users and times them: the limiter has to find the real rate.
func (r *sizeRun) convergeOver(ctx context.Context) error {
	var conn seamv1alpha1.SeamConnection
	if err := r.st.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: connectionName}, &conn); err != nil {
		return err
	}
	rps, burst := r.overLimit()
	conn.Spec.RateLimit = &seamv1alpha1.RateLimit{RequestsPerSecond: rps, Burst: burst}
	if err := r.st.client.Update(ctx, &conn); err != nil {
		return err
	}
	var err error
	r.res.over, err = r.convergeOn(ctx, connectionName, "over")
	return err
}

// coldConnectionName is the connection convergeOverCold makes.
const coldConnectionName = "seam-cold"

// convergeOverCold makes a new connection to the same sandbox with another API
// key, told over × its real rate and burst, and times N more users on it: the
// limiter starts knowing nothing of the server, as a new install's does. (A new
// connection with the first one's key shares its limiter: the operator keeps one
// per key and endpoint.)
func (r *sizeRun) convergeOverCold(ctx context.Context) error {
	rps, burst := r.overLimit()
	if err := r.st.client.Create(ctx, r.newConnection(coldConnectionName, coldAPIKeySecret, rps, burst)); err != nil {
		return err
	}
	var err error
	r.res.overCold, err = r.convergeOn(ctx, coldConnectionName, "cold")
	return err
}

// overLimit is the rate and burst the connection is told: -over × the sandbox's.
func (r *sizeRun) overLimit() (rps, burst int32) {
	return int32(r.cfg.over * r.cfg.rateLimit), int32(r.cfg.over * float64(r.cfg.serverBurst))
}

// convergeOn waits for the connection conn to take its new limit, then times N
// users named prefix-* on it (convergeBatch).
func (r *sizeRun) convergeOn(ctx context.Context, conn, prefix string) (*overResult, error) {
	rps, burst := r.overLimit()
	if err := r.waitConnectionReady(ctx, conn); err != nil {
		return nil, fmt.Errorf("the connection %s at %d rps: %w", conn, rps, err)
	}
	return r.convergeBatch(ctx, conn, prefix, rps, burst)
}

// convergeBatch waits for the operator to go quiet, creates N users named
// prefix-* on the connection conn and times them to Ready.
func (r *sizeRun) convergeBatch(ctx context.Context, conn, prefix string, rps, burst int32) (*overResult, error) {
	if _, quiet := r.waitQuiet(ctx); !quiet {
		return nil, fmt.Errorf("the operator did not go quiet before the batch")
	}
	if err := r.st.seam.resetCounters(ctx); err != nil {
		return nil, err
	}
	names := userNames(prefix, r.res.n)
	start := time.Now()
	var created atomic.Int64
	if err := createUsersOn(ctx, r.st.client, conn, names, &created); err != nil {
		return nil, err
	}
	if err := r.waitConverged(ctx, names); err != nil {
		return nil, err
	}
	over := &overResult{rps: rps, burst: burst, readyIn: r.tracker.lastReady(names).Sub(start)}
	var err error
	over.calls, err = r.st.seam.counters(ctx)
	return over, err
}

// overResult is the converge run with the connection told more than the real rate.
type overResult struct {
	rps, burst int32
	readyIn    time.Duration
	calls      calls
}

// revokeTargetSets picks, spread over names, the users each revoke phase suspends:
// one set per burst size, then singles users one at a time. The sets are disjoint:
// a user already suspended would not change when patched again.
func revokeTargetSets(names []string, singles int, bursts []int) (single []string, burst [][]string) {
	rest := names
	take := func(k int) []string {
		picked := everyNth(rest, k)
		taken := make(map[string]bool, len(picked))
		for _, n := range picked {
			taken[n] = true
		}
		rest = slices.DeleteFunc(slices.Clone(rest), func(n string) bool { return taken[n] })
		return picked
	}
	for _, k := range bursts {
		burst = append(burst, take(k))
	}
	return take(singles), burst
}
