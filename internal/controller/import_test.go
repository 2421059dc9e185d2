package controller_test

import (
	"bytes"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/acs-operator/acs-operator/internal/importer"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// importUsers runs `kubectl acs import` against the world's connection with an admin
// kubeconfig of the control plane, and returns what it printed on stdout.
func (w *world) importUsers(extra ...string) []byte {
	GinkgoHelper()
	kubeconfig, err := cp.Kubeconfig(GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	args := append([]string{"--kubeconfig", kubeconfig, "--connection", w.ns + "/seam", "--system", systemID, "--allowed-endpoint", w.url}, extra...)
	var stdout, stderr bytes.Buffer
	Expect(importer.Run(suiteCtx, args, &stdout, &stderr)).To(Succeed(), stderr.String())
	Expect(stderr.String()).NotTo(ContainSubstring(sandbox.DefaultSeedAPIKey), "the key is never printed")
	Expect(stdout.String()).NotTo(ContainSubstring(sandbox.DefaultSeedAPIKey))
	return stdout.Bytes()
}

func applyAll(stream []byte) []string {
	GinkgoHelper()
	var names []string
	for _, doc := range strings.Split(string(stream), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
		Expect(k8s.Create(suiteCtx, obj)).To(Succeed(), doc)
		names = append(names, obj.GetName())
	}
	return names
}

var _ = Describe("kubectl acs import", func() {
	It("prints AcsUsers that adopt every user with every field, apply with zero writes, and print the same bytes again", func() {
		w := newWorldFrom("", twoStaffGroups(), sandbox.Options{})
		starts, ends := time.Now().Add(24*time.Hour).UTC().Truncate(time.Second), time.Now().Add(48*time.Hour).UTC().Truncate(time.Second)
		for _, req := range []seam.CreateUserRequest{
			{FullName: "Ada Lovelace", EmailAddress: "ada@example.com", PhoneNumber: "+15555550111", AccessGroupIDs: []string{groupA, groupB}},
			{FullName: "Ada Lovelace", AccessGroupIDs: []string{"acs_access_group_hq_staff_2"}}, // a namesake, in an ambiguously named group
			{FullName: "Zoë Night", AccessSchedule: &seam.AccessSchedule{StartsAt: &starts, EndsAt: &ends}},
			{FullName: "Sam Suspended", AccessGroupIDs: []string{groupC}},
		} {
			req.AcsSystemID = systemID
			u, err := w.seam.CreateUser(suiteCtx, req)
			Expect(err).NotTo(HaveOccurred())
			if req.FullName == "Sam Suspended" {
				Expect(w.seam.SuspendUser(suiteCtx, u.AcsUserID)).To(Succeed())
			}
		}
		w.existingUser(seam.CreateUserRequest{AcsSystemID: annexUser, FullName: "Elsewhere"}) // another system: not imported

		managed := w.importUsers("--manage")
		Expect(strings.Count(string(managed), "kind: AcsUser")).To(Equal(4))
		Expect(string(managed)).To(And(ContainSubstring("accessGroupNames:\n  - Front door\n  - Gym"),
			ContainSubstring("- acs_access_group_hq_staff_2"), ContainSubstring("name: zoe-night"), ContainSubstring("suspended: true")))
		Expect(string(managed)).NotTo(ContainSubstring("managementPolicy"))

		w.sandbox.ResetCounters()
		for _, name := range applyAll(managed) {
			w.waitReady(name)
		}
		Consistently(w.writesReceived, 2*resyncPeriod).Should(Equal(noWrites()), "the imported spec is what Seam has: nothing to write")

		Expect(w.importUsers("--manage")).To(Equal(managed), "a second import prints the same bytes")
		Expect(w.importUsers("--skip-managed")).To(BeEmpty(), "every user is managed now")
		observed := w.importUsers()
		Expect(strings.Count(string(observed), "managementPolicy: ObserveOnly")).To(Equal(4))
		Expect(strings.ReplaceAll(string(observed), "  managementPolicy: ObserveOnly\n", "")).To(Equal(string(managed)))
	})
})
