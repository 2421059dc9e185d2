package controller_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/controller"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// totalReceived counts every API call the sandbox received.
func (w *world) totalReceived() int {
	n := 0
	for _, byStatus := range w.sandbox.Counters() {
		for _, c := range byStatus {
			n += c
		}
	}
	return n
}

// settle waits until the sandbox has received no call for half a second: the
// reads a create sets off (the system's snapshot, the user read back) are done,
// so counters reset after it hold only what the test's next change sends. A
// connection's limiter sweeps up from half its ceiling without a burst, so
// those reads can outlast the user's Ready.
func (w *world) settle() {
	GinkgoHelper()
	last := -1
	Eventually(func() bool {
		n := w.totalReceived()
		quiet := n == last
		last = n
		return quiet
	}).WithPolling(500 * time.Millisecond).Should(BeTrue())
}

func (w *world) readyMessage(name string) string {
	c := meta.FindStatusCondition(w.get(name).Status.Conditions, seamv1alpha1.ConditionReady)
	if c == nil {
		return ""
	}
	return c.Message
}

func (w *world) setKey(key string) {
	Eventually(func() error {
		s := &corev1.Secret{}
		if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "seam-api-key"}, s); err != nil {
			return err
		}
		s.Data = map[string][]byte{"apiKey": []byte(key)}
		return k8s.Update(suiteCtx, s)
	}).Should(Succeed())
}

var _ = Describe("Faults", func() {
	It("reports a missing Secret without calling Seam, and recovers when it appears", func() {
		w := newWorld(sandbox.Options{})
		Expect(k8s.Delete(suiteCtx, w.secret(""))).To(Succeed())
		w.newAcsUser("nokey")
		Eventually(w.readyCondition("nokey")).Should(Equal("False/SecretNotFound"))
		Expect(w.readyMessage("nokey")).To(ContainSubstring(`Secret "seam-api-key"`))
		Expect(meta.IsStatusConditionTrue(w.get("nokey").Status.Conditions, "Reconciling")).To(BeTrue(),
			"a Secret that external-secrets may deliver any moment is waited for, not a failure")
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("False/SecretNotFound"))
		Expect(w.received("/acs/users/create")).To(BeZero())

		Expect(k8s.Create(suiteCtx, w.secret(sandbox.DefaultSeedAPIKey))).To(Succeed())
		w.waitReady("nokey")
		Expect(w.received("/acs/users/create")).To(Equal(1))
	})

	It("stalls on a wrong key (401) without a hot loop, and recovers on key rotation", func() {
		w := newWorld(sandbox.Options{})
		w.setKey("seam_wrong_key")
		w.newAcsUser("badkey")
		Eventually(w.readyCondition("badkey")).Should(Equal("False/Unauthorized"))
		u := w.get("badkey")
		Expect(meta.IsStatusConditionTrue(u.Status.Conditions, "Stalled")).To(BeTrue())
		Expect(w.readyMessage("badkey")).To(ContainSubstring("fix the key"))
		Expect(w.readyMessage("badkey")).NotTo(ContainSubstring("seam_wrong_key"))
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("False/Unauthorized"))

		start := w.totalReceived()
		Consistently(func() int { return w.totalReceived() - start }, 2*resyncPeriod, 100*time.Millisecond).Should(BeNumerically("<=", 8),
			"a terminal error must not be retried in a hot loop")

		w.setKey(sandbox.DefaultSeedAPIKey)
		w.waitReady("badkey")
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("True/Connected"))
		Expect(w.usersNamed("Test badkey")).To(HaveLen(1))
	})

	It("backs off during a 429 storm and recovers when it ends", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("storm")
		w.waitReady("storm")
		w.sandbox.StartRateLimitStorm(0, "1")
		w.update("storm", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "After The Storm" })
		Eventually(w.readyCondition("storm"), 20*time.Second).Should(Equal("False/RateLimited"))
		start := w.totalReceived()
		Consistently(func() int { return w.totalReceived() - start }, 5*time.Second, 100*time.Millisecond).Should(BeNumerically("<=", 15),
			"429 with Retry-After: 1 must pace the calls")

		w.sandbox.StopRateLimitStorm()
		w.waitReady("storm")
		Expect(w.remote("storm").FullName).To(Equal("After The Storm"))
	})

	It("backs off during a 503 outage and recovers when it ends", func() {
		w := newWorld(sandbox.Options{})
		w.sandbox.SetOutage(true)
		w.newAcsUser("outage")
		Eventually(w.readyCondition("outage"), 20*time.Second).Should(Equal("False/SeamUnavailable"))
		Expect(meta.IsStatusConditionTrue(w.get("outage").Status.Conditions, "Reconciling")).To(BeTrue())
		start := w.totalReceived()
		Consistently(func() int { return w.totalReceived() - start }, 5*time.Second, 100*time.Millisecond).Should(BeNumerically("<=", 20),
			"an outage must be retried with backoff")

		w.sandbox.SetOutage(false)
		w.waitReady("outage")
		Expect(w.usersNamed("Test outage")).To(HaveLen(1), "503 on create means not created: exactly one user after recovery")
	})
})

var _ = Describe("Drift", func() {
	It("corrects a user changed behind the operator's back, with an event", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("drift", func(s *seamv1alpha1.AcsUserSpec) { s.AccessGroupIDs = ids(groupA) })
		id := w.waitReady("drift").Status.AcsUserID
		Expect(w.sandbox.UpdateUserOutOfBand(id, func(u *sandbox.User) {
			u.FullName = "Someone Else"
			u.GroupIDs = []string{groupC}
		})).To(Succeed())

		Eventually(func() string { return w.remote("drift").FullName }, 4*resyncPeriod).Should(Equal("Test drift"))
		Eventually(func() []string { return w.remote("drift").GroupIDs }).Should(Equal([]string{groupA}))
		w.waitReady("drift")
		Expect(w.eventReasons("drift")).To(ContainElement("DriftCorrected"))
		Expect(w.received("/acs/users/create")).To(Equal(1))
	})

	It("reports a user deleted outside Kubernetes instead of re-creating it, and re-creates on request", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("revoked")
		id := w.waitReady("revoked").Status.AcsUserID
		Expect(w.sandbox.DeleteUserOutOfBand(id)).To(Succeed())

		Eventually(w.readyCondition("revoked"), 4*resyncPeriod).Should(Equal("False/RemoteDeleted"))
		Expect(w.readyMessage("revoked")).To(ContainSubstring(controller.AnnotationRecreate))
		Expect(w.eventReasons("revoked")).To(ContainElement("RemoteDeleted"))
		Consistently(func() int { return w.received("/acs/users/create") }, 2*resyncPeriod, 500*time.Millisecond).Should(Equal(1))
		Expect(w.usersNamed("Test revoked")).To(BeEmpty())

		w.annotate("revoked", controller.AnnotationRecreate, id)
		u := w.waitReady("revoked")
		Expect(u.Status.AcsUserID).NotTo(Equal(id))
		Expect(u.Annotations).NotTo(HaveKey(controller.AnnotationRecreate))
		Expect(w.usersNamed("Test revoked")).To(HaveLen(1))
	})
})

// setRateLimit changes the rateLimit of the world's connection.
func (w *world) setRateLimit(rps, burst int32) {
	GinkgoHelper()
	Eventually(func() error {
		c := &seamv1alpha1.SeamConnection{}
		if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "seam"}, c); err != nil {
			return err
		}
		c.Spec.RateLimit = &seamv1alpha1.RateLimit{RequestsPerSecond: rps, Burst: burst}
		return k8s.Update(suiteCtx, c)
	}).Should(Succeed())
}

func connReady(w *world, name string) string {
	return connCondition(w, name, seamv1alpha1.ConditionReady)
}

// connCondition is "Status/Reason" of the connection's condition of that type.
func connCondition(w *world, name, conditionType string) string {
	c := &seamv1alpha1.SeamConnection{}
	if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, c); err != nil {
		return err.Error()
	}
	cond := meta.FindStatusCondition(c.Status.Conditions, conditionType)
	if cond == nil {
		return "none"
	}
	return string(cond.Status) + "/" + cond.Reason
}

var _ = Describe("Connections", func() {
	It("reports a rate-limited check as RateLimited, not Unreachable, and checks again after Retry-After", func() {
		w := newWorld(sandbox.Options{})
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("True/Connected"))
		w.sandbox.StartRateLimitStorm(0, "1")
		w.setRateLimit(5, 5) // a spec change: the connection is checked again
		Eventually(func() string { return connReady(w, "seam") }, 20*time.Second).Should(Equal("False/RateLimited"))
		w.sandbox.StopRateLimitStorm()
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("True/Connected"))
	})

	It("reports a SeamConnection Ready with the workspace Seam reported", func() {
		w := newWorld(sandbox.Options{})
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("True/Connected"))
		c := &seamv1alpha1.SeamConnection{}
		Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "seam"}, c)).To(Succeed())
		Expect(c.Status.WorkspaceID).To(Equal("ws_sandbox"))
		Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
	})

	It("lets only the namespaces a ClusterSeamConnection selects use it", func() {
		w := newWorld(sandbox.Options{})
		cluster := &seamv1alpha1.ClusterSeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: "shared-" + w.ns},
			Spec: seamv1alpha1.ClusterSeamConnectionSpec{
				Endpoint: w.url, InsecureAllowHTTP: true,
				APIKeySecretRef:   seamv1alpha1.NamespacedSecretKeySelector{Namespace: w.ns, Name: "seam-api-key", Key: "apiKey"},
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"seam-tenant": "yes"}},
			},
		}
		Expect(k8s.Create(suiteCtx, cluster)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(suiteCtx, cluster) })
		w.newAcsUser("tenant", func(s *seamv1alpha1.AcsUserSpec) {
			s.ConnectionRef = seamv1alpha1.ConnectionRef{Kind: seamv1alpha1.ClusterSeamConnectionKind, Name: cluster.Name}
		})
		Eventually(w.readyCondition("tenant")).Should(Equal("False/ConnectionNotAllowed"))
		Expect(meta.IsStatusConditionTrue(w.get("tenant").Status.Conditions, "Stalled")).To(BeTrue())
		Expect(w.received("/acs/users/create")).To(BeZero())

		ns := &corev1.Namespace{}
		Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: w.ns}, ns)).To(Succeed())
		ns.Labels["seam-tenant"] = "yes"
		Expect(k8s.Update(suiteCtx, ns)).To(Succeed())
		w.waitReady("tenant")
	})
})

var _ = Describe("Errors and warnings Seam reports on the user", func() {
	It("turns them into the Ready condition and one Warning event each, and clears them when they go", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("flaky")
		id := w.waitReady("flaky").Status.AcsUserID

		Expect(w.sandbox.UpdateUserOutOfBand(id, func(u *sandbox.User) {
			u.Warnings = []sandbox.Issue{{Code: "salto_ks_user_not_subscribed", Message: "The user is not subscribed", CreatedAt: time.Now()}}
		})).To(Succeed())
		Eventually(w.readyMessage, 4*resyncPeriod).WithArguments("flaky").Should(ContainSubstring("salto_ks_user_not_subscribed"))
		Expect(w.readyCondition("flaky")()).To(Equal("True/Available"), "a warning does not make the user unready")
		Expect(w.eventReasons("flaky")).To(ContainElement("RemoteWarning"))

		Expect(w.sandbox.UpdateUserOutOfBand(id, func(u *sandbox.User) {
			u.Warnings = nil
			u.Errors = []sandbox.Issue{{Code: "failed_to_update_on_acs_system", Message: "The lock did not answer", CreatedAt: time.Now()}}
		})).To(Succeed())
		Eventually(w.readyCondition("flaky"), 4*resyncPeriod).Should(Equal("False/RemoteError"))
		Expect(w.readyMessage("flaky")).To(ContainSubstring("The lock did not answer"))
		Expect(w.eventReasons("flaky")).To(ContainElement("RemoteError"))
		errorEvents := func() int {
			n := 0
			for _, r := range w.eventReasons("flaky") {
				if r == "RemoteError" {
					n++
				}
			}
			return n
		}
		Consistently(errorEvents, 2*resyncPeriod, time.Second).Should(Equal(1), "the same error must not raise an event at every resync")

		Expect(w.sandbox.UpdateUserOutOfBand(id, func(u *sandbox.User) { u.Errors = nil })).To(Succeed())
		w.waitReady("flaky")
		Expect(w.readyMessage("flaky")).To(Equal("The ACS user matches the spec"))
	})
})

var _ = Describe("Input Seam refuses", func() {
	It("stalls with Seam's message, once, when the system does not exist", func() {
		w := newWorld(sandbox.Options{})
		Eventually(func() string { return connReady(w, "seam") }).Should(Equal("True/Connected"))
		w.newAcsUser("nosys", func(s *seamv1alpha1.AcsUserSpec) { s.AcsSystemID = "acs_system_nope" })
		Eventually(w.readyCondition("nosys")).Should(Equal("False/RemoteNotFound"))
		Expect(w.readyMessage("nosys")).To(ContainSubstring("acs_system_not_found"))
		Expect(w.get("nosys").Annotations).NotTo(HaveKey(controller.AnnotationCreatePending),
			"Seam answered no: nothing was created, so there is nothing to look for later")
		Consistently(func() int { return w.received("/acs/users/create") }, 2*time.Second, 200*time.Millisecond).Should(Equal(1))
	})

	It("stalls with Seam's message when the user identity does not exist, and creates once the spec is fixed", func() {
		w := newWorld(sandbox.Options{})
		w.newAcsUser("noid", func(s *seamv1alpha1.AcsUserSpec) { s.UserIdentityID = "uid_nobody" })
		Eventually(w.readyCondition("noid")).Should(Equal("False/InvalidInput"))
		Expect(w.readyMessage("noid")).To(ContainSubstring("user_identity_not_found"))
		Expect(meta.IsStatusConditionTrue(w.get("noid").Status.Conditions, "Stalled")).To(BeTrue())
		Expect(w.get("noid").Status.ObservedGeneration).To(Equal(w.get("noid").Generation), "a stalled generation is settled")

		// userIdentityId is fixed at creation, so the fix is a new object.
		w.deleteAndWait("noid")
		w.newAcsUser("withid", func(s *seamv1alpha1.AcsUserSpec) { s.UserIdentityID = "uid_bob" })
		w.waitReady("withid")
		Expect(w.remote("withid").UserIdentityID).To(Equal("uid_bob"))
	})
})
