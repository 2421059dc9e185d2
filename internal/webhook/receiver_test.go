package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/acs-operator/acs-operator/internal/seam"
)

type fakeSecrets map[Connection]string

func (f fakeSecrets) SigningSecret(_ context.Context, c Connection) (string, error) {
	if s, ok := f[c]; ok {
		return s, nil
	}
	return "", ErrUnknownConnection
}

type recordingSink struct{ events []seam.Event }

func (s *recordingSink) Deliver(_ context.Context, _ Connection, e seam.Event) error {
	s.events = append(s.events, e)
	return nil
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func signedRequest(t *testing.T, path, id string, at time.Time, body string) *http.Request {
	t.Helper()
	sig, err := Sign(testSecret, id, at, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("svix-id", id)
	req.Header.Set("svix-timestamp", fmt.Sprint(at.Unix()))
	req.Header.Set("svix-signature", sig)
	return req
}

func TestReceiver(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	body := `{"event_id":"e1","event_type":"acs_user.deleted","workspace_id":"ws","created_at":"2026-11-26T12:00:00Z","acs_user_id":"u1","acs_system_id":"s1"}`
	path := "/webhooks/seam/team-a/seam"
	forged := func() *http.Request {
		r := signedRequest(t, path, "msg_1", now, body)
		r.Header.Set("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		return r
	}
	unsigned := func() *http.Request { return httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)) }
	cases := []struct {
		reason    string
		requests  []func() *http.Request
		wantCodes []int
		want      []string
		delivered int
	}{
		{"a signed delivery is handed on once", []func() *http.Request{func() *http.Request { return signedRequest(t, path, "msg_1", now, body) }},
			[]int{204}, []string{ResultAccepted}, 1},
		{"a redelivery (same svix-id) is acknowledged and dropped",
			[]func() *http.Request{
				func() *http.Request { return signedRequest(t, path, "msg_1", now, body) },
				func() *http.Request { return signedRequest(t, path, "msg_1", now.Add(time.Second), body) },
			}, []int{204, 204}, []string{ResultAccepted, ResultDuplicate}, 1},
		{"unsigned", []func() *http.Request{unsigned}, []int{401}, []string{ResultUnsigned}, 0},
		{"badly signed", []func() *http.Request{forged}, []int{401}, []string{ResultBadSignature}, 0},
		{"stale", []func() *http.Request{func() *http.Request { return signedRequest(t, path, "msg_1", now.Add(-6*time.Minute), body) }},
			[]int{401}, []string{ResultStale}, 0},
		{"oversized", []func() *http.Request{func() *http.Request {
			return signedRequest(t, path, "msg_1", now, `{"pad":"`+strings.Repeat("x", DefaultMaxBody)+`"}`)
		}}, []int{413}, []string{ResultOversized}, 0},
		{"unknown connection", []func() *http.Request{func() *http.Request { return signedRequest(t, "/webhooks/seam/team-b/seam", "msg_1", now, body) }},
			[]int{404}, []string{ResultUnknownConnection}, 0},
		{"a path that names no connection", []func() *http.Request{func() *http.Request { return signedRequest(t, "/webhooks/seam/team-a", "msg_1", now, body) }},
			[]int{404}, []string{ResultUnknownConnection}, 0},
		{"signed but not an event", []func() *http.Request{func() *http.Request { return signedRequest(t, path, "msg_1", now, `{"hello":1}`) }},
			[]int{400}, []string{ResultBadRequest}, 0},
		{"GET is refused", []func() *http.Request{func() *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }},
			[]int{405}, []string{ResultBadRequest}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			sink := &recordingSink{}
			var results []string
			r := NewReceiver(fakeSecrets{{Namespace: "team-a", Name: "seam"}: testSecret}, sink,
				func(res string) { results = append(results, res) }, logr.Discard())
			r.Now = func() time.Time { return now }
			for i, mk := range tc.requests {
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, mk())
				if rec.Code != tc.wantCodes[i] {
					t.Fatalf("request %d: status %d, want %d", i, rec.Code, tc.wantCodes[i])
				}
			}
			if fmt.Sprint(results) != fmt.Sprint(tc.want) {
				t.Fatalf("results %v, want %v", results, tc.want)
			}
			if len(sink.events) != tc.delivered {
				t.Fatalf("delivered %d events, want %d", len(sink.events), tc.delivered)
			}
		})
	}
}

type failingSink struct{ calls int }

func (s *failingSink) Deliver(context.Context, Connection, seam.Event) error {
	s.calls++
	if s.calls == 1 {
		return errors.New("queue not running")
	}
	return nil
}

// A delivery the sink could not take is answered 503 and taken again on retry.
func TestReceiverRetryAfterSinkFailure(t *testing.T) {
	now := time.Now()
	sink := &failingSink{}
	r := NewReceiver(fakeSecrets{{Name: "shared"}: testSecret}, sink, nil, logr.Discard())
	body := `{"event_id":"e1","event_type":"acs_user.deleted"}`
	for i, want := range []int{503, 204} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, signedRequest(t, "/webhooks/seam/cluster/shared", "msg_9", now, body))
		if rec.Code != want {
			t.Fatalf("attempt %d: status %d, want %d", i, rec.Code, want)
		}
	}
}

func TestParsePath(t *testing.T) {
	for path, want := range map[string]string{
		"/webhooks/seam/ns/name":      "ns/name",
		"/webhooks/seam/cluster/name": "cluster/name",
		"/webhooks/seam/ns/name/x":    "",
		"/webhooks/seam//name":        "",
		"/webhooks/other/ns/name":     "",
	} {
		c, ok := ParsePath(path)
		got := ""
		if ok {
			got = c.String()
		}
		if got != want {
			t.Errorf("ParsePath(%q) = %q, want %q", path, got, want)
		}
	}
}
