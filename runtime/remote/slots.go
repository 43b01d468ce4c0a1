package remote

import (
	"context"
	"time"

	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Slots is a [store.SlotLeaser] over the API for flow run RunID: the tag
// concurrency slots of a run executing in a child process or container,
// taken from the same store as every worker's, so that tag limits hold
// across in-process runs, child processes and containers alike.
type Slots struct {
	c   *client.Client
	run string
}

var _ store.SlotLeaser = (*Slots)(nil)

// NewSlots returns the slots of flow run runID through c.
func NewSlots(c *client.Client, runID string) *Slots { return &Slots{c: c, run: runID} }

// NewLimiter returns a [store.Limiter] taking the slots of flow run runID
// through c: the engine's Limiter of an `execute` process.
func NewLimiter(c *client.Client, runID string, opts store.LimiterOptions) *store.Limiter {
	return store.NewLimiter(NewSlots(c, runID), opts)
}

// TagLimits implements [store.SlotLeaser].
func (s *Slots) TagLimits(ctx context.Context) (map[string]int, error) {
	return s.c.RunTagLimits(ctx, s.run)
}

// AcquireSlots implements [store.SlotLeaser].
func (s *Slots) AcquireSlots(ctx context.Context, holder string, tags []string, until time.Time) (bool, error) {
	return s.c.AcquireRunSlots(ctx, s.run, holder, tags, time.Until(until))
}

// RenewSlots implements [store.SlotLeaser].
func (s *Slots) RenewSlots(ctx context.Context, holder string, until time.Time) error {
	return s.c.RenewRunSlots(ctx, s.run, holder, time.Until(until))
}

// ReleaseSlots implements [store.SlotLeaser].
func (s *Slots) ReleaseSlots(ctx context.Context, holder string) error {
	return s.c.ReleaseRunSlots(ctx, s.run, holder)
}
