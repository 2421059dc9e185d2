package controller_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/controller"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// kstatusOf computes what Flux, kubectl wait and cli-utils see of an AcsUser as the
// operator left it.
func (w *world) kstatusOf(name string) status.Status {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(w.get(name))
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

var _ = Describe("What GitOps tools read from the operator's status", func() {
	It("is InProgress while Seam applies, Current when Ready, Failed when stalled", func() {
		w := newWorld(sandbox.Options{MutationDelay: 2 * time.Second})
		w.newAcsUser("gitops")
		Eventually(w.readyCondition("gitops")).Should(Or(Equal("False/Creating"), Equal("False/Pending")))
		Expect(w.kstatusOf("gitops")).To(Equal(status.InProgressStatus))

		id := w.waitReady("gitops").Status.AcsUserID
		Expect(w.kstatusOf("gitops")).To(Equal(status.CurrentStatus))

		Expect(w.sandbox.DeleteUserOutOfBand(id)).To(Succeed())
		Eventually(w.readyCondition("gitops"), 4*resyncPeriod).Should(Equal("False/RemoteDeleted"))
		Expect(w.kstatusOf("gitops")).To(Equal(status.FailedStatus))

		w.annotate("gitops", controller.AnnotationRecreate, id)
		w.waitReady("gitops")
		Expect(w.kstatusOf("gitops")).To(Equal(status.CurrentStatus))

		w.update("gitops", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Renamed" })
		Expect(w.kstatusOf("gitops")).To(Equal(status.InProgressStatus), "a new generation is in progress until the operator reports on it")
		w.waitReady("gitops")
		Expect(w.kstatusOf("gitops")).To(Equal(status.CurrentStatus))
	})
})
