package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// FollowLogs streams a flow run's log records after the cursor after
// (0: from the start) to fn, oldest first, until the run is final and
// every record was delivered; it returns the final state. A dropped
// stream is reopened where it stopped (Last-Event-ID), so fn sees each
// record once. An error from fn stops the stream and is returned.
func (c *Client) FollowLogs(ctx context.Context, runID string, after int64, fn func(store.LogEntry) error) (flow.State, error) {
	for failures := 0; ; {
		st, done, err := c.followOnce(ctx, runID, &after, fn)
		if done {
			return st, err
		}
		if ctx.Err() != nil {
			return flow.State{}, context.Cause(ctx)
		}
		if failures++; !c.opts.Retry.Allows(failures) {
			return flow.State{}, err
		}
		t := time.NewTimer(c.opts.Retry.Delay(failures))
		select {
		case <-ctx.Done():
			t.Stop()
			return flow.State{}, context.Cause(ctx)
		case <-t.C:
		}
	}
}

// followOnce reads one stream. done is false when the stream broke and
// may be reopened from *after.
func (c *Client) followOnce(ctx context.Context, runID string, after *int64, fn func(store.LogEntry) error) (st flow.State, done bool, err error) {
	path := v1 + "/runs/" + esc(runID) + "/logs/follow"
	req, err := c.newRequest(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return st, true, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if *after > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(*after, 10))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return st, false, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		err := answerError(http.MethodGet, path, resp.StatusCode, data)
		return st, !retryable(resp.StatusCode, err), err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		case line == "":
			switch event {
			case "log":
				var e store.LogEntry
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					return st, true, fmt.Errorf("GET %s: decode log record: %w", path, err)
				}
				if err := fn(e); err != nil {
					return st, true, err
				}
				*after = e.ID
			case "end":
				var a wire.StateAnswer
				if err := json.Unmarshal([]byte(data), &a); err != nil {
					return st, true, fmt.Errorf("GET %s: decode final state: %w", path, err)
				}
				return a.State, true, nil
			case "error":
				var we wire.Error
				_ = json.Unmarshal([]byte(data), &we)
				return st, false, fmt.Errorf("GET %s: server: %s", path, we.Error)
			}
			event, data = "", ""
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return st, false, fmt.Errorf("GET %s: stream: %w", path, err)
	}
	return st, false, fmt.Errorf("GET %s: stream ended before the run was final", path)
}
