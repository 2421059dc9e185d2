package sandbox

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Options tunes a Server.
type Options struct {
	// MutationDelay makes writes asynchronous like Seam's: they show up at
	// once as pending_mutations and change the visible fields only after this
	// delay. 0 applies writes synchronously.
	MutationDelay time.Duration
	// Latency is the initial per-call latency (a fault, changeable later).
	Latency time.Duration
	// RateLimit is a server-side token bucket per API key (the bearer token,
	// valid or not) over all its API calls, in requests per second; excess calls
	// get 429 with Retry-After. 0 disables it. Seam does not say whether it
	// limits a key or a workspace; a bucket per key lets two connections be
	// measured apart, and one shared key is still one bucket.
	RateLimit float64
	// RateLimitBurst is the bucket size; default max(1, RateLimit).
	RateLimitBurst int
	// WebhookRetryDelays is the wait before each retry of a failed webhook
	// delivery; nil is Svix's schedule (DefaultRetryDelays).
	WebhookRetryDelays []time.Duration
	// OnDeliveryAttempt, when set, is called after each webhook delivery attempt.
	OnDeliveryAttempt func(DeliveryAttempt)
}

// Server is an in-memory Seam Connect. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	mu       sync.Mutex // guards st
	st       *store
	faults   faultState
	counters counters
	audit    auditLog
	limits   keyLimits
	routes   map[string]route
	admin    *http.ServeMux
	requests atomic.Int64
	// deliveries posts events to registered webhooks.
	deliveries *deliverer
}

type route struct {
	allowGET bool
	handle   func(*call) response
}

// New returns a Server seeded with seed. Use Seed.Validate (LoadSeed does)
// to check a hand-written seed first.
func New(seed Seed, opts Options) *Server {
	s := &Server{st: newStore(seed, opts.MutationDelay), deliveries: newDeliverer(opts)}
	s.st.deliver = s.deliveries.enqueue
	s.faults.set(Faults{Latency: opts.Latency})
	if opts.RateLimit > 0 {
		burst := opts.RateLimitBurst
		if burst <= 0 {
			burst = max(1, int(math.Ceil(opts.RateLimit)))
		}
		s.limits = keyLimits{rate: rate.Limit(opts.RateLimit), burst: burst}
	}
	st := s.st
	s.routes = map[string]route{
		"/workspaces/get":                     {true, st.getWorkspace},
		"/acs/systems/get":                    {true, st.getSystem},
		"/acs/systems/list":                   {true, st.listSystems},
		"/acs/users/create":                   {false, st.createUser},
		"/acs/users/get":                      {true, st.getUser},
		"/acs/users/list":                     {true, st.listUsers},
		"/acs/users/update":                   {false, st.updateUser},
		"/acs/users/suspend":                  {false, st.setSuspended(true)},
		"/acs/users/unsuspend":                {false, st.setSuspended(false)},
		"/acs/users/delete":                   {false, st.deleteUser},
		"/acs/users/add_to_access_group":      {false, st.setMembership(true)},
		"/acs/users/remove_from_access_group": {false, st.setMembership(false)},
		"/acs/access_groups/list":             {true, st.listGroups},
		"/acs/access_groups/get":              {true, st.getGroup},
		"/acs/access_groups/list_users":       {true, st.listGroupUsers},
		"/acs/access_groups/add_user":         {false, st.setMembership(true)},
		"/acs/access_groups/remove_user":      {false, st.setMembership(false)},
		"/acs/credentials/create":             {false, st.createCredential},
		"/acs/credentials/get":                {true, st.getCredential},
		"/acs/credentials/list":               {true, st.listCredentials},
		"/acs/credentials/update":             {false, st.updateCredential},
		"/acs/credentials/delete":             {false, st.deleteCredential},
		"/events/list":                        {true, st.listEvents},
		"/webhooks/create":                    {false, st.createWebhook},
		"/webhooks/get":                       {true, st.getWebhook},
		"/webhooks/list":                      {true, st.listWebhooks},
		"/webhooks/update":                    {false, st.updateWebhook},
		"/webhooks/delete":                    {false, st.deleteWebhook},
	}
	s.admin = s.adminMux()
	return s
}

// Routes lists the API routes the sandbox serves.
func (s *Server) Routes() []string {
	out := make([]string, 0, len(s.routes))
	for r := range s.routes {
		out = append(out, r)
	}
	return out
}

// ServeHTTP serves the Seam API and, under /_sandbox/, the admin routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	path := r.URL.Path
	w.Header().Set("seam-request-id", fmt.Sprintf("sandbox_request_%d", s.requests.Add(1)))
	done := s.counters.start(path)
	resp, dropped := s.serveAPI(r, path)
	done()
	if dropped {
		s.counters.add(path, StatusDropped)
		dropConnection(w)
		return
	}
	s.counters.add(path, resp.status)
	resp.write(w)
}

// serveAPI runs one API call through faults, rate limit, parsing, auth and
// the handler. dropped means the write was committed and the connection must
// be closed without an answer.
func (s *Server) serveAPI(r *http.Request, path string) (resp response, dropped bool) {
	rt, ok := s.routes[path]
	if !ok {
		// Seam answers unknown routes with a plain-text 404, not JSON.
		return textResponse(http.StatusNotFound, "404"), false
	}
	// Read the body first: only then does net/http watch the connection and
	// cancel r.Context() when the client gives up during injected latency.
	body, readErr := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if !s.faults.delay(r.Context(), path) {
		return textResponse(http.StatusServiceUnavailable, "client went away"), false
	}
	if resp, rejected := s.faults.reject(path); rejected {
		return resp, false
	}
	if resp, limited := s.rateLimited(r); limited {
		return resp, false
	}
	if r.Method != http.MethodPost && !(rt.allowGET && r.Method == http.MethodGet) {
		return errorResponse(newError(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed")), false
	}
	var p *params
	if r.Method == http.MethodGet {
		p = parseQuery(r.URL.Query())
	} else {
		if readErr != nil {
			return textResponse(http.StatusBadRequest, "Invalid JSON"), false
		}
		if p, ok = parseBody(body); !ok {
			return textResponse(http.StatusBadRequest, "Invalid JSON"), false
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	workspaceID, authErr := s.st.authenticate(r)
	if authErr != nil {
		return errorResponse(authErr), false
	}
	now := time.Now()
	s.st.settle(now)
	c := &call{workspaceID: workspaceID, now: now, p: p, pageURL: func(q map[string]string) string {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host + path + "?" + encodeQuery(q)
	}}
	resp = rt.handle(c)
	entry, isWrite := s.auditEntry(path, p, resp, now)
	defer func() {
		if isWrite {
			entry.Answered = !dropped && resp.status < 300
			s.audit.add(entry)
		}
	}()
	// Drop or fail only calls that did their work: a refused call committed nothing.
	if resp.status < 300 {
		if status, ok := s.faults.takeFailAfterCommit(path); ok {
			return errorResponse(newError(status, errorTypeForStatus(status), "Injected error after the write was committed (sandbox)")), false
		}
	}
	return resp, resp.status < 300 && s.faults.takeDrop(path)
}

func (s *Server) rateLimited(r *http.Request) (response, bool) {
	l := s.limits.of(r.Header.Get("Authorization"))
	if l == nil {
		return response{}, false
	}
	res := l.Reserve()
	delay := res.Delay()
	if res.OK() && delay == 0 {
		return response{}, false
	}
	res.Cancel()
	resp := errorResponse(newError(http.StatusTooManyRequests, "rate_limited", "Too many requests"))
	resp.header.Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(delay.Seconds())))))
	return resp, true
}

// keyLimits are the rate limits, one token bucket per Authorization header.
type keyLimits struct {
	rate  rate.Limit // 0: no limit
	burst int
	mu    sync.Mutex
	byKey map[string]*rate.Limiter
}

// of returns the bucket of the Authorization header, or nil without a limit.
func (k *keyLimits) of(authorization string) *rate.Limiter {
	if k.rate == 0 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.byKey[authorization]
	if l == nil {
		if k.byKey == nil {
			k.byKey = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(k.rate, k.burst)
		k.byKey[authorization] = l
	}
	return l
}

// authenticate resolves the bearer token to a workspace.
func (st *store) authenticate(r *http.Request) (string, *apiError) {
	unauthorized := func(msg string) *apiError { return newError(http.StatusUnauthorized, "unauthorized", msg) }
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", unauthorized("No Authorization header")
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return "", unauthorized("Authorization header must be a Bearer token")
	}
	// Client session tokens, access tokens and JWTs are not API keys.
	switch {
	case strings.HasPrefix(token, "seam_cst"):
		return "", newError(http.StatusUnauthorized, "client_session_token_used_for_api_key", "A client session token was used instead of an API key")
	case strings.HasPrefix(token, "seam_at"):
		return "", newError(http.StatusUnauthorized, "access_token_used_for_api_key", "An access token was used instead of an API key")
	case strings.Count(token, ".") == 2:
		return "", unauthorized("A JWT was used instead of an API key")
	}
	key, ok := st.apiKeys[token]
	if !ok {
		return "", unauthorized("API Key not found")
	}
	requested := r.Header.Get("seam-workspace")
	switch {
	case key.WorkspaceID == "" && requested == "":
		return "", unauthorized("A personal access token needs the seam-workspace header")
	case key.WorkspaceID == "":
		if _, ok := st.workspaces[requested]; !ok {
			return "", unauthorized("Workspace not found or not accessible")
		}
		return requested, nil
	case requested != "" && requested != key.WorkspaceID:
		return "", unauthorized("API key does not belong to the workspace in seam-workspace")
	}
	return key.WorkspaceID, nil
}

// dropConnection closes the connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 and wrapped writers cannot hijack: abort the stream instead.
	panic(http.ErrAbortHandler)
}
