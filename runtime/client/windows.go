package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Windows returns the change calendars of the deployments that have one
// (deployment "" ) or of one deployment: whether a change may start now,
// the next count openings (0: the server's default) and the freezes.
func (c *Client) Windows(ctx context.Context, deployment string, count int) ([]wire.DeploymentWindows, error) {
	v := url.Values{}
	set(v, "deployment", deployment)
	if count > 0 {
		v.Set("count", strconv.Itoa(count))
	}
	var out wire.Windows
	_, err := c.call(ctx, http.MethodGet, v1+"/windows", v, nil, &out, true)
	return out.Items, err
}

// OverrideWindow lets a run waiting for its change window start at once;
// reason is required and recorded with the key's name in the run's
// history.
func (c *Client) OverrideWindow(ctx context.Context, runID, reason string) (store.FlowRun, error) {
	var out store.FlowRun
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(runID)+"/override-window", nil, wire.OverrideWindow{Reason: reason}, &out, false)
	return out, err
}
