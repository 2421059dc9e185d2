package seam

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		reason     string
		status     int
		body       string
		header     map[string]string
		want       []error
		notWant    []error
		retryable  bool
		validation map[string][]string
	}{
		{reason: "a missing route answers plain text", status: 404, body: "404",
			want: []error{ErrRouteNotSupported}, notWant: []error{ErrNotFound}},
		{reason: "a missing user answers JSON", status: 404,
			body: `{"ok":false,"error":{"type":"acs_user_not_found","message":"acs_user not found"}}`,
			want: []error{ErrNotFound}, notWant: []error{ErrRouteNotSupported}},
		{reason: "401 is unauthorized", status: 401, body: `{"ok":false,"error":{"type":"unauthorized","message":"API Key not found"}}`,
			want: []error{ErrUnauthorized}},
		{reason: "403 is unauthorized", status: 403, body: `{"ok":false,"error":{"type":"forbidden","message":"no"}}`,
			want: []error{ErrUnauthorized}},
		{reason: "invalid_input carries zod's nested per-field messages", status: 400,
			body: `{"ok":false,"error":{"type":"invalid_input","message":"Invalid datetime for \"access_schedule.starts_at\"",
				"validation_errors":{"_errors":[],"phone_number":{"_errors":["Phone number must be in E.164 format"]},
				"access_schedule":{"_errors":[],"starts_at":{"_errors":["Invalid datetime"]}}}}}`,
			want: []error{ErrInvalidInput},
			validation: map[string][]string{
				"phone_number":              {"Phone number must be in E.164 format"},
				"access_schedule.starts_at": {"Invalid datetime"},
			}},
		{reason: "zod's flatten shape is understood too", status: 400,
			body:       `{"ok":false,"error":{"type":"invalid_input","message":"x","validation_errors":{"formErrors":["bad"],"fieldErrors":{"full_name":["Required"]}}}}`,
			want:       []error{ErrInvalidInput},
			validation: map[string][]string{"": {"bad"}, "full_name": {"Required"}}},
		{reason: "other 400 types are invalid input", status: 400,
			body: `{"ok":false,"error":{"type":"user_identity_not_found","message":"User identity not found"}}`,
			want: []error{ErrInvalidInput}},
		{reason: "malformed JSON gets a plain-text 400", status: 400, body: "Invalid JSON", want: []error{ErrInvalidInput}},
		{reason: "429 is rate limited and retryable", status: 429, body: `{"ok":false,"error":{"type":"rate_limited","message":"slow down"}}`,
			header: map[string]string{"Retry-After": "7"}, want: []error{ErrRateLimited}, retryable: true},
		{reason: "503 is unavailable and retryable", status: 503, body: "<html>upstream down</html>",
			want: []error{ErrUnavailable}, retryable: true},
		{reason: "500 is unavailable but not retried", status: 500,
			body: `{"ok":false,"error":{"type":"internal_server_error","message":"boom"}}`, want: []error{ErrUnavailable}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("seam-request-id", "req_123")
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer hs.Close()
			c, err := New(Config{Endpoint: hs.URL, APIKey: "seam_k", MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetUser(context.Background(), "acs_user_1")
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("errors.Is(%v, %v) = false", err, w)
				}
			}
			for _, w := range tc.notWant {
				if errors.Is(err, w) {
					t.Errorf("errors.Is(%v, %v) = true", err, w)
				}
			}
			if got := IsRetryable(err); got != tc.retryable {
				t.Errorf("IsRetryable = %v, want %v", got, tc.retryable)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("%T is not an *APIError", err)
			}
			if apiErr.RequestID != "req_123" || apiErr.HTTPStatus != tc.status || apiErr.Route != "/acs/users/get" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if tc.validation != nil && !reflect.DeepEqual(apiErr.ValidationErrors, tc.validation) {
				t.Errorf("validation errors = %v, want %v", apiErr.ValidationErrors, tc.validation)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"2", 2 * time.Second}, {" 120 ", 2 * time.Minute}, {"0", 0}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		// A server (or a misconfigured proxy) asking for a day is capped: a paused
		// connection holds back revocations too.
		{"86400", MaxRetryAfter}, {"99999999999999999", MaxRetryAfter},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
	}
	for _, tc := range cases {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRetryAfterHelper(t *testing.T) {
	err := error(&APIError{HTTPStatus: 429, RetryAfter: 3 * time.Second})
	if d, ok := RetryAfter(errors.Join(errors.New("wrapped"), err)); !ok || d != 3*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(errors.New("plain")); ok {
		t.Error("RetryAfter of a plain error")
	}
}

func TestBackoffIsBoundedWithJitter(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := backoff(n)
		upper := min(backoffBase<<min(n-1, 10), backoffMax)
		if d < upper/2 || d > upper {
			t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, upper/2, upper)
		}
	}
}

func TestCallerCancellationIsNotUnavailable(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // net/http notices a gone client only after the body is read
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer hs.Close()
	c, _ := New(Config{Endpoint: hs.URL, APIKey: "seam_k"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.GetUser(ctx, "u")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) || IsRetryable(err) {
		t.Errorf("err = %v: want the caller's deadline, not retryable, not unavailable", err)
	}
}

func TestRequestShapes(t *testing.T) {
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	b, _ := json.Marshal(CreateUserRequest{AcsSystemID: "s", FullName: "n", AccessSchedule: &AccessSchedule{StartsAt: &start}})
	if got, want := string(b), `{"acs_system_id":"s","full_name":"n","access_schedule":{"starts_at":"2026-05-01T08:00:00Z"}}`; got != want {
		t.Errorf("create = %s\nwant     %s", got, want)
	}
	name := "New"
	b, _ = json.Marshal(UpdateUserRequest{AcsUserID: "u", FullName: &name})
	if got, want := string(b), `{"acs_user_id":"u","full_name":"New"}`; got != want {
		t.Errorf("update = %s, want %s", got, want)
	}
	b, _ = json.Marshal(UpdateUserRequest{AcsUserID: "u", ClearAccessSchedule: true})
	if got, want := string(b), `{"access_schedule":null,"acs_user_id":"u"}`; got != want {
		t.Errorf("update clear = %s, want %s", got, want)
	}
	before := start
	lb, _ := json.Marshal(ListUsersRequest{AcsSystemID: "s", CreatedBefore: &before, Limit: 10}.body())
	if got, want := string(lb), `{"acs_system_id":"s","created_before":"2026-05-01T08:00:00Z","limit":10}`; got != want {
		t.Errorf("list = %s, want %s", got, want)
	}
}

func TestUserDecoding(t *testing.T) {
	var fake AcsUser // the npm fake's shape: no arrays, deprecated email only updated
	if err := json.Unmarshal([]byte(`{"acs_user_id":"acs_user1","created_at":"2026-11-25T12:55:23.930Z","email":"e@x.com",
		"access_schedule":{"starts_at":"2025-01-01T00:00:00Z","ends_at":null}}`), &fake); err != nil {
		t.Fatal(err)
	}
	if fake.Errors == nil || fake.Warnings == nil || fake.PendingMutations == nil || fake.IsManaged != nil {
		t.Errorf("fake user = %+v", fake)
	}
	if fake.AccessSchedule == nil || fake.AccessSchedule.StartsAt == nil || fake.AccessSchedule.EndsAt != nil {
		t.Errorf("schedule = %+v", fake.AccessSchedule)
	}
	var real AcsUser
	err := json.Unmarshal([]byte(`{"acs_user_id":"u","is_managed":true,"errors":[{"error_code":"deleted_externally","message":"m","created_at":"2026-01-01T00:00:00Z"}],
		"pending_mutations":[{"mutation_code":"updating_group_membership","created_at":"2026-01-01T00:00:00Z","from":{"acs_access_group_id":null},"to":{"acs_access_group_id":"g"},"extra":1}]}`), &real)
	if err != nil {
		t.Fatal(err)
	}
	if real.Errors[0].ErrorCode != UserErrorDeletedExternally || !real.HasPendingMutation(MutationUpdatingGroupMembership) {
		t.Errorf("real user = %+v", real)
	}
	m := real.PendingMutations[0]
	if !strings.Contains(string(m.To), `"g"`) || !strings.Contains(string(m.Raw), `"extra":1`) {
		t.Errorf("mutation = %+v", m)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{APIKey: "seam_secret_value", Endpoint: "ftp://x"},
		{APIKey: "seam_secret_value", Endpoint: "https://user:pw@example.com"},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("New(%v) succeeded", cfg)
		} else if strings.Contains(err.Error(), "seam_secret_value") {
			t.Errorf("error %q contains the key", err)
		}
	}
	c, err := New(Config{APIKey: "k"})
	if err != nil || c.Endpoint() != DefaultEndpoint {
		t.Errorf("defaults: %v, %v", c, err)
	}
}
