package seam

import "context"

// CallForTest sends an idempotent call to any route, so tests can reach
// routes the Client has no method for (e.g. one no server has).
func CallForTest(ctx context.Context, c *Client, route string, in any) error {
	return c.do(ctx, route, in, nil, true)
}
