// Package flowtest helps unit-test flows and tasks: a [Harness] runs them
// against an in-memory store with a fake clock (retry delays take no
// time), and asserts on the state histories they recorded. Replace a
// task's function in a test with [task.WithStub].
//
//	h := flowtest.New(t)
//	ctx := task.WithStub(h.Context(), deploy.PushConfig, fakePush)
//	if _, err := deploy.Flow.Run(ctx, params); err != nil { ... }
//	h.AssertStates(t, h.Only(t, "push-config").ID, "Pending", "Running", "Completed")
package flowtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/task"
)

// Harness is an engine for tests and the means to inspect what it
// recorded.
type Harness struct {
	Store  *flow.MemoryStore
	Clock  *Clock
	Engine *flow.Engine
	tb     testing.TB
}

// Option configures a Harness.
type Option func(*flow.Engine) error

// WithLimits enforces tag concurrency limits, as a production engine
// would.
func WithLimits(l task.Limits) Option {
	return func(e *flow.Engine) error {
		lim, err := task.NewLimiter(l)
		if err != nil {
			return err
		}
		e.Limiter = lim
		return nil
	}
}

// New returns a Harness whose clock starts at 2026-01-01T00:00:00Z.
func New(tb testing.TB, opts ...Option) *Harness {
	tb.Helper()
	h := &Harness{
		Store: flow.NewMemoryStore(),
		Clock: NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		tb:    tb,
	}
	h.Engine = &flow.Engine{Recorder: h.Store, Clock: h.Clock}
	for _, o := range opts {
		if err := o(h.Engine); err != nil {
			tb.Fatalf("flowtest: %v", err)
		}
	}
	return h
}

// Context returns the test's context carrying the harness's engine.
func (h *Harness) Context() context.Context {
	return flow.WithEngine(h.tb.Context(), h.Engine)
}

// Runs returns the runs of the flow or task named name, in creation order.
func (h *Harness) Runs(name string) []flow.RunRecord {
	var out []flow.RunRecord
	for _, r := range h.Store.Runs() {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// Only returns the one run named name, failing the test if there is not
// exactly one.
func (h *Harness) Only(tb testing.TB, name string) flow.RunRecord {
	tb.Helper()
	runs := h.Runs(name)
	if len(runs) != 1 {
		tb.Fatalf("flowtest: %d runs named %q, want 1", len(runs), name)
	}
	return runs[0]
}

// States returns the names of a run's states, oldest first.
func (h *Harness) States(runID string) []string {
	var names []string
	for _, s := range h.Store.History(runID) {
		names = append(names, s.Name)
	}
	return names
}

// Final returns a run's last state.
func (h *Harness) Final(runID string) flow.State {
	hist := h.Store.History(runID)
	if len(hist) == 0 {
		return flow.State{}
	}
	return hist[len(hist)-1]
}

// AssertStates fails the test unless the run's state names are exactly
// names, in order.
func (h *Harness) AssertStates(tb testing.TB, runID string, names ...string) {
	tb.Helper()
	if got := h.States(runID); !slices.Equal(got, names) {
		tb.Errorf("flowtest: run %s states\n got: %s\nwant: %s", runID, strings.Join(got, " → "), strings.Join(names, " → "))
	}
}

// Children returns the runs whose parent is runID.
func (h *Harness) Children(runID string) []flow.RunRecord {
	var out []flow.RunRecord
	for _, r := range h.Store.Runs() {
		if r.ParentID == runID {
			out = append(out, r)
		}
	}
	return out
}

// Logs returns a run's log messages, or every run's for "".
func (h *Harness) Logs(runID string) []string {
	var out []string
	for _, l := range h.Store.Logs(runID) {
		out = append(out, l.Message)
	}
	return out
}

// Dump describes every recorded run and its states, for test failure
// messages.
func (h *Harness) Dump() string {
	var b strings.Builder
	for _, r := range h.Store.Runs() {
		fmt.Fprintf(&b, "%s %s %q (%s) parent=%s: %s\n", r.Kind, r.Name, r.RunName, r.ID, r.ParentID, strings.Join(h.States(r.ID), " → "))
	}
	return b.String()
}

// Clock is a fake [flow.Clock]: Sleep returns at once, moving the clock
// forward by the duration slept and remembering it.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// NewClock returns a Clock showing start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now implements [flow.Clock].
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep implements [flow.Clock]: it advances the clock by d at once,
// unless ctx is already done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return nil
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleeps returns the durations slept so far, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}
