package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
)

// webhookRecord is a registered webhook: where the workspace's events go.
type webhookRecord struct {
	id          string
	workspaceID string
	url         string
	eventTypes  []string
	// secret is whsec_ + base64 of 24 random bytes, as Svix issues them.
	secret string
}

func (w *webhookRecord) wants(eventType string) bool {
	return slices.Contains(w.eventTypes, "*") || slices.Contains(w.eventTypes, eventType)
}

func (w *webhookRecord) render(withSecret bool) map[string]any {
	out := map[string]any{"webhook_id": w.id, "url": w.url, "event_types": slices.Clone(w.eventTypes)}
	if withSecret {
		out["secret"] = w.secret
	}
	return out
}

func newWebhookSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// checkEventTypes refuses event types Seam does not know, except a lone "*".
func checkEventTypes(types []string) *apiError {
	if len(types) == 1 && types[0] == "*" {
		return nil
	}
	for _, t := range types {
		if !eventTypes[t] {
			return badRequest("invalid_event_types", "Invalid event types")
		}
	}
	return nil
}

func errWebhookNotFound() *apiError {
	return newError(http.StatusNotFound, "webhook_not_found", "Webhook not found")
}

func (st *store) webhookInWorkspace(c *call) *webhookRecord {
	id := c.p.requiredStr("webhook_id")
	if c.p.err() != nil {
		return nil
	}
	w := st.webhooks[id]
	if w == nil || w.workspaceID != c.workspaceID {
		return nil
	}
	return w
}

func (st *store) createWebhook(c *call) response {
	url := c.p.requiredStr("url")
	types := c.p.stringList("event_types")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	if len(types) == 0 {
		types = []string{"*"}
	}
	if e := checkEventTypes(types); e != nil {
		return errorResponse(e)
	}
	w := &webhookRecord{id: newUUID(), workspaceID: c.workspaceID, url: url, eventTypes: types, secret: newWebhookSecret()}
	st.webhooks[w.id] = w
	st.webhookOrder = append(st.webhookOrder, w.id)
	return okResponse(map[string]any{"webhook": w.render(true)})
}

func (st *store) getWebhook(c *call) response {
	w := st.webhookInWorkspace(c)
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	if w == nil {
		return errorResponse(errWebhookNotFound())
	}
	return okResponse(map[string]any{"webhook": w.render(true)})
}

func (st *store) listWebhooks(c *call) response {
	out := []map[string]any{}
	for _, id := range st.webhookOrder {
		if w := st.webhooks[id]; w.workspaceID == c.workspaceID {
			out = append(out, w.render(false))
		}
	}
	return okResponse(map[string]any{"webhooks": out})
}

func (st *store) updateWebhook(c *call) response {
	w := st.webhookInWorkspace(c)
	if _, kind := c.p.field("event_types"); kind == "undefined" {
		c.p.fail("event_types", "Required")
	}
	types := c.p.stringList("event_types")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	if w == nil {
		return errorResponse(errWebhookNotFound())
	}
	if e := checkEventTypes(types); e != nil {
		return errorResponse(e)
	}
	w.eventTypes = types
	return okResponse(nil)
}

func (st *store) deleteWebhook(c *call) response {
	w := st.webhookInWorkspace(c)
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	if w == nil {
		return errorResponse(errWebhookNotFound())
	}
	delete(st.webhooks, w.id)
	st.webhookOrder = slices.DeleteFunc(st.webhookOrder, func(id string) bool { return id == w.id })
	return okResponse(nil)
}

// Webhook is a registered webhook, for tests (with its secret).
type Webhook struct {
	ID          string   `json:"webhook_id"`
	WorkspaceID string   `json:"workspace_id"`
	URL         string   `json:"url"`
	EventTypes  []string `json:"event_types"`
	Secret      string   `json:"-"`
}

// Webhooks lists the registered webhooks.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Webhook{}
	for _, id := range s.st.webhookOrder {
		w := s.st.webhooks[id]
		out = append(out, Webhook{ID: w.id, WorkspaceID: w.workspaceID, URL: w.url, EventTypes: slices.Clone(w.eventTypes), Secret: w.secret})
	}
	return out
}
