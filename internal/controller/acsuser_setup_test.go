package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

func TestUsersDependOnChange(t *testing.T) {
	conn := func(generation int64, mutate func(*seamv1alpha1.SeamConnectionSpec)) client.Object {
		c := &seamv1alpha1.SeamConnection{
			ObjectMeta: metav1.ObjectMeta{Generation: generation},
			Spec:       seamv1alpha1.SeamConnectionSpec{Endpoint: "https://connect.getseam.com", WorkspaceID: "ws"},
		}
		mutate(&c.Spec)
		return c
	}
	cluster := func(generation int64, mutate func(*seamv1alpha1.ClusterSeamConnectionSpec)) client.Object {
		c := &seamv1alpha1.ClusterSeamConnection{ObjectMeta: metav1.ObjectMeta{Generation: generation}}
		mutate(&c.Spec)
		return c
	}
	same := func(*seamv1alpha1.SeamConnectionSpec) {}
	for _, tc := range []struct {
		name     string
		old, new client.Object
		want     bool
	}{
		{"status or metadata only", conn(1, same), conn(1, same), false},
		{"rate limit only", conn(1, same), conn(2, func(s *seamv1alpha1.SeamConnectionSpec) {
			s.RateLimit = &seamv1alpha1.RateLimit{RequestsPerSecond: 100}
		}), false},
		{"webhook only", conn(1, same), conn(2, func(s *seamv1alpha1.SeamConnectionSpec) {
			s.Webhook = &seamv1alpha1.WebhookSpec{}
		}), false},
		{"endpoint", conn(1, same), conn(2, func(s *seamv1alpha1.SeamConnectionSpec) { s.Endpoint = "https://elsewhere" }), true},
		{"key", conn(1, same), conn(2, func(s *seamv1alpha1.SeamConnectionSpec) { s.APIKeySecretRef.Name = "other" }), true},
		{"workspace and rate together", conn(1, same), conn(2, func(s *seamv1alpha1.SeamConnectionSpec) {
			s.WorkspaceID = "ws2"
			s.RateLimit = &seamv1alpha1.RateLimit{RequestsPerSecond: 100}
		}), true},
		{"cluster: tenants allowed", cluster(1, func(*seamv1alpha1.ClusterSeamConnectionSpec) {}), cluster(2, func(s *seamv1alpha1.ClusterSeamConnectionSpec) {
			s.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tenant": "a"}}
		}), true},
		{"cluster: rate limit only", cluster(1, func(*seamv1alpha1.ClusterSeamConnectionSpec) {}), cluster(2, func(s *seamv1alpha1.ClusterSeamConnectionSpec) {
			s.RateLimit = &seamv1alpha1.RateLimit{RequestsPerSecond: 100}
		}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := usersDependOnChange(tc.old, tc.new); got != tc.want {
				t.Errorf("usersDependOnChange = %v, want %v", got, tc.want)
			}
		})
	}
}
