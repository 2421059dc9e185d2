package webhook

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// Svix's published test vector (svix-webhooks go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeader(id, ts, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set("svix-id", id)
	}
	if ts != "" {
		h.Set("svix-timestamp", ts)
	}
	if sig != "" {
		h.Set("svix-signature", sig)
	}
	return h
}

func TestSignMatchesSvixVector(t *testing.T) {
	got, err := Sign(vectorSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if err != nil || got != vectorSignature {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	ts := "1614265330"
	cases := []struct {
		reason string
		secret string
		header http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"the published vector verifies", vectorSecret, vectorHeader(vectorID, ts, vectorSignature), vectorPayload, at, nil},
		{"one of several signatures may match (key rotation)", vectorSecret,
			vectorHeader(vectorID, ts, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+vectorSignature), vectorPayload, at, nil},
		{"within 5 minutes after", vectorSecret, vectorHeader(vectorID, ts, vectorSignature), vectorPayload, at.Add(Tolerance), nil},
		{"a changed body fails", vectorSecret, vectorHeader(vectorID, ts, vectorSignature), `{"test": 2432232315}`, at, ErrBadSignature},
		{"another id fails", vectorSecret, vectorHeader("msg_other", ts, vectorSignature), vectorPayload, at, ErrBadSignature},
		{"another timestamp fails", vectorSecret, vectorHeader(vectorID, "1614265331", vectorSignature), vectorPayload, at, ErrBadSignature},
		{"another secret fails", "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", vectorHeader(vectorID, ts, vectorSignature), vectorPayload, at, ErrBadSignature},
		{"only v1 signatures count", vectorSecret, vectorHeader(vectorID, ts, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), vectorPayload, at, ErrBadSignature},
		{"a signature without version fails", vectorSecret, vectorHeader(vectorID, ts, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), vectorPayload, at, ErrBadSignature},
		{"a non-numeric timestamp fails", vectorSecret, vectorHeader(vectorID, "yesterday", vectorSignature), vectorPayload, at, ErrBadSignature},
		{"no signature is unsigned", vectorSecret, vectorHeader(vectorID, ts, ""), vectorPayload, at, ErrUnsigned},
		{"no id is unsigned", vectorSecret, vectorHeader("", ts, vectorSignature), vectorPayload, at, ErrUnsigned},
		{"no timestamp is unsigned", vectorSecret, vectorHeader(vectorID, "", vectorSignature), vectorPayload, at, ErrUnsigned},
		{"a correctly signed old delivery is stale (a replay)", vectorSecret, vectorHeader(vectorID, ts, vectorSignature), vectorPayload, at.Add(Tolerance + time.Second), ErrStale},
		{"a timestamp in the future is stale too", vectorSecret, vectorHeader(vectorID, ts, vectorSignature), vectorPayload, at.Add(-Tolerance - time.Second), ErrStale},
		{"a secret that is not base64", "whsec_!!!", vectorHeader(vectorID, ts, vectorSignature), vectorPayload, at, ErrBadSecret},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, []byte(tc.body), tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// The webhook-* header spelling (Standard Webhooks) is not what Seam sends; the
// library would accept it, this verifier does not.
func TestVerifyIgnoresOtherHeaderNames(t *testing.T) {
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", vectorSignature)
	if err := Verify(vectorSecret, h, []byte(vectorPayload), time.Unix(vectorTimestamp, 0)); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("Verify = %v, want ErrUnsigned", err)
	}
}

func TestRecentIsBounded(t *testing.T) {
	r := NewRecent(2)
	for _, step := range []struct {
		id   string
		want bool
	}{{"a", true}, {"a", false}, {"b", true}, {"c", true}, {"b", false}, {"a", true}} {
		if got := r.Add(step.id); got != step.want {
			t.Fatalf("add(%q) = %v, want %v", step.id, got, step.want)
		}
	}
	if len(r.seen) != 2 {
		t.Fatalf("remembers %d ids, want 2", len(r.seen))
	}
}
