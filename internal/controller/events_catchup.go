package controller

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/webhook"
)

const (
	// catchUpFirstWindow is how far back the first catch-up of a connection reads.
	catchUpFirstWindow = 10 * time.Minute
	// catchUpPage is /events/list's largest answer; it has no cursor, so a full
	// page is followed by another from the last event's time.
	catchUpPage = 500
	// catchUpMaxPages bounds one catch-up; the rest waits for the next one.
	catchUpMaxPages = 20
	// catchUpOverlap reads again the minute before caughtUpTo: an event Seam
	// stores late, with an earlier created_at, is not skipped. What was routed
	// already is dropped by id.
	catchUpOverlap = time.Minute
)

// CatchUp lists the events created since the connection's caughtUpTo
// (/events/list) and routes them as the receiver would: webhooks are lost while
// the manager is down or its endpoint unreachable. Events already routed (by
// webhook, or a previous catch-up) are dropped by id. It moves caughtUpTo to
// the newest event listed; the next catch-up reads from a minute before it.
func (r *EventRouter) CatchUp(ctx context.Context, conn webhook.Connection, c *seam.Client, status *seamv1alpha1.ConnectionStatus) error {
	if status.Webhook == nil {
		status.Webhook = &seamv1alpha1.WebhookStatus{}
	}
	st := status.Webhook
	since := r.now().Add(-catchUpFirstWindow)
	if st.CaughtUpTo != nil {
		since = st.CaughtUpTo.Add(-catchUpOverlap)
	} else {
		t := metav1.NewTime(since)
		st.CaughtUpTo = &t
	}
	for range catchUpMaxPages {
		events, err := c.ListEvents(ctx, seam.ListEventsRequest{Since: since, EventTypes: eventTypes, Limit: catchUpPage})
		if err != nil {
			return err
		}
		// Seam does not document the order: route oldest first.
		slices.SortStableFunc(events, func(a, b seam.Event) int { return a.CreatedAt.Compare(b.CreatedAt) })
		for _, e := range events {
			if err := r.route(ctx, conn, e, "catchup", status); err != nil {
				return err
			}
			if e.CreatedAt.After(st.CaughtUpTo.Time) || st.LastEventID == "" {
				t := metav1.NewTime(e.CreatedAt)
				st.CaughtUpTo, st.LastEventID = &t, e.EventID
			}
			if st.LastEventTime == nil || e.CreatedAt.After(st.LastEventTime.Time) {
				t := metav1.NewTime(e.CreatedAt)
				st.LastEventTime = &t
			}
		}
		if len(events) < catchUpPage || !events[len(events)-1].CreatedAt.After(since) {
			// A short page is the end; a full page of one instant cannot be paged
			// past without a cursor, and waits for the next catch-up.
			return nil
		}
		since = events[len(events)-1].CreatedAt
	}
	return nil
}
