package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

const (
	acsSystemID    = "acs_system_hq"
	connectionName = "seam"
	secretName     = "seam-api-key"
)

var accessGroups = []string{
	"acs_access_group_hq_front_door", "acs_access_group_hq_staff",
	"acs_access_group_hq_gym", "acs_access_group_hq_parking",
}

// specChange is one line of the generator's log: the spec it wrote (or, for a
// delete, that it deleted the object), and when it sent the request. Each
// incarnation of a name has its own email address, which is how a remote user
// and an audit entry are tied to it.
type specChange struct {
	At        time.Time
	Name      string
	Email     string
	Op        string // create, update, suspend, unsuspend, regroup, delete
	Suspended bool
	Groups    []string
}

// workload changes AcsUsers at random and logs every change it made.
type workload struct {
	c   client.Client
	rng *rand.Rand
	n   int

	mu          sync.Mutex
	log         []specChange
	incarnation map[string]int
	errors      int
}

func newWorkload(c client.Client, rng *rand.Rand, n int) *workload {
	return &workload{c: c, rng: rng, n: n, incarnation: map[string]int{}}
}

// setup creates the namespaces, the Secret and the connection.
func setup(ctx context.Context, c client.Client, sandboxURL string, rps int32) error {
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: namespace},
			StringData: map[string]string{"apiKey": sandbox.DefaultSeedAPIKey}},
		&seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Name: connectionName, Namespace: namespace},
			Spec: seamv1alpha1.SeamConnectionSpec{
				Endpoint: sandboxURL, InsecureAllowHTTP: true,
				APIKeySecretRef: seamv1alpha1.SecretKeySelector{Name: secretName, Key: "apiKey"},
				RateLimit:       &seamv1alpha1.RateLimit{RequestsPerSecond: rps, Burst: rps},
			}},
	} {
		if err := c.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

func objName(i int) string { return fmt.Sprintf("u-%04d", i) }

// createAll creates the N AcsUsers the run starts with.
func (w *workload) createAll(ctx context.Context) error {
	for i := range w.n {
		if err := w.create(ctx, objName(i)); err != nil {
			return err
		}
	}
	return nil
}

// run changes a random object every interval until ctx ends.
func (w *workload) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.step(ctx); err != nil {
			w.mu.Lock()
			w.errors++ // the apiserver restarting, a conflict: the next step goes on
			w.mu.Unlock()
		}
	}
}

func (w *workload) step(ctx context.Context) error {
	name := objName(w.rng.IntN(w.n))
	op := []string{"update", "suspend", "unsuspend", "regroup", "regroup", "delete"}[w.rng.IntN(6)]
	var u seamv1alpha1.AcsUser
	err := w.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &u)
	switch {
	case apierrors.IsNotFound(err):
		return w.create(ctx, name)
	case err != nil:
		return err
	case u.DeletionTimestamp != nil:
		return nil // still tearing down; create it again later
	}
	if op == "delete" {
		return w.send(ctx, specChange{Name: name, Email: u.Spec.EmailAddress, Op: op}, func() error { return w.c.Delete(ctx, &u) })
	}
	switch op {
	case "update":
		u.Spec.FullName = fmt.Sprintf("Person %s v%d", name, w.rng.IntN(1000))
		u.Spec.PhoneNumber = fmt.Sprintf("+1555555%04d", w.rng.IntN(10000))
	case "suspend":
		u.Spec.Suspended = true
	case "unsuspend":
		u.Spec.Suspended = false
	case "regroup":
		u.Spec.AccessGroupIDs = seamIDs(w.groups())
	}
	ch := specChange{Name: name, Email: u.Spec.EmailAddress, Op: op, Suspended: u.Spec.Suspended, Groups: ids(u.Spec.AccessGroupIDs)}
	return w.send(ctx, ch, func() error { return w.c.Update(ctx, &u) })
}

func (w *workload) create(ctx context.Context, name string) error {
	w.mu.Lock()
	w.incarnation[name]++
	inc := w.incarnation[name]
	w.mu.Unlock()
	u := &seamv1alpha1.AcsUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: seamv1alpha1.AcsUserSpec{
			ConnectionRef:  seamv1alpha1.ConnectionRef{Name: connectionName},
			AcsSystemID:    acsSystemID,
			FullName:       "Person " + name,
			EmailAddress:   fmt.Sprintf("%s-%d@chaos.example.com", name, inc),
			AccessGroupIDs: seamIDs(w.groups()),
			Suspended:      w.rng.IntN(5) == 0,
		},
	}
	ch := specChange{Name: name, Email: u.Spec.EmailAddress, Op: "create", Suspended: u.Spec.Suspended, Groups: ids(u.Spec.AccessGroupIDs)}
	return w.send(ctx, ch, func() error { return w.c.Create(ctx, u) })
}

// send makes the change and logs it, with the time it was sent, unless the
// apiserver refused it for certain (an error with a status: nothing was written).
func (w *workload) send(ctx context.Context, ch specChange, do func() error) error {
	ch.At = time.Now()
	err := do()
	if !refused(err) {
		w.mu.Lock()
		w.log = append(w.log, ch)
		w.mu.Unlock()
	}
	return err
}

// refused: the apiserver answered 4xx (a conflict, not found, already exists).
// A 5xx or no answer (the apiserver restarting) may have written it.
func refused(err error) bool {
	var status apierrors.APIStatus
	if err == nil || !errors.As(err, &status) {
		return false
	}
	code := status.Status().Code
	return code >= 400 && code < 500
}

// groups is a random subset of the system's access groups.
func (w *workload) groups() []string {
	var out []string
	for _, g := range accessGroups {
		if w.rng.IntN(2) == 0 {
			out = append(out, g)
		}
	}
	return out
}

func (w *workload) changes() ([]specChange, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log), w.errors
}

func seamIDs(in []string) []seamv1alpha1.SeamID {
	out := make([]seamv1alpha1.SeamID, len(in))
	for i, s := range in {
		out[i] = seamv1alpha1.SeamID(s)
	}
	return out
}

func ids(in []seamv1alpha1.SeamID) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
