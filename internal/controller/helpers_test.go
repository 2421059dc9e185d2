package controller_test

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

func (w *world) newAcsUser(name string, mutate ...func(*seamv1alpha1.AcsUserSpec)) *seamv1alpha1.AcsUser {
	return w.newAcsUserAnnotated(name, nil, mutate...)
}

// newAcsUserAnnotated creates an AcsUser with annotations set at creation.
func (w *world) newAcsUserAnnotated(name string, annotations map[string]string, mutate ...func(*seamv1alpha1.AcsUserSpec)) *seamv1alpha1.AcsUser {
	u := &seamv1alpha1.AcsUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns, Annotations: annotations},
		Spec: seamv1alpha1.AcsUserSpec{
			ConnectionRef: seamv1alpha1.ConnectionRef{Kind: seamv1alpha1.SeamConnectionKind, Name: "seam"},
			AcsSystemID:   systemID,
			FullName:      "Test " + name,
		},
	}
	for _, m := range mutate {
		m(&u.Spec)
	}
	Expect(k8s.Create(suiteCtx, u)).To(Succeed())
	return u
}

func (w *world) get(name string) *seamv1alpha1.AcsUser {
	u := &seamv1alpha1.AcsUser{}
	ExpectWithOffset(1, k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, u)).To(Succeed())
	return u
}

// update changes an AcsUser's spec, retrying on conflicts with the operator's writes.
func (w *world) update(name string, mutate func(*seamv1alpha1.AcsUserSpec)) {
	EventuallyWithOffset(1, func() error {
		u := w.get(name)
		mutate(&u.Spec)
		return k8s.Update(suiteCtx, u)
	}).Should(Succeed())
}

func (w *world) annotate(name, key, value string) {
	EventuallyWithOffset(1, func() error {
		u := w.get(name)
		if u.Annotations == nil {
			u.Annotations = map[string]string{}
		}
		u.Annotations[key] = value
		return k8s.Update(suiteCtx, u)
	}).Should(Succeed())
}

// readyCondition returns "Status/Reason" of the Ready condition, for Eventually.
func (w *world) readyCondition(name string) func() string {
	return func() string {
		u := &seamv1alpha1.AcsUser{}
		if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, u); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(u.Status.Conditions, seamv1alpha1.ConditionReady)
		if c == nil {
			return "none"
		}
		return string(c.Status) + "/" + c.Reason
	}
}

// waitReady waits until the AcsUser is Ready for its current generation.
func (w *world) waitReady(name string) *seamv1alpha1.AcsUser {
	var u *seamv1alpha1.AcsUser
	EventuallyWithOffset(1, func(g Gomega) {
		u = &seamv1alpha1.AcsUser{}
		g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, u)).To(Succeed())
		c := meta.FindStatusCondition(u.Status.Conditions, seamv1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status + "/" + metav1.ConditionStatus(c.Reason)).To(Equal(metav1.ConditionStatus("True/Available")))
		g.Expect(u.Status.ObservedGeneration).To(Equal(u.Generation))
	}).Should(Succeed())
	return u
}

// remote returns the sandbox's user for an AcsUser (after its id reached status).
func (w *world) remote(name string) sandbox.User {
	u := w.get(name)
	ExpectWithOffset(1, u.Status.AcsUserID).NotTo(BeEmpty())
	ru, ok := w.sandbox.User(u.Status.AcsUserID)
	ExpectWithOffset(1, ok).To(BeTrue(), "no remote user %s", u.Status.AcsUserID)
	return ru
}

// usersNamed lists the sandbox's users of the system with a full name.
func (w *world) usersNamed(fullName string) []sandbox.User {
	var out []sandbox.User
	for _, u := range w.sandbox.Users(systemID) {
		if u.FullName == fullName {
			out = append(out, u)
		}
	}
	return out
}

func (w *world) received(route string) int { return w.sandbox.Received(route) }

// writesReceived counts every write route the sandbox received.
func (w *world) writesReceived() map[string]int {
	out := map[string]int{}
	for _, r := range []string{"create", "update", "suspend", "unsuspend", "delete", "add_to_access_group", "remove_from_access_group"} {
		out[r] = w.received("/acs/users/" + r)
	}
	return out
}

func (w *world) deleteAndWait(name string) {
	u := w.get(name)
	ExpectWithOffset(1, k8s.Delete(suiteCtx, u)).To(Succeed())
	EventuallyWithOffset(1, func() bool {
		err := k8s.Get(suiteCtx, client.ObjectKeyFromObject(u), &seamv1alpha1.AcsUser{})
		return err != nil
	}).Should(BeTrue(), "the AcsUser was not released")
}

// eventReasons lists the reasons of the Events about an AcsUser.
func (w *world) eventReasons(name string) []string {
	var list eventsv1.EventList
	Expect(k8s.List(suiteCtx, &list, client.InNamespace(w.ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func ts(s string) *metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(fmt.Sprintf("bad time %q", s))
	}
	mt := metav1.NewTime(t)
	return &mt
}

func ids(list ...seamv1alpha1.SeamID) []seamv1alpha1.SeamID { return list }

// statusLog is every status an AcsUser was written with, as a watch saw them.
type statusLog struct {
	mu       sync.Mutex
	statuses []seamv1alpha1.AcsUserStatus
}

// readyWrites returns the statuses written from the first with Ready=True on.
func (l *statusLog) readyWrites() []seamv1alpha1.AcsUserStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, st := range l.statuses {
		if meta.IsStatusConditionTrue(st.Conditions, "Ready") {
			return slices.Clone(l.statuses[i:])
		}
	}
	return nil
}

// watchStatuses records every status write of the AcsUser called name, from now
// until the spec ends.
func (w *world) watchStatuses(name string) *statusLog {
	wc, err := client.NewWithWatch(cp.Config, client.Options{Scheme: k8s.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	watcher, err := wc.Watch(suiteCtx, &seamv1alpha1.AcsUserList{}, client.InNamespace(w.ns),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", name)})
	Expect(err).NotTo(HaveOccurred())
	ginkgo.DeferCleanup(watcher.Stop)
	l := &statusLog{}
	go func() {
		var last string
		for ev := range watcher.ResultChan() {
			u, ok := ev.Object.(*seamv1alpha1.AcsUser)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			// Only status writes: metadata-only patches (finalizer, ownership) don't count.
			if b := fmt.Sprint(u.Status); b != last {
				last = b
				l.mu.Lock()
				l.statuses = append(l.statuses, *u.Status.DeepCopy())
				l.mu.Unlock()
			}
		}
	}()
	return l
}
