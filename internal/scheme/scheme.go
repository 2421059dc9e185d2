// Package scheme is the runtime.Scheme of the manager: built-in kinds and this API.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// New returns a scheme with the built-in kinds and the seam.acs-operator.io kinds.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(seamv1alpha1.AddToScheme(s))
	return s
}
