package controller_test

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// The specs of issue 12: a building that ran for years before anyone wrote YAML.
// Its users already exist in Seam; the operator adopts or observes them, and never
// creates a second one.

const annexUser = "acs_system_annex"

// existingUser makes a user as the building's admin did, years ago, in the Seam
// console, settles it, and forgets the calls made so far: the counters then hold
// only what the operator sends.
func (w *world) existingUser(req seam.CreateUserRequest) string {
	GinkgoHelper()
	if req.AcsSystemID == "" {
		req.AcsSystemID = systemID
	}
	u, err := w.seam.CreateUser(suiteCtx, req)
	Expect(err).NotTo(HaveOccurred())
	w.sandbox.SettleMutations()
	w.sandbox.ResetCounters()
	return u.AcsUserID
}

// consoleChange changes a user through the sandbox's admin route, as a person in the
// Seam console would: no Seam API call the operator could count.
func (w *world) consoleChange(id string, change map[string]any) {
	GinkgoHelper()
	change["acs_user_id"] = id
	admin := sandbox.AdminClient{Base: w.url, HTTP: http.DefaultClient}
	Expect(admin.Do(suiteCtx, http.MethodPost, "/_sandbox/users/update", "", change, nil)).To(Succeed())
}

func noWrites() map[string]int {
	return map[string]int{"create": 0, "update": 0, "suspend": 0, "unsuspend": 0, "delete": 0, "add_to_access_group": 0, "remove_from_access_group": 0}
}

func (w *world) condition(name, condType string) *metav1.Condition {
	return meta.FindStatusCondition(w.get(name).Status.Conditions, condType)
}

var _ = Describe("Adopting an existing user by spec.acsUserId", func() {
	It("takes it over without creating, corrects the fields the spec sets, leaves the others, and puts it in groups by name", func() {
		w := newWorld(sandbox.Options{})
		id := w.existingUser(seam.CreateUserRequest{FullName: "Ada Lovlace", EmailAddress: "ada@example.com", PhoneNumber: "+15555550111",
			AccessGroupIDs: []string{groupA}})
		w.newAcsUser("ada", func(s *seamv1alpha1.AcsUserSpec) {
			s.AcsUserID, s.FullName, s.AccessGroupNames = seamv1alpha1.SeamID(id), "Ada Lovelace", []string{"Gym"}
		})
		u := w.waitReady("ada")

		Expect(u.Status.AcsUserID).To(Equal(id))
		Expect(u.Annotations).To(HaveKey("seam.acs-operator.io/acs-user"), "ownership is recorded as after a create")
		Expect(w.received("/acs/users/create")).To(BeZero(), "an adopted user is never created")
		remote := w.remote("ada")
		Expect(remote.FullName).To(Equal("Ada Lovelace"))
		Expect(remote.EmailAddress).To(Equal("ada@example.com"), "a field the spec leaves out is left as it is")
		Expect(remote.PhoneNumber).To(Equal("+15555550111"))
		Expect(remote.GroupIDs).To(Equal([]string{groupB}), "the group named Gym, and only it")
		Eventually(func() []seamv1alpha1.AccessGroupRef { return w.get("ada").Status.AccessGroups }).
			Should(Equal([]seamv1alpha1.AccessGroupRef{{ID: groupB, Name: "Gym"}}))
		Expect(w.eventReasons("ada")).To(ContainElement("Adopted"))
	})

	It("leaves the groups and schedule of an adopted user whose spec does not mention them", func() {
		w := newWorld(sandbox.Options{})
		id := w.existingUser(seam.CreateUserRequest{FullName: "Bo Keep", AccessGroupIDs: []string{groupA, groupC}})
		w.newAcsUser("bo", func(s *seamv1alpha1.AcsUserSpec) { s.AcsUserID, s.FullName = seamv1alpha1.SeamID(id), "Bo Keep" })
		w.waitReady("bo")
		Expect(w.writesReceived()).To(Equal(noWrites()))
		Expect(w.remote("bo").GroupIDs).To(Equal(sorted(groupA, groupC)))
	})

	It("never creates a user, not even when the adopted one is deleted in Seam and recreate is asked for", func() {
		w := newWorld(sandbox.Options{})
		id := w.existingUser(seam.CreateUserRequest{FullName: "Gone Soon"})
		w.newAcsUser("gone", func(s *seamv1alpha1.AcsUserSpec) { s.AcsUserID, s.FullName = seamv1alpha1.SeamID(id), "Gone Soon" })
		w.waitReady("gone")
		Expect(w.sandbox.DeleteUserOutOfBand(id)).To(Succeed())
		Eventually(w.readyCondition("gone"), 2*resyncPeriod+10*time.Second).Should(Equal("False/RemoteDeleted"))
		w.annotate("gone", annotationRecreate, id)
		Consistently(func() int { return w.received("/acs/users/create") }, 2*resyncPeriod).Should(BeZero())
		Expect(w.condition("gone", seamv1alpha1.ConditionReady).Message).To(ContainSubstring("never creates a user"))
	})

	DescribeTable("is refused, with a condition and no write, for a user the object may not take",
		func(seed func() sandbox.Seed, prepare func(w *world) (id string), wantReason string) {
			w := newWorldFrom("", seed(), sandbox.Options{})
			id := prepare(w)
			w.sandbox.ResetCounters()
			w.newAcsUser("intruder", func(s *seamv1alpha1.AcsUserSpec) { s.AcsUserID, s.FullName = seamv1alpha1.SeamID(id), "Someone Else" })
			Eventually(w.readyCondition("intruder")).Should(Equal("False/" + wantReason))
			Consistently(w.writesReceived, 2*resyncPeriod).Should(Equal(noWrites()))
			Expect(w.get("intruder").Annotations).NotTo(HaveKey("seam.acs-operator.io/acs-user"))
		},
		Entry("a user of another system", sandbox.DefaultSeed, func(w *world) string {
			return w.existingUser(seam.CreateUserRequest{AcsSystemID: annexUser, FullName: "Annex Person"})
		}, "AdoptWrongSystem"),
		Entry("a user of another workspace", twoWorkspaces, func(w *world) string {
			// The other workspace gets a system of its own only through its key: the
			// sandbox's systems all live in the first, so its user is made through the
			// first key and the connection is re-pointed at the second.
			id := w.existingUser(seam.CreateUserRequest{FullName: "Far Away"})
			w.setKey(otherKey)
			return id
		}, "AdoptNotFound"),
		Entry("a user no one has", sandbox.DefaultSeed, func(w *world) string { return "acs_user_does_not_exist" }, "AdoptNotFound"),
		Entry("a user another AcsUser manages", sandbox.DefaultSeed, func(w *world) string {
			id := w.existingUser(seam.CreateUserRequest{FullName: "Taken"})
			w.newAcsUser("owner", func(s *seamv1alpha1.AcsUserSpec) { s.AcsUserID, s.FullName = seamv1alpha1.SeamID(id), "Taken" })
			w.waitReady("owner")
			return id
		}, "ClaimedByAnother"),
	)
})

var _ = Describe("Adopting through a ClusterSeamConnection", func() {
	It("needs its adoptionNamespaceSelector: a namespace allowed to create users may not take over or read existing ones", func() {
		w := newWorld(sandbox.Options{})
		id := w.existingUser(seam.CreateUserRequest{FullName: "Landlord"})
		cluster := &seamv1alpha1.ClusterSeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: "shared-" + w.ns},
			Spec: seamv1alpha1.ClusterSeamConnectionSpec{
				Endpoint: w.url, InsecureAllowHTTP: true,
				APIKeySecretRef:           seamv1alpha1.NamespacedSecretKeySelector{Namespace: w.ns, Name: "seam-api-key", Key: "apiKey"},
				NamespaceSelector:         &metav1.LabelSelector{},
				AdoptionNamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"seam-adopt": "yes"}},
			},
		}
		Expect(k8s.Create(suiteCtx, cluster)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(suiteCtx, cluster) })
		w.newAcsUser("takeover", func(s *seamv1alpha1.AcsUserSpec) {
			s.ConnectionRef = seamv1alpha1.ConnectionRef{Kind: seamv1alpha1.ClusterSeamConnectionKind, Name: cluster.Name}
			s.AcsUserID, s.FullName, s.ManagementPolicy = seamv1alpha1.SeamID(id), "Mine Now", seamv1alpha1.ManagementPolicyObserveOnly
		})
		Eventually(w.readyCondition("takeover")).Should(Equal("False/AdoptionNotAllowed"))
		Expect(w.received("/acs/users/get")).To(BeZero(), "not even read")
		Expect(w.writesReceived()).To(Equal(noWrites()))

		ns := &corev1.Namespace{}
		Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: w.ns}, ns)).To(Succeed())
		ns.Labels["seam-adopt"] = "yes"
		Expect(k8s.Update(suiteCtx, ns)).To(Succeed())
		Eventually(w.readyCondition("takeover"), 2*resyncPeriod+10*time.Second).Should(Equal("True/Observed"))
	})
})

var _ = Describe("managementPolicy ObserveOnly", func() {
	It("never writes, reports drift and a console change, releases on delete; switching to Manage corrects it with an Event", func() {
		w := newWorld(sandbox.Options{})
		id := w.existingUser(seam.CreateUserRequest{FullName: "Cy Observed", EmailAddress: "cy@example.com", AccessGroupIDs: []string{groupA}})
		w.newAcsUser("cy", func(s *seamv1alpha1.AcsUserSpec) {
			s.AcsUserID, s.FullName, s.ManagementPolicy = seamv1alpha1.SeamID(id), "Cy Observed", seamv1alpha1.ManagementPolicyObserveOnly
			s.AccessGroupNames = []string{"Front door"}
		})
		Eventually(w.readyCondition("cy")).Should(Equal("True/Observed"))
		Eventually(func() string { return string(w.condition("cy", "Drifted").Status) }).Should(Equal("False"))

		// A person renames the user and adds it to a group in the Seam console.
		w.consoleChange(id, map[string]any{"full_name": "Cy Renamed", "acs_access_group_ids": []string{groupA, groupC}})
		Eventually(func(g Gomega) {
			u := w.get("cy")
			g.Expect(u.Status.Drift).To(Equal([]string{"fullName", "accessGroups"}))
			g.Expect(u.Status.Observed).NotTo(BeNil())
			g.Expect(u.Status.Observed.FullName).To(Equal("Cy Renamed"))
			g.Expect(meta.FindStatusCondition(u.Status.Conditions, "Drifted").Message).To(ContainSubstring("fullName, accessGroups"))
		}).Should(Succeed())
		Consistently(w.writesReceived, 3*resyncPeriod).Should(Equal(noWrites()), "observing never writes, resync after resync")
		Expect(w.readyCondition("cy")()).To(Equal("True/Observed"))

		w.update("cy", func(s *seamv1alpha1.AcsUserSpec) { s.ManagementPolicy = seamv1alpha1.ManagementPolicyManage })
		u := w.waitReady("cy")
		Expect(u.Status.Drift).To(BeEmpty())
		Expect(meta.FindStatusCondition(u.Status.Conditions, "Drifted")).To(BeNil())
		remote := w.remote("cy")
		Expect(remote.FullName).To(Equal("Cy Observed"))
		Expect(remote.GroupIDs).To(Equal([]string{groupA}))
		Expect(w.eventReasons("cy")).To(ContainElements("ManagementStarted", "RemovedFromGroup", "Updated"))

		// Back to observing, then deleted: the remote user stays, deletionPolicy Delete or not.
		w.update("cy", func(s *seamv1alpha1.AcsUserSpec) { s.ManagementPolicy = seamv1alpha1.ManagementPolicyObserveOnly })
		Eventually(w.readyCondition("cy")).Should(Equal("True/Observed"))
		Expect(w.get("cy").Spec.DeletionPolicy).To(Equal(seamv1alpha1.DeletionPolicyDelete))
		w.deleteAndWait("cy")
		_, exists := w.sandbox.User(id)
		Expect(exists).To(BeTrue(), "an observed user is released, never deleted")
		Expect(w.received("/acs/users/delete")).To(BeZero())
	})

	It("grants no credential to a user it only observes, until it is managed", func() {
		w := newWorld(sandbox.Options{})
		id := w.existingUser(seam.CreateUserRequest{FullName: "Eve Observed"})
		w.newAcsUser("eve", func(s *seamv1alpha1.AcsUserSpec) {
			s.AcsUserID, s.FullName, s.ManagementPolicy = seamv1alpha1.SeamID(id), "Eve Observed", seamv1alpha1.ManagementPolicyObserveOnly
		})
		Eventually(w.readyCondition("eve")).Should(Equal("True/Observed"))
		w.newCredential("eve-pin", "eve")
		Eventually(w.credentialReady("eve-pin")).Should(Equal("False/WaitingForUser"))
		Consistently(func() int { return w.received("/acs/credentials/create") }, resyncPeriod).Should(BeZero())

		w.update("eve", func(s *seamv1alpha1.AcsUserSpec) { s.ManagementPolicy = seamv1alpha1.ManagementPolicyManage })
		w.remoteCredential("eve-pin")
	})

	It("does not create a user when there is nothing to observe", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("nobody", func(s *seamv1alpha1.AcsUserSpec) { s.ManagementPolicy = seamv1alpha1.ManagementPolicyObserveOnly })
		Eventually(w.readyCondition("nobody")).Should(Equal("False/NothingToObserve"))
		Expect(w.writesReceived()).To(Equal(noWrites()))
	})

	It("passes the same checks as Manage before observing someone else's user", func() {
		w := newWorld(sandbox.Options{})
		id := w.existingUser(seam.CreateUserRequest{AcsSystemID: annexUser, FullName: "Annex Person"})
		w.newAcsUser("peek", func(s *seamv1alpha1.AcsUserSpec) {
			s.AcsUserID, s.ManagementPolicy = seamv1alpha1.SeamID(id), seamv1alpha1.ManagementPolicyObserveOnly
		})
		Eventually(w.readyCondition("peek")).Should(Equal("False/AdoptWrongSystem"))
		Expect(w.get("peek").Status.Observed).To(BeNil())
	})
})

// twoStaffGroups is the default seed with a second hq group named "Staff".
func twoStaffGroups() sandbox.Seed {
	seed := sandbox.DefaultSeed()
	seed.AccessGroups = append(seed.AccessGroups, sandbox.SeedAccessGroup{ID: "acs_access_group_hq_staff_2", SystemID: systemID, Name: "Staff"})
	return seed
}

var _ = Describe("spec.accessGroupNames", func() {
	It("grants nothing for an unknown or ambiguous name, says which, and still sends removals", func() {
		w := newWorldFrom("", twoStaffGroups(), sandbox.Options{})
		w.newAcsUser("dee", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		w.waitReady("dee")

		w.update("dee", func(s *seamv1alpha1.AcsUserSpec) {
			s.AccessGroupIDs, s.AccessGroupNames = nil, []string{"Gym", "Staff", "Sauna"}
		})
		Eventually(w.readyCondition("dee")).Should(Equal("False/UnknownAccessGroupName"))
		msg := w.condition("dee", seamv1alpha1.ConditionReady).Message
		Expect(msg).To(And(ContainSubstring(`named "Sauna"`), ContainSubstring(`2 access groups of system acs_system_hq are named "Staff"`)))
		Expect(w.remote("dee").GroupIDs).To(Equal([]string{groupB}), "Gym granted, front door removed, no Staff group")

		w.update("dee", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupNames = []string{"Staff"} })
		Eventually(w.readyCondition("dee")).Should(Equal("False/AmbiguousAccessGroupName"))
		Eventually(func() []string { return w.remote("dee").GroupIDs }).Should(BeEmpty(), "the removal from Gym still goes out")
		Expect(w.received("/acs/users/add_to_access_group")).To(Equal(1), "only Gym was ever granted")

		// The building admin renames one of the two: the name is unique again.
		Expect(w.sandbox.RenameAccessGroup("acs_access_group_hq_staff_2", "Staff (night)")).To(Succeed())
		Eventually(func() []string { return w.remote("dee").GroupIDs }, 2*resyncPeriod+10*time.Second).Should(Equal([]string{groupC}))
		w.waitReady("dee")
	})
})
