package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// Seam sandbox facts the harness relies on (internal/seam/sandbox DefaultSeed).
const (
	sandboxAPIKey = "seam_sandbox_key_0123456789abcdef"
	// coldAPIKey is a second key of the same workspace: the sandbox limits each key
	// apart, as a new install's key is, so the new connection's limiter measures a
	// server bucket no other connection spends.
	coldAPIKey  = "seam_sandbox_key_cold_0123456789"
	acsSystemID = "acs_system_hq"
	// listPageSize is the page size of /acs/users/list the operator is meant to use.
	listPageSize = 500
)

var accessGroups = []string{
	"acs_access_group_hq_front_door",
	"acs_access_group_hq_staff",
	"acs_access_group_hq_gym",
	"acs_access_group_hq_parking",
}

// writeSeed writes the sandbox's demo seed with coldAPIKey added, for --seed.
func writeSeed(dir string) (string, error) {
	seed := sandbox.DefaultSeed()
	seed.APIKeys = append(seed.APIKeys, sandbox.SeedAPIKey{Key: coldAPIKey, WorkspaceID: seed.APIKeys[0].WorkspaceID})
	b, err := json.Marshal(seed)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "seam-seed.json")
	return path, os.WriteFile(path, b, 0o600)
}

// sandboxAdmin talks to the sandbox's unauthenticated /_sandbox/ routes.
type sandboxAdmin struct {
	base string // http://127.0.0.1:port
	http *http.Client
}

// calls are remote API calls by route and HTTP status.
type calls map[string]map[int]int

// counters reads the calls the sandbox received since the last reset.
func (s sandboxAdmin) counters(ctx context.Context) (calls, error) {
	var raw map[string]map[string]int
	if err := s.do(ctx, http.MethodGet, "/_sandbox/counters", &raw); err != nil {
		return nil, err
	}
	out := calls{}
	for route, byStatus := range raw {
		out[route] = map[int]int{}
		for code, n := range byStatus {
			c, err := strconv.Atoi(code)
			if err != nil {
				return nil, fmt.Errorf("counter status %q: %w", code, err)
			}
			out[route][c] = n
		}
	}
	return out, nil
}

// audit reads the write calls the sandbox committed, oldest first.
func (s sandboxAdmin) audit(ctx context.Context) ([]sandbox.AuditEntry, error) {
	var out []sandbox.AuditEntry
	err := s.do(ctx, http.MethodGet, "/_sandbox/audit", &out)
	return out, err
}

func (s sandboxAdmin) resetCounters(ctx context.Context) error {
	return s.do(ctx, http.MethodPost, "/_sandbox/counters/reset", nil)
}

func (s sandboxAdmin) do(ctx context.Context, method, path string, into any) error {
	return sandbox.AdminClient{Base: s.base, HTTP: s.http}.Do(ctx, method, path, "", nil, into)
}

// total is every call, whatever its status.
func (c calls) total() int {
	n := 0
	for _, byStatus := range c {
		n += sum(byStatus)
	}
	return n
}

// sum is a route's calls, whatever their status.
func sum(byStatus map[int]int) int {
	n := 0
	for _, v := range byStatus {
		n += v
	}
	return n
}

// byClass sums a route's calls: ok (2xx), limited (429), other.
func byClass(byStatus map[int]int) (ok, limited, other int) {
	for code, n := range byStatus {
		switch {
		case code >= 200 && code < 300:
			ok += n
		case code == http.StatusTooManyRequests:
			limited += n
		default:
			other += n
		}
	}
	return ok, limited, other
}
