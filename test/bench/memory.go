package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// heapTopEntries is how many lines of the heap profile's top the report keeps.
const heapTopEntries = 12

// liveMemory forces a GC in the manager (through /debug/pprof/heap?gc=1) and then
// reads its live heap (go_memstats_heap_alloc_bytes: the bytes of the objects the
// GC kept, without the garbage a peak includes or the free space of partly used
// spans heap_inuse counts), its RSS, and the anonymous part of the RSS (the rest
// is the binary's pages, which the kernel can drop and read again). The profile it
// fetched comes back too.
func (r *sizeRun) liveMemory(ctx context.Context) (heap, rss, anon float64, prof []byte, err error) {
	if prof, err = r.heapProfile(ctx); err != nil {
		return 0, 0, 0, nil, err
	}
	samples, err := r.st.managerMetrics(ctx)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if rss, err = currentRSS(r.st.manager.Pid()); err != nil {
		return 0, 0, 0, nil, err
	}
	anon, err = procStatus(r.st.manager.Pid(), "RssAnon")
	return value(samples, "go_memstats_heap_alloc_bytes"), rss, anon, prof, err
}

// heapProfile fetches the manager's heap profile after a GC.
func (r *sizeRun) heapProfile(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.st.pprofURL+"/heap?gc=1", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("heap profile: %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// profile measures the settled manager's memory and keeps the top of its heap
// profile (inuse_space), saved as heap.pb.gz beside the logs for `go tool pprof`.
func (r *sizeRun) profile(ctx context.Context) error {
	var prof []byte
	var err error
	if r.res.liveHeap, r.res.liveRSS, r.res.liveAnon, prof, err = r.liveMemory(ctx); err != nil {
		return err
	}
	path := filepath.Join(r.res.logDir, "heap.pb.gz")
	if err := os.WriteFile(path, prof, 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-sample_index=inuse_space",
		fmt.Sprintf("-nodecount=%d", heapTopEntries), path).Output()
	if err != nil {
		return fmt.Errorf("go tool pprof: %w", err)
	}
	r.res.heapTop = pprofTop(string(out))
	return nil
}

// pprofTop keeps the summary line and the rows of `go tool pprof -top`.
func pprofTop(out string) []string {
	var keep []string
	rows := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "Showing nodes"):
			keep = append(keep, strings.TrimSpace(line))
		case strings.Contains(line, "flat%"):
			rows = true
		case rows && strings.TrimSpace(line) != "":
			keep = append(keep, strings.Join(strings.Fields(line), " "))
		}
	}
	return keep
}
