// Package proc starts, health-checks and stops the processes the harnesses run
// (the sandbox, the manager, @seamapi/fake-seam-connect), and makes sure none of
// them, nor the control plane envtest starts, outlives the process that started
// it: not when that process returns, panics, is killed or dies on a broken pipe.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Options tune Start. The zero value runs the binary with this process's
// environment and discards its output.
type Options struct {
	Env    []string  // added to os.Environ()
	Dir    string    // working directory
	Stdout io.Writer // default: discarded
	Stderr io.Writer // default: Stdout
	// LogFile, when set and Stdout is not, receives stdout and stderr (appended,
	// so a restarted process continues its log).
	LogFile string
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL; default 10s.
	StopTimeout time.Duration
}

// Process is a running subprocess.
type Process struct {
	Name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Wait's result, once done is closed
	log    string
}

// Start runs path with args. Stop (or the caller's death) ends it.
func Start(path string, args []string, o Options) (*Process, error) {
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, args...)
	// Stop cancels ctx: SIGTERM first, SIGKILL once WaitDelay has passed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = o.StopTimeout
	var logFile *os.File
	if o.LogFile != "" && o.Stdout == nil {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			cancel()
			return nil, err
		}
		logFile, o.Stdout = f, f
	}
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Dir = o.Dir
	cmd.Stdout = o.Stdout
	cmd.Stderr = o.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = o.Stdout
	}
	cmd.SysProcAttr = dieWithParent()
	name := filepath.Base(path)
	if err := cmd.Start(); err != nil {
		cancel()
		if logFile != nil {
			_ = logFile.Close()
		}
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, cancel: cancel, done: make(chan struct{}), log: o.LogFile}
	go func() {
		p.err = cmd.Wait()
		if logFile != nil {
			_ = logFile.Close()
		}
		close(p.done)
	}()
	if err := guardStarted(cmd.Process.Pid); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited says whether the process is gone.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err describes how the process exited (nil while it runs).
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	if p.log != "" {
		return fmt.Errorf("%s exited (%v): see %s", p.Name, p.cmd.ProcessState, p.log)
	}
	return fmt.Errorf("%s exited: %v", p.Name, p.cmd.ProcessState)
}

// Stop sends SIGTERM, waits up to StopTimeout, then SIGKILLs; it returns when the
// process is gone. Safe on nil and on a process that already exited.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	p.cancel()
	<-p.done
}

// Kill SIGKILLs the process (a crash, not a shutdown) and waits for it.
func (p *Process) Kill() {
	if p == nil || p.Exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cancel()
}

// FreeAddr returns a loopback address with a port nobody listens on right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitHTTP waits until url answers 200, failing early if p (when not nil) exits.
func WaitHTTP(ctx context.Context, url string, p *Process, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	err := Poll(ctx, 100*time.Millisecond, timeout, func() (bool, error) {
		if p != nil && p.Exited() {
			return false, p.Err()
		}
		resp, err := client.Get(url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", url, err)
	}
	return nil
}

// ErrTimeout is what Poll returns when cond never became true.
var ErrTimeout = errors.New("timed out")

// Poll calls cond every interval until it is true, returns an error, or timeout passes.
func Poll(ctx context.Context, interval, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s", ErrTimeout, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
