package framework

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/acs-operator/acs-operator/test/proc"
)

// An apiserver restart keeps etcd's data, the port and the credentials handed out.
func TestRestartAPIServerKeepsDataAndCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	cp, err := StartControlPlane()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := cp.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	err = proc.Poll(ctx, 100*time.Millisecond, 30*time.Second, func() (bool, error) {
		return cp.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}) == nil, nil
	})
	if err != nil {
		t.Fatalf("the namespace made before the restart, read with the old client: %v", err)
	}
}
