package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Approvals lists the runs waiting for input (approval gates), oldest
// first; deployment narrows to one deployment when not empty.
func (c *Client) Approvals(ctx context.Context, deployment string) ([]store.InputInfo, error) {
	v := url.Values{}
	set(v, "deployment", deployment)
	var out wire.Approvals
	_, err := c.call(ctx, http.MethodGet, v1+"/approvals", v, nil, &out, true)
	return out.Items, err
}

// RunInput returns a run's input request (key "": its oldest waiting one).
func (c *Client) RunInput(ctx context.Context, runID, key string) (store.InputInfo, error) {
	v := url.Values{}
	set(v, "key", key)
	var out store.InputInfo
	_, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(runID)+"/input", v, nil, &out, true)
	return out, err
}

// Approve answers a run's input request (key "": its oldest waiting one)
// with input, which the server checks against the request's schema.
func (c *Client) Approve(ctx context.Context, runID, key string, input json.RawMessage) (store.InputInfo, error) {
	var out store.InputInfo
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(runID)+"/approve", nil, wire.AnswerInput{Key: key, Input: input}, &out, false)
	return out, err
}

// Reject rejects a run's input request with a reason: the run ends
// Cancelled.
func (c *Client) Reject(ctx context.Context, runID, key, reason string) (store.InputInfo, error) {
	var out store.InputInfo
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(runID)+"/reject", nil, wire.AnswerInput{Key: key, Reason: reason}, &out, false)
	return out, err
}
