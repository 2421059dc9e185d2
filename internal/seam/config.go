package seam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// DefaultEndpoint is Seam Connect's production base URL.
const DefaultEndpoint = "https://connect.getseam.com"

const (
	defaultTimeout      = 30 * time.Second
	defaultMaxAttempts  = 4
	defaultMaxRetryWait = time.Minute
	redacted            = "[redacted]"
)

// Limiter paces outgoing requests. *AdaptiveLimiter (priorities, and a rate that
// finds the server's) and *rate.Limiter from golang.org/x/time/rate satisfy it.
// One Limiter should be shared by every caller of one Seam connection so the whole
// process stays under the account's limit. A Limiter that also implements
// RateFeedback is told of every 429 and every accepted call.
type Limiter interface {
	Wait(ctx context.Context) error
}

// RequestInfo describes one HTTP attempt, for metrics.
type RequestInfo struct {
	Route string // e.g. "/acs/users/create"
	// Status is the HTTP status, or 0 when no response arrived.
	Status   int
	Duration time.Duration // of this attempt's HTTP exchange
	Attempt  int           // 1 for the first try
	// RateLimitWait is how long this attempt waited before being sent: for the
	// Limiter and for a client-wide pause after a Retry-After.
	RateLimitWait time.Duration
	// Err is the attempt's error, nil on 2xx.
	Err error
}

// Config configures a Client. The zero value of every field but APIKey is usable.
//
// Config redacts APIKey when printed with fmt (any verb), marshalled to JSON,
// or logged through logr.
type Config struct {
	// Endpoint is the base URL; default DefaultEndpoint.
	Endpoint string
	// APIKey is the Seam API key (seam_...). Never logged or returned in errors.
	APIKey string
	// WorkspaceID is optional; when set it is sent as the seam-workspace header
	// (required with personal access tokens, harmless with API keys).
	WorkspaceID string
	// Transport is optional; by default one *http.Transport is shared by every
	// Client in the process, so connections are reused.
	Transport http.RoundTripper
	// Timeout is the deadline for one HTTP attempt (default 30s). Every call
	// also honours its context.
	Timeout time.Duration
	// MaxAttempts bounds tries for idempotent calls (default 4).
	MaxAttempts int
	// MaxRetryWait bounds the total time spent waiting between attempts of one
	// call (default 1m).
	MaxRetryWait time.Duration
	// Limiter is optional: waited on before every attempt.
	Limiter Limiter
	// Observer is optional: called after every attempt.
	Observer func(RequestInfo)
	// Logger receives V(1) summaries of each attempt. Bodies are never logged.
	Logger logr.Logger
}

// redactedConfig is what Config looks like to fmt, encoding/json and logr.
type redactedConfig struct {
	Endpoint     string        `json:"endpoint"`
	APIKey       string        `json:"apiKey"`
	WorkspaceID  string        `json:"workspaceID,omitempty"`
	Timeout      time.Duration `json:"timeout,omitempty"`
	MaxAttempts  int           `json:"maxAttempts,omitempty"`
	MaxRetryWait time.Duration `json:"maxRetryWait,omitempty"`
	Limiter      bool          `json:"limiter"`
	Observer     bool          `json:"observer"`
	Transport    bool          `json:"customTransport"`
}

func (c Config) redacted() redactedConfig {
	key := ""
	if c.APIKey != "" {
		key = redacted
	}
	return redactedConfig{
		Endpoint:     c.Endpoint,
		APIKey:       key,
		WorkspaceID:  c.WorkspaceID,
		Timeout:      c.Timeout,
		MaxAttempts:  c.MaxAttempts,
		MaxRetryWait: c.MaxRetryWait,
		Limiter:      c.Limiter != nil,
		Observer:     c.Observer != nil,
		Transport:    c.Transport != nil,
	}
}

// String renders the config with the API key redacted.
func (c Config) String() string { return fmt.Sprintf("seam.Config%+v", c.redacted()) }

// GoString renders the config with the API key redacted (for %#v).
func (c Config) GoString() string { return fmt.Sprintf("seam.Config%#v", c.redacted()) }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, ...) use the redacted form.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// MarshalJSON encodes the config with the API key redacted.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.redacted()) }

// MarshalLog implements logr.Marshaler so structured loggers see the redacted form.
func (c Config) MarshalLog() any { return c.redacted() }

// secret holds a credential. It renders as [redacted] through fmt (every
// verb), encoding/json and logr, so a Client cannot leak it by being printed.
type secret struct{ value string }

func (secret) String() string               { return redacted }
func (secret) GoString() string             { return redacted }
func (secret) Format(f fmt.State, _ rune)   { fmt.Fprint(f, redacted) }
func (secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }
func (secret) MarshalLog() any              { return redacted }

// scrub removes the secret from text that came from elsewhere (a server's
// error message, a transport error) before it is put in an error or a log.
func (s secret) scrub(text string) string {
	if s.value == "" {
		return text
	}
	return strings.ReplaceAll(text, s.value, redacted)
}
