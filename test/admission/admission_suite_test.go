// Package admission proves, against a real kube-apiserver, that the operator's CRDs
// accept good manifests and refuse bad ones at admission, with a message naming the
// field, before any reconcile could send anything to Seam.
package admission

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/acs-operator/acs-operator/test/framework"
)

var (
	cp  *framework.ControlPlane
	ctx = context.Background()
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission Suite")
}

var _ = BeforeSuite(func() {
	var err error
	cp, err = framework.StartControlPlane()
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if cp != nil {
		Expect(cp.Stop()).To(Succeed())
	}
})
