package controller_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/controller"
	"github.com/acs-operator/acs-operator/internal/metrics"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

var _ = Describe("AcsUser lifecycle", func() {
	It("creates, updates each field, suspends, unsuspends, changes groups and deletes the remote user", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("ada", func(s *seamv1alpha1.AcsUserSpec) {
			s.FullName = "Ada Lovelace"
			s.EmailAddress = "ada@example.com"
			s.PhoneNumber = "+15555550100"
			s.UserIdentityID = "uid_alice"
			s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: ts("2026-01-01T00:00:00Z"), EndsAt: ts("2030-01-01T00:00:00Z")}
			s.AccessGroupIDs = ids(groupA, groupB)
		})

		By("creating the user with one call, every field inline")
		u := w.waitReady("ada")
		Expect(u.Finalizers).To(ContainElement(controller.Finalizer))
		r := w.remote("ada")
		Expect(r.FullName).To(Equal("Ada Lovelace"))
		Expect(r.EmailAddress).To(Equal("ada@example.com"))
		Expect(r.PhoneNumber).To(Equal("+15555550100"))
		Expect(r.UserIdentityID).To(Equal("uid_alice"))
		Expect(r.AccessStartsAt.UTC()).To(Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		Expect(r.AccessEndsAt.UTC()).To(Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
		Expect(r.GroupIDs).To(Equal(sorted(groupA, groupB)))
		Expect(r.IsSuspended).To(BeFalse())
		Expect(w.received("/acs/users/create")).To(Equal(1))
		Expect(w.writesReceived()).To(Equal(map[string]int{"create": 1, "update": 0, "suspend": 0, "unsuspend": 0, "delete": 0,
			"add_to_access_group": 0, "remove_from_access_group": 0}), "a user whose spec fits in a create costs one write")
		Expect(u.Status.AccessGroupIDs).To(Equal(sorted(groupA, groupB)))
		Expect(*u.Status.IsSuspended).To(BeFalse())

		By("updating each field")
		w.update("ada", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Ada King" })
		Eventually(func() string { return w.remote("ada").FullName }).Should(Equal("Ada King"))
		w.update("ada", func(s *seamv1alpha1.AcsUserSpec) { s.EmailAddress = "countess@example.com" })
		Eventually(func() string { return w.remote("ada").EmailAddress }).Should(Equal("countess@example.com"))
		w.update("ada", func(s *seamv1alpha1.AcsUserSpec) { s.PhoneNumber = "+442071234567" })
		Eventually(func() string { return w.remote("ada").PhoneNumber }).Should(Equal("+442071234567"))
		w.update("ada", func(s *seamv1alpha1.AcsUserSpec) { s.AccessSchedule.EndsAt = ts("2031-06-30T12:00:00Z") })
		Eventually(func() time.Time { return w.remote("ada").AccessEndsAt.UTC() }).Should(Equal(time.Date(2031, 6, 30, 12, 0, 0, 0, time.UTC)))
		w.waitReady("ada")

		By("suspending")
		w.update("ada", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true })
		Eventually(func() bool { return w.remote("ada").IsSuspended }).Should(BeTrue())
		Eventually(func() *bool { return w.get("ada").Status.IsSuspended }).Should(HaveValue(BeTrue()))
		w.waitReady("ada")

		By("unsuspending")
		w.update("ada", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = false })
		Eventually(func() bool { return w.remote("ada").IsSuspended }).Should(BeFalse())
		w.waitReady("ada")

		By("changing groups: the user ends up in exactly the declared ones")
		w.update("ada", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupB, groupC) })
		Eventually(func() []string { return w.remote("ada").GroupIDs }).Should(Equal(sorted(groupB, groupC)))
		u = w.waitReady("ada")
		Expect(u.Status.AccessGroupIDs).To(Equal(sorted(groupB, groupC)))
		Expect(w.sandbox.GroupMembers(groupA)).To(BeEmpty())

		By("deleting: the remote user is gone, then the object")
		id := u.Status.AcsUserID
		w.deleteAndWait("ada")
		_, exists := w.sandbox.User(id)
		Expect(exists).To(BeFalse())
		Expect(w.received("/acs/users/create")).To(Equal(1), "never a second create")

		Expect(w.eventReasons("ada")).To(ContainElements("Created", "Updated", "Suspended", "Unsuspended",
			"AddedToGroup", "RemovedFromGroup", "Deleted"))
	})

	It("sends no write and no status patch when nothing changed", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("quiet", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		u := w.waitReady("quiet")
		before := w.writesReceived()
		rv := u.ResourceVersion
		// A snapshot counts for a user only once read after the second in which the
		// user became Ready (conditions keep whole seconds): wait for the clock to pass it.
		readyAt := meta.FindStatusCondition(u.Status.Conditions, "Ready").LastTransitionTime.Time
		Eventually(func() bool { return time.Now().After(readyAt.Add(time.Second)) }).Should(BeTrue())
		gets, lists := w.received("/acs/users/get"), w.received("/acs/users/list")
		// Several resyncs.
		Consistently(func() map[string]int { return w.writesReceived() }, 3*resyncPeriod, time.Second).Should(Equal(before))
		Expect(w.get("quiet").ResourceVersion).To(Equal(rv), "a resync that found nothing to do wrote to the apiserver")
		Expect(w.received("/acs/users/list")-lists).To(BeNumerically(">=", 1), "resyncs read the system's user list")
		Expect(w.received("/acs/users/get")-gets).To(BeZero(), "a settled user is checked against the shared snapshot, not read one by one")
	})
	It("writes its status once when a create needed nothing else, not again on the first resync", func() {
		w := newWorld(sandbox.Options{})
		statuses := w.watchStatuses("fresh")
		w.newAcsUser("fresh", func(s *seamv1alpha1.AcsUserSpec) {
			s.EmailAddress = "fresh@example.com"
			s.AccessGroupIDs = ids(groupA)
		})
		w.waitReady("fresh")
		lists := w.received("/acs/users/list")
		By("waiting for a resync to compare the user with the system's user list")
		Eventually(func() int { return w.received("/acs/users/list") }, 3*resyncPeriod).Should(BeNumerically(">", lists))
		Consistently(statuses.readyWrites, resyncPeriod, 250*time.Millisecond).Should(HaveLen(1),
			"a status written after Ready, with nothing changed anywhere")
		Expect(statuses.readyWrites()[0].AccessGroups).To(Equal([]seamv1alpha1.AccessGroupRef{{ID: groupA, Name: "Front door"}}),
			"the first Ready status names the groups")
	})
})

var _ = Describe("Never a second remote user", func() {
	It("adopts the user a create made when the connection dropped before the response", func() {
		w := newWorld(sandbox.Options{})
		w.sandbox.DropAfterCommit("/acs/users/create", 1)
		w.newAcsUser("dropped", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Dropped Response" })

		u := w.waitReady("dropped")
		Expect(w.usersNamed("Dropped Response")).To(HaveLen(1))
		Expect(w.received("/acs/users/create")).To(Equal(1), "the create was sent once")
		Expect(u.Status.AcsUserID).To(Equal(w.usersNamed("Dropped Response")[0].ID))
		Expect(w.eventReasons("dropped")).To(ContainElement("Adopted"))
		Consistently(func() int { return w.received("/acs/users/create") }, 2*createGrace, 500*time.Millisecond).Should(Equal(1))
	})

	It("adopts the user when the manager stopped after the create and before status was written", func() {
		w := newWorldIn(isolatedNamespace, sandbox.Options{})
		only := map[string]cache.Config{isolatedNamespace: {}}

		By("a manager that is stopped as soon as the create reached Seam")
		ctx, stop := context.WithCancel(suiteCtx)
		killer := killAfter("/acs/users/create", stop)
		done := startManager(ctx, managerOptions{namespaces: only, transport: killer})
		w.newAcsUser("crash", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Manager Crashed" })
		Eventually(killer.reached).Should(BeClosed())
		Eventually(done).Should(BeClosed())
		Expect(w.usersNamed("Manager Crashed")).To(HaveLen(1))
		u := w.get("crash")
		Expect(u.Status.AcsUserID).To(BeEmpty(), "the id must not have reached status for this test to mean anything")
		Expect(u.Annotations).To(HaveKey(controller.AnnotationCreatePending))

		By("a new manager adopts it")
		ctx2, stop2 := context.WithCancel(suiteCtx)
		defer stop2()
		startManager(ctx2, managerOptions{namespaces: only})
		u = w.waitReady("crash")
		Expect(u.Status.AcsUserID).To(Equal(w.usersNamed("Manager Crashed")[0].ID))
		Expect(w.received("/acs/users/create")).To(Equal(1))
		Consistently(func() int { return len(w.usersNamed("Manager Crashed")) }, 2*createGrace, 500*time.Millisecond).Should(Equal(1))

		w.deleteAndWait("crash")
		Expect(w.usersNamed("Manager Crashed")).To(BeEmpty())
	})

	It("grants a group again after a removal whose status write was lost, when the same change suspends the user", func() {
		w := newWorldIn(lostStatusNamespace, sandbox.Options{})
		only := map[string]cache.Config{lostStatusNamespace: {}}
		ctx, stop := context.WithCancel(suiteCtx)
		done := startManager(ctx, managerOptions{namespaces: only})
		w.newAcsUser("regrant", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		w.waitReady("regrant")
		stop()
		Eventually(done).Should(BeClosed())

		By("a manager stopped as soon as the removal reached Seam")
		ctx, stop = context.WithCancel(suiteCtx)
		killer := killAfter("/acs/users/remove_from_access_group", stop)
		done = startManager(ctx, managerOptions{namespaces: only, transport: killer})
		w.update("regrant", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = nil })
		Eventually(killer.reached).Should(BeClosed())
		Eventually(done).Should(BeClosed())
		Expect(w.remote("regrant").GroupIDs).To(BeEmpty())
		Expect(w.get("regrant").Status.AccessGroupIDs).To(Equal([]string{groupA}),
			"status must still list the group for this test to mean anything")

		By("the group asked back together with a suspension, under a manager that does not resync")
		w.update("regrant", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA); s.Suspended = true })
		ctx, stop = context.WithCancel(suiteCtx)
		defer stop()
		startManager(ctx, managerOptions{namespaces: only, resync: slowResync})
		w.waitReady("regrant")
		Expect(w.remote("regrant").IsSuspended).To(BeTrue())
		Expect(w.remote("regrant").GroupIDs).To(Equal([]string{groupA}), "the group status still listed was granted again")
		w.deleteAndWait("regrant")
	})

	It("stops and creates nothing when several remote users match a lost create", func() {
		w := newWorld(sandbox.Options{})
		// Someone made the same person twice by hand in the Seam console, and our create's response is lost.
		for range 2 {
			_, err := w.seam.CreateUser(suiteCtx, seam.CreateUserRequest{AcsSystemID: systemID, FullName: "Twin"})
			Expect(err).NotTo(HaveOccurred())
		}
		w.sandbox.DropAfterCommit("/acs/users/create", 1)
		w.newAcsUser("twin", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Twin" })
		Eventually(w.readyCondition("twin")).Should(Equal("False/AmbiguousCreate"))
		Expect(w.usersNamed("Twin")).To(HaveLen(3))
		Consistently(func() int { return w.received("/acs/users/create") }, 2*createGrace, 500*time.Millisecond).Should(Equal(3))
		u := w.get("twin")
		Expect(meta.IsStatusConditionTrue(u.Status.Conditions, "Stalled")).To(BeTrue())
	})
})

// killAfterRoute lets the first call of one route reach Seam, then stops the
// manager before the response is read: the write happened, and nothing the
// manager would have written after it reaches status.
type killAfterRoute struct {
	route   string
	next    http.RoundTripper
	reached chan struct{}
	stop    context.CancelFunc
	once    sync.Once
}

func killAfter(route string, stop context.CancelFunc) *killAfterRoute {
	return &killAfterRoute{route: route, next: http.DefaultTransport, reached: make(chan struct{}), stop: stop}
}

func (k *killAfterRoute) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, k.route) {
		return k.next.RoundTrip(req)
	}
	resp, err := k.next.RoundTrip(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	k.once.Do(func() { close(k.reached); k.stop() })
	<-req.Context().Done()
	return nil, errors.New("manager killed")
}

var _ = Describe("Deletion policy", func() {
	It("Orphan leaves the remote user; Delete removes it; an unmanaged remote user is never touched", func() {
		w := newWorld(sandbox.Options{})
		stranger, err := w.seam.CreateUser(suiteCtx, seam.CreateUserRequest{AcsSystemID: systemID, FullName: "Test kept"})
		Expect(err).NotTo(HaveOccurred())

		w.newAcsUser("kept", func(s *seamv1alpha1.AcsUserSpec) { s.DeletionPolicy = seamv1alpha1.DeletionPolicyOrphan })
		w.newAcsUser("removed")
		kept := w.waitReady("kept").Status.AcsUserID
		removed := w.waitReady("removed").Status.AcsUserID
		Expect(kept).NotTo(Equal(stranger.AcsUserID), "a user with the same name made outside the operator is not adopted")

		w.deleteAndWait("kept")
		w.deleteAndWait("removed")
		_, ok := w.sandbox.User(kept)
		Expect(ok).To(BeTrue(), "Orphan must leave the remote user")
		_, ok = w.sandbox.User(removed)
		Expect(ok).To(BeFalse(), "Delete must remove the remote user")
		_, ok = w.sandbox.User(stranger.AcsUserID)
		Expect(ok).To(BeTrue(), "a remote user no AcsUser owns is never touched")
		Expect(w.received("/acs/users/delete")).To(Equal(1))
	})

	It("keeps the object while the connection cannot delete, says so, and lets Orphan release it", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("stuck")
		id := w.waitReady("stuck").Status.AcsUserID
		// The key revoked in Seam: a connection that is truly dead. (A Secret deleted
		// first is not enough: its key is kept for teardown, see the Teardown specs.)
		w.setKey("seam_revoked_key")
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("False/Unauthorized"))
		Expect(k8s.Delete(suiteCtx, w.get("stuck"))).To(Succeed())
		Eventually(w.readyCondition("stuck")).Should(Equal("False/DeleteBlocked"))
		Expect(w.eventReasons("stuck")).To(ContainElement("DeleteBlocked"))
		c := meta.FindStatusCondition(w.get("stuck").Status.Conditions, seamv1alpha1.ConditionReady)
		Expect(c.Message).To(And(ContainSubstring("API key"), ContainSubstring("deletionPolicy: Orphan")))

		w.update("stuck", func(s *seamv1alpha1.AcsUserSpec) { s.DeletionPolicy = seamv1alpha1.DeletionPolicyOrphan })
		Eventually(func() error { return k8s.Get(suiteCtx, clientKey(w.ns, "stuck"), &seamv1alpha1.AcsUser{}) }).Should(HaveOccurred())
		_, ok := w.sandbox.User(id)
		Expect(ok).To(BeTrue())
	})
})

var _ = Describe("Seam's asynchronous writes", func() {
	It("sends no write twice while Seam shows it pending", func() {
		w := newWorld(sandbox.Options{MutationDelay: 2 * time.Second})
		w.newAcsUser("slow", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		Eventually(w.readyCondition("slow")).Should(Or(Equal("False/Creating"), Equal("False/Pending")))
		Eventually(func() []string { return w.get("slow").Status.PendingMutations }).Should(ContainElement("creating"))
		w.waitReady("slow")

		w.update("slow", func(s *seamv1alpha1.AcsUserSpec) {
			s.FullName = "Slow Renamed"
			s.Suspended = true
			s.AccessGroupIDs = ids(groupB)
		})
		Eventually(w.readyCondition("slow")).Should(Equal("False/Pending"))
		w.waitReady("slow")
		r := w.remote("slow")
		Expect(r.FullName).To(Equal("Slow Renamed"))
		Expect(r.IsSuspended).To(BeTrue())
		Expect(r.GroupIDs).To(Equal([]string{groupB}))
		Expect(w.writesReceived()).To(Equal(map[string]int{"create": 1, "update": 1, "suspend": 1, "unsuspend": 0, "delete": 0,
			"add_to_access_group": 1, "remove_from_access_group": 1}))

		w.deleteAndWait("slow")
		Expect(w.received("/acs/users/delete")).To(Equal(1))
	})
})

func clientKey(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

var _ = Describe("A user declared suspended from the start", func() {
	It("never holds its groups unsuspended: created without them, suspended, then added", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("born-suspended", func(s *seamv1alpha1.AcsUserSpec) {
			s.Suspended = true
			s.AccessGroupIDs = ids(groupA, groupB)
		})
		u := w.waitReady("born-suspended")
		r := w.remote("born-suspended")
		Expect(r.IsSuspended).To(BeTrue())
		Expect(r.GroupIDs).To(Equal(sorted(groupA, groupB)))
		Expect(*u.Status.IsSuspended).To(BeTrue())
		Expect(w.writesReceived()).To(Equal(map[string]int{"create": 1, "update": 0, "suspend": 1, "unsuspend": 0, "delete": 0,
			"add_to_access_group": 2, "remove_from_access_group": 0}), "the groups were not in the create")
	})
})

var _ = Describe("The acs_operator_acsusers gauge", func() {
	It("counts the cached AcsUsers by Ready without copying them", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("counted", func(*seamv1alpha1.AcsUserSpec) {})
		w.newAcsUser("refused", func(s *seamv1alpha1.AcsUserSpec) { s.ConnectionRef.Name = "no-such-connection" })
		w.waitReady("counted")
		Eventually(w.readyCondition("refused")).Should(HavePrefix("False"))

		for name, opts := range map[string]cache.Options{
			"one informer":               {DefaultFieldSelector: fields.OneTermEqualSelector("metadata.namespace", w.ns)},
			"one informer per namespace": {DefaultNamespaces: map[string]cache.Config{w.ns: {}}},
		} {
			By(name)
			opts.Scheme = k8s.Scheme()
			c, err := cache.New(cp.Config, opts)
			Expect(err).NotTo(HaveOccurred())
			ctx, stop := context.WithCancel(suiteCtx)
			DeferCleanup(stop)
			go func() { _ = c.Start(ctx) }()
			Eventually(func() (map[string]float64, error) { return metrics.CountAcsUsers(c) }).
				Should(Equal(map[string]float64{"True": 1, "False": 1, "Unknown": 0}))
		}
	})
})
