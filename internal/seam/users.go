package seam

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// CreateUser creates an ACS user (/acs/users/create).
//
// It is not idempotent and Seam has no idempotency keys, so it is never
// retried once the request may have reached the server. In that case (timeout,
// reset or EOF after sending; a 500, 502 or 504 answer; a 2xx body that cannot
// be decoded) the error wraps ErrOutcomeUnknown: the user may exist, and the
// caller must look for it (e.g. ListUsers with a Search on the name, or by
// user identity) before creating again. It is retried only when the request
// provably never left (no connection was obtained: connection refused, dial
// timeout) or the server answered 429 or 503, which means it did not act.
func (c *Client) CreateUser(ctx context.Context, req CreateUserRequest) (*AcsUser, error) {
	var out struct {
		AcsUser *AcsUser `json:"acs_user"`
	}
	if err := c.do(ctx, "/acs/users/create", req, &out, false); err != nil {
		return nil, err
	}
	if out.AcsUser == nil {
		// The server said yes but did not say to what: the user may exist.
		return nil, &RequestError{Route: "/acs/users/create", Attempts: 1, OutcomeUnknown: true,
			Err: errors.New("response has no acs_user")}
	}
	return out.AcsUser, nil
}

// GetUser returns one user (/acs/users/get); ErrNotFound once it is deleted.
func (c *Client) GetUser(ctx context.Context, acsUserID string) (*AcsUser, error) {
	var out struct {
		AcsUser *AcsUser `json:"acs_user"`
	}
	if err := c.do(ctx, "/acs/users/get", map[string]string{"acs_user_id": acsUserID}, &out, true); err != nil {
		return nil, err
	}
	if out.AcsUser == nil {
		return nil, missingField("/acs/users/get", "acs_user")
	}
	return out.AcsUser, nil
}

// ListUsersPage returns one page of /acs/users/list. A response without
// "pagination" (the npm fake) is treated as the last page.
func (c *Client) ListUsersPage(ctx context.Context, req ListUsersRequest) (UsersPage, error) {
	var out struct {
		AcsUsers   []AcsUser   `json:"acs_users"`
		Pagination *pagination `json:"pagination"`
	}
	if err := c.do(ctx, "/acs/users/list", req.body(), &out, true); err != nil {
		return UsersPage{}, err
	}
	page := UsersPage{Users: out.AcsUsers, NextPageCursor: out.Pagination.next()}
	if page.Users == nil {
		page.Users = []AcsUser{}
	}
	page.HasNextPage = page.NextPageCursor != ""
	return page, nil
}

// ListUsers walks every page of /acs/users/list (req.Limit per page, default
// 500). On an error it yields (nil, err) once and stops. Each yielded user is
// a fresh value the caller may keep.
func (c *Client) ListUsers(ctx context.Context, req ListUsersRequest) iter.Seq2[*AcsUser, error] {
	return walkPages("/acs/users/list", req.PageCursor, func(cursor string) ([]AcsUser, string, error) {
		req.PageCursor = cursor
		page, err := c.ListUsersPage(ctx, req)
		return page.Users, page.NextPageCursor, err
	})
}

// UpdateUser changes the non-nil fields of req (/acs/users/update). Seam
// applies the change asynchronously: read the user again and watch
// PendingMutations to see it land.
func (c *Client) UpdateUser(ctx context.Context, req UpdateUserRequest) error {
	return c.do(ctx, "/acs/users/update", req, nil, true)
}

// SuspendUser suspends a user (/acs/users/suspend); repeat calls succeed.
func (c *Client) SuspendUser(ctx context.Context, acsUserID string) error {
	return c.do(ctx, "/acs/users/suspend", map[string]string{"acs_user_id": acsUserID}, nil, true)
}

// UnsuspendUser lifts a suspension (/acs/users/unsuspend); repeat calls succeed.
func (c *Client) UnsuspendUser(ctx context.Context, acsUserID string) error {
	return c.do(ctx, "/acs/users/unsuspend", map[string]string{"acs_user_id": acsUserID}, nil, true)
}

// DeleteUser deletes a user (/acs/users/delete). This invalidates the user's
// credentials: people lose access. A user already gone gives ErrNotFound.
func (c *Client) DeleteUser(ctx context.Context, acsUserID string) error {
	return c.do(ctx, "/acs/users/delete", map[string]string{"acs_user_id": acsUserID}, nil, true)
}

func missingField(route, field string) error {
	return fmt.Errorf("seam: %s: response has no %q", route, field)
}
