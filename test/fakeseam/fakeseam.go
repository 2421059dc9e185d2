// Package fakeseam starts @seamapi/fake-seam-connect (the independent Seam fake from
// npm, pinned in hack/fake-seam) for tests, installing it with npm ci on first use.
// It has no Kubernetes imports, so the Seam client's contract tests can use it too.
package fakeseam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/acs-operator/acs-operator/test/proc"
)

// Fake is a running fake and what start.mjs seeded it with.
type Fake struct {
	Endpoint       string   `json:"endpoint"`
	APIKey         string   `json:"apiKey"`
	WorkspaceID    string   `json:"workspaceId"`
	AcsSystemID    string   `json:"acsSystemId"`
	AccessGroupIDs []string `json:"accessGroupIds"`
	UserIdentityID string   `json:"userIdentityId"`

	proc *proc.Process
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
	stderr := &syncWriter{}
	ready := &firstLine{line: make(chan string, 1)}
	p, err := proc.Start(node, []string{"start.mjs", "0"}, proc.Options{Dir: dir, Stdout: ready, Stderr: stderr, StopTimeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("starting the fake: %w", err)
	}
	f := &Fake{proc: p}
	select {
	case line := <-ready.line:
		if err := json.Unmarshal([]byte(line), f); err != nil || f.Endpoint == "" {
			f.Stop()
			return nil, fmt.Errorf("the fake printed %q, not its ready line (%v); stderr:\n%s", line, err, stderr.String())
		}
	case <-p.Done():
		return nil, fmt.Errorf("the fake exited before it was ready; stderr:\n%s", stderr.String())
	case <-time.After(90 * time.Second):
		f.Stop()
		return nil, errors.New("the fake did not get ready in 90s; stderr:\n" + stderr.String())
	}
	return f, nil
}

// Stop ends the fake (SIGTERM, then SIGKILL after 5 s).
func (f *Fake) Stop() { f.proc.Stop() }

// firstLine hands the first line written to it to line, and discards the rest.
type firstLine struct {
	buf  []byte
	sent bool
	line chan string
}

func (w *firstLine) Write(b []byte) (int, error) {
	if !w.sent {
		w.buf = append(w.buf, b...)
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			w.line <- string(w.buf[:i])
			w.sent, w.buf = true, nil
		}
	}
	return len(b), nil
}

// syncWriter lets the error messages read stderr while the process writes it.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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
