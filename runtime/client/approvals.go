package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/netauto-dev/netauto/flow"
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

// RequestInput records a gate's request of the client's run (a flow
// binary, with its run token) and returns the stored request and answer.
func (c *Client) RequestInput(ctx context.Context, req flow.InputRequest) (flow.InputRequest, *flow.Answer, error) {
	var out wire.InputRequested
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(req.RunID)+"/inputs", nil, req, &out, true)
	return out.Request, out.Answer, err
}

// ExpireInput records that a gate timed out at now, unless answered, and
// returns the answer that stands.
func (c *Client) ExpireInput(ctx context.Context, runID, key string, now time.Time) (*flow.Answer, error) {
	var out *flow.Answer
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(runID)+"/inputs/expire", nil, wire.ExpireInput{Key: key, Now: now}, &out, true)
	return out, err
}
