package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/test/proc"
)

const (
	namespace      = "bench"
	connectionName = "seam"
	createWorkers  = 8
	// quietFor is how long the sandbox must see no call for the operator to count as idle.
	quietFor = 3 * time.Second
	// resyncWindows is how many resync periods the idle phase counts calls over: one
	// period alone may hold one snapshot read or two, depending on the jitter.
	resyncWindows = 3
)

// burstPhase is one burst of suspends sent at once during its own create storm;
// toldOver runs it after the -over converge, with the connection still told -over
// times the sandbox's real rate and burst.
type burstPhase struct {
	size     int
	toldOver bool
}

// revokeBursts are the burst phases: the two sizes with the connection told
// the real rate, and 50 again told more than it.
var revokeBursts = []burstPhase{{size: 50}, {size: 100}, {size: 50, toldOver: true}}

// burstSizes are the sizes of revokeBursts, in order.
func burstSizes() []int {
	sizes := make([]int, 0, len(revokeBursts))
	for _, b := range revokeBursts {
		sizes = append(sizes, b.size)
	}
	return sizes
}

// sizeRun is one size: its stack, its tracker and what it measured.
type sizeRun struct {
	cfg     config
	st      *stack
	tracker *tracker
	res     *result
}

// measure runs every phase for n AcsUsers on a fresh stack and returns what it got,
// with res.err set if a phase failed.
func measure(ctx context.Context, cfg config, n int, logDir string) *result {
	res := &result{n: n, logDir: logDir}
	st, err := startStack(ctx, cfg, logDir)
	if err != nil {
		res.err = err
		return res
	}
	defer st.stop()
	r := &sizeRun{cfg: cfg, st: st, res: res}
	res.err = r.phases(ctx)
	res.peakRSS, res.peakHeap = r.memory()
	return res
}

func (r *sizeRun) phases(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := r.setupConnection(ctx); err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	t, err := startTracker(ctx, r.st.restConfig, namespace)
	if err != nil {
		return err
	}
	r.tracker = t
	if r.res.baseHeap, _, _, _, err = r.liveMemory(ctx); err != nil {
		return err
	}
	steps := []step{{"converge", r.converge}, {"resync", r.resync}, {"heap profile", r.profile}}
	if r.res.n == r.cfg.revokeAt {
		steps = append(steps, step{"single suspends during a create storm", r.revokeSingles})
		bursts := func(toldOver bool) {
			for i, b := range revokeBursts {
				if b.toldOver == toldOver {
					steps = append(steps, step{fmt.Sprintf("a burst of %d suspends during a create storm", b.size),
						func(ctx context.Context) error { return r.revoke(ctx, i) }})
				}
			}
		}
		bursts(false)
		if r.cfg.over > 0 {
			steps = append(steps, step{fmt.Sprintf("converge with the connection told %g× the real rate", r.cfg.over), r.convergeOver})
			bursts(true)
			steps = append(steps, step{fmt.Sprintf("converge on a new connection told %g× the real rate", r.cfg.over), r.convergeOverCold})
		}
	}
	for _, s := range steps {
		progress("N=%d: %s", r.res.n, s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

type step struct {
	name string
	fn   func(context.Context) error
}

// setupConnection creates the namespace, the API key Secret and a SeamConnection to the
// sandbox whose operator-side rate limit matches the sandbox's, and waits for it Ready.
func (r *sizeRun) setupConnection(ctx context.Context) error {
	c := r.st.client
	rps := int32(math.Ceil(r.cfg.rateLimit))
	burst := int32(r.cfg.serverBurst)
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: apiKeySecret, Namespace: namespace},
			StringData: map[string]string{"apiKey": sandboxAPIKey}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: coldAPIKeySecret, Namespace: namespace},
			StringData: map[string]string{"apiKey": coldAPIKey}},
		r.newConnection(connectionName, apiKeySecret, rps, burst),
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return err
		}
	}
	return r.waitConnectionReady(ctx, connectionName)
}

// The Secrets of the two API keys.
const (
	apiKeySecret     = "seam-api-key"
	coldAPIKeySecret = "seam-api-key-cold"
)

// newConnection is a SeamConnection to the sandbox with the key in Secret secret,
// told rps and burst.
func (r *sizeRun) newConnection(name, secret string, rps, burst int32) *seamv1alpha1.SeamConnection {
	return &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: seamv1alpha1.SeamConnectionSpec{
			Endpoint:          r.st.sandboxURL,
			InsecureAllowHTTP: true,
			APIKeySecretRef:   seamv1alpha1.SecretKeySelector{Name: secret, Key: "apiKey"},
			RateLimit:         &seamv1alpha1.RateLimit{RequestsPerSecond: rps, Burst: burst},
		}}
}

// waitConnectionReady waits for the SeamConnection name to be Ready at its generation.
func (r *sizeRun) waitConnectionReady(ctx context.Context, name string) error {
	return proc.Poll(ctx, 200*time.Millisecond, time.Minute, func() (bool, error) {
		var conn seamv1alpha1.SeamConnection
		if err := r.st.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &conn); err != nil {
			return false, err
		}
		ready := meta.FindStatusCondition(conn.Status.Conditions, "Ready")
		return ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == conn.Generation, r.st.checkAlive()
	})
}

// converge creates N users at once, waits for all of them to converge and counts
// what that cost, then waits for the operator to go idle.
func (r *sizeRun) converge(ctx context.Context) error {
	if err := r.st.seam.resetCounters(ctx); err != nil {
		return err
	}
	writesBefore, recBefore, err := r.apiserverAndReconciles(ctx)
	if err != nil {
		return err
	}
	names := userNames("user", r.res.n)
	start := time.Now()
	var created atomic.Int64
	if err := createUsers(ctx, r.st.client, names, &created); err != nil {
		return err
	}
	r.res.createIn = time.Since(start)
	if err := r.waitConverged(ctx, names); err != nil {
		return err
	}
	r.res.readyIn = r.tracker.lastReady(names).Sub(start)
	if r.res.convergeCalls, err = r.st.seam.counters(ctx); err != nil {
		return err
	}
	writesAfter, recAfter, err := r.apiserverAndReconciles(ctx)
	if err != nil {
		return err
	}
	r.res.convergeWrites = withoutHarness(writesAfter.minus(writesBefore), int(created.Load()), 0)
	r.res.convergeReconciles = diff(recAfter, recBefore)
	r.res.quietAfter, r.res.quiet = r.waitQuiet(ctx)
	return nil
}

// resync resets the counters once the operator is idle and counts what resyncWindows
// resync periods cost with nothing changed; the report divides by the periods.
func (r *sizeRun) resync(ctx context.Context) error {
	if err := r.st.seam.resetCounters(ctx); err != nil {
		return err
	}
	writesBefore, recBefore, err := r.apiserverAndReconciles(ctx)
	if err != nil {
		return err
	}
	r.res.resyncWindow = resyncWindows * r.cfg.resync
	if err := r.sleep(ctx, r.res.resyncWindow); err != nil {
		return err
	}
	if r.res.resyncCalls, err = r.st.seam.counters(ctx); err != nil {
		return err
	}
	writesAfter, recAfter, err := r.apiserverAndReconciles(ctx)
	if err != nil {
		return err
	}
	r.res.resyncWrites = writesAfter.minus(writesBefore)
	r.res.resyncReconciles = diff(recAfter, recBefore)
	return nil
}

// waitConverged waits until every name is converged, or the timeout for that many passes.
func (r *sizeRun) waitConverged(ctx context.Context, names []string) error {
	err := proc.Poll(ctx, 100*time.Millisecond, r.timeout(len(names)), func() (bool, error) {
		return r.tracker.readyCount(names) == len(names), r.st.checkAlive()
	})
	if err != nil {
		return fmt.Errorf("%d of %d Ready: %w", r.tracker.readyCount(names), len(names), err)
	}
	return nil
}

// waitQuiet waits until the sandbox sees no call for quietFor, at most one resync period.
func (r *sizeRun) waitQuiet(ctx context.Context) (time.Duration, bool) {
	start := time.Now()
	last, lastChange := -1, time.Now()
	err := proc.Poll(ctx, 500*time.Millisecond, r.cfg.resync, func() (bool, error) {
		c, err := r.st.seam.counters(ctx)
		if err != nil {
			return false, err
		}
		if total := c.total(); total != last {
			last, lastChange = total, time.Now()
		}
		return time.Since(lastChange) >= quietFor, nil
	})
	return time.Since(start), err == nil
}

// timeout for n users to converge: generous, several times the rate-limit bound.
func (r *sizeRun) timeout(n int) time.Duration {
	if r.cfg.timeout > 0 {
		return r.cfg.timeout
	}
	return 3*time.Minute + time.Duration(20*float64(n)/r.cfg.rateLimit*float64(time.Second))
}

// sleep waits d, failing early if a subprocess dies.
func (r *sizeRun) sleep(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	return proc.Poll(ctx, time.Second, d+time.Minute, func() (bool, error) {
		return !time.Now().Before(end), r.st.checkAlive()
	})
}

func (r *sizeRun) apiserverAndReconciles(ctx context.Context) (apiWrites, map[string]float64, error) {
	api, err := r.st.apiserverMetrics(ctx)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := r.st.managerMetrics(ctx)
	if err != nil {
		return nil, nil, err
	}
	return acsUserWrites(api), reconciles(mgr), nil
}

// memory is the manager's peak RSS and peak heap in use so far.
func (r *sizeRun) memory() (rss, heap float64) {
	if r.st.manager != nil {
		rss, _ = peakRSS(r.st.manager.Pid())
	}
	if r.st.heap != nil {
		heap = r.st.heap.peakBytes()
	}
	return rss, heap
}

// createUsers creates an AcsUser per name with a few workers, counting successes.
func createUsers(ctx context.Context, c client.Client, names []string, created *atomic.Int64) error {
	return createUsersOn(ctx, c, connectionName, names, created)
}

// createUsersOn is createUsers with the users on the connection conn.
func createUsersOn(ctx context.Context, c client.Client, conn string, names []string, created *atomic.Int64) error {
	return parallel(ctx, createWorkers, len(names), func(i int) error {
		if err := c.Create(ctx, newUser(names[i], conn, i)); err != nil {
			return err
		}
		created.Add(1)
		return nil
	})
}

// newUser is a user on the connection conn with a unique name and email and one
// access group.
func newUser(name, conn string, i int) *seamv1alpha1.AcsUser {
	return &seamv1alpha1.AcsUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: seamv1alpha1.AcsUserSpec{
			ConnectionRef:  seamv1alpha1.ConnectionRef{Name: conn},
			AcsSystemID:    acsSystemID,
			FullName:       "Bench " + name,
			EmailAddress:   name + "@bench.example.com",
			AccessGroupIDs: []seamv1alpha1.SeamID{seamv1alpha1.SeamID(accessGroups[i%len(accessGroups)])},
		},
	}
}

func userNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}

// everyNth picks k names spread evenly over names.
func everyNth(names []string, k int) []string {
	k = min(k, len(names))
	out := make([]string, 0, k)
	for i := range k {
		out = append(out, names[i*len(names)/k])
	}
	return out
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(int) error) error {
	var (
		next     atomic.Int64
		failed   atomic.Bool
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// withoutHarness takes the harness's own creates and patches out of the writes.
func withoutHarness(w apiWrites, creates, patches int) apiWrites {
	w["POST"] -= float64(creates)
	w["PATCH"] -= float64(patches)
	for k, v := range w {
		if v == 0 {
			delete(w, k)
		}
	}
	return w
}

func diff(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}
