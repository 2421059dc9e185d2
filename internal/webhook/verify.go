package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// Tolerance is how far a delivery's svix-timestamp may be from now: Svix's own
// 5 minutes. Older deliveries may be replays of a captured request.
const Tolerance = 5 * time.Minute

// Why a delivery was refused; each is also a metric label.
var (
	ErrUnsigned     = errors.New("unsigned: svix-id, svix-timestamp or svix-signature missing")
	ErrBadSignature = errors.New("no svix-signature matches the body")
	ErrStale        = errors.New("svix-timestamp more than 5 minutes from now")
	ErrBadSecret    = errors.New("the signing secret is not a whsec_ base64 secret")
)

// Verify checks a delivery against the connection's whsec_ signing secret: the
// HMAC-SHA256 of "<svix-id>.<svix-timestamp>.<body>" must match one of the
// svix-signature entries (compared in constant time by the Svix library), and
// the timestamp must be within Tolerance of now.
//
// The library checks the timestamp against the wall clock; it is checked here
// instead, after the signature (which covers it), so tests can set the clock.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	id, ts, sig := header.Get("svix-id"), header.Get("svix-timestamp"), header.Get("svix-signature")
	if id == "" || ts == "" || sig == "" {
		return ErrUnsigned
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		return ErrBadSecret
	}
	// Only the svix-* headers: the library would fall back on webhook-* ones.
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", ts)
	h.Set("svix-signature", sig)
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	return nil
}

// Sign returns the svix-signature header value for a delivery: what Seam (and
// the sandbox) send.
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		return "", ErrBadSecret
	}
	return wh.Sign(id, at, body)
}
