package controller_test

import (
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// The specs of issue 13: credentials, asserted on the sandbox's state.

func (w *world) newCredential(name, user string, mutate ...func(*seamv1alpha1.AcsCredentialSpec)) {
	c := &seamv1alpha1.AcsCredential{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec: seamv1alpha1.AcsCredentialSpec{
			AcsUserRef:   seamv1alpha1.LocalObjectRef{Name: user},
			AccessMethod: seamv1alpha1.AccessMethodCode,
			Code:         &seamv1alpha1.CodeSource{Generate: &seamv1alpha1.GeneratePIN{Length: 6}},
		},
	}
	for _, m := range mutate {
		m(&c.Spec)
	}
	Expect(k8s.Create(suiteCtx, c)).To(Succeed())
}

func (w *world) credential(name string) *seamv1alpha1.AcsCredential {
	c := &seamv1alpha1.AcsCredential{}
	ExpectWithOffset(1, k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, c)).To(Succeed())
	return c
}

func (w *world) updateCredential(name string, mutate func(*seamv1alpha1.AcsCredentialSpec)) {
	EventuallyWithOffset(1, func() error {
		c := w.credential(name)
		mutate(&c.Spec)
		return k8s.Update(suiteCtx, c)
	}).Should(Succeed())
}

// credentialReady returns "Status/Reason" of the credential's Ready condition.
func (w *world) credentialReady(name string) func() string {
	return func() string {
		c := &seamv1alpha1.AcsCredential{}
		if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, c); err != nil {
			return err.Error()
		}
		if cond := meta.FindStatusCondition(c.Status.Conditions, seamv1alpha1.ConditionReady); cond != nil {
			return string(cond.Status) + "/" + cond.Reason
		}
		return "none"
	}
}

// remoteCredential waits for the credential to be Ready and returns Seam's copy.
func (w *world) remoteCredential(name string) sandbox.Credential {
	EventuallyWithOffset(1, w.credentialReady(name)).Should(Equal("True/Available"))
	c := w.credential(name)
	rc, ok := w.sandbox.Credential(c.Status.AcsCredentialID)
	ExpectWithOffset(1, ok).To(BeTrue(), "no remote credential %q", c.Status.AcsCredentialID)
	return rc
}

func (w *world) secretValue(name, key string) string {
	s := &corev1.Secret{}
	ExpectWithOffset(1, k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, s)).To(Succeed())
	return string(s.Data[key])
}

func (w *world) pinSecret(name, pin string) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns}, Data: map[string][]byte{"pin": []byte(pin)}}
	if err := k8s.Create(suiteCtx, s); err != nil {
		Eventually(func() error {
			_ = k8s.Get(suiteCtx, client.ObjectKeyFromObject(s), s)
			s.Data = map[string][]byte{"pin": []byte(pin)}
			return k8s.Update(suiteCtx, s)
		}).Should(Succeed())
	}
}

func fromSecret(name string) func(*seamv1alpha1.AcsCredentialSpec) {
	return func(s *seamv1alpha1.AcsCredentialSpec) {
		s.Code = &seamv1alpha1.CodeSource{SecretRef: &seamv1alpha1.SecretKeyRef{Name: name, Key: "pin"}}
	}
}

var _ = Describe("AcsCredential", func() {
	var w *world
	BeforeEach(func() { w = newWorld(sandbox.Options{}) })

	It("waits for its user, then creates a generated PIN that appears nowhere but its Secret and Seam", func() {
		w.newCredential("door", "tenant")
		Eventually(w.credentialReady("door")).Should(Equal("False/WaitingForUser"))
		Expect(w.sandbox.Credentials("")).To(BeEmpty())

		w.newAcsUser("tenant")
		rc := w.remoteCredential("door")
		c := w.credential("door")
		pin := w.secretValue(c.Status.CodeSecretName, "pin")
		Expect(pin).To(MatchRegexp(`^\d{6}$`))
		Expect(rc.Code).To(Equal(pin))
		Expect(rc.UserID).To(Equal(w.get("tenant").Status.AcsUserID))
		Expect(c.Status.DisplayName).NotTo(ContainSubstring(pin))
		Expect(*c.Status.IsIssued).To(BeTrue())
		Expect(c.OwnerReferences).To(ContainElement(HaveField("Name", "tenant")))
		Expect(w.sandbox.Credentials("")).To(HaveLen(1))
	})

	It("regenerates a generated PIN that collides, once, with an Event", func() {
		w.newAcsUser("tenant")
		w.waitReady("tenant")
		w.sandbox.CollideNextCodes(1)
		w.newCredential("door", "tenant")
		rc := w.remoteCredential("door")
		refused := w.sandbox.CollidedCodes()
		Expect(refused).To(HaveLen(1))
		Expect(rc.Code).NotTo(Equal(refused[0]))
		Expect(w.secretValue(w.credential("door").Status.CodeSecretName, "pin")).To(Equal(rc.Code))
		Expect(w.eventReasons("door")).To(ContainElement("PINRegenerated"))
		notes := strings.Join(w.eventNotes("door"), "\n")
		Expect(notes).NotTo(Or(ContainSubstring(refused[0]), ContainSubstring(rc.Code)))
		Expect(w.received("/acs/credentials/create")).To(Equal(2))
		Expect(w.sandbox.Credentials("")).To(HaveLen(1))
	})

	It("never puts the PIN in logs (at every verbosity), events, status or error strings", func() {
		const pin = "80417"
		logged := allLogs.watch(pin)
		w.newAcsUser("tenant")
		w.pinSecret("pin-a", pin)
		w.pinSecret("pin-b", pin)
		w.newCredential("a", "tenant", fromSecret("pin-a"))
		w.remoteCredential("a")
		// The same PIN again is refused by Seam: the refusal must not carry it either.
		w.newCredential("b", "tenant", fromSecret("pin-b"))
		Eventually(w.credentialReady("b")).Should(Equal("False/PINInUse"))
		Expect(logged()).To(BeEmpty())
		for _, name := range []string{"a", "b"} {
			Expect(strings.Join(w.eventNotes(name), "\n")).NotTo(ContainSubstring(pin))
			Expect(fmt.Sprintf("%+v", w.credential(name).Status)).NotTo(ContainSubstring(pin))
		}
	})

	It("stalls on a PIN Seam refuses, saying which rule and what to do", func() {
		w.newAcsUser("tenant")
		w.pinSecret("short", "12")
		w.newCredential("door", "tenant", fromSecret("short"))
		Eventually(w.credentialReady("door")).Should(Equal("False/PINLengthRefused"))
		stalled := meta.FindStatusCondition(w.credential("door").Status.Conditions, "Stalled")
		Expect(stalled).NotTo(BeNil())
		Expect(stalled.Message).To(And(ContainSubstring(`key "pin" of Secret "short"`), ContainSubstring("4 to 8 digits")))

		w.pinSecret("short", "4821")
		Eventually(w.credentialReady("door")).Should(Equal("True/Available"))
	})

	It("rotates the PIN in place when its Secret changes or spec.code.rotate does", func() {
		w.newAcsUser("tenant")
		w.pinSecret("pin", "2468")
		w.newCredential("door", "tenant", fromSecret("pin"))
		id := w.remoteCredential("door").ID
		w.pinSecret("pin", "135790")
		Eventually(func() string { rc, _ := w.sandbox.Credential(id); return rc.Code }).Should(Equal("135790"))
		Expect(w.received("/acs/credentials/update")).To(Equal(1))

		w.updateCredential("door", func(s *seamv1alpha1.AcsCredentialSpec) { s.Code.Rotate = "2026-03-01" })
		Eventually(func() int { return w.received("/acs/credentials/update") }).Should(Equal(2))
		Expect(w.sandbox.Credentials("")).To(HaveLen(1))
		Expect(w.sandbox.Credentials("")[0].ID).To(Equal(id))
	})

	It("moves endsAt in place and replaces the credential for a new startsAt, deleting first", func() {
		w.newAcsUser("tenant")
		w.newCredential("door", "tenant", func(s *seamv1alpha1.AcsCredentialSpec) {
			s.StartsAt, s.EndsAt = ts("2026-01-01T00:00:00Z"), ts("2031-01-01T00:00:00Z")
		})
		id := w.remoteCredential("door").ID
		w.updateCredential("door", func(s *seamv1alpha1.AcsCredentialSpec) { s.EndsAt = ts("2032-01-01T00:00:00Z") })
		Eventually(func() string {
			rc, _ := w.sandbox.Credential(id)
			if rc.EndsAt == nil {
				return ""
			}
			return rc.EndsAt.UTC().Format("2006")
		}).Should(Equal("2032"))

		w.updateCredential("door", func(s *seamv1alpha1.AcsCredentialSpec) { s.StartsAt = ts("2026-02-01T00:00:00Z") })
		Eventually(func() string { return w.credential("door").Status.AcsCredentialID }).ShouldNot(Equal(id))
		Eventually(w.credentialReady("door")).Should(Equal("True/Available"))
		Expect(w.sandbox.Credentials("")).To(HaveLen(1))
		Expect(w.received("/acs/credentials/delete")).To(Equal(1))
		Expect(w.received("/acs/credentials/create")).To(Equal(2))
	})

	It("replaces the credential when its allowed entrances change, deleting first", func() {
		w.newAcsUser("tenant")
		w.newCredential("lobby", "tenant", func(s *seamv1alpha1.AcsCredentialSpec) {
			s.AllowedAcsEntranceIDs = []seamv1alpha1.SeamID{"acs_entrance_lobby"}
		})
		first := w.remoteCredential("lobby")
		Expect(first.AllowedEntranceIDs).To(ConsistOf("acs_entrance_lobby"))
		w.updateCredential("lobby", func(s *seamv1alpha1.AcsCredentialSpec) {
			s.AllowedAcsEntranceIDs = []seamv1alpha1.SeamID{"acs_entrance_lobby", "acs_entrance_garage"}
		})
		Eventually(func() string { return w.credential("lobby").Status.AcsCredentialID }).ShouldNot(Equal(first.ID))
		Eventually(w.credentialReady("lobby")).Should(Equal("True/Available"))
		Expect(w.remoteCredential("lobby").AllowedEntranceIDs).To(ConsistOf("acs_entrance_lobby", "acs_entrance_garage"))
		Expect(w.sandbox.Credentials("")).To(HaveLen(1))
		Expect(w.received("/acs/credentials/delete")).To(Equal(1))
	})

	It("waits for a card to be issued", func() {
		w.newAcsUser("tenant")
		w.newCredential("card", "tenant", func(s *seamv1alpha1.AcsCredentialSpec) { s.AccessMethod, s.Code = seamv1alpha1.AccessMethodCard, nil })
		Eventually(w.credentialReady("card")).Should(Equal("False/WaitingToBeIssued"))
		c := w.credential("card")
		Expect(meta.IsStatusConditionTrue(c.Status.Conditions, "WaitingToBeIssued")).To(BeTrue())
		Expect(w.eventReasons("card")).To(ContainElement("WaitingToBeIssued"))
		Expect(w.sandbox.IssueCredential(c.Status.AcsCredentialID)).To(Succeed())
		Eventually(w.credentialReady("card")).Should(Equal("True/Available"))
		c = w.credential("card")
		Expect(*c.Status.IsIssued).To(BeTrue())
		Expect(meta.FindStatusCondition(c.Status.Conditions, "WaitingToBeIssued")).To(BeNil())
	})

	It("gives a mobile key to a user linked to a user identity", func() {
		w.newAcsUser("tenant", func(s *seamv1alpha1.AcsUserSpec) { s.UserIdentityID = "uid_alice" })
		w.newCredential("phone", "tenant", func(s *seamv1alpha1.AcsCredentialSpec) {
			s.AccessMethod, s.Code, s.IsMultiPhoneSyncCredential = seamv1alpha1.AccessMethodMobileKey, nil, true
		})
		rc := w.remoteCredential("phone")
		Expect(rc.AccessMethod).To(Equal("mobile_key"))
		Expect(rc.IsMultiPhoneSync).To(BeTrue())
	})

	It("reports a credential deleted in the console instead of re-creating it", func() {
		w.newAcsUser("tenant")
		w.newCredential("door", "tenant")
		id := w.remoteCredential("door").ID
		Expect(w.sandbox.DeleteCredentialOutOfBand(id)).To(Succeed())
		w.annotateCredential("door", "poke", "1")
		Eventually(w.credentialReady("door")).Should(Equal("False/RemoteDeleted"))
		Consistently(func() int { return w.received("/acs/credentials/create") }, "1s").Should(Equal(1))

		w.annotateCredential("door", annotationRecreate, id)
		Eventually(w.credentialReady("door")).Should(Equal("True/Available"))
		Expect(w.sandbox.Credentials("")).To(HaveLen(1))
	})

	It("leaves the user's other credentials alone and counts them", func() {
		w.newAcsUser("tenant")
		w.waitReady("tenant")
		frontDesk, err := w.seam.CreateCredential(suiteCtx, seam.CreateCredentialRequest{
			AcsUserID: w.get("tenant").Status.AcsUserID, AccessMethod: seam.AccessMethodCard})
		Expect(err).NotTo(HaveOccurred())
		w.newCredential("door", "tenant")
		w.remoteCredential("door")
		Eventually(func() int32 { return w.credential("door").Status.UnmanagedCredentials }).Should(Equal(int32(1)))
		w.deleteCredentialAndWait("door")
		_, ok := w.sandbox.Credential(frontDesk.AcsCredentialID)
		Expect(ok).To(BeTrue(), "the front desk's card was touched")
	})

	It("adopts the credential a create whose answer was lost made, instead of making a second", func() {
		w.newAcsUser("tenant")
		w.waitReady("tenant")
		w.sandbox.FailAfterCommit("/acs/credentials/create", http.StatusBadGateway)
		w.newCredential("door", "tenant")
		w.remoteCredential("door")
		Expect(w.sandbox.Credentials("")).To(HaveLen(1))
		Expect(w.eventReasons("door")).To(ContainElement("Adopted"))
	})

	It("deletes the credential in Seam when the object is deleted", func() {
		w.newAcsUser("tenant")
		w.newCredential("door", "tenant")
		w.remoteCredential("door")
		w.deleteCredentialAndWait("door")
		Expect(w.sandbox.Credentials("")).To(BeEmpty())
		Expect(w.sandbox.Users(systemID)).To(HaveLen(1))
	})

	It("deletes an AcsUser's credentials in Seam before the user", func() {
		w.newAcsUser("tenant")
		w.newCredential("door", "tenant")
		w.newCredential("card", "tenant", func(s *seamv1alpha1.AcsCredentialSpec) { s.AccessMethod, s.Code = seamv1alpha1.AccessMethodCard, nil })
		w.remoteCredential("door")
		Eventually(w.credentialReady("card")).Should(Equal("False/WaitingToBeIssued"))
		w.deleteAndWait("tenant")
		Expect(w.sandbox.Users(systemID)).To(BeEmpty())
		Expect(w.sandbox.Credentials("")).To(BeEmpty())
		// Each credential was revoked by its own delete, not only by the user's.
		Expect(w.received("/acs/credentials/delete")).To(Equal(2))
		var left seamv1alpha1.AcsCredentialList
		Expect(k8s.List(suiteCtx, &left, client.InNamespace(w.ns))).To(Succeed())
		Expect(left.Items).To(BeEmpty())
	})
})

func (w *world) annotateCredential(name, key, value string) {
	EventuallyWithOffset(1, func() error {
		c := w.credential(name)
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[key] = value
		return k8s.Update(suiteCtx, c)
	}).Should(Succeed())
}

func (w *world) deleteCredentialAndWait(name string) {
	ExpectWithOffset(1, k8s.Delete(suiteCtx, w.credential(name))).To(Succeed())
	EventuallyWithOffset(1, func() bool {
		return k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: name}, &seamv1alpha1.AcsCredential{}) != nil
	}).Should(BeTrue(), "the AcsCredential was not released")
}

// eventNotes lists the notes of the Events about an object.
func (w *world) eventNotes(name string) []string {
	var list eventsv1.EventList
	Expect(k8s.List(suiteCtx, &list, client.InNamespace(w.ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Note)
		}
	}
	return out
}
