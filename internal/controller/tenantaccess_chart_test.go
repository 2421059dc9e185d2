package controller_test

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
	"github.com/acs-operator/acs-operator/test/framework"
)

// The tenant-access chart, installed with the pinned helm into a world's namespace with
// the suite's manager running against the world's sandbox: what a property manager does.

// tenantValues are the chart's values for the world: its SeamConnection and system.
func tenantValues(tenants string) string {
	return "connection: {kind: SeamConnection, name: seam}\nacsSystemId: " + systemID + "\ntenants:\n" + tenants
}

const (
	ada = `- name: Ada Lovelace
  email: ada@example.com
  phone: "+15555550100"
  unit: "4B"
  userIdentityId: uid_alice
  groups: [` + groupA + `, ` + groupB + `]
  schedule: {startsAt: "2026-01-01T00:00:00Z", endsAt: "2031-01-01T00:00:00Z"}
  credentials:
  - kind: code
    generate: {length: 6}
  - kind: mobile_key
    multiPhoneSync: true
`
	grace = `- name: Grace Hopper
  email: grace@example.com
  groups: [` + groupA + `]
  credentials:
  - kind: code
    secretRef: {name: grace-pin, key: pin}
  - kind: card
`
	linus = `- name: Linus Pauling
  unit: "9F"
  credentials:
  - kind: code
    generate: {length: 8}
`
)

// helmIn runs the pinned helm against the suite's control plane, in the world's namespace.
type helmIn struct {
	w          *world
	bin        string
	kubeconfig string
	dir        string
}

func newHelm(w *world) *helmIn {
	bin, err := framework.HelmBinary()
	Expect(err).NotTo(HaveOccurred())
	dir := GinkgoT().TempDir()
	kubeconfig, err := cp.Kubeconfig(dir)
	Expect(err).NotTo(HaveOccurred())
	return &helmIn{w: w, bin: bin, kubeconfig: kubeconfig, dir: dir}
}

// run runs helm with the arguments, then the namespace; values, if not empty, go in a file.
func (h *helmIn) run(values string, args ...string) {
	GinkgoHelper()
	if values != "" {
		file := filepath.Join(h.dir, "values.yaml")
		Expect(os.WriteFile(file, []byte(values), 0o600)).To(Succeed())
		args = append(args, "-f", file)
	}
	_, err := framework.Run(suiteCtx, h.kubeconfig, nil, h.bin, append(args, "--namespace", h.w.ns)...)
	Expect(err).NotTo(HaveOccurred())
}

// writes counts the sandbox's answers to write routes (not get, not list), by route and
// status.
func (w *world) writes() map[string]map[int]int {
	out := map[string]map[int]int{}
	for route, byStatus := range w.sandbox.Counters() {
		if !strings.HasSuffix(route, "/get") && !strings.Contains(route, "/list") {
			out[route] = byStatus
		}
	}
	return out
}

// since is what happened between two snapshots of writes(); routes with nothing new are left out.
func since(before, after map[string]map[int]int) map[string]map[int]int {
	out := map[string]map[int]int{}
	for route, byStatus := range after {
		for status, n := range byStatus {
			if d := n - before[route][status]; d != 0 {
				if out[route] == nil {
					out[route] = map[int]int{}
				}
				out[route][status] = d
			}
		}
	}
	return out
}

var _ = Describe("The tenant-access chart", func() {
	const release = "riverside"

	It("gives tenants their access on install, takes one tenant's away on upgrade (credentials first) touching no one else, and everyone's on uninstall", func() {
		w := newWorld(sandbox.Options{})
		h := newHelm(w)
		w.pinSecret("grace-pin", "482913")

		By("install: every tenant's user and credentials are created in Seam")
		h.run(tenantValues(ada+grace+linus), "install", release, "charts/tenant-access")
		Eventually(w.credentialReady("grace-hopper-card")).Should(Equal("False/WaitingToBeIssued"))
		Expect(w.sandbox.IssueCredential(w.credential("grace-hopper-card").Status.AcsCredentialID)).To(Succeed())
		creds := map[string][]string{
			"ada-lovelace":  {"ada-lovelace-code", "ada-lovelace-mobile-key"},
			"grace-hopper":  {"grace-hopper-code", "grace-hopper-card"},
			"linus-pauling": {"linus-pauling-code"},
		}
		remoteIDs := map[string]string{}
		for user, names := range creds {
			remoteIDs[user] = w.waitReady(user).Status.AcsUserID
			for _, name := range names {
				rc := w.remoteCredential(name)
				Expect(rc.UserID).To(Equal(remoteIDs[user]), name)
				remoteIDs[name] = rc.ID
			}
		}
		adaRemote := w.remote("ada-lovelace")
		Expect(adaRemote.FullName).To(Equal("Ada Lovelace"))
		Expect(adaRemote.EmailAddress).To(Equal("ada@example.com"))
		Expect(adaRemote.PhoneNumber).To(Equal("+15555550100"))
		Expect(adaRemote.AccessEndsAt).NotTo(BeNil())
		Expect(w.sandbox.GroupMembers(groupB)).To(ConsistOf(remoteIDs["ada-lovelace"]))
		Expect(w.sandbox.GroupMembers(groupA)).To(ConsistOf(remoteIDs["ada-lovelace"], remoteIDs["grace-hopper"]))
		Expect(w.sandbox.Credentials("")).To(HaveLen(5))
		graceCode, _ := w.sandbox.Credential(remoteIDs["grace-hopper-code"])
		Expect(graceCode.Code).To(Equal("482913"))
		linusCode := w.credential("linus-pauling-code")
		linusPIN, _ := w.sandbox.Credential(remoteIDs["linus-pauling-code"])
		Expect(linusPIN.Code).To(Equal(w.secretValue(linusCode.Status.CodeSecretName, "pin")))
		Expect(linusPIN.Code).To(MatchRegexp(`^\d{8}$`))
		Expect(w.get("linus-pauling").Annotations).To(HaveKeyWithValue("tenant-access.acs-operator.io/unit", "9F"))

		By("upgrade without Linus: his credential is revoked, then his user deleted; no one else is written to")
		before := w.writes()
		h.run(tenantValues(ada+grace), "upgrade", release, "charts/tenant-access")
		Eventually(func() error {
			return k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "linus-pauling"}, &seamv1alpha1.AcsUser{})
		}).Should(MatchError(ContainSubstring("not found")))
		_, ok := w.sandbox.User(remoteIDs["linus-pauling"])
		Expect(ok).To(BeFalse())
		// Seam deletes a deleted user's credentials with it: the credential delete answered
		// 200, not 404, so it came first.
		want := map[string]map[int]int{"/acs/credentials/delete": {200: 1}, "/acs/users/delete": {200: 1}}
		Consistently(func() map[string]map[int]int { return since(before, w.writes()) }, "1s").Should(Equal(want))
		Expect(w.sandbox.Users(systemID)).To(HaveLen(2))
		for user, names := range creds {
			if user == "linus-pauling" {
				continue
			}
			_, ok := w.sandbox.User(remoteIDs[user])
			Expect(ok).To(BeTrue(), user)
			for _, name := range names {
				Expect(w.credentialReady(name)()).To(Equal("True/Available"))
				Expect(w.credential(name).Status.AcsCredentialID).To(Equal(remoteIDs[name]))
			}
		}

		By("uninstall: everyone's access is gone in Seam and nothing is left in the namespace")
		beforeUninstall := w.writes()
		h.run("", "uninstall", release)
		Eventually(func() int {
			var users seamv1alpha1.AcsUserList
			var creds seamv1alpha1.AcsCredentialList
			Expect(k8s.List(suiteCtx, &users, client.InNamespace(w.ns))).To(Succeed())
			Expect(k8s.List(suiteCtx, &creds, client.InNamespace(w.ns))).To(Succeed())
			return len(users.Items) + len(creds.Items)
		}).Should(BeZero())
		Expect(w.sandbox.Users(systemID)).To(BeEmpty())
		Expect(w.sandbox.Credentials("")).To(BeEmpty())
		Expect(since(beforeUninstall, w.writes())).To(Equal(map[string]map[int]int{
			"/acs/credentials/delete": {200: 4}, "/acs/users/delete": {200: 2}}))
		// Left: the Secret the property manager made, and the generated PINs' Secrets, which
		// the garbage collector (not running here) deletes with the credentials that own them.
		var secrets corev1.SecretList
		Expect(k8s.List(suiteCtx, &secrets, client.InNamespace(w.ns))).To(Succeed())
		for _, s := range secrets.Items {
			switch {
			case s.Name == "seam-api-key" || s.Name == "grace-pin":
			case len(s.OwnerReferences) == 1 && s.OwnerReferences[0].Kind == "AcsCredential":
			default:
				Fail("left behind: Secret " + s.Name + " of type " + string(s.Type))
			}
		}
	})
})
