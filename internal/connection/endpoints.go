package connection

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/acs-operator/acs-operator/internal/seam"
)

// EndpointPolicy is the set of base URLs the operator may send API keys to. It belongs
// to whoever installs the operator (the --allowed-endpoints flag), not to the tenants
// who write connections: without it, a connection could make the operator send
// requests, with a key, to any address its pod can reach.
//
// A base URL allows an endpoint with the same scheme, host and port (explicit or the
// scheme's default), and a path equal to the base's or below it at a segment boundary.
// Nothing is normalised beyond that (no DNS, no trailing dots, no percent-decoding):
// an endpoint spelt differently from its base URL is refused, never guessed.
type EndpointPolicy struct {
	mu    sync.RWMutex
	bases []baseURL
}

type baseURL struct {
	scheme, host, port string
	path               string // escaped, without a trailing slash; "" for the root
}

// ParseEndpointPolicy reads a comma-separated list of base URLs (the flag's syntax).
// Each must be an http(s) URL without user info, query or fragment.
func ParseEndpointPolicy(list string) (*EndpointPolicy, error) {
	p := &EndpointPolicy{}
	for item := range strings.SplitSeq(list, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if err := p.Allow(item); err != nil {
			return nil, err
		}
	}
	if len(p.bases) == 0 {
		return nil, errors.New("no base URL: name at least one, e.g. " + seam.DefaultEndpoint)
	}
	return p, nil
}

// DefaultEndpointPolicy allows Seam's production API only.
func DefaultEndpointPolicy() *EndpointPolicy {
	p, err := ParseEndpointPolicy(seam.DefaultEndpoint)
	if err != nil {
		panic(err) // a constant that parses
	}
	return p
}

// Allow adds a base URL. Safe for concurrent use with Allows (tests that start a
// server per case add its URL before creating the connection that uses it).
func (p *EndpointPolicy) Allow(base string) error {
	b, err := parseBase(base)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bases = append(p.bases, b)
	return nil
}

// Allows reports whether the operator may send requests to endpoint.
func (p *EndpointPolicy) Allows(endpoint string) bool {
	e, err := parseURL(endpoint)
	if err != nil || hasAmbiguousSegment(e.path) {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, b := range p.bases {
		if b.scheme == e.scheme && b.host == e.host && b.port == e.port &&
			(e.path == b.path || strings.HasPrefix(e.path, b.path+"/")) {
			return true
		}
	}
	return false
}

// String lists the base URLs in the flag's syntax.
func (p *EndpointPolicy) String() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]string, len(p.bases))
	for i, b := range p.bases {
		out[i] = b.String()
	}
	return strings.Join(out, ",")
}

func (b baseURL) String() string {
	host := b.host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if b.port != defaultPort(b.scheme) {
		host = net.JoinHostPort(b.host, b.port)
	}
	return b.scheme + "://" + host + b.path
}

// parseBase is parseURL with the checks that make a base URL unambiguous.
func parseBase(raw string) (baseURL, error) {
	b, err := parseURL(raw)
	if err != nil {
		return baseURL{}, fmt.Errorf("allowed endpoint %q: %w", raw, err)
	}
	if hasAmbiguousSegment(b.path) {
		return baseURL{}, fmt.Errorf("allowed endpoint %q: the path must not have . or .. segments or encoded slashes", raw)
	}
	return b, nil
}

// parseURL splits an absolute http(s) URL into what the policy compares.
func parseURL(raw string) (baseURL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return baseURL{}, err
	case u.Scheme != "http" && u.Scheme != "https":
		return baseURL{}, errors.New("must be an http:// or https:// URL")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return baseURL{}, errors.New("must name a host, as in https://connect.getseam.com")
	case u.User != nil:
		return baseURL{}, errors.New("must not carry user info (user@ or user:password@)")
	case u.RawQuery != "" || u.ForceQuery:
		return baseURL{}, errors.New("must not have a query")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return baseURL{}, errors.New("must not have a fragment")
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return baseURL{}, fmt.Errorf("port %q is not 1-65535", port)
	} else {
		port = strconv.Itoa(n) // ":0443" is port 443
	}
	return baseURL{
		scheme: u.Scheme,
		host:   strings.ToLower(u.Hostname()),
		port:   port,
		path:   strings.TrimRight(u.EscapedPath(), "/"),
	}, nil
}

// hasAmbiguousSegment reports a "." or ".." path segment (literal or percent-encoded)
// or an encoded slash or backslash: a server could resolve it to another path than
// the one the policy compared.
func hasAmbiguousSegment(escapedPath string) bool {
	for seg := range strings.SplitSeq(escapedPath, "/") {
		if unescaped, err := url.PathUnescape(seg); err != nil || unescaped == "." || unescaped == ".." ||
			strings.ContainsAny(unescaped, "/\\") {
			return true
		}
	}
	return false
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}
