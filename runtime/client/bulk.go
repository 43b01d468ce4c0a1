package client

import (
	"context"
	"net/http"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// BulkRuns applies one action (cancel, retry, set-state) to the runs
// req selects, at most 1000 a call (the answer says Truncated when more
// matched). It is not retried: a lost answer is safe to send again
// (cancelled runs are skipped the second time), but that is the
// caller's choice.
func (c *Client) BulkRuns(ctx context.Context, req wire.BulkRuns) (wire.BulkResult, error) {
	var out wire.BulkResult
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/bulk", nil, req, &out, false)
	return out, err
}

// Secrets returns the stored secrets' names and times (never values).
func (c *Client) Secrets(ctx context.Context) ([]store.SecretInfo, error) {
	var out []store.SecretInfo
	_, err := c.call(ctx, http.MethodGet, v1+"/secrets", nil, nil, &out, true)
	return out, err
}

// PutSecret stores value under name, sealed by the server's store key.
func (c *Client) PutSecret(ctx context.Context, name string, value store.Secret) error {
	_, err := c.call(ctx, http.MethodPut, v1+"/secrets/"+esc(name), nil, wire.SecretValue{Value: value.Reveal()}, nil, true)
	return err
}

// DeleteSecret removes a secret.
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	_, err := c.call(ctx, http.MethodDelete, v1+"/secrets/"+esc(name), nil, nil, nil, true)
	return err
}

// PauseDeployment pauses (paused true) or resumes a deployment: while
// paused its schedules make no runs and its runs are not claimed.
func (c *Client) PauseDeployment(ctx context.Context, name string, paused bool) error {
	verb := "/unpause"
	if paused {
		verb = "/pause"
	}
	_, err := c.call(ctx, http.MethodPost, v1+"/deployments/"+esc(name)+verb, nil, nil, nil, true)
	return err
}
