// Package flowtest helps unit-test flows and tasks: a [Harness] runs them
// against an in-memory store with a fake clock (retry delays take no
// time), and asserts on the state histories they recorded. Replace a
// task's function in a test with [task.WithStub].
//
//	h := flowtest.New(t)
//	ctx := task.WithStub(h.Context(), deploy.PushConfig, fakePush)
//	if _, err := deploy.Flow.Run(ctx, params); err != nil { ... }
//	h.AssertStates(t, h.Only(t, "push-config").ID, "Pending", "Running", "Completed")
//
// Outside go test (a program rehearsing a flow against fakes, say),
// [NewHarness] takes a context instead of a test, and [Harness.One] and
// [Harness.CheckStates] return errors instead of failing a test.
//
// Attempt timeouts (flow.WithTimeout, task.WithTimeout) are timed by the
// harness's [Clock]: a test of a timeout moves the clock with
// [Clock.Advance] instead of waiting.
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
// recorded. [New] makes one for a Go test; [NewHarness] makes one
// anywhere else (a program that rehearses a flow, a benchmark harness of
// its own).
type Harness struct {
	Store  *flow.MemoryStore
	Clock  *Clock
	Engine *flow.Engine
	ctx    context.Context
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

// start is when the clock of a new Harness starts.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewHarness returns a Harness needing no test: its [Harness.Context]
// derives from ctx. Its clock starts at
// 2026-01-01T00:00:00Z.
func NewHarness(ctx context.Context, opts ...Option) (*Harness, error) {
	h := &Harness{
		Store: flow.NewMemoryStore(),
		Clock: NewClock(start),
		ctx:   ctx,
	}
	h.Engine = &flow.Engine{Recorder: h.Store, Clock: h.Clock}
	for _, o := range opts {
		if err := o(h.Engine); err != nil {
			return nil, fmt.Errorf("flowtest: %w", err)
		}
	}
	return h, nil
}

// New returns a Harness for the test tb, whose Context is the test's
// (cancelled when the test ends); a bad option fails the test. Its clock
// starts at 2026-01-01T00:00:00Z.
func New(tb testing.TB, opts ...Option) *Harness {
	tb.Helper()
	h, err := NewHarness(tb.Context(), opts...)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return h
}

// Context returns the harness's context (the test's, for [New]) carrying
// its engine.
func (h *Harness) Context() context.Context {
	return flow.WithEngine(h.ctx, h.Engine)
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
// exactly one. Outside a test, use [Harness.One].
func (h *Harness) Only(tb testing.TB, name string) flow.RunRecord {
	tb.Helper()
	r, err := h.One(name)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return r
}

// One returns the one run named name, or an error if there is not
// exactly one.
func (h *Harness) One(name string) (flow.RunRecord, error) {
	runs := h.Runs(name)
	if len(runs) != 1 {
		return flow.RunRecord{}, fmt.Errorf("flowtest: %d runs named %q, want 1", len(runs), name)
	}
	return runs[0], nil
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
// names, in order. Outside a test, use [Harness.CheckStates].
func (h *Harness) AssertStates(tb testing.TB, runID string, names ...string) {
	tb.Helper()
	if err := h.CheckStates(runID, names...); err != nil {
		tb.Errorf("%v", err)
	}
}

// CheckStates returns an error showing both histories unless the run's
// state names are exactly names, in order.
func (h *Harness) CheckStates(runID string, names ...string) error {
	if got := h.States(runID); !slices.Equal(got, names) {
		return fmt.Errorf("flowtest: run %s states\n got: %s\nwant: %s", runID, strings.Join(got, " → "), strings.Join(names, " → "))
	}
	return nil
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
// forward by the duration slept and remembering it, and timers
// (AfterFunc: attempt timeouts) fire when the clock is moved past their
// time, by Advance or by a Sleep. A test of a timeout therefore waits for
// nothing: it moves the clock.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	timers []*timer
}

type timer struct {
	at time.Time
	f  func()
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
// unless ctx is already done, firing the timers due by then.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	if d > 0 {
		c.Advance(d)
	}
	return nil
}

// AfterFunc implements [flow.Clock]: f runs in its own goroutine once the
// clock has been moved d past now; at once when d is not positive.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: c.now.Add(d), f: f}
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i < 0 {
			return false
		}
		c.timers = slices.Delete(c.timers, i, i+1)
		return true
	}
}

// Timers returns how many timers wait for the clock to move: a test can
// await an attempt's timeout being set before it moves the clock.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Advance moves the clock forward by d and fires the timers due by then.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*timer
	c.timers = slices.DeleteFunc(c.timers, func(t *timer) bool {
		if t.at.After(c.now) {
			return false
		}
		due = append(due, t)
		return true
	})
	c.mu.Unlock()
	for _, t := range due {
		go t.f()
	}
}

// Sleeps returns the durations slept so far, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}
