package seam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 32 << 20

// sharedTransport is reused by every Client that does not bring its own, so
// connections are pooled across clients and calls.
var sharedTransport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
})

// Client calls Seam Connect. It is safe for concurrent use; share one Client
// per API key so the rate limiter and the Retry-After pause are shared too.
type Client struct {
	endpoint     string
	key          secret
	workspaceID  string
	http         *http.Client
	timeout      time.Duration
	maxAttempts  int
	maxRetryWait time.Duration
	limiter      Limiter
	observer     func(RequestInfo)
	log          logr.Logger
	pause        pauseGate
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("seam: Config.APIKey is required")
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("seam: Config.Endpoint %q is not an http(s) URL", endpoint)
	}
	if u.User != nil {
		return nil, errors.New("seam: Config.Endpoint must not carry credentials")
	}
	c := &Client{
		endpoint:     strings.TrimRight(u.String(), "/"),
		key:          secret{value: cfg.APIKey},
		workspaceID:  cfg.WorkspaceID,
		timeout:      cfg.Timeout,
		maxAttempts:  cfg.MaxAttempts,
		maxRetryWait: cfg.MaxRetryWait,
		limiter:      cfg.Limiter,
		observer:     cfg.Observer,
		log:          cfg.Logger,
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = defaultMaxAttempts
	}
	if c.maxRetryWait <= 0 {
		c.maxRetryWait = defaultMaxRetryWait
	}
	transport := cfg.Transport
	if transport == nil {
		transport = sharedTransport()
	}
	// No http.Client.Timeout: each attempt gets its own context deadline. Redirects
	// are never followed: Seam does not send them, and Go's client would carry the
	// Authorization header along to another port of the same host.
	c.http = &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return c, nil
}

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("seam.Client{endpoint: %s, apiKey: %s, workspaceID: %q}", c.endpoint, redacted, c.workspaceID)
}

// GoString is String (for %#v).
func (c *Client) GoString() string { return c.String() }

// Format makes every fmt verb use String.
func (c *Client) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// MarshalLog implements logr.Marshaler.
func (c *Client) MarshalLog() any { return c.String() }

// Endpoint returns the base URL the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// attempt is the outcome of one HTTP exchange.
type attempt struct {
	status  int
	header  http.Header
	body    []byte
	err     error // transport error: no (complete) response
	mayHave bool  // the request may have reached the server
}

// do POSTs in as JSON to route and decodes a 2xx body into out (if non-nil).
// Idempotent calls are retried; see the package documentation for create.
func (c *Client) do(ctx context.Context, route string, in, out any, idempotent bool) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("seam: %s: encoding request: %w", route, err)
	}
	var waited time.Duration
	for n := 1; ; n++ {
		a, err := c.send(ctx, route, payload, n)
		if err != nil {
			return err // nothing was sent: paused client or the caller gave up waiting
		}
		if a.err == nil && a.status >= 200 && a.status < 300 {
			return c.decode(route, a, out, idempotent)
		}

		final, retryAfter := c.classify(ctx, route, a, n, idempotent)
		if !IsRetryable(final) || n >= c.maxAttempts {
			return final
		}
		wait := retryAfter
		if wait <= 0 {
			wait = backoff(n)
		}
		if retryAfter > 0 {
			// Every caller sharing this Client stops until the server's time.
			c.pause.extend(time.Now().Add(retryAfter))
		}
		if waited+wait > c.maxRetryWait || !fitsDeadline(ctx, wait) || overBudget(ctx, wait) {
			return final
		}
		waited += wait
		if err := sleep(ctx, wait); err != nil {
			return final
		}
	}
}

// classify turns a failed attempt into the error to return if no retry follows,
// and the server's Retry-After. The error is never nil.
func (c *Client) classify(ctx context.Context, route string, a attempt, n int, idempotent bool) (error, time.Duration) {
	if a.err != nil {
		callerDone := ctx.Err() != nil
		cause := a.err
		if callerDone {
			cause = fmt.Errorf("%w: %w", errCallerGaveUp, ctx.Err())
		}
		cause = scrubbedError{msg: c.key.scrub(cause.Error()), err: cause}
		reqErr := &RequestError{Route: route, Attempts: n, Err: cause}
		if !idempotent && a.mayHave {
			reqErr.OutcomeUnknown = true
		}
		return reqErr, 0
	}
	apiErr := newAPIError(route, &http.Response{StatusCode: a.status, Header: a.header}, a.body, time.Now())
	apiErr.Message = c.key.scrub(apiErr.Message)
	if !idempotent && a.status >= 500 {
		// Any 5xx on a create: the server (or the one behind a gateway, or a
		// server that committed and then failed to answer) may have made the user.
		// 503 included: a proxy in front of Seam answers 503 for a backend that
		// timed out after committing.
		return &RequestError{Route: route, Attempts: n, OutcomeUnknown: true, Err: apiErr}, 0
	}
	return apiErr, apiErr.RetryAfter
}

// decode reads a 2xx body. For a create, a body we cannot read means the user
// probably exists but we do not know its id: that is an unknown outcome too.
func (c *Client) decode(route string, a attempt, out any, idempotent bool) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		err = fmt.Errorf("decoding %d response: %w", a.status, err)
		if !idempotent {
			return &RequestError{Route: route, Attempts: 1, OutcomeUnknown: true, Err: err}
		}
		return fmt.Errorf("seam: %s: %w", route, err)
	}
	return nil
}

// send performs one attempt: wait for the client-wide pause and the limiter,
// then one HTTP exchange under the per-attempt timeout. A non-nil error means
// nothing was sent.
func (c *Client) send(ctx context.Context, route string, payload []byte, n int) (attempt, error) {
	waitStart := time.Now()
	if err := c.pause.wait(ctx, route, c.maxRetryWait); err != nil {
		c.observe(RequestInfo{Route: route, Attempt: n, RateLimitWait: time.Since(waitStart), Err: err})
		return attempt{}, err
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			var deferred *DeferredError
			if errors.As(err, &deferred) {
				deferred.Route = route // the limiter does not know it
			} else {
				err = &RequestError{Route: route, Attempts: n, Err: fmt.Errorf("%w: waiting for rate limiter: %w", errCallerGaveUp, err)}
			}
			c.observe(RequestInfo{Route: route, Attempt: n, RateLimitWait: time.Since(waitStart), Err: err})
			return attempt{}, err
		}
	}
	rateWait := time.Since(waitStart)

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// Before GotConn nothing can have been written, so the server cannot have
	// acted: that is what makes a create safe to retry after a dial error.
	var gotConn atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint+route, bytes.NewReader(payload))
	if err != nil {
		return attempt{}, fmt.Errorf("seam: %s: building request: %w", route, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key.value)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "acs-operator-seam-client")
	if c.workspaceID != "" {
		req.Header.Set("seam-workspace", c.workspaceID)
	}

	start := time.Now()
	a := attempt{}
	resp, err := c.http.Do(req)
	if err == nil {
		a.status, a.header = resp.StatusCode, resp.Header
		a.body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		_ = resp.Body.Close()
	}
	if err != nil {
		a.err = err
		a.status = 0
	}
	a.mayHave = gotConn.Load()
	dur := time.Since(start)

	requestID := ""
	if a.header != nil {
		requestID = a.header.Get("seam-request-id")
	}
	var errText string
	if a.err != nil {
		errText = c.key.scrub(a.err.Error())
	}
	kv := []any{"route", route, "attempt", n, "status", a.status,
		"durationMs", dur.Milliseconds(), "rateLimitWaitMs", rateWait.Milliseconds(),
		"seamRequestID", requestID, "transportError", errText}
	if _, isSeam := parseSeamError(a.body); a.status >= 300 && !isSeam {
		// Scrubbed before it is cut, so a key split by the cut cannot survive.
		kv = append(kv, "bodyExcerpt", bodyExcerpt(c.key.scrub(string(a.body))))
	}
	c.log.V(1).Info("seam call", kv...)
	info := RequestInfo{Route: route, Status: a.status, Duration: dur, Attempt: n, RateLimitWait: rateWait}
	if a.err != nil {
		info.Err = scrubbedError{msg: errText, err: a.err}
	} else if a.status >= 300 {
		info.Err = fmt.Errorf("seam: %s: HTTP %d", route, a.status)
	}
	c.observe(info)
	if fb, ok := c.limiter.(RateFeedback); ok && a.err == nil {
		switch {
		case a.status == http.StatusTooManyRequests:
			retryAfter := parseRetryAfter(a.header.Get("Retry-After"), time.Now())
			if p, ok := c.limiter.(pacer); fb.Throttled(retryAfter) && ok {
				// A 429 that starts a pause of the whole connection is worth a
				// line, with what the limiter goes on at (the configured limit
				// is too high); the 429s of calls sent before it say the same.
				pace := p.Pace()
				c.log.Info("Seam throttled the connection", "route", route, "retryAfterMs", retryAfter.Milliseconds(),
					"requestsPerSecondNow", round1(pace.Rate), "burstNow", round1(pace.Burst), "probing", pace.Probing,
					"sentRps", round1(pace.Sent), "measuredRps", round1(pace.Measured), "measureIsFloor", pace.Floor)
			}
		case a.status < 300:
			fb.Accepted()
		}
	}
	return a, nil
}

func (c *Client) observe(info RequestInfo) {
	if c.observer != nil {
		c.observer(info)
	}
}

// scrubbedError keeps the chain of err (for errors.Is) but prints msg, which
// has had the API key removed.
type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }

// round1 rounds to a tenth, for logs.
func round1(x float64) float64 { return math.Round(x*10) / 10 }
