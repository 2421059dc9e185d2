package packaging

import (
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/acs-operator/acs-operator/test/framework"
)

// The states an object goes through, each built through the real apiserver (create,
// status subresource update, spec update, delete with the finalizer) and read back the way
// Flux, `kubectl wait` and Argo CD read it, then judged by kstatus and by the Argo CD Lua
// health check. The conditions are shaped as the reconcilers write them.

const finalizer = "seam.acs-operator.io/finalizer"

// cond is a metav1.Condition as the reconcilers write it.
func cond(typ, stat, reason, message string) map[string]any {
	return map[string]any{
		"type": typ, "status": stat, "reason": reason, "message": message,
		"lastTransitionTime": "2026-01-01T00:00:00Z",
	}
}

// observed stands for "status.observedGeneration is the generation at the time the status
// is written".
const observed = int64(-1)

// state is what the operator has written, and what happens to the object after.
type state struct {
	conditions         []map[string]any
	observedGeneration int64 // 0: not set; observed: the current generation
	extraStatus        map[string]any
	suspended          bool
	// specChangedAfter: a user edits the spec after the status was written.
	specChangedAfter bool
	// deleted: a user deletes the object while the finalizer is on.
	deleted bool
	// noStatus: the operator has not written any status yet.
	noStatus bool
}

type verdict struct {
	kstatus status.Status
	argo    string
}

var _ = Describe("Health as GitOps tools see it", func() {
	var ns string
	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "health-"}}
		Expect(cp.Client.Create(ctx, n)).To(Succeed())
		ns = n.Name
	})

	// build creates the object, writes the state's status and applies the user's actions,
	// then reads it back from the apiserver.
	build := func(kind string, s state) *unstructured.Unstructured {
		GinkgoHelper()
		obj := &unstructured.Unstructured{Object: map[string]any{"spec": specFor(kind, s.suspended)}}
		obj.SetGroupVersionKind(framework.GVK(kind))
		obj.SetGenerateName("health-")
		if kind != "ClusterSeamConnection" {
			obj.SetNamespace(ns)
		}
		obj.SetFinalizers([]string{finalizer})
		Expect(cp.Client.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func() {
			// Let the object go: nothing runs the finalizer here.
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(obj.GroupVersionKind())
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(obj), cur); err == nil {
				cur.SetFinalizers(nil)
				Expect(client.IgnoreNotFound(cp.Client.Update(ctx, cur))).To(Succeed())
				Expect(client.IgnoreNotFound(cp.Client.Delete(ctx, cur))).To(Succeed())
			}
		})

		if !s.noStatus {
			st := map[string]any{}
			conds := make([]any, 0, len(s.conditions))
			for _, c := range s.conditions {
				c = copyMap(c)
				c["observedGeneration"] = obj.GetGeneration()
				conds = append(conds, c)
			}
			st["conditions"] = conds
			switch s.observedGeneration {
			case 0:
			case observed:
				st["observedGeneration"] = obj.GetGeneration()
			default:
				st["observedGeneration"] = s.observedGeneration
			}
			for k, v := range s.extraStatus {
				st[k] = v
			}
			obj.Object["status"] = st
			Expect(cp.Client.Status().Update(ctx, obj)).To(Succeed())
		}
		if s.specChangedAfter {
			field, value := fieldToChange(kind)
			Expect(unstructured.SetNestedField(obj.Object, value, "spec", field)).To(Succeed())
			Expect(cp.Client.Update(ctx, obj)).To(Succeed())
		}
		if s.deleted {
			Expect(cp.Client.Delete(ctx, obj)).To(Succeed())
		}

		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(obj.GroupVersionKind())
		Expect(cp.Client.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		return got
	}

	judge := func(kind string, s state, want verdict) {
		obj := build(kind, s)
		res, err := status.Compute(obj)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Status).To(Equal(want.kstatus), "kstatus says %s (%s) for %s", res.Status, res.Message, dump(obj))

		health, message := argoHealth(luaScript(), obj)
		Expect(health).To(Equal(want.argo), "Argo CD says %s (%s) for %s", health, message, dump(obj))
		Expect(message).NotTo(BeEmpty())
	}

	DescribeTable("an AcsUser", func(s state, want verdict) { judge("AcsUser", s, want) },
		// The CRD defaults status.observedGeneration to 0, so a new object reads as
		// "generation 1, observed 0": not reconciled yet, for kstatus as for Argo CD.
		Entry("just created, no status yet", state{noStatus: true},
			verdict{status.InProgressStatus, "Progressing"}),
		Entry("creating in Seam", state{conditions: []map[string]any{
			cond("Reconciling", "True", "Creating", "Creating the ACS user in Seam"),
			cond("Ready", "False", "Creating", "Creating the ACS user in Seam"),
		}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("a pending Seam mutation", state{observedGeneration: observed,
			extraStatus: map[string]any{"acsUserId": "acs_user_1", "pendingMutations": []any{"updating_user_information"}},
			conditions: []map[string]any{
				cond("Reconciling", "True", "Pending", "Seam has not yet applied: updating_user_information"),
				cond("Ready", "False", "Pending", "Seam has not yet applied: updating_user_information"),
				cond("Synced", "True", "Synced", "Read from Seam"),
			}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("retrying while Seam is unavailable", state{conditions: []map[string]any{
			cond("Reconciling", "True", "SeamUnavailable", "Seam answered 503; retrying"),
			cond("Ready", "False", "SeamUnavailable", "Seam answered 503; retrying"),
			cond("Synced", "False", "SeamUnavailable", "Seam answered 503"),
		}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("rate limited", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Reconciling", "True", "RateLimited", "Seam answered 429; retrying in 30s"),
			cond("Ready", "False", "RateLimited", "Seam answered 429; retrying in 30s"),
		}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("ready", state{observedGeneration: observed,
			extraStatus: map[string]any{"acsUserId": "acs_user_1", "isSuspended": false},
			conditions: []map[string]any{
				cond("Ready", "True", "Available", "The ACS user matches the spec"),
				cond("Synced", "True", "Synced", "Read from Seam"),
			}}, verdict{status.CurrentStatus, "Healthy"}),
		Entry("ready and suspended, as asked", state{observedGeneration: observed, suspended: true,
			extraStatus: map[string]any{"acsUserId": "acs_user_1", "isSuspended": true},
			conditions: []map[string]any{
				cond("Ready", "True", "Available", "The ACS user matches the spec"),
				cond("Synced", "True", "Synced", "Read from Seam"),
			}}, verdict{status.CurrentStatus, "Healthy"}),
		Entry("stopped on invalid input", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "InvalidInput", "Seam refused the user: email_address is invalid"),
			cond("Ready", "False", "InvalidInput", "Seam refused the user: email_address is invalid"),
			cond("Synced", "True", "Synced", "Reached Seam"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("stopped: the API key is refused", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "Unauthorized", "Seam refused the API key"),
			cond("Ready", "False", "Unauthorized", "Seam refused the API key"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("stopped: deleted in Seam by someone else", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "RemoteDeleted", "The ACS user was deleted in Seam"),
			cond("Ready", "False", "RemoteDeleted", "The ACS user was deleted in Seam"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("stopped: an interrupted create left more than one candidate", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "AmbiguousCreate", "Two ACS users match a lost create; delete the extra one in Seam"),
			cond("Ready", "False", "AmbiguousCreate", "Two ACS users match"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("ready, then the spec changed (stale observedGeneration)", state{observedGeneration: observed, specChangedAfter: true,
			conditions: []map[string]any{cond("Ready", "True", "Available", "The ACS user matches the spec")},
		}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("stalled, then the spec was fixed (stale observedGeneration)", state{observedGeneration: observed, specChangedAfter: true,
			conditions: []map[string]any{
				cond("Stalled", "True", "InvalidInput", "Seam refused the user"),
				cond("Ready", "False", "InvalidInput", "Seam refused the user"),
			}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("being deleted", state{observedGeneration: observed, deleted: true,
			conditions: []map[string]any{cond("Ready", "True", "Available", "The ACS user matches the spec")},
		}, verdict{status.TerminatingStatus, "Progressing"}),
		Entry("being deleted, Seam delete retrying", state{observedGeneration: observed, deleted: true,
			conditions: []map[string]any{
				cond("Reconciling", "True", "Deleting", "Deleting the ACS user in Seam"),
				cond("Ready", "False", "Deleting", "Deleting the ACS user in Seam"),
			}}, verdict{status.TerminatingStatus, "Progressing"}),
	)

	DescribeTable("an AcsCredential", func(s state, want verdict) { judge("AcsCredential", s, want) },
		Entry("just created, no status yet", state{noStatus: true},
			verdict{status.InProgressStatus, "Progressing"}),
		Entry("waiting for its AcsUser", state{conditions: []map[string]any{
			cond("Reconciling", "True", "WaitingForUser", "Waiting for AcsUser ada to be created in Seam"),
			cond("Ready", "False", "WaitingForUser", "Waiting for AcsUser ada to be created in Seam"),
		}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("created, waiting to be issued", state{observedGeneration: observed,
			extraStatus: map[string]any{"acsCredentialId": "acs_credential_1", "isIssued": false},
			conditions: []map[string]any{
				cond("Reconciling", "True", "WaitingToBeIssued", "The key card is waiting to be encoded"),
				cond("Ready", "False", "WaitingToBeIssued", "The key card is waiting to be encoded"),
				cond("Synced", "True", "Synced", "Read from Seam"),
			}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("being replaced (startsAt changed)", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Reconciling", "True", "Replacing", "Replacing the credential in Seam"),
			cond("Ready", "False", "Replacing", "Replacing the credential in Seam"),
		}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("ready, issued", state{observedGeneration: observed,
			extraStatus: map[string]any{"acsCredentialId": "acs_credential_1", "isIssued": true, "codeSecretName": "ada-pin"},
			conditions: []map[string]any{
				cond("Ready", "True", "Available", "The credential is issued"),
				cond("Synced", "True", "Synced", "Read from Seam"),
			}}, verdict{status.CurrentStatus, "Healthy"}),
		Entry("ready, with a Seam warning of its own type", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Ready", "True", "Available", "The credential is issued"),
			cond("WarningBeingDeleted", "True", "WarningBeingDeleted", "Seam warns: being_deleted"),
		}}, verdict{status.CurrentStatus, "Healthy"}),
		Entry("stopped: the PIN is in use", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "PINInUse", "Seam refused the PIN: another credential already has it"),
			cond("Ready", "False", "PINInUse", "Seam refused the PIN: another credential already has it"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("stopped: the PIN's Secret is missing", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "PINSecretMissing", "Cannot read the PIN: Secret ada-pin not found"),
			cond("Ready", "False", "PINSecretMissing", "Cannot read the PIN: Secret ada-pin not found"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("stalled, then the spec was fixed (stale observedGeneration)", state{observedGeneration: observed, specChangedAfter: true,
			conditions: []map[string]any{
				cond("Stalled", "True", "PINLengthRefused", "Seam refused the PIN's length"),
				cond("Ready", "False", "PINLengthRefused", "Seam refused the PIN's length"),
			}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("being deleted, revoking in Seam", state{observedGeneration: observed, deleted: true,
			conditions: []map[string]any{
				cond("Reconciling", "True", "Deleting", "Deleting the credential in Seam"),
				cond("Ready", "False", "Deleting", "Deleting the credential in Seam"),
			}}, verdict{status.TerminatingStatus, "Progressing"}),
	)

	It("names the kind in the messages of the one shared script", func() {
		for kind, want := range map[string]string{
			"AcsUser":               "Waiting for the operator to reconcile the ACS user",
			"AcsCredential":         "Waiting for the operator to reconcile the credential",
			"SeamConnection":        "Waiting for the operator to check the connection to Seam",
			"ClusterSeamConnection": "Waiting for the operator to check the connection to Seam",
		} {
			obj := &unstructured.Unstructured{Object: map[string]any{}}
			obj.SetGroupVersionKind(framework.GVK(kind))
			_, message := argoHealth(luaScript(), obj)
			Expect(message).To(Equal(want), kind)
		}
	})

	DescribeTable("a SeamConnection", func(kind string, s state, want verdict) { judge(kind, s, want) },
		Entry("just created, no status yet", "SeamConnection", state{noStatus: true},
			verdict{status.InProgressStatus, "Progressing"}),
		Entry("connected", "SeamConnection", state{observedGeneration: observed,
			extraStatus: map[string]any{"workspaceId": "ws_1"},
			conditions:  []map[string]any{cond("Ready", "True", "Connected", "Connected to workspace ws_1")},
		}, verdict{status.CurrentStatus, "Healthy"}),
		Entry("waiting for its Secret", "SeamConnection", state{conditions: []map[string]any{
			cond("Reconciling", "True", "SecretNotFound", "Secret seam-api-key not found; waiting for it"),
			cond("Ready", "False", "SecretNotFound", "Secret seam-api-key not found"),
		}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("Seam unreachable, retrying", "SeamConnection", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Reconciling", "True", "Unreachable", "connect.getseam.com: timeout; retrying"),
			cond("Ready", "False", "Unreachable", "connect.getseam.com: timeout"),
		}}, verdict{status.InProgressStatus, "Progressing"}),
		Entry("API key refused", "SeamConnection", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "Unauthorized", "Seam refused the API key"),
			cond("Ready", "False", "Unauthorized", "Seam refused the API key"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("the key is for another workspace", "SeamConnection", state{observedGeneration: observed, conditions: []map[string]any{
			cond("Stalled", "True", "WorkspaceMismatch", "The key is for workspace ws_2, not ws_1"),
			cond("Ready", "False", "WorkspaceMismatch", "The key is for workspace ws_2, not ws_1"),
		}}, verdict{status.FailedStatus, "Degraded"}),
		Entry("being deleted", "SeamConnection", state{observedGeneration: observed, deleted: true,
			conditions: []map[string]any{cond("Ready", "True", "Connected", "Connected")},
		}, verdict{status.TerminatingStatus, "Progressing"}),
		Entry("a ClusterSeamConnection, connected", "ClusterSeamConnection", state{observedGeneration: observed,
			conditions: []map[string]any{cond("Ready", "True", "Connected", "Connected to workspace ws_1")},
		}, verdict{status.CurrentStatus, "Healthy"}),
		Entry("a ClusterSeamConnection, API key refused", "ClusterSeamConnection", state{observedGeneration: observed,
			conditions: []map[string]any{
				cond("Stalled", "True", "Unauthorized", "Seam refused the API key"),
				cond("Ready", "False", "Unauthorized", "Seam refused the API key"),
			}}, verdict{status.FailedStatus, "Degraded"}),
	)

	It("ships the tested scripts in the argocd-cm patch", func() {
		data, err := os.ReadFile(filepath.Join(root, "config", "argocd", "argocd-cm-patch.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var patch struct {
			Data map[string]string `json:"data"`
		}
		Expect(yaml.UnmarshalStrict(data, &patch)).To(Succeed())
		Expect(patch.Data).To(HaveLen(4))
		for _, kind := range []string{"AcsUser", "AcsCredential", "SeamConnection", "ClusterSeamConnection"} {
			key := "resource.customizations.health.seam.acs-operator.io_" + kind
			Expect(patch.Data).To(HaveKeyWithValue(key, luaScript()),
				"%s in argocd-cm-patch.yaml differs from health.lua: run hack/sync-argocd-patch.sh", key)
		}
	})
})

func specFor(kind string, suspended bool) map[string]any {
	switch kind {
	case "AcsUser":
		return map[string]any{
			"connectionRef": map[string]any{"name": "seam"},
			"acsSystemId":   "acs_system_main_lobby",
			"fullName":      "Ada Lovelace",
			"suspended":     suspended,
		}
	case "AcsCredential":
		return map[string]any{
			"acsUserRef":   map[string]any{"name": "ada"},
			"accessMethod": "code",
			"code":         map[string]any{"generate": map[string]any{"length": int64(6)}},
		}
	case "SeamConnection":
		return map[string]any{"apiKeySecretRef": map[string]any{"name": "seam-api-key"}}
	default:
		return map[string]any{"apiKeySecretRef": map[string]any{"name": "seam-api-key", "namespace": "acs-operator-system"}}
	}
}

// fieldToChange is a spec field a user may edit, to move metadata.generation.
func fieldToChange(kind string) (field, value string) {
	switch kind {
	case "AcsUser":
		return "fullName", "Augusta Ada King"
	case "AcsCredential":
		return "endsAt", "2030-01-01T00:00:00Z"
	}
	return "workspaceId", "ws_changed"
}

// luaScript is the one health check Argo CD gets for every kind (health.lua).
func luaScript() string {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(root, "config", "argocd", "health.lua"))
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func dump(obj *unstructured.Unstructured) string {
	view := map[string]any{"metadata": map[string]any{
		"generation": obj.GetGeneration(), "deletionTimestamp": obj.GetDeletionTimestamp(),
	}, "status": obj.Object["status"]}
	out, _ := yaml.Marshal(view)
	return fmt.Sprintf("\n%s", out)
}
