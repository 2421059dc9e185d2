package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/acs-operator/acs-operator/internal/seam"
)

func TestSeamRequestMetricsAreServedByTheManagersRegistry(t *testing.T) {
	ObserveSeamRequest("SeamConnection/ns/seam", seam.RequestInfo{Route: "/acs/users/get", Status: 200, Duration: 30 * time.Millisecond})
	ObserveSeamRequest("SeamConnection/ns/seam", seam.RequestInfo{Route: "/acs/users/create", Status: 429, RateLimitWait: 2 * time.Second})

	if got := testutil.ToFloat64(seamRequests.WithLabelValues("/acs/users/create", "429")); got != 1 {
		t.Errorf("acs_operator_seam_requests_total{route=create,code=429} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(rateLimitWait); got < 2 {
		t.Errorf("acs_operator_seam_rate_limit_wait_seconds_total = %v, want >= 2", got)
	}
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"acs_operator_seam_requests_total": false, "acs_operator_seam_request_duration_seconds": false, "acs_operator_seam_rate_limit_wait_seconds_total": false}
	for _, f := range families {
		if _, ok := want[f.GetName()]; ok {
			want[f.GetName()] = true
		}
	}
	for name, found := range want {
		if !found {
			t.Errorf("%s is not in controller-runtime's registry, so /metrics would not serve it", name)
		}
	}
}
