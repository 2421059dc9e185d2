package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// setFinalizer adds (present) or removes a finalizer with one patch, if needed. The
// patch carries the resourceVersion: a merge patch replaces the whole finalizer
// list, and another controller's finalizer added meanwhile must not be lost. A
// vanished object is not an error.
func setFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string, present bool) error {
	if controllerutil.ContainsFinalizer(obj, finalizer) == present {
		return nil
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	if present {
		controllerutil.AddFinalizer(obj, finalizer)
	} else {
		controllerutil.RemoveFinalizer(obj, finalizer)
	}
	return client.IgnoreNotFound(c.Patch(ctx, obj, patch))
}
