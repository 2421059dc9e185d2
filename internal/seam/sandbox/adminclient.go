package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// AdminClient calls a sandbox running as its own process: its /_sandbox/ admin
// routes, or (with a key) its Seam API, for the harnesses (bench, chaos) that drive
// one from outside.
type AdminClient struct {
	Base string
	HTTP *http.Client
}

// Do sends body (JSON, if not nil) to path with method, authenticated with key when
// set, and decodes a 200 answer into into (if not nil). Any other status is an error.
func (a AdminClient) Do(ctx context.Context, method, path, key string, body, into any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if into == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
