package controller_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/controller"
	"github.com/acs-operator/acs-operator/internal/metrics"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

// The specs here run their own managers, with resync at an hour: only an event
// can make them notice a change in time.
const (
	deleteNamespace   = "events-delete"
	forgedNamespace   = "events-forged"
	systemNamespace   = "events-system"
	registerNamespace = "events-register"
	// registerPathNamespace: a registration the receiver could not route.
	registerPathNamespace = "events-register-path"
	catchUpNamespace      = "events-catchup"
	slowResync            = time.Hour
	// eventLatency bounds "at once": an out-of-band change is reported within it.
	eventLatency = 2 * time.Second
)

var eventNamespaces = []string{deleteNamespace, forgedNamespace, systemNamespace, registerNamespace, registerPathNamespace, catchUpNamespace}

// startEventManager runs a manager for one namespace with resync at an hour; with
// a receiver, it returns the receiver's base URL.
func startEventManager(namespaces []string, receiver bool, catchUp time.Duration) string {
	ctx, stop := context.WithCancel(suiteCtx)
	events := controller.EventsConfig{CatchUpInterval: catchUp}
	base := ""
	if receiver {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		events.WebhookListener = ln
		base = "http://" + ln.Addr().String()
	}
	only := map[string]cache.Config{}
	for _, ns := range namespaces {
		only[ns] = cache.Config{}
	}
	done := startManager(ctx, managerOptions{namespaces: only, resync: slowResync, events: events})
	DeferCleanup(func() { stop(); Eventually(done).Should(BeClosed()) })
	return base
}

// useWebhook points the world's connection at a webhook created in the sandbox by
// hand (secretRef), delivering to url; it returns the signing secret.
func (w *world) useWebhook(url string) string {
	var secret string
	if url != "" {
		wh, err := w.seam.CreateWebhook(suiteCtx, url, []string{"*"})
		Expect(err).NotTo(HaveOccurred())
		secret = wh.Secret
	} else {
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // no webhook: only the catch-up
	}
	Expect(k8s.Create(suiteCtx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "seam-webhook", Namespace: w.ns},
		Data:       map[string][]byte{"signingSecret": []byte(secret)},
	})).To(Succeed())
	w.setWebhook("seam", &seamv1alpha1.WebhookSpec{SecretRef: &seamv1alpha1.WebhookSecretRef{Name: "seam-webhook"}})
	return secret
}

func (w *world) setWebhook(conn string, spec *seamv1alpha1.WebhookSpec) {
	Eventually(func() error {
		c := &seamv1alpha1.SeamConnection{}
		if err := k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: conn}, c); err != nil {
			return err
		}
		c.Spec.Webhook = spec
		return k8s.Update(suiteCtx, c)
	}).Should(Succeed())
}

// caughtUp waits until the connection's catch-up has run once.
func (w *world) caughtUp(conn string) {
	Eventually(func(g Gomega) {
		c := &seamv1alpha1.SeamConnection{}
		g.Expect(k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: conn}, c)).To(Succeed())
		g.Expect(c.Status.Webhook).NotTo(BeNil())
		g.Expect(c.Status.Webhook.CaughtUpTo).NotTo(BeNil())
	}).Should(Succeed())
}

// postWebhook sends a delivery as anyone on the network could.
func postWebhook(url, id string, at time.Time, body, signature string) int {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("svix-id", id)
	req.Header.Set("svix-timestamp", fmt.Sprint(at.Unix()))
	req.Header.Set("svix-signature", signature)
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	return resp.StatusCode
}

func sign(secret, id string, at time.Time, body string) string {
	sig, err := webhook.Sign(secret, id, at, []byte(body))
	Expect(err).NotTo(HaveOccurred())
	return sig
}

var _ = Describe("Webhook", Ordered, func() {
	var receiver string
	BeforeAll(func() { receiver = startEventManager([]string{deleteNamespace, forgedNamespace}, true, time.Hour) })

	It("reports an out-of-band delete within seconds, with resync at an hour", func() {
		w := newWorldIn(deleteNamespace, sandbox.Options{})
		w.useWebhook(receiver + "/webhooks/seam/" + w.ns + "/seam")
		w.caughtUp("seam")
		w.newAcsUser("alice")
		u := w.waitReady("alice")
		accepted := metrics.WebhookDeliveries(webhook.ResultAccepted)

		By("someone deletes the user in the Seam console")
		Expect(w.sandbox.DeleteUserOutOfBand(u.Status.AcsUserID)).To(Succeed())
		Eventually(w.readyCondition("alice"), eventLatency, 50*time.Millisecond).Should(Equal("False/RemoteDeleted"))
		Expect(metrics.WebhookDeliveries(webhook.ResultAccepted)).To(BeNumerically(">", accepted))

		By("the connection says events flow")
		Eventually(func() *metav1.Time {
			c := &seamv1alpha1.SeamConnection{}
			Expect(k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: "seam"}, c)).To(Succeed())
			return c.Status.Webhook.LastEventTime
		}).ShouldNot(BeNil())
	})

	It("changes nothing for a forged, stale or replayed delivery, and counts each", func() {
		w := newWorldIn(forgedNamespace, sandbox.Options{})
		secret := w.useWebhook(receiver + "/webhooks/seam/" + w.ns + "/seam")
		w.caughtUp("seam")
		w.newAcsUser("bob")
		u := w.waitReady("bob")
		url := receiver + "/webhooks/seam/" + w.ns + "/seam"
		writes := w.writesReceived()
		reads := w.received("/acs/users/get")
		lie := func(eventID string) string {
			return fmt.Sprintf(`{"event_id":%q,"event_type":"acs_user.deleted","workspace_id":%q,"created_at":%q,"acs_user_id":%q,"acs_system_id":%q}`,
				eventID, u.Status.WorkspaceID, time.Now().UTC().Format(time.RFC3339), u.Status.AcsUserID, systemID)
		}
		count := func(result string) func() float64 {
			return func() float64 { return metrics.WebhookDeliveries(result) }
		}
		before := map[string]float64{}
		for _, r := range []string{webhook.ResultUnsigned, webhook.ResultBadSignature, webhook.ResultStale, webhook.ResultDuplicate, webhook.ResultUnknownConnection} {
			before[r] = count(r)()
		}

		By("a delivery signed with another secret")
		forger := "whsec_" + strings.Repeat("A", 32)
		Expect(postWebhook(url, "msg_forged", time.Now(), lie("ev_forged"), sign(forger, "msg_forged", time.Now(), lie("ev_forged")))).To(Equal(http.StatusUnauthorized))
		By("an unsigned delivery")
		Expect(postWebhook(url, "msg_unsigned", time.Now(), lie("ev_unsigned"), "")).To(Equal(http.StatusUnauthorized))
		By("a correctly signed delivery from ten minutes ago (a captured request replayed)")
		old := time.Now().Add(-10 * time.Minute)
		Expect(postWebhook(url, "msg_old", old, lie("ev_old"), sign(secret, "msg_old", old, lie("ev_old")))).To(Equal(http.StatusUnauthorized))
		By("a delivery for a connection that does not exist")
		Expect(postWebhook(receiver+"/webhooks/seam/"+w.ns+"/nobody", "msg_x", time.Now(), lie("ev_x"), sign(secret, "msg_x", time.Now(), lie("ev_x")))).To(Equal(http.StatusNotFound))

		Expect(count(webhook.ResultBadSignature)()).To(Equal(before[webhook.ResultBadSignature] + 1))
		Expect(count(webhook.ResultUnsigned)()).To(Equal(before[webhook.ResultUnsigned] + 1))
		Expect(count(webhook.ResultStale)()).To(Equal(before[webhook.ResultStale] + 1))
		Expect(count(webhook.ResultUnknownConnection)()).To(Equal(before[webhook.ResultUnknownConnection] + 1))
		Expect(w.received("/acs/users/get")).To(Equal(reads), "a refused delivery made the operator read nothing")

		By("a validly signed delivery that lies, then its replay with the same svix-id")
		now := time.Now()
		Expect(postWebhook(url, "msg_lie", now, lie("ev_lie"), sign(secret, "msg_lie", now, lie("ev_lie")))).To(Equal(http.StatusNoContent))
		Expect(postWebhook(url, "msg_lie", now, lie("ev_lie"), sign(secret, "msg_lie", now, lie("ev_lie")))).To(Equal(http.StatusNoContent))
		Expect(count(webhook.ResultDuplicate)()).To(Equal(before[webhook.ResultDuplicate] + 1))
		// The event only made the operator read Seam, which says the user is there.
		Eventually(func() int { return w.received("/acs/users/get") }).Should(BeNumerically(">", reads))
		Consistently(w.readyCondition("bob"), 2*time.Second, 100*time.Millisecond).Should(Equal("True/Available"))
		Expect(w.writesReceived()).To(Equal(writes), "nothing was written to Seam")
		_, exists := w.sandbox.User(u.Status.AcsUserID)
		Expect(exists).To(BeTrue())
	})
})

// systemsCondition returns "Status/Reason" of the connection's AcsSystemsConnected.
func (w *world) systemsCondition() string {
	c := &seamv1alpha1.SeamConnection{}
	if err := k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: "seam"}, c); err != nil {
		return err.Error()
	}
	cond := meta.FindStatusCondition(c.Status.Conditions, seamv1alpha1.ConditionAcsSystemsConnected)
	if cond == nil {
		return "none"
	}
	return string(cond.Status) + "/" + cond.Reason
}

var _ = Describe("Webhook system events", Ordered, func() {
	var receiver string
	BeforeAll(func() { receiver = startEventManager([]string{systemNamespace}, true, time.Hour) })

	It("says on the connection and its users' Ready that a system is disconnected, until it is back", func() {
		w := newWorldIn(systemNamespace, sandbox.Options{})
		w.useWebhook(receiver + "/webhooks/seam/" + w.ns + "/seam")
		w.caughtUp("seam")
		Eventually(w.systemsCondition).Should(Equal("True/Connected"))
		w.newAcsUser("erin")
		w.waitReady("erin")

		By("the building's system drops off the network")
		w.sandbox.SetSystemOffline(systemID, true)
		Eventually(w.systemsCondition, eventLatency, 50*time.Millisecond).Should(Equal("False/AcsSystemDisconnected"))
		w.update("erin", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Erin Renamed" })
		Eventually(w.readyCondition("erin")).Should(Equal("False/AcsSystemDisconnected"))

		By("it comes back")
		w.sandbox.SetSystemOffline(systemID, false)
		Eventually(w.systemsCondition, eventLatency, 50*time.Millisecond).Should(Equal("True/Connected"))
		Eventually(w.readyCondition("erin"), eventLatency, 50*time.Millisecond).Should(Equal("True/Available"))
	})
})

var _ = Describe("Webhook registration", Ordered, func() {
	var receiver string
	BeforeAll(func() {
		receiver = startEventManager([]string{registerNamespace, registerPathNamespace}, true, time.Hour)
	})

	It("creates the webhook in Seam, uses its secret, replaces it on a new URL, and deletes it with the connection", func() {
		w := newWorldIn(registerNamespace, sandbox.Options{})
		url := receiver + "/webhooks/seam/" + w.ns + "/seam"
		By("a webhook at the same URL that a create whose answer was lost left behind")
		leaked, err := w.seam.CreateWebhook(suiteCtx, url, []string{"*"})
		Expect(err).NotTo(HaveOccurred())
		w.setWebhook("seam", &seamv1alpha1.WebhookSpec{Register: &seamv1alpha1.WebhookRegistration{URL: url}})

		var id string
		Eventually(func(g Gomega) {
			hooks := w.sandbox.Webhooks()
			g.Expect(hooks).To(HaveLen(1))
			g.Expect(hooks[0].URL).To(Equal(url))
			g.Expect(hooks[0].ID).NotTo(Equal(leaked.WebhookID), "the leaked webhook is replaced, not kept beside")
			c := &seamv1alpha1.SeamConnection{}
			g.Expect(k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: "seam"}, c)).To(Succeed())
			g.Expect(c.Status.Webhook).NotTo(BeNil())
			g.Expect(c.Status.Webhook.WebhookID).To(Equal(hooks[0].ID))
			g.Expect(c.Status.Webhook.SecretName).To(Equal("seam-seam-webhook"))
			id = hooks[0].ID
		}).Should(Succeed())
		s := &corev1.Secret{}
		Expect(k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: "seam-seam-webhook"}, s)).To(Succeed())
		Expect(s.OwnerReferences).To(HaveLen(1))
		Expect(string(s.Data["signingSecret"])).To(Equal(w.sandbox.Webhooks()[0].Secret))
		Expect(w.sandbox.Webhooks()[0].EventTypes).To(ContainElements("acs_user.deleted", "acs_credential.invalidated", "acs_system.disconnected"))

		By("its deliveries are verified with the secret the operator stored")
		w.newAcsUser("carol")
		u := w.waitReady("carol")
		Expect(w.sandbox.DeleteUserOutOfBand(u.Status.AcsUserID)).To(Succeed())
		Eventually(w.readyCondition("carol"), eventLatency, 50*time.Millisecond).Should(Equal("False/RemoteDeleted"))

		By("a new URL replaces the webhook")
		moved := receiver + "/moved/webhooks/seam/" + w.ns + "/seam"
		w.setWebhook("seam", &seamv1alpha1.WebhookSpec{Register: &seamv1alpha1.WebhookRegistration{URL: moved}})
		Eventually(func(g Gomega) {
			hooks := w.sandbox.Webhooks()
			g.Expect(hooks).To(HaveLen(1))
			g.Expect(hooks[0].URL).To(Equal(moved))
			g.Expect(k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: "seam-seam-webhook"}, s)).To(Succeed())
			g.Expect(string(s.Data["signingSecret"])).To(Equal(hooks[0].Secret))
			id = hooks[0].ID
		}).Should(Succeed())

		By("deleting the connection deletes the webhook")
		w.release()
		Eventually(func() error {
			return k8s.Get(suiteCtx, types.NamespacedName{Namespace: w.ns, Name: "seam"}, &seamv1alpha1.SeamConnection{})
		}).Should(Satisfy(func(err error) bool { return client.IgnoreNotFound(err) == nil && err != nil }))
		Expect(w.sandbox.Webhooks()).To(BeEmpty(), "webhook %s was left in Seam", id)
	})

	It("registers nothing at a URL whose path leads to another connection, says so, and registers once it is fixed", func() {
		w := newWorldIn(registerPathNamespace, sandbox.Options{})
		registered := func() string { return connCondition(w, "seam", seamv1alpha1.ConditionWebhookRegistered) }
		By("a URL admission lets through (it ends in the connection's name) but whose namespace is another's")
		w.setWebhook("seam", &seamv1alpha1.WebhookSpec{Register: &seamv1alpha1.WebhookRegistration{
			URL: receiver + "/webhooks/seam/another-namespace/seam"}})
		Eventually(registered).Should(Equal("False/PathNotRouted"))
		Expect(w.received("/webhooks/create")).To(BeZero(), "a webhook whose deliveries the receiver refuses was registered")
		Expect(w.sandbox.Webhooks()).To(BeEmpty())

		By("the connection's own path")
		w.setWebhook("seam", &seamv1alpha1.WebhookSpec{Register: &seamv1alpha1.WebhookRegistration{
			URL: receiver + "/webhooks/seam/" + w.ns + "/seam"}})
		Eventually(registered).Should(Equal("True/Registered"))
		Expect(w.sandbox.Webhooks()).To(HaveLen(1))

		By("Seam refusing the registration of a new URL")
		w.sandbox.SetErrorRate("/webhooks/create", 1, http.StatusBadRequest)
		w.setWebhook("seam", &seamv1alpha1.WebhookSpec{Register: &seamv1alpha1.WebhookRegistration{
			URL: receiver + "/moved/webhooks/seam/" + w.ns + "/seam"}})
		Eventually(registered).Should(Equal("False/RegistrationFailed"))
		Expect(connReady(w, "seam")).To(Equal("True/Connected"), "the key works: the catch-up and the resync go on")

		By("a webhook no longer asked for takes its condition along")
		w.sandbox.SetErrorRate("/webhooks/create", 0, 0)
		w.setWebhook("seam", nil)
		Eventually(registered).Should(Equal("none"))
		w.release()
	})
})

var _ = Describe("Events catch-up", Ordered, func() {
	BeforeAll(func() { startEventManager([]string{catchUpNamespace}, false, time.Second) })

	It("finds an out-of-band delete in /events/list when no webhook arrives", func() {
		w := newWorldIn(catchUpNamespace, sandbox.Options{})
		w.useWebhook("") // a webhook whose deliveries never reach the operator
		w.caughtUp("seam")
		w.newAcsUser("dave")
		u := w.waitReady("dave")
		before := metrics.SeamEvents("catchup", "acs_user.deleted")

		Expect(w.sandbox.DeleteUserOutOfBand(u.Status.AcsUserID)).To(Succeed())
		Eventually(w.readyCondition("dave"), 5*time.Second, 50*time.Millisecond).Should(Equal("False/RemoteDeleted"))
		Expect(metrics.SeamEvents("catchup", "acs_user.deleted")).To(Equal(before + 1))
	})
})
