package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// apiError is a Seam error response:
// {"ok": false, "error": {"type", "message", "validation_errors"?}}.
type apiError struct {
	status           int
	Type             string         `json:"type"`
	Message          string         `json:"message"`
	ValidationErrors map[string]any `json:"validation_errors,omitempty"`
}

func newError(status int, typ, msg string) *apiError {
	return &apiError{status: status, Type: typ, Message: msg}
}

func notFound(typ, msg string) *apiError { return newError(http.StatusNotFound, typ, msg) }

func badRequest(typ, msg string) *apiError { return newError(http.StatusBadRequest, typ, msg) }

var (
	errUserNotFound   = func() *apiError { return notFound("acs_user_not_found", "Access control user not found") }
	errSystemNotFound = func() *apiError { return notFound("acs_system_not_found", "Access control system not found") }
	errGroupNotFound  = func() *apiError { return notFound("acs_access_group_not_found", "Access control group not found") }
)

// errorTypeForStatus names injected errors after their status.
func errorTypeForStatus(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusBadGateway:
		return "bad_gateway"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	case http.StatusGatewayTimeout:
		return "gateway_timeout"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusNotFound:
		return "not_found"
	}
	if status >= 500 {
		return "internal_server_error"
	}
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

// response is what a handler produced, before it is written (or dropped).
type response struct {
	status int
	body   []byte
	header http.Header
}

func jsonResponse(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"ok":false,"error":{"type":"internal_server_error","message":"encoding response"}}`)
		status = http.StatusInternalServerError
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return response{status: status, body: b, header: h}
}

func okResponse(body map[string]any) response {
	if body == nil {
		body = map[string]any{}
	}
	body["ok"] = true
	return jsonResponse(http.StatusOK, body)
}

func errorResponse(e *apiError) response {
	return jsonResponse(e.status, map[string]any{"ok": false, "error": e})
}

// textResponse is for the answers Seam gives in plain text: unknown routes
// (404) and bodies that are not JSON (400).
func textResponse(status int, text string) response {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return response{status: status, body: []byte(text), header: h}
}

func (r response) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}
