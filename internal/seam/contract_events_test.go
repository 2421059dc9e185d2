package seam_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acs-operator/acs-operator/internal/seam"
)

// The contract of /events/list and /webhooks/*. The npm fake serves both routes
// but emits no event for what the ACS user routes do, so the cases that need an
// event are skipped for it; the shape of its answers is still checked.

func init() {
	contractCases = append(contractCases, eventCases...)
	fakeSkips["events/user_created_and_deleted"] = "emits no acs_user.* event for the /acs/users/* routes"
	fakeSkips["webhooks/acs_event_types"] = "its event list predates the acs_* types: /webhooks/create refuses them (invalid_event_types)"
}

var eventCases = []contractCase{
	{"events/list_since", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		events, err := c.ListEvents(ctx, seam.ListEventsRequest{Since: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatalf("ListEvents: %v", err)
		}
		for _, e := range events {
			if e.EventID == "" || e.EventType == "" || e.CreatedAt.IsZero() {
				t.Errorf("event without id, type or created_at: %+v", e)
			}
		}
	}},
	{"events/user_created_and_deleted", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		since := time.Now().Add(-time.Second)
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID, FullName: uniqueName("Evented")})
		if err := c.DeleteUser(ctx, u.AcsUserID); err != nil {
			t.Fatal(err)
		}
		events := must[[]seam.Event](t)(c.ListEvents(ctx, seam.ListEventsRequest{Since: since, AcsUserID: u.AcsUserID}))
		var types []string
		for _, e := range events {
			if e.AcsUserID != u.AcsUserID || e.AcsSystemID != tg.systemID || e.WorkspaceID != tg.workspaceID {
				t.Errorf("event %+v does not name the user, its system and workspace", e)
			}
			types = append(types, e.EventType)
		}
		if !slices.Equal(types, []string{"acs_user.created", "acs_user.deleted"}) {
			t.Errorf("events = %v, want acs_user.created then acs_user.deleted", types)
		}
		typed := must[[]seam.Event](t)(c.ListEvents(ctx, seam.ListEventsRequest{Since: since, AcsUserID: u.AcsUserID, EventTypes: []string{"acs_user.deleted"}}))
		if len(typed) != 1 || typed[0].EventType != "acs_user.deleted" {
			t.Errorf("filtered by type: %+v", typed)
		}
	}},
	{"webhooks/create_get_list_delete", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		url := "https://hooks.example.com/webhooks/seam/contract/" + strings.ToLower(strings.ReplaceAll(uniqueName("x"), " ", "-"))
		w := must[*seam.Webhook](t)(c.CreateWebhook(ctx, url, []string{"*"}))
		if w.WebhookID == "" || w.URL != url || w.Secret == "" {
			t.Fatalf("CreateWebhook = %v (with a secret: %v)", w, w.Secret != "")
		}
		if tg.skips == nil && !strings.HasPrefix(w.Secret, "whsec_") {
			// The npm fake's secrets are fake_secret_...; Svix's are whsec_<base64>.
			t.Errorf("the secret is not a whsec_ secret")
		}
		got := must[*seam.Webhook](t)(c.GetWebhook(ctx, w.WebhookID))
		if got.WebhookID != w.WebhookID || got.URL != url {
			t.Errorf("GetWebhook = %v", got)
		}
		all := must[[]seam.Webhook](t)(c.ListWebhooks(ctx))
		if !slices.ContainsFunc(all, func(x seam.Webhook) bool { return x.WebhookID == w.WebhookID }) {
			t.Errorf("ListWebhooks misses %s", w.WebhookID)
		}
		if err := c.DeleteWebhook(ctx, w.WebhookID); err != nil {
			t.Fatalf("DeleteWebhook: %v", err)
		}
		if _, err := c.GetWebhook(ctx, w.WebhookID); !errors.Is(err, seam.ErrNotFound) {
			t.Errorf("GetWebhook after delete: %v, want ErrNotFound", err)
		}
	}},
	{"webhooks/acs_event_types", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		w := must[*seam.Webhook](t)(c.CreateWebhook(ctx, "https://hooks.example.com/acs", []string{"acs_user.deleted", "acs_credential.invalidated"}))
		t.Cleanup(func() { _ = c.DeleteWebhook(context.Background(), w.WebhookID) })
		if !slices.Equal(w.EventTypes, []string{"acs_user.deleted", "acs_credential.invalidated"}) {
			t.Errorf("event_types = %v", w.EventTypes)
		}
		if _, err := c.CreateWebhook(ctx, "https://hooks.example.com/acs", []string{"acs_user.renamed"}); !errors.Is(err, seam.ErrInvalidInput) {
			t.Errorf("an unknown event type: %v, want ErrInvalidInput", err)
		}
	}},
}

// TestEventRoutesMatchOpenAPI runs the event and webhook cases against the
// sandbox with every request and answer checked against the OpenAPI document.
func TestEventRoutesMatchOpenAPI(t *testing.T) {
	runSchemaChecked(t, loadOpenAPIFrom(t, "testdata/openapi-events.json"), eventCases,
		[]string{"/events/list", "/webhooks/create", "/webhooks/get", "/webhooks/list", "/webhooks/delete"})
}
