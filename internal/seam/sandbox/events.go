package sandbox

import (
	"slices"
	"time"
)

// Event types the sandbox emits, as Seam does for what happens in it.
const (
	EventUserCreated        = "acs_user.created"
	EventUserDeleted        = "acs_user.deleted"
	EventCredentialIssued   = "acs_credential.issued"
	EventCredentialDeleted  = "acs_credential.deleted"
	EventSystemConnected    = "acs_system.connected"
	EventSystemDisconnected = "acs_system.disconnected"
)

const (
	defaultEventsListLimit = 500
	// maxEventsKept bounds a long-running sandbox's memory.
	maxEventsKept = 100000
)

// Event is an event the sandbox emitted, for tests and the state dump.
type Event struct {
	ID          string            `json:"event_id"`
	Type        string            `json:"event_type"`
	WorkspaceID string            `json:"workspace_id"`
	CreatedAt   time.Time         `json:"created_at"`
	IDs         map[string]string `json:"ids"`
}

// emit records an event and queues its deliveries to the workspace's webhooks.
// ids are the object ids the event names (acs_user_id, acs_system_id, ...).
func (st *store) emit(workspaceID, eventType string, now time.Time, ids map[string]string) {
	// created_at is rendered to the millisecond, as Seam does; kept strictly
	// increasing so the order of events is the order of their times.
	e := &Event{ID: newUUID(), Type: eventType, WorkspaceID: workspaceID, CreatedAt: now.UTC().Truncate(time.Millisecond), IDs: ids}
	if n := len(st.events); n > 0 && !e.CreatedAt.After(st.events[n-1].CreatedAt) {
		e.CreatedAt = st.events[n-1].CreatedAt.Add(time.Millisecond)
	}
	st.events = append(st.events, e)
	if len(st.events) > maxEventsKept {
		st.events = slices.Delete(st.events, 0, len(st.events)-maxEventsKept)
	}
	if st.deliver == nil {
		return
	}
	for _, id := range st.webhookOrder {
		w := st.webhooks[id]
		if w.workspaceID == workspaceID && w.wants(eventType) {
			st.deliver(w.url, w.secret, renderEvent(e))
		}
	}
}

// emitUserDeleted reports a user gone and the credentials Seam removed with it.
func (st *store) emitUserDeleted(u *userRecord, credentialIDs []string, now time.Time) {
	st.emit(u.workspaceID, EventUserDeleted, now, map[string]string{"acs_user_id": u.id, "acs_system_id": u.systemID,
		"connected_account_id": u.connectedAccountID})
	for _, id := range credentialIDs {
		st.emit(u.workspaceID, EventCredentialDeleted, now, map[string]string{"acs_credential_id": id, "acs_system_id": u.systemID})
	}
}

func renderEvent(e *Event) map[string]any {
	out := map[string]any{
		"event_id": e.ID, "event_type": e.Type, "workspace_id": e.WorkspaceID,
		"created_at": seamTime(e.CreatedAt), "occurred_at": seamTime(e.CreatedAt),
	}
	for k, v := range e.IDs {
		out[k] = v
	}
	if e.Type == EventSystemDisconnected {
		// Required by the event's schema.
		for _, k := range []string{"acs_system_errors", "acs_system_warnings", "connected_account_errors", "connected_account_warnings"} {
			out[k] = []any{}
		}
	}
	return out
}

// listEvents serves /events/list: since (or between) is required; filters by
// object ids and types; at most limit (default 500), oldest first; no cursor.
func (st *store) listEvents(c *call) response {
	p := c.p
	since, hasSince := p.datetime("since")
	between := p.stringList("between")
	var until *time.Time
	if !hasSince && len(between) == 0 {
		p.fail("since", "You must include `since` or `between`")
	}
	if len(between) > 0 {
		if len(between) != 2 {
			p.fail("between", "Array must contain exactly 2 element(s)")
		} else {
			lo, err1 := time.Parse(time.RFC3339Nano, between[0])
			hi, err2 := time.Parse(time.RFC3339Nano, between[1])
			if err1 != nil || err2 != nil {
				p.fail("between", "Invalid datetime")
			} else {
				since, until = &lo, &hi
			}
		}
	}
	limit, _ := p.integer("limit", 1, 10000)
	if limit == 0 {
		limit = defaultEventsListLimit
	}
	filters := map[string]string{}
	for _, k := range []string{"acs_user_id", "acs_system_id", "acs_credential_id", "acs_access_group_id", "connected_account_id", "event_type"} {
		if v, set, _ := p.str(k); set {
			filters[k] = v
		}
	}
	systems, types, eventIDs := p.stringList("acs_system_ids"), p.stringList("event_types"), p.stringList("event_ids")
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	out := []map[string]any{}
	for _, e := range st.events {
		if len(out) == limit {
			break
		}
		if e.WorkspaceID != c.workspaceID || (since != nil && e.CreatedAt.Before(*since)) || (until != nil && !e.CreatedAt.Before(*until)) {
			continue
		}
		if !e.matches(filters, systems, types, eventIDs) {
			continue
		}
		out = append(out, renderEvent(e))
	}
	return okResponse(map[string]any{"events": out})
}

func (e *Event) matches(filters map[string]string, systems, types, eventIDs []string) bool {
	for k, v := range filters {
		got := e.IDs[k]
		if k == "event_type" {
			got = e.Type
		}
		if got != v {
			return false
		}
	}
	return (len(systems) == 0 || slices.Contains(systems, e.IDs["acs_system_id"])) &&
		(len(types) == 0 || slices.Contains(types, e.Type)) &&
		(len(eventIDs) == 0 || slices.Contains(eventIDs, e.ID))
}

// Events returns every event emitted so far, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, 0, len(s.st.events))
	for _, e := range s.st.events {
		out = append(out, *e)
	}
	return out
}
