package remote

import (
	"context"
	"errors"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// InputBroker is the [flow.InputBroker] of a flow run executing in a
// child process or container: approval gates' requests and timeouts go to
// the API with the run's token, and a waiting execution polls the API for
// its answer every Poll (default 1 s). The token cannot answer: answers
// come from keys allowed to (the API's approve and reject).
type InputBroker struct {
	Client *client.Client
	Poll   time.Duration
}

// RequestInput implements [flow.InputBroker].
func (b *InputBroker) RequestInput(ctx context.Context, req flow.InputRequest) (flow.InputRequest, *flow.Answer, error) {
	return b.Client.RequestInput(ctx, req)
}

// ExpireInput implements [flow.InputBroker].
func (b *InputBroker) ExpireInput(ctx context.Context, runID, key string, now time.Time) (*flow.Answer, error) {
	return b.Client.ExpireInput(ctx, runID, key, now)
}

// WaitInput implements [flow.InputBroker]; an unavailable API is waited
// out, as the store is by the in-process broker.
func (b *InputBroker) WaitInput(ctx context.Context, runID, key string) (*flow.Answer, error) {
	poll := b.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		info, err := b.Client.RunInput(ctx, runID, key)
		switch {
		case err == nil && info.Answer != nil:
			return info.Answer, nil
		case err != nil && !store.IsUnavailable(err) && !errors.Is(err, context.DeadlineExceeded):
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-t.C:
		}
	}
}
