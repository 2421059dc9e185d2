package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/test/framework"
)

// tracker watches the AcsUsers of a namespace through an informer and records when
// each first became converged (Ready and observed at its generation) and, for the
// users being suspended, when each first showed as suspended and converged after
// its patch.
type tracker struct {
	mu          sync.Mutex
	readyAt     map[string]time.Time
	patchedAt   map[string]time.Time
	suspendedAt map[string]time.Time
	// acsUserID is each user's remote id, to find its calls in the sandbox's audit log.
	acsUserID map[string]string
}

// startTracker runs an informer on AcsUsers in namespace until ctx ends.
func startTracker(ctx context.Context, cfg *rest.Config, namespace string) (*tracker, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            framework.Scheme(),
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
	})
	if err != nil {
		return nil, err
	}
	t := &tracker{readyAt: map[string]time.Time{}, patchedAt: map[string]time.Time{}, suspendedAt: map[string]time.Time{}, acsUserID: map[string]string{}}
	inf, err := c.GetInformer(ctx, &seamv1alpha1.AcsUser{})
	if err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    t.see,
		UpdateFunc: func(_, obj any) { t.see(obj) },
	}); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the harness's AcsUser informer did not sync")
	}
	return t, nil
}

// converged: Ready=True and the status describes the current generation.
func converged(u *seamv1alpha1.AcsUser) bool {
	return u.Status.ObservedGeneration == u.Generation &&
		meta.IsStatusConditionPresentAndEqual(u.Status.Conditions, "Ready", metav1.ConditionTrue)
}

func (t *tracker) see(obj any) {
	u, ok := obj.(*seamv1alpha1.AcsUser)
	if !ok || !converged(u) {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.readyAt[u.Name]; !seen {
		t.readyAt[u.Name] = now
		t.acsUserID[u.Name] = u.Status.AcsUserID
	}
	_, patched := t.patchedAt[u.Name]
	_, done := t.suspendedAt[u.Name]
	if patched && !done && u.Status.IsSuspended != nil && *u.Status.IsSuspended {
		t.suspendedAt[u.Name] = now
	}
}

// markPatched records the time a suspend patch was sent, before sending it.
func (t *tracker) markPatched(name string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.patchedAt[name] = at
}

// readyCount is how many of names are converged.
func (t *tracker) readyCount(names []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, name := range names {
		if _, ok := t.readyAt[name]; ok {
			n++
		}
	}
	return n
}

// lastReady is the latest ready time among names (all of which must be ready).
func (t *tracker) lastReady(names []string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for _, name := range names {
		if at := t.readyAt[name]; at.After(last) {
			last = at
		}
	}
	return last
}

// revokeLatencies are suspendedAt - patchedAt for every patched user that got there.
func (t *tracker) revokeLatencies() (lat []time.Duration, last time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, at := range t.suspendedAt {
		lat = append(lat, at.Sub(t.patchedAt[name]))
		if at.After(last) {
			last = at
		}
	}
	return lat, last
}

func (t *tracker) suspendedCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.suspendedAt)
}

// readyBefore is how many of names were converged at or before at.
func (t *tracker) readyBefore(names []string, at time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, name := range names {
		if r, ok := t.readyAt[name]; ok && !r.After(at) {
			n++
		}
	}
	return n
}

// resetSuspended forgets the patched and suspended users of a revoke phase.
func (t *tracker) resetSuspended() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.patchedAt)
	clear(t.suspendedAt)
}

// seamLatencies are, for each name, the time from its patch to the first call of
// route for its remote user the sandbox committed after it.
func (t *tracker) seamLatencies(names []string, audit []sandbox.AuditEntry, route string) []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []time.Duration
	for _, name := range names {
		patched, ok := t.patchedAt[name]
		if !ok {
			continue
		}
		id := t.acsUserID[name]
		for _, e := range audit {
			if e.Route == route && e.AcsUserID == id && !e.Time.Before(patched) {
				out = append(out, e.Time.Sub(patched))
				break
			}
		}
	}
	return out
}
