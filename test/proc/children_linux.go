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
	pids := Children(os.Getpid(), names...)
	for _, pid := range pids {
		if err := Guard(pid); err != nil {
			return pids, err
		}
	}
	return pids, nil
}

// Children are the running children of parent whose command name is one of names.
func Children(parent int, names ...string) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
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
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(parent) || !slices.Contains(names, s[open+1:end]) {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		pids = append(pids, pid)
	}
	return pids
}

// Alive says whether pid runs (a zombie does not: a container's init may never
// reap an orphan).
func Alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}
