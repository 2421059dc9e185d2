package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// result is what one size measured.
type result struct {
	n      int
	logDir string
	err    error

	createIn, readyIn  time.Duration
	convergeCalls      calls
	quietAfter         time.Duration
	quiet              bool
	convergeWrites     apiWrites
	convergeReconciles map[string]float64

	resyncWindow     time.Duration
	resyncCalls      calls
	resyncWrites     apiWrites
	resyncReconciles map[string]float64

	peakRSS, peakHeap                         float64
	peakRSSBeforeRevoke, peakHeapBeforeRevoke float64

	// baseHeap is the live heap before the first AcsUser; liveHeap and liveRSS after
	// the resync window, with every user converged (both right after a forced GC).
	baseHeap, liveHeap, liveRSS, liveAnon float64
	// heapTop is the top of the manager's heap profile (inuse_space) at that moment.
	heapTop []string

	revokeSingle *revokeResult
	// revokeBursts are the burst phases, one per revokeBursts size.
	revokeBursts []*revokeResult
	over         *overResult
	// overCold is the same on a new connection (a limiter that knows nothing).
	overCold *overResult
}

// table is a titled grid with notes, rendered as aligned text or Markdown.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func renderText(w io.Writer, tables []table) {
	for _, t := range tables {
		fmt.Fprintf(w, "\n%s\n", t.title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		line := func(cells []string) { fmt.Fprintln(tw, "  "+strings.Join(cells, "\t")+"\t") }
		line(t.header)
		dashes := make([]string, len(t.header))
		for i, h := range t.header {
			dashes[i] = strings.Repeat("-", len(h))
		}
		line(dashes)
		for _, r := range t.rows {
			line(r)
		}
		_ = tw.Flush()
		for _, n := range t.notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
}

func renderMarkdown(w io.Writer, tables []table) {
	for _, t := range tables {
		fmt.Fprintf(w, "\n#### %s\n\n| %s |\n|%s\n", t.title, strings.Join(t.header, " | "), strings.Repeat(" --- |", len(t.header)))
		for _, r := range t.rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		if len(t.notes) > 0 {
			fmt.Fprintln(w)
		}
		for _, n := range t.notes {
			fmt.Fprintf(w, "%s  \n", n)
		}
	}
}

// sizeTables are the tables of one size.
func sizeTables(cfg config, r *result) []table {
	if r.convergeCalls == nil {
		return []table{{title: fmt.Sprintf("N = %d", r.n), header: []string{"error"}, rows: [][]string{{errText(r.err)}}}}
	}
	f := figuresOf(cfg, r)
	out := []table{figuresTable(cfg, f), convergeTable(cfg, r), callsTable(r), resyncTable(cfg, r), writesTable(r), memoryTable(r), heapTopTable(f)}
	for _, rv := range append([]*revokeResult{r.revokeSingle}, r.revokeBursts...) {
		if rv != nil {
			out = append(out, revokeTable(r, rv))
		}
	}
	if r.err != nil {
		out[len(out)-1].notes = append(out[len(out)-1].notes, "ERROR: "+errText(r.err))
	}
	return out
}

func convergeTable(cfg config, r *result) table {
	bound := seconds(float64(r.n) / cfg.rateLimit)
	total := r.convergeCalls.total()
	callBound := seconds(float64(total) / cfg.rateLimit)
	idle := fmt.Sprintf("%s after the last Ready", dur(r.quietAfter))
	if !r.quiet {
		idle = fmt.Sprintf("never (still calling Seam %s after the last Ready)", dur(r.quietAfter))
	}
	return table{
		title:  fmt.Sprintf("N = %d: time to converge", r.n),
		header: []string{"measure", "value"},
		rows: [][]string{
			{"creates sent by the harness in", dur(r.createIn)},
			{"all Ready (from the first create)", dur(r.readyIn)},
			{"rate-limit bound N ÷ rps", dur(bound)},
			{"ratio to that bound", ratio(r.readyIn, bound)},
			{"remote calls made ÷ rps", fmt.Sprintf("%s (%d calls)", dur(callBound), total)},
			{"ratio to that bound", ratio(r.readyIn, callBound)},
			{"reconciles (acsuser)", reconcileText(r.convergeReconciles, r.n)},
			{"operator idle", idle},
		},
	}
}

func callsTable(r *result) table {
	t := routeTable(r.convergeCalls, r.n, "per user")
	t.title = fmt.Sprintf("N = %d: remote calls until all Ready, by route (sandbox counters)", r.n)
	return t
}

func resyncTable(cfg config, r *result) table {
	t := routeTable(r.resyncCalls, r.n, "per user")
	pages := int(math.Ceil(float64(r.n) / listPageSize))
	t.title = fmt.Sprintf("N = %d: remote calls in %d idle resync periods (%s, nothing changed)", r.n, resyncWindows, dur(r.resyncWindow))
	t.notes = []string{
		fmt.Sprintf("total %d calls, %.1f per resync period of %s; target per period: %d list page(s) of %d + one membership read per access group (%d), not N = %d",
			r.resyncCalls.total(), float64(r.resyncCalls.total())*float64(cfg.resync)/float64(r.resyncWindow), cfg.resync, pages, listPageSize, len(accessGroups), r.n),
		fmt.Sprintf("reconciles in the window: %s; apiserver writes in the window: %s", reconcileText(r.resyncReconciles, r.n), writesText(r.resyncWrites)),
	}
	return t
}

// routeTable has a row per route: 2xx, 429, other, total, per user.
func routeTable(c calls, n int, perLabel string) table {
	t := table{header: []string{"route", "2xx", "429", "other", "total", perLabel}}
	routes := make([]string, 0, len(c))
	for route := range c {
		routes = append(routes, route)
	}
	slices.Sort(routes)
	var sumOK, sumLimited, sumOther int
	for _, route := range routes {
		ok, limited, other := byClass(c[route])
		sumOK, sumLimited, sumOther = sumOK+ok, sumLimited+limited, sumOther+other
		t.rows = append(t.rows, routeRow(route, ok, limited, other, n))
	}
	t.rows = append(t.rows, routeRow("all routes", sumOK, sumLimited, sumOther, n))
	return t
}

func routeRow(route string, ok, limited, other, n int) []string {
	total := ok + limited + other
	return []string{route, fmt.Sprint(ok), fmt.Sprint(limited), fmt.Sprint(other), fmt.Sprint(total), per(float64(total), n)}
}

func writesTable(r *result) table {
	keys := map[string]bool{}
	for k := range r.convergeWrites {
		keys[k] = true
	}
	for k := range r.resyncWrites {
		keys[k] = true
	}
	t := table{
		title:  fmt.Sprintf("N = %d: apiserver writes on acsusers by the manager until all Ready, and in the resync window (kube-apiserver /metrics; the harness's %d creates subtracted)", r.n, r.n),
		header: []string{"request", "to converge", "per object", "in the resync window"},
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		t.rows = append(t.rows, []string{k, num(r.convergeWrites[k]), per(r.convergeWrites[k], r.n), num(r.resyncWrites[k])})
	}
	t.rows = append(t.rows, []string{"all writes", num(r.convergeWrites.total()), per(r.convergeWrites.total(), r.n), num(r.resyncWrites.total())})
	return t
}

func memoryTable(r *result) table {
	rss, heap := r.peakRSS, r.peakHeap
	if r.revokeSingle != nil {
		rss, heap = r.peakRSSBeforeRevoke, r.peakHeapBeforeRevoke
	}
	return table{
		title:  fmt.Sprintf("N = %d: manager memory", r.n),
		header: []string{"measure", "value"},
		rows: [][]string{
			{"peak RSS (VmHWM)", mib(rss)},
			{"peak heap in use (go_memstats_heap_inuse_bytes, 1 s scrapes)", mib(heap)},
		},
	}
}

func revokeTable(r *result, rv *revokeResult) table {
	what := fmt.Sprintf("suspend %d Ready users at once", rv.patched)
	if rv.toldOver > 0 {
		what += fmt.Sprintf(", the connection told %g× the real rate", rv.toldOver)
	}
	if rv == r.revokeSingle {
		what = fmt.Sprintf("suspend %d Ready users one at a time", rv.patched)
	}
	t := table{
		title:  fmt.Sprintf("N = %d: revoke under load (%s while %d creates are in flight)", r.n, what, rv.extra),
		header: []string{"measure", "value"},
		rows: [][]string{
			{"suspends converged", fmt.Sprintf("%d of %d", len(rv.toConfirmed), rv.patched)},
			{"patch → suspend call in Seam p50 / p99 / max", pct(rv.toSeam, 0.5) + " / " + pct(rv.toSeam, 0.99) + " / " + pct(rv.toSeam, 1)},
			{"patch → converged in status p50 / p99 / max", pct(rv.toConfirmed, 0.5) + " / " + pct(rv.toConfirmed, 0.99) + " / " + pct(rv.toConfirmed, 1)},
			{"creates sent before the first patch", fmt.Sprintf("%d of %d", rv.createdBeforePatch, rv.extra)},
			{"new users Ready when the last suspend converged", fmt.Sprintf("%d of %d", rv.extraReadyAtLastRevoke, rv.extra)},
			{"all new users Ready (from the first create)", dur(rv.extraReadyIn)},
		},
		notes: []string{
			"converged: status.isSuspended=true, Ready=True and observedGeneration == generation; the Seam call's time is the sandbox's audit log",
			"remote calls from the first create to the last suspend converged: " + callsText(rv.calls),
		},
	}
	if rv.waitErr != nil {
		t.notes = append(t.notes, "suspends not all converged: "+rv.waitErr.Error())
	}
	return t
}

// summaryTable has a row per size.
func summaryTable(cfg config, results []*result) table {
	t := table{
		title:  "Summary",
		header: []string{"N", "all Ready", "× N/rps", "× told 2×", "calls/user", "idle calls/resync (target)", "apiserver writes/object", "one revoke p99", "burst revoke p99 (per size)", "heap/object", "RSS settled / peak"},
	}
	for _, r := range results {
		f := figuresOf(cfg, r)
		if r.convergeCalls == nil {
			t.rows = append(t.rows, []string{fmt.Sprint(r.n), "failed", "", "", "", "", "", "", "", "", ""})
			t.notes = append(t.notes, fmt.Sprintf("N = %d failed: %s", r.n, errText(r.err)))
			continue
		}
		over, single, burst := "-", "-", "-"
		if f.ConvergeOverRatio != nil {
			over = fmt.Sprintf("%.2f×", *f.ConvergeOverRatio)
		}
		if f.ConvergeOverColdRatio != nil {
			over += fmt.Sprintf(" (new connection %.2f×)", *f.ConvergeOverColdRatio)
		}
		if f.RevokeSingle != nil {
			single = secs(f.RevokeSingle.SeamP99)
		}
		if len(f.RevokeBursts) > 0 {
			var parts []string
			for _, b := range f.RevokeBursts {
				label := fmt.Sprint(b.Tries)
				if b.ToldOver > 0 {
					label += fmt.Sprintf(" told %g×", b.ToldOver)
				}
				parts = append(parts, fmt.Sprintf("%s: %s", label, secs(b.SeamP99)))
			}
			burst = strings.Join(parts, ", ")
		}
		t.rows = append(t.rows, []string{
			fmt.Sprint(r.n), dur(r.readyIn), fmt.Sprintf("%.2f×", f.ConvergeRatio), over,
			fmt.Sprintf("%.2f", f.CallsPerUser), fmt.Sprintf("%.1f (%d)", f.IdleCallsPerResync, f.IdleCallsTarget),
			fmt.Sprintf("%.2f", f.APIWritesPerObject), single, burst,
			fmt.Sprintf("%.2f KiB", f.HeapPerObjectKiB), fmt.Sprintf("%.0f / %.0f MiB", f.LiveRSSMiB, f.PeakRSSMiB),
		})
	}
	t.notes = append(t.notes, settings(cfg), "revoke p99: from the patch to the suspend call reaching Seam")
	return t
}

func settings(cfg config) string {
	// The manager inherits the harness's environment: GOGC there wins over its default.
	gc := "GOGC 50, the manager's default"
	if v, ok := os.LookupEnv("GOGC"); ok {
		gc = "GOGC=" + v + " from the environment"
	}
	memory := "no memory limit (" + gc + ")"
	if cfg.containerMiB > 0 {
		memory = fmt.Sprintf("as in a container of %d MiB (GOMEMLIMIT %d MiB, %s)", cfg.containerMiB, cfg.containerMiB*9/10, gc)
	}
	return fmt.Sprintf("settings: sandbox latency %s per call, sandbox limit %g rps burst %d (connection told the same; %g× in the second converge), revoke storms of %d creates (%d for the single suspends), resync %s, max-concurrent-reconciles %d, mutation delay %s, manager %s",
		cfg.latency, cfg.rateLimit, cfg.serverBurst, cfg.over, cfg.storm, 2*cfg.storm, cfg.resync, cfg.concurrency, cfg.mutationDelay, memory)
}

func reconcileText(m map[string]float64, n int) string {
	total := 0.0
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		total += m[k]
		parts = append(parts, fmt.Sprintf("%s %s", k, num(m[k])))
	}
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%s (%s/user: %s)", num(total), per(total, n), strings.Join(parts, ", "))
}

func callsText(c calls) string {
	routes := slices.Sorted(maps.Keys(c))
	parts := make([]string, 0, len(routes))
	for _, route := range routes {
		parts = append(parts, fmt.Sprintf("%s %d", route, sum(c[route])))
	}
	return fmt.Sprintf("%d (%s)", c.total(), strings.Join(parts, ", "))
}

func writesText(w apiWrites) string {
	if len(w) == 0 {
		return "0"
	}
	keys := slices.Sorted(maps.Keys(w))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", k, num(w[k])))
	}
	return fmt.Sprintf("%s (%s)", num(w.total()), strings.Join(parts, ", "))
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := max(0, int(math.Ceil(p*float64(len(sorted))))-1)
	return dur(sorted[i])
}

func dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func ratio(d, bound time.Duration) string {
	if bound <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", float64(d)/float64(bound))
}

func per(v float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v/float64(n))
}

func num(v float64) string { return fmt.Sprintf("%.0f", v) }

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
