package main

// The drift phase (-drift): how long a deletion made in the Seam console takes to
// show as RemoteDeleted, with Seam's webhooks and with polling alone, and what each
// mode costs in Seam reads. Each mode gets a fresh stack; numbers are printed.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/test/proc"
)

const (
	// driftUsers is how many AcsUsers each mode manages; driftDeletes of them are
	// deleted out of band, at random moments over one window.
	driftUsers   = 200
	driftDeletes = 40
	// driftAtScale is the size the reads per hour are given for.
	driftAtScale = 10000
	// webhookResync is the resync the README recommends once events flow;
	// catchUpEvery the manager's default catch-up interval; catchUpMeasured the
	// one the run uses, short, to count a catch-up's calls.
	webhookResync   = time.Hour
	catchUpEvery    = 3 * time.Minute
	catchUpMeasured = 10 * time.Second
	defaultResync   = 5 * time.Minute
)

type driftMode struct {
	name     string
	webhooks bool
	resync   time.Duration
}

type driftResult struct {
	mode      driftMode
	latencies []time.Duration
	missed    int
	// resyncCalls are the Seam calls of one idle resync of driftUsers users;
	// catchUpCalls those of one catch-up.
	resyncCalls, catchUpCalls float64
	err                       error
}

// runDrift measures both modes and prints a table.
func runDrift(ctx context.Context, cfg config, logRoot string) error {
	modes := []driftMode{{name: "webhooks", webhooks: true, resync: webhookResync}, {name: "polling", resync: cfg.resync}}
	var results []driftResult
	for _, m := range modes {
		progress("drift, %s: starting a control plane, the sandbox and the manager", m.name)
		res := measureDrift(ctx, cfg, m, filepath.Join(logRoot, "drift-"+m.name))
		if res.err != nil {
			progress("drift, %s: %v", m.name, res.err)
		}
		results = append(results, res)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	t := driftTable(cfg, results)
	renderText(os.Stdout, []table{t})
	if cfg.out != "" {
		f, err := os.OpenFile(cfg.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		renderMarkdown(f, []table{t})
		if err := f.Close(); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

func measureDrift(ctx context.Context, cfg config, m driftMode, logDir string) (res driftResult) {
	res.mode = m
	st := &stack{}
	defer st.stop()
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		res.err = err
		return res
	}
	webhookAddr, err := proc.FreeAddr()
	if err != nil {
		res.err = err
		return res
	}
	err = st.startControlPlane()
	if err == nil {
		err = st.startSandbox(ctx, cfg, logDir)
	}
	if err == nil {
		err = startDriftManager(ctx, st, cfg, m, webhookAddr, logDir)
	}
	r := &sizeRun{cfg: cfg, st: st}
	if err == nil {
		err = r.setupConnection(ctx)
	}
	if err == nil && m.webhooks {
		err = registerWebhook(ctx, st, "http://"+webhookAddr)
	}
	names := userNames("drift", driftUsers)
	if err == nil {
		var created atomic.Int64
		err = createUsers(ctx, st.client, names, &created)
	}
	if err == nil {
		err = waitReasons(ctx, st.client, names, "Available", 5*time.Minute)
	}
	if err == nil {
		res.resyncCalls, res.catchUpCalls, err = idleCalls(ctx, st, m)
	}
	if err == nil {
		res.latencies, res.missed, err = consoleDeletes(ctx, st, names, m)
	}
	res.err = err
	return res
}

// startDriftManager runs bin/manager for one mode: with the webhook receiver and
// a short catch-up for webhooks, polling alone otherwise.
func startDriftManager(ctx context.Context, st *stack, cfg config, m driftMode, webhookAddr, logDir string) error {
	kubeconfig, err := st.cp.Kubeconfig(logDir)
	if err != nil {
		return err
	}
	probe, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	args := []string{"--health-probe-bind-address=" + probe, "--operator-namespace=default",
		fmt.Sprintf("--max-concurrent-reconciles=%d", cfg.concurrency), "--resync-period=" + m.resync.String(),
		"--allowed-endpoints=" + st.sandboxURL, "--zap-log-level=" + cfg.logLevel}
	if m.webhooks {
		args = append(args, "--webhook-bind-address="+webhookAddr, "--events-catch-up-interval="+catchUpMeasured.String())
	}
	if st.manager, err = startBin(logDir, "manager", []string{"KUBECONFIG=" + kubeconfig}, args...); err != nil {
		return err
	}
	return proc.WaitHTTP(ctx, "http://"+probe+"/readyz", st.manager, 60*time.Second)
}

// registerWebhook sets spec.webhook.register on the connection and waits for the
// operator to have created the webhook.
func registerWebhook(ctx context.Context, st *stack, receiver string) error {
	key := types.NamespacedName{Namespace: namespace, Name: connectionName}
	var conn seamv1alpha1.SeamConnection
	if err := st.client.Get(ctx, key, &conn); err != nil {
		return err
	}
	patch := client.MergeFrom(conn.DeepCopy())
	conn.Spec.Webhook = &seamv1alpha1.WebhookSpec{Register: &seamv1alpha1.WebhookRegistration{
		URL: receiver + "/webhooks/seam/" + namespace + "/" + connectionName}}
	if err := st.client.Patch(ctx, &conn, patch); err != nil {
		return err
	}
	return proc.Poll(ctx, 100*time.Millisecond, time.Minute, func() (bool, error) {
		if err := st.client.Get(ctx, key, &conn); err != nil {
			return false, err
		}
		return conn.Status.Webhook != nil && conn.Status.Webhook.WebhookID != "", st.checkAlive()
	})
}

// waitReasons waits until every named AcsUser's Ready reason is reason.
func waitReasons(ctx context.Context, c client.Client, names []string, reason string, timeout time.Duration) error {
	return proc.Poll(ctx, 200*time.Millisecond, timeout, func() (bool, error) {
		got := readyReasons(ctx, c)
		for _, n := range names {
			if got[n] != reason {
				return false, nil
			}
		}
		return true, nil
	})
}

func readyReasons(ctx context.Context, c client.Client) map[string]string {
	var list seamv1alpha1.AcsUserList
	out := map[string]string{}
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return out
	}
	for _, u := range list.Items {
		if cond := meta.FindStatusCondition(u.Status.Conditions, "Ready"); cond != nil {
			out[u.Name] = cond.Reason
		}
	}
	return out
}

// idleCalls counts the Seam calls of one idle resync (polling) and, with
// webhooks, of one catch-up (the connection's check and /events/list).
func idleCalls(ctx context.Context, st *stack, m driftMode) (resync, catchUp float64, err error) {
	if err := st.seam.resetCounters(ctx); err != nil {
		return 0, 0, err
	}
	window := catchUpMeasured * 3
	if !m.webhooks {
		window = m.resync + m.resync/5 // one resync, jitter included
	}
	if err := (&sizeRun{st: st}).sleep(ctx, window); err != nil {
		return 0, 0, err
	}
	c, err := st.seam.counters(ctx)
	if err != nil {
		return 0, 0, err
	}
	count := func(keep func(route string) bool) float64 {
		n := 0
		for route, byStatus := range c {
			if keep(route) {
				for _, v := range byStatus {
					n += v
				}
			}
		}
		return float64(n)
	}
	connectionRoutes := func(r string) bool { return r == "/events/list" || r == "/workspaces/get" }
	if m.webhooks {
		return 0, count(connectionRoutes) / float64(window/catchUpMeasured), nil
	}
	return count(func(r string) bool { return !connectionRoutes(r) }), 0, nil
}

// consoleDeletes deletes driftDeletes users out of band, each at a random moment
// within one window (a resync period when polling, so the users sit at every point
// of their cycle), and measures how long each takes to show as RemoteDeleted.
func consoleDeletes(ctx context.Context, st *stack, names []string, m driftMode) ([]time.Duration, int, error) {
	window := 5 * time.Second
	if !m.webhooks {
		window = m.resync
	}
	ids := map[string]string{}
	var list seamv1alpha1.AcsUserList
	if err := st.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, 0, err
	}
	for _, u := range list.Items {
		ids[u.Name] = u.Status.AcsUserID
	}
	targets := everyNth(names, driftDeletes)
	var mu sync.Mutex
	deletedAt := map[string]time.Time{}
	var wg sync.WaitGroup
	errs := make(chan error, len(targets))
	for _, name := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(time.Duration(rand.Int64N(int64(window)))):
			case <-ctx.Done():
				return
			}
			body := fmt.Sprintf(`{"acs_user_id":%q}`, ids[name])
			resp, err := http.Post(st.sandboxURL+"/_sandbox/users/delete", "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			_ = resp.Body.Close()
			mu.Lock()
			deletedAt[name] = time.Now()
			mu.Unlock()
		}()
	}
	seen := map[string]time.Duration{}
	// Polling finds a deletion within a resync (+10 % jitter); webhooks well within a minute.
	deadline := time.Now().Add(window + time.Minute)
	if !m.webhooks {
		deadline = deadline.Add(2 * m.resync)
	}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for len(seen) < len(targets) && time.Now().Before(deadline) && ctx.Err() == nil {
		reasons := readyReasons(ctx, st.client)
		now := time.Now()
		mu.Lock()
		for name, at := range deletedAt {
			if _, done := seen[name]; !done && reasons[name] == "RemoteDeleted" {
				seen[name] = now.Sub(at)
			}
		}
		mu.Unlock()
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, 0, err
	}
	out := make([]time.Duration, 0, len(seen))
	for _, d := range seen {
		out = append(out, d)
	}
	slices.Sort(out)
	return out, len(targets) - len(seen), nil
}

// driftTable compares the modes; Seam reads per hour are computed for
// driftAtScale users from the calls measured with driftUsers (a resync's cost
// grows with the users; a catch-up's does not).
func driftTable(cfg config, results []driftResult) table {
	t := table{
		title: fmt.Sprintf("Drift detection: a user deleted in the Seam console -> RemoteDeleted (%d users, %d deletes each; reads per hour computed for %d users)",
			driftUsers, driftDeletes, driftAtScale),
		header: []string{"mode", "resync", "p50", "p99", "max", "missed", "Seam reads/h at 10,000 users"},
	}
	var perUserResync float64
	for _, r := range results {
		if !r.mode.webhooks && r.resyncCalls > 0 {
			perUserResync = r.resyncCalls / driftUsers
		}
	}
	for _, r := range results {
		reads := "-"
		if perUserResync > 0 {
			perResync := perUserResync * driftAtScale
			perHour := perResync * float64(time.Hour/r.mode.resync)
			if r.mode.webhooks {
				perHour += r.catchUpCalls * float64(time.Hour/catchUpEvery)
				reads = fmt.Sprintf("%s (1 resync + %d catch-ups of %.0f calls)", num(perHour), time.Hour/catchUpEvery, r.catchUpCalls)
			} else {
				reads = fmt.Sprintf("%s (at %s; %s at the 5m default)", num(perHour), r.mode.resync, num(perResync*float64(time.Hour/defaultResync)))
			}
		}
		row := []string{r.mode.name, r.mode.resync.String(), pct(r.latencies, 0.5), pct(r.latencies, 0.99),
			pct(r.latencies, 1), fmt.Sprint(r.missed), reads}
		if r.err != nil {
			row[len(row)-1] = errText(r.err)
		}
		t.rows = append(t.rows, row)
	}
	return t
}
