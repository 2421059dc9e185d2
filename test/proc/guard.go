package proc

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// watchdog is a shell that reads process ids on a pipe from this process and,
// when the pipe closes (this process exited, however it died: the kernel closes
// the write end), SIGKILLs them. It is for processes this package did not start
// and so could not give Pdeathsig: envtest's kube-apiserver and etcd, which run
// in their own process groups and so miss even the terminal's Ctrl-C.
const watchdog = `trap '' INT TERM HUP PIPE
pids=
while read -r pid; do pids="$pids $pid"; done
[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
exit 0`

var guard struct {
	once sync.Once
	w    *os.File
	err  error
	mu   sync.Mutex
}

// Guard has pid SIGKILLed when this process exits, however it exits. It does
// not stop pid earlier: stop it the normal way first. A pid that has exited by
// then gets a signal too, harmless unless the system reused the pid meanwhile.
func Guard(pid int) error {
	guard.once.Do(startWatchdog)
	if guard.err != nil {
		return guard.err
	}
	guard.mu.Lock()
	defer guard.mu.Unlock()
	_, err := fmt.Fprintln(guard.w, pid)
	return err
}

func startWatchdog() {
	r, w, err := os.Pipe() // close-on-exec: no other child inherits the write end
	if err != nil {
		guard.err = err
		return
	}
	cmd := exec.Command("/bin/sh", "-c", watchdog)
	cmd.Stdin = r
	// Its own process group, so a Ctrl-C meant for the harness does not end it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		guard.err = fmt.Errorf("starting the watchdog: %w", err)
		return
	}
	_ = r.Close()
	go func() { _ = cmd.Wait() }()
	guard.w = w
}
