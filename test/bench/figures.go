package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// figures are the numbers the bench exists for, one set per size: what the
// headline table prints and what -out writes as JSON.
type figures struct {
	N int `json:"n"`
	// ConvergeRatio is the time for N new users to be Ready ÷ N/rps (the sandbox's
	// real rate), with the connection told that rate; ConvergeOverRatio the same
	// with the connection told -over times it (only at the -revoke size).
	ConvergeSeconds   float64  `json:"converge_seconds"`
	ConvergeRatio     float64  `json:"converge_ratio"`
	Throttled         int      `json:"throttled_429"`
	ConvergeOverRatio *float64 `json:"converge_over_ratio,omitempty"`
	ThrottledOver     *int     `json:"throttled_429_over,omitempty"`
	// ConvergeOverColdRatio is ConvergeOverRatio on a new connection, its
	// limiter knowing nothing of the server.
	ConvergeOverColdRatio *float64 `json:"converge_over_cold_ratio,omitempty"`
	ThrottledOverCold     *int     `json:"throttled_429_over_cold,omitempty"`
	CallsPerUser          float64  `json:"calls_per_user"`
	// IdleCallsPerResync is the calls of one resync period with nothing changed,
	// for the one system; IdleCallsTarget is ceil(N/500) + its access groups.
	IdleCallsPerResync float64 `json:"idle_calls_per_resync"`
	// IdleConnectionCallsPerResync are the connection's own checks (/workspaces/get),
	// one per connection whatever its systems.
	IdleConnectionCallsPerResync float64 `json:"idle_connection_calls_per_resync"`
	IdleCallsTarget              int     `json:"idle_calls_target"`
	APIWritesPerObject           float64 `json:"apiserver_writes_per_object"`
	// RevokeSingle and RevokeBursts are the revoke phases (only at the -revoke
	// size), one burst per revokeBursts size; Tries is the burst's size.
	RevokeSingle *revokeFigures  `json:"revoke_single,omitempty"`
	RevokeBursts []revokeFigures `json:"revoke_bursts,omitempty"`
	// HeapPerObjectKiB is (live heap settled − live heap before any user) ÷ N.
	HeapPerObjectKiB float64  `json:"heap_per_object_kib"`
	RSSPerObjectKiB  float64  `json:"rss_per_object_kib"`
	LiveHeapMiB      float64  `json:"live_heap_mib"`
	LiveRSSMiB       float64  `json:"live_rss_mib"`
	LiveAnonMiB      float64  `json:"live_rss_anon_mib"`
	PeakHeapMiB      float64  `json:"peak_heap_mib"`
	PeakRSSMiB       float64  `json:"peak_rss_mib"`
	HeapTop          []string `json:"heap_top,omitempty"`
	Error            string   `json:"error,omitempty"`
}

// revokeFigures are one revoke phase's latencies, in seconds, and its calls.
type revokeFigures struct {
	Tries int `json:"tries"`
	// ToldOver is how many times the real rate the connection was told (0: the real rate).
	ToldOver         float64 `json:"told_over,omitempty"`
	SeamP50          float64 `json:"to_seam_p50"`
	SeamP99          float64 `json:"to_seam_p99"`
	SeamMax          float64 `json:"to_seam_max"`
	ConfirmedP50     float64 `json:"to_confirmed_p50"`
	ConfirmedP99     float64 `json:"to_confirmed_p99"`
	ConfirmedMax     float64 `json:"to_confirmed_max"`
	WritesPerRevoke  float64 `json:"writes_per_revoke"`
	ReadsPerRevoke   float64 `json:"reads_per_revoke"`
	StormReadyAtLast string  `json:"storm_ready_at_last"`
}

// workspaceRoute is the connection's own health check, one per connection.
const workspaceRoute = "/workspaces/get"

// revokeReads are the per-user reads a revocation may cost (the snapshot's list
// routes are shared, and the creates are the storm's).
var revokeReads = []string{"/acs/users/get", "/acs/access_groups/list"}

func figuresOf(cfg config, r *result) figures {
	f := figures{N: r.n, Error: errText(r.err)}
	if r.convergeCalls == nil {
		return f
	}
	bound := float64(r.n) / cfg.rateLimit
	f.ConvergeSeconds = r.readyIn.Seconds()
	f.ConvergeRatio = f.ConvergeSeconds / bound
	f.Throttled = throttled(r.convergeCalls)
	if r.over != nil {
		ratio, limited := r.over.readyIn.Seconds()/bound, throttled(r.over.calls)
		f.ConvergeOverRatio, f.ThrottledOver = &ratio, &limited
	}
	if r.overCold != nil {
		ratio, limited := r.overCold.readyIn.Seconds()/bound, throttled(r.overCold.calls)
		f.ConvergeOverColdRatio, f.ThrottledOverCold = &ratio, &limited
	}
	f.CallsPerUser = float64(r.convergeCalls.total()) / float64(r.n)
	if r.resyncWindow > 0 {
		perConnection := 0
		for route, byStatus := range r.resyncCalls {
			if route == workspaceRoute {
				perConnection += sum(byStatus)
			}
		}
		periods := float64(r.resyncWindow) / float64(cfg.resync)
		f.IdleCallsPerResync = float64(r.resyncCalls.total()-perConnection) / periods
		f.IdleConnectionCallsPerResync = float64(perConnection) / periods
	}
	f.IdleCallsTarget = int(math.Ceil(float64(r.n)/listPageSize)) + len(accessGroups)
	f.APIWritesPerObject = r.convergeWrites.total() / float64(r.n)
	f.RevokeSingle = revokeFiguresOf(r.revokeSingle)
	for _, rv := range r.revokeBursts {
		f.RevokeBursts = append(f.RevokeBursts, *revokeFiguresOf(rv))
	}
	f.HeapPerObjectKiB = (r.liveHeap - r.baseHeap) / float64(r.n) / 1024
	f.RSSPerObjectKiB = r.liveRSS / float64(r.n) / 1024
	f.LiveHeapMiB, f.LiveRSSMiB, f.LiveAnonMiB = r.liveHeap/(1<<20), r.liveRSS/(1<<20), r.liveAnon/(1<<20)
	// The peak of N users, before the revoke phases add 3 × N more.
	rss, heap := r.peakRSS, r.peakHeap
	if r.revokeSingle != nil {
		rss, heap = r.peakRSSBeforeRevoke, r.peakHeapBeforeRevoke
	}
	f.PeakHeapMiB, f.PeakRSSMiB = heap/(1<<20), rss/(1<<20)
	f.HeapTop = r.heapTop
	return f
}

func revokeFiguresOf(rv *revokeResult) *revokeFigures {
	if rv == nil {
		return nil
	}
	q := func(d []time.Duration, p float64) float64 { return quantile(d, p).Seconds() }
	reads := 0
	for _, route := range revokeReads {
		reads += sum(rv.calls[route])
	}
	writes := 0
	for route, byStatus := range rv.calls {
		if strings.HasSuffix(route, "/suspend") {
			writes += sum(byStatus)
		}
	}
	return &revokeFigures{
		Tries: rv.patched, ToldOver: rv.toldOver,
		SeamP50: q(rv.toSeam, 0.5), SeamP99: q(rv.toSeam, 0.99), SeamMax: q(rv.toSeam, 1),
		ConfirmedP50: q(rv.toConfirmed, 0.5), ConfirmedP99: q(rv.toConfirmed, 0.99), ConfirmedMax: q(rv.toConfirmed, 1),
		WritesPerRevoke:  float64(writes) / float64(max(1, rv.patched)),
		ReadsPerRevoke:   float64(reads) / float64(max(1, rv.patched)),
		StormReadyAtLast: fmt.Sprintf("%d of %d", rv.extraReadyAtLastRevoke, rv.extra),
	}
}

func throttled(c calls) int {
	n := 0
	for _, byStatus := range c {
		_, l, _ := byClass(byStatus)
		n += l
	}
	return n
}

// quantile is the nearest-rank percentile of sorted durations (0 when empty).
func quantile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[max(0, int(math.Ceil(p*float64(len(sorted))))-1)]
}

// figuresTable is the headline table of one size: each figure beside its target.
func figuresTable(cfg config, f figures) table {
	t := table{
		title:  fmt.Sprintf("N = %d: figures", f.N),
		header: []string{"figure", "measured", "target"},
	}
	add := func(name, value, target string) { t.rows = append(t.rows, []string{name, value, target}) }
	add("all Ready ÷ (N ÷ server rps), connection told the real rate", fmt.Sprintf("%.2f× (%.1fs, %d × 429)", f.ConvergeRatio, f.ConvergeSeconds, f.Throttled), "≤ 1.10×")
	if f.ConvergeOverRatio != nil {
		add(fmt.Sprintf("the same, %d more users, connection told %g× the real rate", f.N, cfg.over), fmt.Sprintf("%.2f× (%d × 429)", *f.ConvergeOverRatio, *f.ThrottledOver), "≤ 1.10×")
	}
	if f.ConvergeOverColdRatio != nil {
		add(fmt.Sprintf("the same, %d more users on a new connection with its own API key, told %g× the real rate (nothing learnt yet)", f.N, cfg.over), fmt.Sprintf("%.2f× (%d × 429)", *f.ConvergeOverColdRatio, *f.ThrottledOverCold), "≤ 1.10×")
	}
	add("Seam calls per new user", fmt.Sprintf("%.2f", f.CallsPerUser), "1 (the create)")
	add("Seam calls in one idle resync (one system; + the connection's own check)", fmt.Sprintf("%.1f (+ %.1f)", f.IdleCallsPerResync, f.IdleConnectionCallsPerResync), fmt.Sprintf("≤ %d (ceil(N ÷ 500) + %d groups)", f.IdleCallsTarget, len(accessGroups)))
	add("apiserver writes per object to converge", fmt.Sprintf("%.2f", f.APIWritesPerObject), "-")
	type phase struct {
		name   string
		rf     *revokeFigures
		target string
	}
	phases := []phase{{"one suspend during a create storm", f.RevokeSingle, "p99 < 1s"}}
	for i := range f.RevokeBursts {
		b := &f.RevokeBursts[i]
		name := fmt.Sprintf("a burst of %d suspends during a create storm", b.Tries)
		if b.ToldOver > 0 {
			name += fmt.Sprintf(", connection told %g× the rate", b.ToldOver)
		}
		phases = append(phases, phase{name, b,
			fmt.Sprintf("p99 ≤ %.1fs (1.2 × burst ÷ rps + 1s)", 1.2*float64(b.Tries)/cfg.rateLimit+1)})
	}
	for _, p := range phases {
		if p.rf == nil {
			continue
		}
		add(p.name+": spec change → Seam call, p50 / p99 / max", fmt.Sprintf("%s / %s / %s (%d tries)", secs(p.rf.SeamP50), secs(p.rf.SeamP99), secs(p.rf.SeamMax), p.rf.Tries), p.target)
		add(p.name+": → confirmed in status, p50 / p99 / max", fmt.Sprintf("%s / %s / %s", secs(p.rf.ConfirmedP50), secs(p.rf.ConfirmedP99), secs(p.rf.ConfirmedMax)), "-")
		add(p.name+": Seam calls per revocation", fmt.Sprintf("%.2f write + %.2f reads (storm users Ready at the end: %s)", p.rf.WritesPerRevoke, p.rf.ReadsPerRevoke, p.rf.StormReadyAtLast), "1 write")
	}
	add("manager heap per AcsUser (live, after GC, less the empty manager's)", fmt.Sprintf("%.2f KiB", f.HeapPerObjectKiB), "≤ 5 KiB")
	add("manager RSS settled / peak", fmt.Sprintf("%.1f / %.1f MiB (%.1f KiB per object settled; anonymous %.1f MiB settled)", f.LiveRSSMiB, f.PeakRSSMiB, f.RSSPerObjectKiB, f.LiveAnonMiB), "< 120 MiB at 10,000")
	add("manager heap live / peak in use", fmt.Sprintf("%.1f / %.1f MiB", f.LiveHeapMiB, f.PeakHeapMiB), "-")
	return t
}

// heapTopTable is the top of the settled manager's heap profile.
func heapTopTable(f figures) table {
	t := table{title: fmt.Sprintf("N = %d: heap profile top (inuse_space, settled)", f.N), header: []string{"flat flat% sum% cum cum% function"}}
	for i, line := range f.HeapTop {
		if i == 0 {
			t.notes = append(t.notes, line)
			continue
		}
		t.rows = append(t.rows, []string{line})
	}
	return t
}

func secs(s float64) string { return dur(time.Duration(s * float64(time.Second))) }

// writeJSON writes the settings and every size's figures to cfg.out.
func writeJSON(cfg config, results []*result) error {
	out := struct {
		Settings string    `json:"settings"`
		At       time.Time `json:"at"`
		Sizes    []figures `json:"sizes"`
	}{Settings: settings(cfg), At: time.Now().UTC()}
	for _, r := range results {
		out.Sizes = append(out.Sizes, figuresOf(cfg, r))
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(cfg.out, append(b, '\n'), 0o644)
}
