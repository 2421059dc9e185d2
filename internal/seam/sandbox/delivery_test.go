package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acs-operator/acs-operator/internal/webhook"
)

// An out-of-band delete is delivered to a registered webhook, signed as Svix
// signs; a failed delivery is retried with the same svix-id.
func TestWebhookDelivery(t *testing.T) {
	attempts := make(chan DeliveryAttempt, 10)
	h := newHarness(t, Options{WebhookRetryDelays: []time.Duration{time.Hour}, OnDeliveryAttempt: func(a DeliveryAttempt) { attempts <- a }})
	t.Cleanup(h.srv.Close)
	var fail atomic.Bool
	fail.Store(true)
	var secret atomic.Value
	type received struct {
		id    string
		event map[string]any
		err   error
	}
	got := make(chan received, 10)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e map[string]any
		_ = json.Unmarshal(body, &e)
		got <- received{id: r.Header.Get("svix-id"), event: e, err: webhook.Verify(secret.Load().(string), r.Header, body, time.Now())}
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(endpoint.Close)

	created := h.do("POST", "/webhooks/create", DefaultSeedAPIKey, `{"url":"`+endpoint.URL+`","event_types":["acs_user.deleted"]}`)
	if created.status != 200 {
		t.Fatalf("create webhook: %d %s", created.status, created.raw)
	}
	secret.Store(created.json["webhook"].(map[string]any)["secret"].(string))
	user := h.do("POST", "/acs/users/create", DefaultSeedAPIKey, `{"acs_system_id":"acs_system_hq","full_name":"Out Of Band"}`)
	id := user.json["acs_user"].(map[string]any)["acs_user_id"].(string)
	if err := h.srv.DeleteUserOutOfBand(id); err != nil {
		t.Fatal(err)
	}

	first := <-got
	if first.err != nil || first.event["event_type"] != EventUserDeleted || first.event["acs_user_id"] != id {
		t.Fatalf("first delivery: %+v", first)
	}
	if a := <-attempts; a.Status != http.StatusServiceUnavailable || a.Attempt != 1 {
		t.Fatalf("first attempt: %v", a)
	}
	if h.srv.PendingDeliveries() != 1 {
		t.Fatalf("the failed delivery is not queued for a retry")
	}
	fail.Store(false)
	h.srv.RetryDeliveriesNow()
	second := <-got
	if second.err != nil || second.id != first.id {
		t.Fatalf("retry: %+v, want the same svix-id %s", second, first.id)
	}
	if a := <-attempts; a.Status != http.StatusOK || a.Attempt != 2 {
		t.Fatalf("second attempt: %v", a)
	}
	if h.srv.PendingDeliveries() != 0 {
		t.Fatalf("a delivered event is still queued")
	}
	// acs_user.created was not subscribed to: only the deletion went out.
	if n := len(h.srv.Deliveries()); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

func TestEventsList(t *testing.T) {
	h := newHarness(t, Options{})
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	if r := h.do("POST", "/events/list", DefaultSeedAPIKey, `{}`); r.status != 400 {
		t.Fatalf("without since: %d", r.status)
	}
	user := h.do("POST", "/acs/users/create", DefaultSeedAPIKey, `{"acs_system_id":"acs_system_hq","full_name":"Listed"}`)
	id := user.json["acs_user"].(map[string]any)["acs_user_id"].(string)
	h.srv.SetSystemOffline("acs_system_hq", true)
	r := h.do("POST", "/events/list", DefaultSeedAPIKey, `{"since":"`+since+`"}`)
	events := r.json["events"].([]any)
	if len(events) != 2 || events[0].(map[string]any)["acs_user_id"] != id ||
		events[1].(map[string]any)["event_type"] != EventSystemDisconnected {
		t.Fatalf("events = %s", r.raw)
	}
	r = h.do("POST", "/events/list", DefaultSeedAPIKey, `{"since":"`+since+`","event_types":["acs_system.disconnected"]}`)
	if len(r.json["events"].([]any)) != 1 {
		t.Fatalf("filtered: %s", r.raw)
	}
}
