// Package seam is a typed client for the parts of the Seam Connect API that the
// ACS operator uses: /workspaces/get, /acs/systems/*, /acs/users/* and
// /acs/access_groups/*.
//
// It deliberately imports nothing from Kubernetes so any Go program can use it.
//
// # Errors
//
// Every failure is checked with errors.Is / errors.As, never with ==:
//
//   - ErrNotFound: a 404 with a JSON error body (acs_user_not_found, ...).
//   - ErrRouteNotSupported: a 404 whose body is not JSON: the server does not
//     have the route at all (the npm fake has no /acs/access_groups/* routes).
//   - ErrUnauthorized: 401 or 403.
//   - ErrInvalidInput: 400 (and 422); APIError.ValidationErrors holds the
//     per-field messages keyed by dotted path ("access_schedule.starts_at").
//   - ErrRateLimited: 429; RetryAfter(err) reports the server's Retry-After.
//   - ErrUnavailable: 5xx, or the server could not be reached.
//   - ErrOutcomeUnknown: a create whose request may have reached the server but
//     whose response never arrived. The user may or may not exist: find it
//     (for example by listing users) before creating again.
//
// # Retries
//
// Idempotent calls (every get, list, update, suspend, unsuspend, delete, and
// access-group add/remove: Seam treats repeats of these as no-ops) are retried
// with exponential backoff and jitter on 429, 502, 503, 504 and connection
// errors, honouring Retry-After, within Config.MaxAttempts and
// Config.MaxRetryWait.
//
// CreateUser is never retried once the request may have reached the server,
// because Seam has no idempotency keys and a second create makes a second user.
// It is retried only when the request provably did not leave this process (no
// connection was ever obtained, e.g. connection refused or a dial timeout) or
// when the server answered 429 or 503, which means it did not act on the
// request. A timeout, reset or EOF after the request was sent returns an error
// wrapping ErrOutcomeUnknown.
//
// A 429 or 503 carrying Retry-After pauses the whole Client (every caller that
// shares it) until that time, so thousands of reconciles do not each discover
// the limit on their own.
//
// # Secrets and personal data
//
// The API key never appears in logs, in error strings, or in fmt/JSON/logr
// renderings of Config or Client. Request and response bodies are never logged
// (they carry names, emails and phone numbers); V(1) logs one summary line per
// attempt with the route, status, duration and seam-request-id.
package seam
