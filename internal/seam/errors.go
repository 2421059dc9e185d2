package seam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Match them with errors.Is; the concrete error is an
// *APIError (the server answered) or a *RequestError (it did not).
var (
	ErrNotFound          = errors.New("seam: not found")
	ErrUnauthorized      = errors.New("seam: unauthorized")
	ErrInvalidInput      = errors.New("seam: invalid input")
	ErrRateLimited       = errors.New("seam: rate limited")
	ErrUnavailable       = errors.New("seam: unavailable")
	ErrOutcomeUnknown    = errors.New("seam: outcome unknown")
	ErrRouteNotSupported = errors.New("seam: route not supported by this server")
)

// APIError is a response from the server with a non-2xx status.
type APIError struct {
	Route      string // e.g. "/acs/users/get"
	HTTPStatus int
	// Type is Seam's error type (invalid_input, acs_user_not_found, ...);
	// empty when the body was not JSON.
	Type    string
	Message string
	// ValidationErrors holds per-field messages keyed by dotted path
	// ("phone_number", "access_schedule.starts_at"); messages about the
	// request as a whole are under "".
	ValidationErrors map[string][]string
	// RequestID is the seam-request-id header. Useful in debug logs; it changes
	// on every call, so keep it out of anything compared between reconciles.
	RequestID string
	// RetryAfter is the parsed Retry-After header (0 if absent).
	RetryAfter time.Duration
	// notJSON records that the body was not a JSON error object.
	notJSON bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seam: %s: HTTP %d", e.Route, e.HTTPStatus)
	if e.Type != "" {
		b.WriteString(" ")
		b.WriteString(e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.HTTPStatus == http.StatusNotFound && e.notJSON {
		b.WriteString(" (route not supported by this server)")
	}
	return b.String()
}

// Is maps the HTTP status onto the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.HTTPStatus == http.StatusNotFound && !e.notJSON
	case ErrRouteNotSupported:
		return e.HTTPStatus == http.StatusNotFound && e.notJSON
	case ErrUnauthorized:
		return e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden
	case ErrInvalidInput:
		return e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == http.StatusUnprocessableEntity
	case ErrRateLimited:
		return e.HTTPStatus == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.HTTPStatus >= 500
	}
	return false
}

// RequestError is a call that got no usable response: the connection failed,
// timed out, or was dropped.
type RequestError struct {
	Route    string
	Attempts int
	// OutcomeUnknown is set for a non-idempotent call (create) whose request
	// may have reached the server.
	OutcomeUnknown bool
	Err            error
}

func (e *RequestError) Error() string {
	if e.OutcomeUnknown {
		return fmt.Sprintf("seam: %s: outcome unknown, the request may have reached the server: %v", e.Route, e.Err)
	}
	return fmt.Sprintf("seam: %s: request failed after %d attempt(s): %v", e.Route, e.Attempts, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// Is reports ErrOutcomeUnknown for an unknown outcome and ErrUnavailable for
// every other transport failure except the caller's own cancellation.
func (e *RequestError) Is(target error) bool {
	switch target {
	case ErrOutcomeUnknown:
		return e.OutcomeUnknown
	case ErrUnavailable:
		return !e.OutcomeUnknown && !errors.Is(e.Err, errCallerGaveUp)
	}
	return false
}

// errCallerGaveUp marks a RequestError caused by the caller's context.
var errCallerGaveUp = errors.New("caller's context is done")

// IsRetryable reports whether repeating the same call later may succeed:
// rate limiting, 502/503/504, and transport failures. An unknown outcome is
// not retryable: the caller must first find out whether the write happened.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, ErrOutcomeUnknown) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return retryableStatus(apiErr.HTTPStatus)
	}
	var reqErr *RequestError
	if errors.As(err, &reqErr) {
		return !errors.Is(reqErr.Err, errCallerGaveUp)
	}
	return false
}

// RetryAfter returns the server's Retry-After for err, if it sent one, or how
// long a deferred call would have waited.
func RetryAfter(err error) (time.Duration, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return apiErr.RetryAfter, true
	}
	var deferred *DeferredError
	if errors.As(err, &deferred) {
		return deferred.Wait, true
	}
	return 0, false
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// newAPIError builds an APIError from a non-2xx response body. Only Seam's JSON error
// shape is read: any other body (a proxy's page, another service's answer) is left
// out, so what a server that is not Seam says never reaches a condition or an event.
func newAPIError(route string, resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{
		Route:      route,
		HTTPStatus: resp.StatusCode,
		RequestID:  resp.Header.Get("seam-request-id"),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Seam does not redirect; following one would carry the API key elsewhere.
		// The Location is left out for the same reason as a foreign body.
		e.notJSON = true
		e.Message = "redirects are not followed"
		return e
	}
	seamErr, ok := parseSeamError(body)
	if !ok {
		e.notJSON = true
		return e
	}
	e.Type = seamErr.Type
	e.Message = seamErr.Message
	e.ValidationErrors = flattenValidationErrors(seamErr.ValidationErrors)
	return e
}

// seamError is the "error" object of Seam's error responses.
type seamError struct {
	Type             string          `json:"type"`
	Message          string          `json:"message"`
	ValidationErrors json.RawMessage `json:"validation_errors"`
}

// parseSeamError reads Seam's {"error": {"type": ..., "message": ...}} shape; ok is
// false for any other body.
func parseSeamError(body []byte) (*seamError, bool) {
	var envelope struct {
		Error *seamError `json:"error"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &envelope) != nil || envelope.Error == nil {
		return nil, false
	}
	return envelope.Error, true
}

// secretLike matches "password=...", "token: ..." and the like in a foreign body.
var secretLike = regexp.MustCompile(`(?i)(pass(word|wd)?|secret|token|api[_-]?key|auth[a-z]*|credential[a-z]*|bearer)(["']?\s*[=:]\s*["']?|\s+)[^\s"',;&]+`)

// bodyExcerpt is a short, single-line, redacted prefix of a body that is not Seam's
// error shape, for debug logs only: enough to recognise a proxy's error page, with
// anything that looks like a credential masked.
func bodyExcerpt(body string) string {
	const limit = 80
	s := strings.Join(strings.Fields(body), " ")
	s = secretLike.ReplaceAllString(s, "${1}=[redacted]")
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}

// flattenValidationErrors turns Seam's validation_errors into a flat map.
//
// Seam (and its fake) send zod's "format" shape, nested by field:
//
//	{"_errors": [], "access_schedule": {"_errors": [], "ends_at": {"_errors": ["Required"]}}}
//
// zod's "flatten" shape ({"formErrors": [...], "fieldErrors": {"f": [...]}}) and
// a plain {"f": ["msg"]} map are accepted too.
func flattenValidationErrors(raw json.RawMessage) map[string][]string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	out := map[string][]string{}
	walkValidationErrors("", v, out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func walkValidationErrors(path string, v any, out map[string][]string) {
	switch t := v.(type) {
	case []any:
		for _, item := range t {
			if s, ok := item.(string); ok {
				out[path] = append(out[path], s)
			}
		}
	case string:
		out[path] = append(out[path], t)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch k {
			case "_errors", "formErrors":
				walkValidationErrors(path, t[k], out)
			case "fieldErrors":
				walkValidationErrors(path, t[k], out)
			default:
				walkValidationErrors(joinPath(path, k), t[k], out)
			}
		}
	}
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// MaxRetryAfter caps the server's Retry-After: a misconfigured proxy answering
// "Retry-After: 86400" must not stop every write (revocations included) of a
// connection for a day. After the cap the client asks again; a server still
// overloaded answers 429 again.
const MaxRetryAfter = 5 * time.Minute

// parseRetryAfter accepts delta-seconds or an HTTP date (RFC 9110 §10.2.3),
// capped at MaxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	return min(parseRetryAfterUncapped(v, now), MaxRetryAfter)
}

func parseRetryAfterUncapped(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter // and no overflow of time.Duration
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func errCallerGaveUpWrap(err error) error {
	return fmt.Errorf("%w: %w", errCallerGaveUp, err)
}
