package controller_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/test/fakeseam"
)

// membersOf reads group membership from the fake's database dump: the fake has no
// /acs/access_groups routes, so the operator cannot read it and must rely on what it
// recorded in status.
func membersOf(f *fakeseam.Fake, groupID string) []string {
	resp, err := http.Get(f.Endpoint + "/_fake/database")
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var db struct {
		Groups []struct {
			ID      string   `json:"acs_access_group_id"`
			UserIDs []string `json:"_acs_user_ids"`
		} `json:"acs_access_groups"`
	}
	Expect(json.NewDecoder(resp.Body).Decode(&db)).To(Succeed())
	for _, g := range db.Groups {
		if g.ID == groupID {
			return g.UserIDs
		}
	}
	return nil
}

var _ = Describe("Against @seamapi/fake-seam-connect", func() {
	It("manages a user through its whole life on a server that cannot report group membership", func() {
		f, err := fakeseam.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(f.Stop)
		Expect(allowedEndpoints.Allow(f.Endpoint)).To(Succeed())
		client, err := seam.New(seam.Config{Endpoint: f.Endpoint, APIKey: f.APIKey})
		Expect(err).NotTo(HaveOccurred())

		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fake-"}}
		Expect(k8s.Create(suiteCtx, ns)).To(Succeed())
		w := &world{ns: ns.Name}
		DeferCleanup(w.release)
		Expect(k8s.Create(suiteCtx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "seam-api-key", Namespace: w.ns},
			StringData: map[string]string{"apiKey": f.APIKey}})).To(Succeed())
		Expect(k8s.Create(suiteCtx, &seamv1alpha1.SeamConnection{
			ObjectMeta: metav1.ObjectMeta{Name: "seam", Namespace: w.ns},
			Spec: seamv1alpha1.SeamConnectionSpec{Endpoint: f.Endpoint, InsecureAllowHTTP: true,
				APIKeySecretRef: seamv1alpha1.SecretKeySelector{Name: "seam-api-key", Key: "apiKey"}},
		})).To(Succeed())
		g1, g2, g3 := f.AccessGroupIDs[0], f.AccessGroupIDs[1], f.AccessGroupIDs[2]

		u := &seamv1alpha1.AcsUser{
			ObjectMeta: metav1.ObjectMeta{Name: "fake-user", Namespace: w.ns},
			Spec: seamv1alpha1.AcsUserSpec{
				ConnectionRef: seamv1alpha1.ConnectionRef{Kind: seamv1alpha1.SeamConnectionKind, Name: "seam"},
				AcsSystemID:   seamv1alpha1.SeamID(f.AcsSystemID), FullName: "Fake Person",
				AccessGroupIDs: ids(seamv1alpha1.SeamID(g1), seamv1alpha1.SeamID(g2)),
			},
		}
		Expect(k8s.Create(suiteCtx, u)).To(Succeed())
		id := w.waitReady("fake-user").Status.AcsUserID
		Expect(membersOf(f, g1)).To(ConsistOf(id))
		Expect(membersOf(f, g2)).To(ConsistOf(id))

		By("changing groups with the membership recorded in status")
		w.update("fake-user", func(s *seamv1alpha1.AcsUserSpec) {
			s.AccessGroupIDs = ids(seamv1alpha1.SeamID(g2), seamv1alpha1.SeamID(g3))
		})
		Eventually(func() []string { return membersOf(f, g3) }).Should(ConsistOf(id))
		Eventually(func() []string { return membersOf(f, g1) }).Should(BeEmpty())
		Expect(membersOf(f, g2)).To(ConsistOf(id), "added once, not twice")
		Expect(w.waitReady("fake-user").Status.AccessGroupIDs).To(Equal(sorted(g2, g3)))

		By("renaming and suspending")
		w.update("fake-user", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Fake Renamed"; s.Suspended = true })
		Eventually(func(g Gomega) {
			remote, err := client.GetUser(suiteCtx, id)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(remote.FullName).To(Equal("Fake Renamed"))
			g.Expect(remote.IsSuspended).To(BeTrue())
		}).Should(Succeed())
		w.waitReady("fake-user")

		By("deleting")
		w.deleteAndWait("fake-user")
		_, err = client.GetUser(suiteCtx, id)
		Expect(errors.Is(err, seam.ErrNotFound)).To(BeTrue(), "got %v", err)
		Expect(slices.Contains(membersOf(f, g2), id)).To(BeFalse())
	})
})
