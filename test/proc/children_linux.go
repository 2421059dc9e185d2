package proc

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// GuardChildren guards this process's children whose command name is one of
// names (e.g. "etcd", "kube-apiserver" started by envtest), and returns their pids.
func GuardChildren(names ...string) ([]int, error) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := os.Getpid()
	var pids []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(self) || !slices.Contains(names, s[open+1:end]) {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		if err := Guard(pid); err != nil {
			return pids, err
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
