package seam_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr/funcr"

	"github.com/acs-operator/acs-operator/internal/seam"
)

// What a server that is not Seam answers must not come back to whoever wrote the
// connection: errors (which become conditions and events) carry the route and status.

func TestRedirectsAreNotFollowed(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var elsewhere atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				elsewhere.Add(1)
				_, _ = w.Write([]byte(`{"workspace":{"workspace_id":"ws_stolen","name":"stolen"}}`))
			}))
			defer other.Close()
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/internal/admin?token=abc", status)
			}))
			defer redirector.Close()
			c, err := seam.New(seam.Config{Endpoint: redirector.URL, APIKey: "seam_k"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetWorkspace(context.Background())
			var apiErr *seam.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatus != status {
				t.Fatalf("got %v, want an *APIError with status %d", err, status)
			}
			if msg := err.Error(); !strings.Contains(msg, "redirects are not followed") || strings.Contains(msg, other.URL) || strings.Contains(msg, "internal/admin") {
				t.Errorf("error %q: want the status and 'redirects are not followed', without the Location", msg)
			}
			if seam.IsRetryable(err) {
				t.Error("a redirect is retried")
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("the redirect target received %d requests", n)
			}
		})
	}
}

func TestForeignErrorBodiesAreNotEchoed(t *testing.T) {
	const body = "INTERNAL-ONLY: db_password=hunter2 token: s3cr3t\n<html>admin console</html>"
	for _, tc := range []struct {
		reason string
		status int
		body   string
	}{
		{"a 500 with plain text", 500, body},
		{"a 404 with plain text (looks like a missing route)", 404, body},
		{"a 400 with plain text", 400, body},
		{"a 503 with HTML", 503, "<html>" + body + "</html>"},
		{"JSON that is not Seam's error shape", 500, `{"detail":"` + strings.ReplaceAll(body, "\n", " ") + `"}`},
		{"a JSON array", 500, `["` + strings.ReplaceAll(body, "\n", " ") + `"]`},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			var mu sync.Mutex
			var info, debug []string
			logger := funcr.New(func(prefix, args string) {
				mu.Lock()
				defer mu.Unlock()
				debug = append(debug, args)
			}, funcr.Options{Verbosity: 1})
			infoOnly := funcr.New(func(prefix, args string) {
				mu.Lock()
				defer mu.Unlock()
				info = append(info, args)
			}, funcr.Options{Verbosity: 0})
			var errs []error
			for _, l := range []struct {
				log  *[]string
				opts func(*seam.Config)
			}{{&debug, func(c *seam.Config) { c.Logger = logger }}, {&info, func(c *seam.Config) { c.Logger = infoOnly }}} {
				cfg := seam.Config{Endpoint: srv.URL, APIKey: "seam_k", MaxAttempts: 1}
				l.opts(&cfg)
				c, err := seam.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.GetWorkspace(context.Background())
				errs = append(errs, err)
			}
			for _, err := range errs {
				var apiErr *seam.APIError
				if !errors.As(err, &apiErr) || apiErr.HTTPStatus != tc.status {
					t.Fatalf("got %v, want an *APIError with status %d", err, tc.status)
				}
				for _, leak := range []string{"INTERNAL", "password", "hunter2", "s3cr3t", "admin", "detail"} {
					if strings.Contains(err.Error(), leak) || strings.Contains(apiErr.Message, leak) {
						t.Errorf("error %q echoes the server's body (%q)", err, leak)
					}
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("/workspaces/get: HTTP %d", tc.status)) {
					t.Errorf("error %q does not name the route and status", err)
				}
			}
			if len(info) != 0 {
				t.Errorf("info-level logs: %q", info)
			}
			joined := strings.Join(debug, "\n")
			if !strings.Contains(joined, "bodyExcerpt") {
				t.Errorf("debug logs keep no excerpt: %q", joined)
			}
			for _, leak := range []string{"hunter2", "s3cr3t"} {
				if strings.Contains(joined, leak) {
					t.Errorf("debug logs show the unredacted %q: %s", leak, joined)
				}
			}
		})
	}
}

func TestSeamErrorMessagesAreStillShown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		_, _ = w.Write([]byte(`{"error":{"type":"internal_server_error","message":"Seam says sorry"}}`))
	}))
	defer srv.Close()
	c, err := seam.New(seam.Config{Endpoint: srv.URL, APIKey: "seam_k", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetWorkspace(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Seam says sorry") {
		t.Errorf("got %v, want Seam's own error.message", err)
	}
}

func TestIdsTravelInTheBodyNotThePath(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		_, _ = w.Write([]byte(`{"acs_user":{"acs_user_id":"u"}}`))
	}))
	defer srv.Close()
	c, err := seam.New(seam.Config{Endpoint: srv.URL, APIKey: "seam_k", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetUser(context.Background(), "../../workspaces/get?x=1#")
	if len(paths) != 1 || paths[0] != "/acs/users/get" {
		t.Errorf("an id shaped like a path changed the request path: %q", paths)
	}
}
