package controller_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// The specs of issue 9: each is a way a tenant, a building admin or an attacker
// could make the operator touch a user that is not its own, or keep access that
// should be gone. Each asserts on the sandbox's state and call counts.

const (
	annotationCreatePending = "seam.acs-operator.io/create-pending"
	annotationRecreate      = "seam.acs-operator.io/recreate"
)

// consoleUser creates a user as a building admin would in the Seam console.
func (w *world) consoleUser(fullName string) string {
	u, err := w.seam.CreateUser(suiteCtx, seam.CreateUserRequest{AcsSystemID: systemID, FullName: fullName})
	Expect(err).NotTo(HaveOccurred())
	return u.AcsUserID
}

// forgedMarker is a create-pending annotation as anyone who read the old code could
// write it: a time in 1970 and a hash over the fields the annotation itself names.
func forgedMarker(fields map[string]string, order ...string) string {
	h := sha256.New()
	for _, f := range order {
		fmt.Fprintf(h, "%s=%s\x00", f, fields[f])
	}
	hash := "sha256:" + hex.EncodeToString(h.Sum(nil)[:12])
	return "1970-01-01T00:00:00Z " + hash + " " + strings.Join(order, ",")
}

// acsUserID reads status.acsUserId, for Eventually and Consistently.
func (w *world) acsUserID(name string) func() string {
	return func() string {
		u := &seamv1alpha1.AcsUser{}
		if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, u); err != nil {
			return err.Error()
		}
		return u.Status.AcsUserID
	}
}

func (w *world) exists(name string) func() bool {
	return func() bool {
		err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, &seamv1alpha1.AcsUser{})
		return !apierrors.IsNotFound(err)
	}
}

func (w *world) remoteExists(id string) func() bool {
	return func() bool { _, ok := w.sandbox.User(id); return ok }
}

var _ = Describe("Ownership (issue 9)", func() {
	It("1: never adopts a console user through a forged create marker, and lists no foreign ids", func() {
		w := newWorld(sandbox.Options{})
		admin := w.consoleUser("Building Admin")
		w.consoleUser("Another Admin")
		consoleCreates := w.received("/acs/users/create")

		By("a marker forged with the name of the admin")
		w.newAcsUserAnnotated("forged", map[string]string{
			annotationCreatePending: forgedMarker(map[string]string{"system": systemID, "fullName": "Building Admin"}, "system", "fullName"),
		}, func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Building Admin"; s.Suspended = true })
		Eventually(w.readyCondition("forged")).Should(Equal("False/UnverifiedCreateMarker"))
		Consistently(w.acsUserID("forged"), 2*time.Second, 200*time.Millisecond).ShouldNot(Equal(admin))
		Expect(w.received("/acs/users/suspend")).To(BeZero(), "nothing is written to a user the operator did not create")
		Expect(w.received("/acs/users/create")).To(Equal(consoleCreates), "an unverifiable marker may hide a real lost create: no blind create either")

		By("a marker forged with only the system")
		w.newAcsUserAnnotated("wide", map[string]string{
			annotationCreatePending: forgedMarker(map[string]string{"system": systemID}, "system"),
		})
		Eventually(w.readyCondition("wide")).Should(Equal("False/UnverifiedCreateMarker"))
		Expect(w.readyMessage("wide")).NotTo(ContainSubstring(admin), "status never names a user the object does not own")

		By("removing the forged marker creates a user of its own")
		Eventually(func() error {
			u := w.get("forged")
			delete(u.Annotations, annotationCreatePending)
			return k8s.Update(suiteCtx, u)
		}).Should(Succeed())
		u := w.waitReady("forged")
		Expect(u.Status.AcsUserID).NotTo(Equal(admin))
		r, _ := w.sandbox.User(admin)
		Expect(r.IsSuspended).To(BeFalse())
	})

	It("1: an ambiguous lost create gives a count, not the ids of other people's users", func() {
		w := newWorld(sandbox.Options{})
		w.sandbox.DropAfterCommit("/acs/users/create", 1)
		w.sandbox.SetRouteLatency("/acs/users/list", 2*time.Second) // room for the admin's create below
		w.newAcsUser("twin", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Same Name" })
		Eventually(func() int { return w.received("/acs/users/create") }).Should(Equal(1))
		other := w.consoleUser("Same Name")
		Eventually(w.readyCondition("twin")).Should(Equal("False/AmbiguousCreate"))
		Expect(w.readyMessage("twin")).To(ContainSubstring("2 remote users"))
		Expect(w.readyMessage("twin")).NotTo(ContainSubstring(other))
		Expect(w.received("/acs/users/create")).To(Equal(2), "the operator's one create and the admin's")
	})

	It("2: recovers ownership from its annotation after a restore without status, even after a rename", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("restored")
		id := w.waitReady("restored").Status.AcsUserID
		w.update("restored", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Renamed Before The Backup" })
		Eventually(func() string { return w.remote("restored").FullName }).Should(Equal("Renamed Before The Backup"))
		backup := w.waitReady("restored")

		By("losing the object (orphaned, so the remote user stays) and restoring it without status")
		w.update("restored", func(s *seamv1alpha1.AcsUserSpec) { s.DeletionPolicy = seamv1alpha1.DeletionPolicyOrphan })
		w.deleteAndWait("restored")
		Expect(w.remoteExists(id)()).To(BeTrue())
		spec := backup.Spec.DeepCopy()
		w.newAcsUserAnnotated("restored", backup.Annotations, func(s *seamv1alpha1.AcsUserSpec) { *s = *spec })

		Eventually(w.acsUserID("restored")).Should(Equal(id))
		w.waitReady("restored")
		Expect(w.received("/acs/users/create")).To(Equal(1), "no second user")
		Expect(w.sandbox.Users(systemID)).To(HaveLen(1))
	})

	It("3: never takes another workspace's 404 as 'already deleted'", func() {
		w := newWorldFrom("", twoWorkspaces(), sandbox.Options{})
		w.newAcsUser("pinned")
		id := w.waitReady("pinned").Status.AcsUserID

		By("swapping the key for one of another workspace, then deleting the AcsUser")
		w.setKey(otherKey)
		Expect(k8s.Delete(suiteCtx, w.get("pinned"))).To(Succeed())
		Eventually(w.readyCondition("pinned")).Should(Equal("False/WorkspaceMismatch"))
		Consistently(w.exists("pinned"), 2*time.Second, 200*time.Millisecond).Should(BeTrue(), "the finalizer stays")
		Expect(w.remoteExists(id)()).To(BeTrue(), "the person keeps access only as long as the object says so")
		Expect(w.received("/acs/users/delete")).To(BeZero())

		By("the right key coming back: the user is deleted and the object released")
		w.setKey(sandbox.DefaultSeedAPIKey)
		Eventually(w.exists("pinned")).Should(BeFalse())
		Expect(w.remoteExists(id)()).To(BeFalse())
	})

	It("4: a second AcsUser claiming the same remote user never writes or deletes it", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("first", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		first := w.waitReady("first")
		id := first.Status.AcsUserID

		By("a copy with the first one's annotations and status, through a connection that does not exist yet")
		w.newAcsUserAnnotated("copy", first.Annotations, func(s *seamv1alpha1.AcsUserSpec) {
			s.ConnectionRef.Name = "seam-copy"
			s.FullName = "Intruder"
			s.Suspended = true
		})
		Eventually(w.readyCondition("copy")).Should(Equal("False/ConnectionNotFound"))
		Eventually(func() error {
			c := w.get("copy")
			c.Status.AcsUserID = id
			return k8s.Status().Update(suiteCtx, c)
		}).Should(Succeed())
		conn := &seamv1alpha1.SeamConnection{}
		Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "seam"}, conn)).To(Succeed())
		Expect(k8s.Create(suiteCtx, &seamv1alpha1.SeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: "seam-copy", Namespace: w.ns}, Spec: conn.Spec,
		})).To(Succeed())

		Eventually(w.readyCondition("copy")).Should(Equal("False/ClaimedByAnother"))
		Consistently(func() string { return w.remote("first").FullName }, 2*time.Second, 200*time.Millisecond).Should(Equal("Test first"))
		Expect(w.received("/acs/users/suspend")).To(BeZero())

		By("deleting the copy leaves the first one's user alone")
		w.deleteAndWait("copy")
		Expect(w.remoteExists(id)()).To(BeTrue())
		Expect(w.received("/acs/users/delete")).To(BeZero())
		w.waitReady("first")
	})

	It("5: re-creates only when the recreate annotation names the deleted user, through the create protocol", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("again")
		old := w.waitReady("again").Status.AcsUserID
		Expect(w.sandbox.DeleteUserOutOfBand(old)).To(Succeed())
		Eventually(w.readyCondition("again"), 4*resyncPeriod).Should(Equal("False/RemoteDeleted"))

		By("a recreate annotation that does not name the deleted user is ignored")
		w.annotate("again", annotationRecreate, "true")
		Eventually(w.readyMessage).WithArguments("again").Should(ContainSubstring(annotationRecreate + "=" + old))
		Consistently(func() int { return w.received("/acs/users/create") }, 2*time.Second, 200*time.Millisecond).Should(Equal(1))

		By("naming it re-creates, and a lost answer to that create is adopted, not repeated")
		w.sandbox.DropAfterCommit("/acs/users/create", 1)
		w.annotate("again", annotationRecreate, old)
		u := w.waitReady("again")
		Expect(u.Status.AcsUserID).NotTo(Equal(old))
		Expect(w.usersNamed("Test again")).To(HaveLen(1))
		Expect(w.usersNamed("Test again")[0].ID).To(Equal(u.Status.AcsUserID))
		Expect(w.received("/acs/users/create")).To(Equal(2))

		By("the same annotation left in git cannot resurrect a user deleted later")
		w.annotate("again", annotationRecreate, old) // Argo CD re-applies it
		Expect(w.sandbox.DeleteUserOutOfBand(u.Status.AcsUserID)).To(Succeed())
		Eventually(w.readyCondition("again"), 4*resyncPeriod).Should(Equal("False/RemoteDeleted"))
		Consistently(func() int { return w.received("/acs/users/create") }, 2*resyncPeriod, 500*time.Millisecond).Should(Equal(2))
	})
})

var _ = Describe("Revocations first (issue 9)", func() {
	It("6: sends suspensions and group removals while other writes are pending on an offline system", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("offline", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA, groupB) })
		w.waitReady("offline")
		w.sandbox.SetSystemOffline(systemID, true)
		w.update("offline", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Stuck Rename" })
		Eventually(func() []string { return w.get("offline").Status.PendingMutations }).Should(ContainElement("updating_user_information"))

		w.update("offline", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true; s.AccessGroupIDs = ids(groupA) })
		Eventually(func() int { return w.received("/acs/users/suspend") }).Should(Equal(1))
		Eventually(func() int { return w.received("/acs/users/remove_from_access_group") }).Should(Equal(1))
		Consistently(func() int { return w.received("/acs/users/suspend") }, 2*time.Second, 200*time.Millisecond).Should(Equal(1),
			"a revocation already in flight is not sent again")

		w.sandbox.SetSystemOffline(systemID, false)
		w.waitReady("offline")
		r := w.remote("offline")
		Expect(r.IsSuspended).To(BeTrue())
		Expect(r.GroupIDs).To(Equal([]string{groupA}))
	})

	It("takes access away with one write each, confirmed a moment later by reading the user (issue 11)", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("onewrite", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA, groupB) })
		w.waitReady("onewrite")
		w.settle()
		w.sandbox.ResetCounters()
		w.update("onewrite", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true; s.AccessGroupIDs = ids(groupA) })
		w.waitReady("onewrite")
		r := w.remote("onewrite")
		Expect(r.IsSuspended).To(BeTrue())
		Expect(r.GroupIDs).To(Equal([]string{groupA}))
		Expect(w.received("/acs/users/suspend")).To(Equal(1))
		Expect(w.received("/acs/users/remove_from_access_group")).To(Equal(1))
		Expect(w.received("/acs/users/get")).To(Equal(1), "the revocations are confirmed by one read of the user")
		Expect(w.received("/acs/access_groups/list")).To(BeZero(),
			"a suspended user's membership grants nothing: it is confirmed by the next shared read, not one per user")
		Expect(w.eventReasons("onewrite")).To(ContainElements("Suspended", "RemovedFromGroup"))
	})

	It("takes an active user out of a group with one write, confirmed by one read of the user (issue 11)", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("active", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA, groupB) })
		w.waitReady("active")
		w.settle()
		w.sandbox.ResetCounters()
		w.update("active", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		w.waitReady("active")
		Expect(w.remote("active").GroupIDs).To(Equal([]string{groupA}))
		Expect(w.received("/acs/users/remove_from_access_group")).To(Equal(1))
		Expect(w.received("/acs/users/get")).To(Equal(1), "the removal is confirmed by one read of the user")
		Expect(w.received("/acs/access_groups/list")).To(BeZero(),
			"every group the operator granted is recorded before it is sent: the membership it left is known")
	})

	It("records a grant in status before it asks Seam for it, so no lost status write can hide it from a later removal", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("ahead", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		w.waitReady("ahead")
		w.sandbox.SetRouteLatency("/acs/users/add_to_access_group", 2*time.Second)
		w.update("ahead", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA, groupB) })
		Eventually(func() bool {
			return slices.Contains(w.get("ahead").Status.AccessGroupIDs, groupB) && !slices.Contains(w.remote("ahead").GroupIDs, groupB)
		}).Should(BeTrue(), "status lists the group while the grant is on its way")
		w.waitReady("ahead")
		Expect(w.remote("ahead").GroupIDs).To(Equal([]string{groupA, groupB}))
	})

	It("removes a group added out of band to an active user at the next resync, the removal's confirmation aside", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("console", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA, groupC) })
		u := w.waitReady("console")
		// A console change: drift the operator has not seen, found by the shared
		// read of the system at the next resync like any other.
		Expect(w.sandbox.UpdateUserOutOfBand(u.Status.AcsUserID, func(r *sandbox.User) { r.GroupIDs = sorted(groupA, groupB, groupC) })).To(Succeed())
		w.update("console", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		Eventually(func() []string { return w.remote("console").GroupIDs }, 4*resyncPeriod).Should(Equal([]string{groupA}))
	})

	It("removes a group whose grant was never recorded before it unsuspends the user", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("unrecorded", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		u := w.waitReady("unrecorded")
		Expect(w.sandbox.UpdateUserOutOfBand(u.Status.AcsUserID, func(r *sandbox.User) { r.GroupIDs = sorted(groupA, groupB) })).To(Succeed())
		w.update("unrecorded", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true })
		Eventually(func() bool { return w.remote("unrecorded").IsSuspended }).Should(BeTrue())
		w.waitReady("unrecorded")

		w.update("unrecorded", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = false })
		Eventually(func() bool { return w.remote("unrecorded").IsSuspended }).Should(BeFalse())
		w.waitReady("unrecorded")
		Expect(w.remote("unrecorded").GroupIDs).To(Equal([]string{groupA}))
		var order []string
		for _, e := range w.sandbox.Audit() {
			if e.AcsUserID == u.Status.AcsUserID && (e.Route == "/acs/users/unsuspend" || e.Route == "/acs/users/remove_from_access_group") {
				order = append(order, e.Route)
			}
		}
		Expect(order).To(Equal([]string{"/acs/users/remove_from_access_group", "/acs/users/unsuspend"}),
			"a group the operator never recorded must not grant access once the user is unsuspended")
	})

	It("6: suspends a user whose creation is deferred", func() {
		w := newWorld(sandbox.Options{})
		w.sandbox.SetSystemOffline(systemID, true)
		w.newAcsUser("deferred")
		Eventually(func() []string { return w.get("deferred").Status.PendingMutations }).Should(ContainElement("creating"))
		w.update("deferred", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true })
		Eventually(func() int { return w.received("/acs/users/suspend") }).Should(Equal(1))
		w.sandbox.SetSystemOffline(systemID, false)
		w.waitReady("deferred")
		Expect(w.remote("deferred").IsSuspended).To(BeTrue())
	})

	It("7: sends grants only once the revocation is confirmed applied", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("ordered")
		w.waitReady("ordered")
		w.sandbox.SetSystemOffline(systemID, true)
		w.update("ordered", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true; s.AccessGroupIDs = ids(groupA) })
		Eventually(func() int { return w.received("/acs/users/suspend") }).Should(Equal(1))
		Consistently(func() int { return w.received("/acs/users/add_to_access_group") }, 2*time.Second, 200*time.Millisecond).Should(BeZero(),
			"while the suspension is not applied, the person must not be put in a group")

		w.sandbox.SetSystemOffline(systemID, false)
		w.waitReady("ordered")
		r := w.remote("ordered")
		Expect(r.IsSuspended).To(BeTrue())
		Expect(r.GroupIDs).To(Equal([]string{groupA}))
	})
})

var _ = Describe("Access schedules (issue 9)", func() {
	It("8: sends complete schedules, ends access on a past endsAt, clears a removed schedule, reports what Seam cannot clear", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("sched", func(s *seamv1alpha1.AcsUserSpec) { s.EmailAddress = "sched@example.com" })
		w.waitReady("sched")

		By("adding only an end")
		w.update("sched", func(s *seamv1alpha1.AcsUserSpec) {
			s.AccessSchedule = &seamv1alpha1.AccessSchedule{EndsAt: ts("2031-01-01T00:00:00Z")}
		})
		w.waitReady("sched")
		r := w.remote("sched")
		Expect(r.AccessEndsAt).NotTo(BeNil())
		Expect(r.AccessEndsAt.UTC()).To(Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)))

		By("moving the start only")
		w.update("sched", func(s *seamv1alpha1.AcsUserSpec) { s.AccessSchedule.StartsAt = ts("2026-02-01T00:00:00Z") })
		w.waitReady("sched")
		r = w.remote("sched")
		Expect(r.AccessStartsAt.UTC()).To(Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)))
		Expect(r.AccessEndsAt.UTC()).To(Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)))

		By("an end already past: access ends by suspension, and status says so")
		w.update("sched", func(s *seamv1alpha1.AcsUserSpec) {
			s.AccessSchedule = &seamv1alpha1.AccessSchedule{StartsAt: ts("2020-01-01T00:00:00Z"), EndsAt: ts("2021-01-01T00:00:00Z")}
		})
		Eventually(func() bool { return w.remote("sched").IsSuspended }).Should(BeTrue())
		w.waitReady("sched")
		Expect(w.readyMessage("sched")).To(ContainSubstring("endsAt has passed"))

		By("removing the schedule clears it in Seam and lifts the suspension it caused")
		w.update("sched", func(s *seamv1alpha1.AcsUserSpec) { s.AccessSchedule = nil })
		Eventually(func() bool { r := w.remote("sched"); return r.AccessEndsAt == nil && !r.IsSuspended }).Should(BeTrue())
		w.waitReady("sched")

		By("removing the email: Seam cannot clear it, status says so")
		w.update("sched", func(s *seamv1alpha1.AcsUserSpec) { s.EmailAddress = "" })
		Eventually(w.readyMessage).WithArguments("sched").Should(ContainSubstring("emailAddress"))
		Expect(w.readyCondition("sched")()).To(Equal("True/Available"))
	})
})

var _ = Describe("Bounded waits (issue 9)", func() {
	It("9: a create answered 5xx after Seam committed it is looked for, never sent again blindly", func() {
		w := newWorld(sandbox.Options{})
		w.sandbox.FailAfterCommit("/acs/users/create", 503)
		w.newAcsUser("fivexx")
		u := w.waitReady("fivexx")
		Expect(w.usersNamed("Test fivexx")).To(HaveLen(1))
		Expect(u.Status.AcsUserID).To(Equal(w.usersNamed("Test fivexx")[0].ID))
		Expect(w.received("/acs/users/create")).To(Equal(1))
	})
})

var _ = Describe("Teardown (issue 9)", func() {
	It("10: deletes the remote users and releases everything whatever the deletion order", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("leaver1")
		w.newAcsUser("leaver2", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		id1 := w.waitReady("leaver1").Status.AcsUserID
		id2 := w.waitReady("leaver2").Status.AcsUserID

		By("deleting the Secret first, then the connection, then the users, as a namespace deletion may")
		Expect(k8s.Delete(suiteCtx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "seam-api-key", Namespace: w.ns}})).To(Succeed())
		Expect(k8s.Delete(suiteCtx, &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Name: "seam", Namespace: w.ns}})).To(Succeed())
		Expect(k8s.Delete(suiteCtx, w.get("leaver1"))).To(Succeed())
		Expect(k8s.Delete(suiteCtx, w.get("leaver2"))).To(Succeed())

		Eventually(w.remoteExists(id1), time.Minute).Should(BeFalse())
		Eventually(w.remoteExists(id2), time.Minute).Should(BeFalse())
		Eventually(func() int {
			var left seamv1alpha1.AcsUserList
			Expect(k8s.List(suiteCtx, &left, client.InNamespace(w.ns))).To(Succeed())
			var conns seamv1alpha1.SeamConnectionList
			Expect(k8s.List(suiteCtx, &conns, client.InNamespace(w.ns))).To(Succeed())
			var secrets corev1.SecretList
			Expect(k8s.List(suiteCtx, &secrets, client.InNamespace(w.ns))).To(Succeed())
			return len(left.Items) + len(conns.Items) + len(secrets.Items)
		}, time.Minute).Should(BeZero())
		Eventually(func() []string { return escrowedKeysOf(w.ns) }).Should(BeEmpty(), "the key kept for teardown goes with its connection")
	})

	It("10: keeps a copy of the key only in the operator's namespace, while the connection lives", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("kept")
		w.waitReady("kept")
		Expect(escrowedKeysOf(w.ns)).To(HaveLen(1))
		w.setKey(sandbox.DefaultSeedAPIKey + "x")
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("False/Unauthorized"))
		Eventually(func() []string { return escrowedKeysOf(w.ns) }).Should(ConsistOf(sandbox.DefaultSeedAPIKey+"x"), "a rotation updates the copy")
		w.setKey(sandbox.DefaultSeedAPIKey)
		Eventually(func() []string { return escrowedKeysOf(w.ns) }).Should(ConsistOf(sandbox.DefaultSeedAPIKey))
	})

	It("10: keeps a connection in use, and says so", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("user")
		w.waitReady("user")
		Expect(k8s.Delete(suiteCtx, &seamv1alpha1.SeamConnection{ObjectMeta: metav1.ObjectMeta{Name: "seam", Namespace: w.ns}})).To(Succeed())
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("False/InUse"))
		c := &seamv1alpha1.SeamConnection{}
		Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "seam"}, c)).To(Succeed())
		Expect(meta.FindStatusCondition(c.Status.Conditions, seamv1alpha1.ConditionReady).Message).To(ContainSubstring("1 AcsUser"))
		w.deleteAndWait("user")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "seam"}, &seamv1alpha1.SeamConnection{}))
		}).Should(BeTrue())
	})
})

// escrowedKeysOf lists the API keys the operator keeps, in its own namespace, for the
// connections of namespace ns.
func escrowedKeysOf(ns string) []string {
	var secrets corev1.SecretList
	Expect(k8s.List(suiteCtx, &secrets, client.InNamespace(operatorNamespace),
		client.MatchingLabels{"app.kubernetes.io/component": "api-key-escrow"})).To(Succeed())
	var keys []string
	for _, s := range secrets.Items {
		if strings.HasPrefix(s.Annotations["seam.acs-operator.io/connection"], seamv1alpha1.SeamConnectionKind+"/"+ns+"/") {
			keys = append(keys, string(s.Data["apiKey"]))
		}
	}
	return keys
}

var _ = Describe("The API key (issue 9 teardown, issue 15)", func() {
	It("never appears in any log line, at any verbosity, through a whole life and a teardown", func() {
		const key = "seam_sandbox_key_never_logged_0123"
		seed := sandbox.DefaultSeed()
		seed.APIKeys = append(seed.APIKeys, sandbox.SeedAPIKey{Key: key, WorkspaceID: seed.Workspaces[0].ID})
		logged := allLogs.watch(key)
		w := newWorldFrom("", seed, sandbox.Options{})
		w.setKey(key)
		w.newAcsUser("quiet")
		w.waitReady("quiet")
		Expect(escrowedKeysOf(w.ns)).To(ConsistOf(key))
		Expect(k8s.Delete(suiteCtx, w.secret(""))).To(Succeed())
		w.deleteAndWait("quiet")
		Expect(logged()).To(BeEmpty())
	})
})
