package seam

import (
	"context"
	"time"
)

// Event is one Seam event (/events/list, or the body of a webhook). Only the
// fields the operator maps are decoded; an event is a hint to read Seam again,
// never a record to act on by itself.
type Event struct {
	EventID            string    `json:"event_id"`
	EventType          string    `json:"event_type"`
	WorkspaceID        string    `json:"workspace_id"`
	CreatedAt          time.Time `json:"created_at"`
	OccurredAt         time.Time `json:"occurred_at,omitzero"`
	AcsSystemID        string    `json:"acs_system_id,omitempty"`
	AcsUserID          string    `json:"acs_user_id,omitempty"`
	AcsCredentialID    string    `json:"acs_credential_id,omitempty"`
	AcsAccessGroupID   string    `json:"acs_access_group_id,omitempty"`
	ConnectedAccountID string    `json:"connected_account_id,omitempty"`
}

// ListEventsRequest filters /events/list. Since is required by Seam (or a
// between interval, which the operator does not use).
type ListEventsRequest struct {
	Since      time.Time
	EventTypes []string
	// AcsSystemID, AcsUserID narrow the list to one system or user.
	AcsSystemID string
	AcsUserID   string
	// Limit is Seam's page size (default 500); there is no cursor.
	Limit int
}

func (r ListEventsRequest) body() map[string]any {
	b := map[string]any{"since": r.Since.UTC().Format(time.RFC3339Nano)}
	if len(r.EventTypes) > 0 {
		b["event_types"] = r.EventTypes
	}
	if r.AcsSystemID != "" {
		b["acs_system_id"] = r.AcsSystemID
	}
	if r.AcsUserID != "" {
		b["acs_user_id"] = r.AcsUserID
	}
	if r.Limit > 0 {
		b["limit"] = r.Limit
	}
	return b
}

// ListEvents returns the events created since req.Since (/events/list), at
// most req.Limit (Seam's default 500) of them, in the order Seam sends them.
func (c *Client) ListEvents(ctx context.Context, req ListEventsRequest) ([]Event, error) {
	var out struct {
		Events *[]Event `json:"events"`
	}
	if err := c.do(ctx, "/events/list", req.body(), &out, true); err != nil {
		return nil, err
	}
	if out.Events == nil {
		return nil, missingField("/events/list", "events")
	}
	return *out.Events, nil
}

// Webhook is a Seam webhook: where events of the listed types are delivered.
// Secret (whsec_...) is what deliveries are signed with; Seam returns it on
// create (and get). Never log it.
type Webhook struct {
	WebhookID  string   `json:"webhook_id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types,omitempty"`
	Secret     string   `json:"secret,omitempty"`
}

// String leaves the secret out, so a logged Webhook never carries it.
func (w Webhook) String() string {
	return "webhook " + w.WebhookID + " -> " + w.URL
}

// CreateWebhook registers url for eventTypes (/webhooks/create). Not retried
// once sent: a lost answer leaves a webhook the caller must find (ListWebhooks
// by URL) and delete.
func (c *Client) CreateWebhook(ctx context.Context, url string, eventTypes []string) (*Webhook, error) {
	var out struct {
		Webhook *Webhook `json:"webhook"`
	}
	body := map[string]any{"url": url, "event_types": eventTypes}
	if err := c.do(ctx, "/webhooks/create", body, &out, false); err != nil {
		return nil, err
	}
	if out.Webhook == nil {
		return nil, missingField("/webhooks/create", "webhook")
	}
	return out.Webhook, nil
}

// GetWebhook returns one webhook (/webhooks/get); ErrNotFound once deleted.
func (c *Client) GetWebhook(ctx context.Context, webhookID string) (*Webhook, error) {
	var out struct {
		Webhook *Webhook `json:"webhook"`
	}
	if err := c.do(ctx, "/webhooks/get", map[string]string{"webhook_id": webhookID}, &out, true); err != nil {
		return nil, err
	}
	if out.Webhook == nil {
		return nil, missingField("/webhooks/get", "webhook")
	}
	return out.Webhook, nil
}

// ListWebhooks returns the workspace's webhooks (/webhooks/list).
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks *[]Webhook `json:"webhooks"`
	}
	if err := c.do(ctx, "/webhooks/list", map[string]any{}, &out, true); err != nil {
		return nil, err
	}
	if out.Webhooks == nil {
		return nil, missingField("/webhooks/list", "webhooks")
	}
	return *out.Webhooks, nil
}

// DeleteWebhook deletes a webhook (/webhooks/delete); ErrNotFound when it is gone.
func (c *Client) DeleteWebhook(ctx context.Context, webhookID string) error {
	return c.do(ctx, "/webhooks/delete", map[string]string{"webhook_id": webhookID}, nil, true)
}
