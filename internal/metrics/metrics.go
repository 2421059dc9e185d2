// Package metrics holds the operator's Prometheus metrics, registered with
// controller-runtime's registry so they are served beside its own.
package metrics

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

var (
	seamRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "acs_operator_seam_requests_total",
		Help: "Requests sent to the Seam API, by route and HTTP status code (0 when no response arrived).",
	}, []string{"route", "code"})
	seamLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "acs_operator_seam_request_duration_seconds",
		Help:    "Duration of requests to the Seam API, by route.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"route"})
	rateLimitWait = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "acs_operator_seam_rate_limit_wait_seconds_total",
		Help: "Time requests spent waiting for the per-connection rate limiter or a Retry-After pause.",
	})
	webhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "acs_operator_webhook_deliveries_total",
		Help: "Webhook deliveries the receiver answered, by result: accepted, duplicate (a svix-id seen before), or why it was refused (unsigned, bad_signature, stale, oversized, unknown_connection, bad_request, unavailable).",
	}, []string{"result"})
	seamEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "acs_operator_seam_events_total",
		Help: "Seam events routed to reconciles, by source (webhook, catchup) and event type; an event seen twice counts once.",
	}, []string{"source", "type"})
	acsUsers = prometheus.NewDesc("acs_operator_acsusers",
		"AcsUsers by the status of their Ready condition.", []string{"ready"}, nil)
)

func init() {
	crmetrics.Registry.MustRegister(seamRequests, seamLatency, rateLimitWait, webhookDeliveries, seamEvents)
}

// ObserveSeamRequest records one request to Seam; it is the seam.Config Observer.
func ObserveSeamRequest(_ string, info seam.RequestInfo) {
	seamRequests.WithLabelValues(info.Route, strconv.Itoa(info.Status)).Inc()
	seamLatency.WithLabelValues(info.Route).Observe(info.Duration.Seconds())
	if info.RateLimitWait > 0 {
		rateLimitWait.Add(info.RateLimitWait.Seconds())
	}
}

// ObserveWebhookDelivery counts one delivery by the receiver's result.
func ObserveWebhookDelivery(result string) { webhookDeliveries.WithLabelValues(result).Inc() }

// WebhookDeliveries returns the count for one result (tests).
func WebhookDeliveries(result string) float64 {
	return counterValue(webhookDeliveries.WithLabelValues(result))
}

// ObserveSeamEvent counts one routed event.
func ObserveSeamEvent(source, eventType string) { seamEvents.WithLabelValues(source, eventType).Inc() }

// SeamEvents returns the count for one source and type (tests).
func SeamEvents(source, eventType string) float64 {
	return counterValue(seamEvents.WithLabelValues(source, eventType))
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// acsUserCollector counts AcsUsers by Ready status from the manager's cache at scrape
// time, so the gauge is never out of step with the objects.
type acsUserCollector struct{ mgr ctrl.Manager }

func (c acsUserCollector) Describe(ch chan<- *prometheus.Desc) { ch <- acsUsers }

func (c acsUserCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := CountAcsUsers(c.mgr.GetCache())
	if err != nil {
		return
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(acsUsers, prometheus.GaugeValue, n, status)
	}
}

// CountAcsUsers counts the cached AcsUsers by the status of their Ready condition
// ("True", "False", "Unknown": absent counts as Unknown).
func CountAcsUsers(c cache.Cache) (map[string]float64, error) {
	users, err := cachedAcsUsers(c)
	if err != nil {
		return nil, err
	}
	counts := map[string]float64{"True": 0, "False": 0, "Unknown": 0}
	for _, u := range users {
		status := "Unknown"
		if cond := meta.FindStatusCondition(u.Status.Conditions, seamv1alpha1.ConditionReady); cond != nil {
			status = string(cond.Status)
		}
		counts[status]++
	}
	return counts, nil
}

// cachedAcsUsers returns the cached AcsUsers, to read and never to change. A List
// through the cache deep-copies every object: at 10,000 AcsUsers each scrape made
// 9 MB of copies, more than the heap grows by per thousand users. The informer's
// store hands out the cached objects themselves; a cache split by namespace has one
// store per namespace, and there a List without deep copies copies only the structs.
func cachedAcsUsers(c cache.Cache) ([]*seamv1alpha1.AcsUser, error) {
	informer, err := c.GetInformer(context.Background(), &seamv1alpha1.AcsUser{})
	if err != nil {
		return nil, err
	}
	if s, ok := informer.(interface{ GetStore() toolscache.Store }); ok {
		objs := s.GetStore().List()
		out := make([]*seamv1alpha1.AcsUser, 0, len(objs))
		for _, o := range objs {
			if u, ok := o.(*seamv1alpha1.AcsUser); ok {
				out = append(out, u)
			}
		}
		return out, nil
	}
	var list seamv1alpha1.AcsUserList
	if err := c.List(context.Background(), &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*seamv1alpha1.AcsUser, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// RegisterAcsUserGauge registers acs_operator_acsusers{ready}.
func RegisterAcsUserGauge(mgr ctrl.Manager) error {
	return crmetrics.Registry.Register(acsUserCollector{mgr: mgr})
}
