package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/acs-operator/acs-operator/internal/webhook"
)

// DefaultRetryDelays is Svix's schedule after a failed delivery: immediately,
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
var DefaultRetryDelays = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// DeliveryAttempt is one POST of an event to a webhook URL.
type DeliveryAttempt struct {
	MessageID string    `json:"svix_id"`
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	URL       string    `json:"url"`
	Attempt   int       `json:"attempt"`
	Status    int       `json:"status"` // 0: no answer
	At        time.Time `json:"at"`
}

type delivery struct {
	url, secret, msgID, eventID, eventType string
	body                                   []byte
	attempt                                int
	due                                    time.Time
}

// deliverer posts signed events to webhook URLs from one goroutine, in order,
// retrying failures on a schedule. It starts with the first delivery, so a
// sandbox nobody registers a webhook with runs no goroutine.
type deliverer struct {
	client  *http.Client
	retries []time.Duration
	now     func() time.Time
	// onAttempt, when set, sees every attempt (tests wait on it, not on time).
	onAttempt func(DeliveryAttempt)

	mu       sync.Mutex
	queue    []*delivery
	attempts []DeliveryAttempt
	wake     chan struct{}
	ctx      context.Context
	stop     context.CancelFunc
	done     chan struct{}
	paused   bool
}

func newDeliverer(opts Options) *deliverer {
	d := &deliverer{client: &http.Client{Timeout: 5 * time.Second}, retries: opts.WebhookRetryDelays,
		now: time.Now, onAttempt: opts.OnDeliveryAttempt, wake: make(chan struct{}, 1)}
	if d.retries == nil {
		d.retries = DefaultRetryDelays
	}
	return d
}

// enqueue queues one event for one webhook. Called under the store's lock: it
// takes only the deliverer's.
func (d *deliverer) enqueue(url, secret string, event map[string]any) {
	body, _ := json.Marshal(event)
	d.mu.Lock()
	defer d.mu.Unlock()
	eventID, _ := event["event_id"].(string)
	eventType, _ := event["event_type"].(string)
	d.queue = append(d.queue, &delivery{url: url, secret: secret, msgID: "msg_" + newUUID(), eventID: eventID,
		eventType: eventType, body: body, due: d.now()})
	if d.done == nil {
		d.ctx, d.stop = context.WithCancel(context.Background())
		d.done = make(chan struct{})
		go d.run()
	}
	d.poke()
}

func (d *deliverer) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) run() {
	defer close(d.done)
	for {
		next, wait := d.take()
		if next != nil {
			d.send(next)
			continue
		}
		timer := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			timer.Stop()
			return
		case <-d.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// take pops the first due delivery, or says how long until one is due.
func (d *deliverer) take() (*delivery, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	wait := time.Hour
	if d.paused {
		return nil, wait
	}
	now := d.now()
	for i, dl := range d.queue {
		if !dl.due.After(now) {
			d.queue = append(d.queue[:i], d.queue[i+1:]...)
			return dl, 0
		}
		wait = min(wait, dl.due.Sub(now))
	}
	return nil, wait
}

func (d *deliverer) send(dl *delivery) {
	at := d.now()
	status := 0
	sig, err := webhook.Sign(dl.secret, dl.msgID, at, dl.body)
	if err == nil {
		req, _ := http.NewRequestWithContext(d.ctx, http.MethodPost, dl.url, bytes.NewReader(dl.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("svix-id", dl.msgID)
		req.Header.Set("svix-timestamp", strconv.FormatInt(at.Unix(), 10))
		req.Header.Set("svix-signature", sig)
		if resp, err := d.client.Do(req); err == nil {
			status = resp.StatusCode
			_ = resp.Body.Close()
		}
	}
	a := DeliveryAttempt{MessageID: dl.msgID, EventID: dl.eventID, EventType: dl.eventType, URL: dl.url,
		Attempt: dl.attempt + 1, Status: status, At: at}
	d.mu.Lock()
	d.attempts = append(d.attempts, a)
	if (status < 200 || status > 299) && dl.attempt < len(d.retries) {
		dl.due = d.now().Add(d.retries[dl.attempt])
		dl.attempt++
		d.queue = append(d.queue, dl)
	}
	d.mu.Unlock()
	if d.onAttempt != nil {
		d.onAttempt(a)
	}
}

func (d *deliverer) close() {
	d.mu.Lock()
	stop, done := d.stop, d.done
	d.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Deliveries lists every delivery attempt so far, oldest first.
func (s *Server) Deliveries() []DeliveryAttempt {
	s.deliveries.mu.Lock()
	defer s.deliveries.mu.Unlock()
	return append([]DeliveryAttempt{}, s.deliveries.attempts...)
}

// PauseDeliveries holds every webhook delivery (true) until resumed (false): an
// endpoint that cannot be reached, or a Seam slow to deliver.
func (s *Server) PauseDeliveries(paused bool) {
	s.deliveries.mu.Lock()
	s.deliveries.paused = paused
	s.deliveries.mu.Unlock()
	s.deliveries.poke()
}

// RetryDeliveriesNow makes every queued delivery due now: a test's way past
// Svix's retry schedule without waiting for it.
func (s *Server) RetryDeliveriesNow() {
	s.deliveries.mu.Lock()
	for _, dl := range s.deliveries.queue {
		dl.due = time.Time{}
	}
	s.deliveries.mu.Unlock()
	s.deliveries.poke()
}

// PendingDeliveries counts deliveries waiting (for their first attempt or a retry).
func (s *Server) PendingDeliveries() int {
	s.deliveries.mu.Lock()
	defer s.deliveries.mu.Unlock()
	return len(s.deliveries.queue)
}

// Close stops the delivery goroutine, if one runs.
func (s *Server) Close() { s.deliveries.close() }

func (a DeliveryAttempt) String() string {
	return fmt.Sprintf("%s %s #%d -> %d", a.EventType, a.MessageID, a.Attempt, a.Status)
}
