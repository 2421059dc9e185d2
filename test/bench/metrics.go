package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
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

// parseMetrics parses the text exposition format: comments are skipped, timestamps ignored.
func parseMetrics(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("parsing %q: %w", line, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	rest := line
	if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
		s.name = line[:i]
		var err error
		if rest, err = parseLabels(line[i+1:], s.labels); err != nil {
			return s, err
		}
	} else if i >= 0 {
		s.name, rest = line[:i], line[i:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	s.value = v
	return s, err
}

// parseLabels reads `a="x",b="y"}` into into and returns what follows the brace.
func parseLabels(in string, into map[string]string) (string, error) {
	for {
		in = strings.TrimLeft(in, " ,")
		if strings.HasPrefix(in, "}") {
			return in[1:], nil
		}
		eq := strings.Index(in, "=")
		if eq < 0 || len(in) < eq+2 || in[eq+1] != '"' {
			return "", fmt.Errorf("bad label")
		}
		key := in[:eq]
		var val strings.Builder
		i := eq + 2
		for ; i < len(in) && in[i] != '"'; i++ {
			if in[i] == '\\' && i+1 < len(in) {
				i++
				switch in[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(in[i])
				}
				continue
			}
			val.WriteByte(in[i])
		}
		if i >= len(in) {
			return "", fmt.Errorf("unterminated label value")
		}
		into[key] = val.String()
		in = in[i+1:]
	}
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
func peakRSS(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			kb, err := strconv.ParseFloat(f[0], 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
