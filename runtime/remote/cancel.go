package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/client"
)

// ErrCancelled is the cause of a context cancelled by [WatchCancel]
// because the run was asked to stop.
var ErrCancelled = errors.New("run cancelled")

// WatchCancel returns a context cancelled (with cause [ErrCancelled]) when
// the server reports run runID Cancelling or Cancelled, checked every
// interval (default 2s). An `execute` process runs its flow in it, so
// that a cancel reaches the flow even where its worker cannot signal the
// process. Failed checks are retried at the next tick: a server briefly
// unreachable does not stop the run. Call stop to end the watch.
func WatchCancel(ctx context.Context, c *client.Client, runID string, interval time.Duration) (watched context.Context, stop context.CancelFunc) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			st, err := c.RunState(ctx, runID)
			if err != nil {
				continue
			}
			if st.Type == flow.TypeCancelling || st.Type == flow.TypeCancelled {
				cancel(fmt.Errorf("%w: %s", ErrCancelled, st))
				return
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
