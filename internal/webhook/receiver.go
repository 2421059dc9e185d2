package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/acs-operator/acs-operator/internal/seam"
)

// PathPrefix is where the receiver serves: <PathPrefix><namespace>/<name> for a
// SeamConnection, <PathPrefix>cluster/<name> for a ClusterSeamConnection. (A
// SeamConnection in a namespace named "cluster" cannot receive webhooks.)
const PathPrefix = "/webhooks/seam/"

// Defaults of a Receiver.
const (
	// DefaultMaxBody caps a delivery: Seam's events are a few hundred bytes, and
	// an unauthenticated caller must not make the manager buffer megabytes.
	DefaultMaxBody = 256 << 10
	// DefaultRemembered is how many svix-ids are remembered to drop redeliveries.
	DefaultRemembered = 10000
)

// Results of a delivery, the label of the receiver's metric.
const (
	ResultAccepted          = "accepted"
	ResultDuplicate         = "duplicate"
	ResultUnsigned          = "unsigned"
	ResultBadSignature      = "bad_signature"
	ResultStale             = "stale"
	ResultOversized         = "oversized"
	ResultUnknownConnection = "unknown_connection"
	ResultBadRequest        = "bad_request"
	ResultUnavailable       = "unavailable"
)

// Connection names the connection a delivery is for; Namespace is empty for a
// ClusterSeamConnection.
type Connection struct {
	Namespace string
	Name      string
}

func (c Connection) String() string {
	if c.Namespace == "" {
		return "cluster/" + c.Name
	}
	return c.Namespace + "/" + c.Name
}

// ErrUnknownConnection: no connection of that name expects webhooks.
var ErrUnknownConnection = errors.New("no connection with a webhook of that name")

// Secrets finds a connection's whsec_ signing secret. It returns
// ErrUnknownConnection for a connection that does not exist or has no
// spec.webhook; any other error is taken as passing (503, Svix retries).
type Secrets interface {
	SigningSecret(ctx context.Context, conn Connection) (string, error)
}

// Sink takes a verified event. An error answers 503, so Svix delivers again.
type Sink interface {
	Deliver(ctx context.Context, conn Connection, e seam.Event) error
}

// Receiver is the http.Handler of Seam's webhooks.
type Receiver struct {
	Secrets Secrets
	Sink    Sink
	// Observe counts each delivery by result (a metric); may be nil.
	Observe func(result string)
	// Now is the clock the timestamp is checked against; time.Now when nil.
	Now     func() time.Time
	MaxBody int64
	Log     logr.Logger
	seen    *Recent
}

// NewReceiver returns a Receiver with the defaults.
func NewReceiver(secrets Secrets, sink Sink, observe func(string), log logr.Logger) *Receiver {
	return &Receiver{Secrets: secrets, Sink: sink, Observe: observe, Log: log,
		Now: time.Now, MaxBody: DefaultMaxBody, seen: NewRecent(DefaultRemembered)}
}

// ParsePath reads the connection out of a receiver path.
func ParsePath(path string) (Connection, bool) {
	rest, ok := strings.CutPrefix(path, PathPrefix)
	if !ok {
		return Connection{}, false
	}
	first, name, ok := strings.Cut(rest, "/")
	if !ok || first == "" || name == "" || strings.Contains(name, "/") {
		return Connection{}, false
	}
	if first == "cluster" {
		return Connection{Name: name}, true
	}
	return Connection{Namespace: first, Name: name}, true
}

// ServeHTTP verifies one delivery and hands its event on. Refusals say little:
// the caller may be anyone.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	result, status := r.serve(req)
	if r.Observe != nil {
		r.Observe(result)
	}
	if result != ResultAccepted && result != ResultDuplicate {
		// The reason, never the secret, a header or the body.
		r.Log.V(1).Info("Webhook refused", "path", req.URL.Path, "result", result)
	}
	w.WriteHeader(status)
}

func (r *Receiver) serve(req *http.Request) (result string, status int) {
	if req.Method != http.MethodPost {
		return ResultBadRequest, http.StatusMethodNotAllowed
	}
	conn, ok := ParsePath(req.URL.Path)
	if !ok {
		return ResultUnknownConnection, http.StatusNotFound
	}
	if req.Header.Get("svix-id") == "" || req.Header.Get("svix-timestamp") == "" || req.Header.Get("svix-signature") == "" {
		return ResultUnsigned, http.StatusUnauthorized
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, r.MaxBody+1))
	if err != nil {
		return ResultBadRequest, http.StatusBadRequest
	}
	if int64(len(body)) > r.MaxBody {
		return ResultOversized, http.StatusRequestEntityTooLarge
	}
	secret, err := r.Secrets.SigningSecret(req.Context(), conn)
	if errors.Is(err, ErrUnknownConnection) {
		return ResultUnknownConnection, http.StatusNotFound
	}
	if err != nil {
		return ResultUnavailable, http.StatusServiceUnavailable
	}
	switch err := Verify(secret, req.Header, body, r.now()); {
	case errors.Is(err, ErrStale):
		return ResultStale, http.StatusUnauthorized
	case err != nil:
		return ResultBadSignature, http.StatusUnauthorized
	}
	var e seam.Event
	if err := json.Unmarshal(body, &e); err != nil || e.EventID == "" || e.EventType == "" {
		return ResultBadRequest, http.StatusBadRequest
	}
	// Svix keeps svix-id across retries: a repeat is acknowledged, so Svix stops.
	key := conn.String() + "/" + req.Header.Get("svix-id")
	if !r.seen.Add(key) {
		return ResultDuplicate, http.StatusNoContent
	}
	if err := r.Sink.Deliver(req.Context(), conn, e); err != nil {
		r.seen.Forget(key)
		return ResultUnavailable, http.StatusServiceUnavailable
	}
	return ResultAccepted, http.StatusNoContent
}

func (r *Receiver) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}
