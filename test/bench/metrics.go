package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads a /metrics endpoint in the Prometheus text format.
func scrape(ctx context.Context, c *http.Client, url string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics parses the text exposition format with Prometheus's own parser
// and flattens it into samples: a histogram gives name_bucket{le}, name_sum and
// name_count, a summary name{quantile}, name_sum and name_count. Samples come
// sorted by name.
func parseMetrics(r io.Reader) ([]sample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, name := range slices.Sorted(maps.Keys(families)) {
		for _, m := range families[name].GetMetric() {
			out = append(out, flatten(name, m)...)
		}
	}
	return out, nil
}

func flatten(name string, m *dto.Metric) []sample {
	labels := func(extra ...string) map[string]string {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	switch {
	case m.Counter != nil:
		return []sample{{name, labels(), m.GetCounter().GetValue()}}
	case m.Gauge != nil:
		return []sample{{name, labels(), m.GetGauge().GetValue()}}
	case m.Untyped != nil:
		return []sample{{name, labels(), m.GetUntyped().GetValue()}}
	case m.Histogram != nil:
		h := m.GetHistogram()
		out := []sample{{name + "_sum", labels(), h.GetSampleSum()}, {name + "_count", labels(), float64(h.GetSampleCount())}}
		for _, b := range h.GetBucket() {
			out = append(out, sample{name + "_bucket", labels("le", fmt.Sprint(b.GetUpperBound())), float64(b.GetCumulativeCount())})
		}
		return out
	case m.Summary != nil:
		sm := m.GetSummary()
		out := []sample{{name + "_sum", labels(), sm.GetSampleSum()}, {name + "_count", labels(), float64(sm.GetSampleCount())}}
		for _, q := range sm.GetQuantile() {
			out = append(out, sample{name, labels("quantile", fmt.Sprint(q.GetQuantile())), q.GetValue()})
		}
		return out
	}
	return nil
}

// sumBy adds the samples named name that keep accepts, grouped by key(labels).
func sumBy(samples []sample, name string, keep func(map[string]string) bool, key func(map[string]string) string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		if s.name == name && (keep == nil || keep(s.labels)) {
			out[key(s.labels)] += s.value
		}
	}
	return out
}

// value is the first sample named name, or 0.
func value(samples []sample, name string) float64 {
	for _, s := range samples {
		if s.name == name {
			return s.value
		}
	}
	return 0
}

// apiWrites are apiserver write requests on acsusers by "VERB subresource".
type apiWrites map[string]float64

var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "UPDATE": true}

// acsUserWrites reads the apiserver's write counters for acsusers.
func acsUserWrites(samples []sample) apiWrites {
	return sumBy(samples, "apiserver_request_total",
		func(l map[string]string) bool { return l["resource"] == "acsusers" && writeVerbs[l["verb"]] },
		func(l map[string]string) string {
			if l["subresource"] == "" {
				return l["verb"]
			}
			return l["verb"] + " " + l["subresource"]
		})
}

// minus is w - before, dropping zero entries.
func (w apiWrites) minus(before apiWrites) apiWrites {
	out := apiWrites{}
	for k, v := range w {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (w apiWrites) total() float64 {
	t := 0.0
	for _, v := range w {
		t += v
	}
	return t
}

// reconciles reads controller-runtime's reconcile counter of the acsuser controller by result.
func reconciles(samples []sample) map[string]float64 {
	return sumBy(samples, "controller_runtime_reconcile_total",
		func(l map[string]string) bool { return l["controller"] == "acsuser" },
		func(l map[string]string) string { return l["result"] })
}

// heapSampler records the largest go_memstats_heap_inuse_bytes of the manager,
// scraped every second.
type heapSampler struct {
	mu   sync.Mutex
	peak float64
}

func (h *heapSampler) run(ctx context.Context, url string) {
	c := &http.Client{Timeout: 5 * time.Second}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		h.sample(ctx, c, url)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h *heapSampler) sample(ctx context.Context, c *http.Client, url string) {
	samples, err := scrape(ctx, c, url)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.peak = max(h.peak, value(samples, "go_memstats_heap_inuse_bytes"))
}

func (h *heapSampler) peakBytes() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}

// peakRSS reads VmHWM (peak resident set size) of a process, in bytes.
func peakRSS(pid int) (float64, error) { return procStatus(pid, "VmHWM") }

// currentRSS reads VmRSS (resident set size now) of a process, in bytes.
func currentRSS(pid int) (float64, error) { return procStatus(pid, "VmRSS") }

// procStatus reads a "<field>: <n> kB" line of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest) // "123456 kB"
			kb, err := strconv.ParseFloat(f[0], 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
