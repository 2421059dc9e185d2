// Package fakeseam starts @seamapi/fake-seam-connect (the independent Seam fake from
// npm, pinned in hack/fake-seam) for tests, installing it with npm ci on first use.
// It has no Kubernetes imports, so the Seam client's contract tests can use it too.
package fakeseam

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Fake is a running fake and what start.mjs seeded it with.
type Fake struct {
	Endpoint       string   `json:"endpoint"`
	APIKey         string   `json:"apiKey"`
	WorkspaceID    string   `json:"workspaceId"`
	AcsSystemID    string   `json:"acsSystemId"`
	AccessGroupIDs []string `json:"accessGroupIds"`
	UserIdentityID string   `json:"userIdentityId"`

	cmd  *exec.Cmd
	done chan struct{}
}

var (
	installOnce sync.Once
	installErr  error
)

// Dir is hack/fake-seam in the repository.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "hack", "fake-seam")
}

// Start installs the fake if needed and starts it on a random loopback port. It fails
// (it never skips) when Node.js is missing: the suites promise to run against it.
func Start() (*Fake, error) {
	dir := Dir()
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("@seamapi/fake-seam-connect runs on Node.js, but node is not on PATH: install Node.js >= 18 and npm: %w", err)
	}
	installOnce.Do(func() { installErr = install(dir) })
	if installErr != nil {
		return nil, installErr
	}
	cmd := exec.Command(node, "start.mjs", "0")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the fake: %w", err)
	}
	f := &Fake{cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_ = cmd.Wait()
		close(f.done)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			return nil, fmt.Errorf("the fake exited before it was ready; stderr:\n%s", stderr.String())
		}
		if err := json.Unmarshal([]byte(line), f); err != nil || f.Endpoint == "" {
			f.Stop()
			return nil, fmt.Errorf("the fake printed %q, not its ready line (%v); stderr:\n%s", line, err, stderr.String())
		}
	case <-time.After(90 * time.Second):
		f.Stop()
		return nil, errors.New("the fake did not get ready in 90s; stderr:\n" + stderr.String())
	}
	return f, nil
}

// Stop ends the fake (SIGTERM, then SIGKILL after 5 s).
func (f *Fake) Stop() {
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.done
	}
}

func install(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@seamapi", "fake-seam-connect")); err == nil {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("hack/fake-seam/node_modules is missing and npm is not on PATH to install it: %w", err)
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return nil
}
