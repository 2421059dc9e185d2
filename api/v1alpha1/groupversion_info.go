// Package v1alpha1 holds the acs-operator API: connections to a Seam workspace
// (SeamConnection, ClusterSeamConnection) and the ACS users the operator keeps in
// step with them (AcsUser).
//
// +kubebuilder:object:generate=true
// +groupName=seam.acs-operator.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "seam.acs-operator.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
