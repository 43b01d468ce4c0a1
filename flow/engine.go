package flow

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// Engine is what flow and task runs execute against: where they record,
// where results are read back, how tag concurrency is limited, where logs
// also go and what time it is. Put one in a context with [WithEngine]; runs
// started from a context without one use [DefaultEngine].
//
// The zero value of every field has a default: a new unbounded
// [MemoryStore], no tag limits, no log output besides the recorder, the
// system clock.
type Engine struct {
	// Recorder receives runs, states, results and logs.
	Recorder Recorder
	// Results reads back what Recorder stored. If nil and Recorder is also
	// a ResultStore (as [MemoryStore] is), Recorder is used.
	Results ResultStore
	// Limiter enforces tag concurrency limits on task runs.
	Limiter Limiter
	// Logs receives every run log record too, e.g. a text handler on
	// stderr. Records carry run_id and flow_run_id attributes.
	Logs slog.Handler
	// Clock tells time and waits; tests inject a fake to skip retry delays.
	Clock Clock
	// HookTimeout bounds each state hook and compensation; default 1 minute.
	HookTimeout time.Duration
	// Inputs stores the input requests of [WaitForInput] and their
	// answers; without one, WaitForInput returns [ErrNoInputs].
	Inputs InputBroker
	// SuspendAfter, when positive, ends the attempt of a run that waited
	// that long in WaitForInput (a *[SuspendedError]), for a runtime that
	// resumes it once answered; 0 waits in the attempt.
	SuspendAfter time.Duration
}

// Limiter enforces concurrency limits keyed by task tags. Acquire blocks
// until every tag has a free slot (tags without a limit need none) or ctx
// is done; release gives the slots back. The task package's
// [github.com/netauto-dev/netauto/task.NewLimiter] is the in-process
// implementation; the runtime enforces limits across workers.
type Limiter interface {
	Acquire(ctx context.Context, tags []string) (release func(), err error)
}

// Clock is the engine's source of time.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, returning ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
	// AfterFunc calls f in its own goroutine once d has passed on the
	// clock, unless stop is called first; stop reports whether it
	// prevented the call. Attempt timeouts are timed with it, so a fake
	// clock times them out when moved (on [SystemClock] they are also a
	// real context deadline).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// SystemClock is the real clock.
var SystemClock Clock = systemClock{}

type engineKey struct{}

// WithEngine returns a context whose runs execute against e. Runs already
// in ctx keep the engine they started with.
func WithEngine(ctx context.Context, e *Engine) context.Context {
	return context.WithValue(ctx, engineKey{}, e.withDefaults())
}

var (
	defaultOnce   sync.Once
	defaultEngine *Engine
)

// DefaultKeepRuns is how many runs [DefaultEngine] remembers.
const DefaultKeepRuns = 10_000

// DefaultEngine is the engine of runs started from a context without one:
// an in-memory [MemoryStore] that remembers the last [DefaultKeepRuns]
// runs (so a long-lived process that forgot WithEngine does not grow
// without bound), no tag limits, the system clock. It suits scripts; a
// long-lived process should use the runtime's store.
func DefaultEngine() *Engine {
	defaultOnce.Do(func() {
		m := NewMemoryStore(KeepRuns(DefaultKeepRuns))
		defaultEngine = (&Engine{Recorder: m, Results: m}).withDefaults()
	})
	return defaultEngine
}

// EngineFrom returns the engine of ctx: the engine of the run in ctx, else
// the one set with [WithEngine], else [DefaultEngine].
func EngineFrom(ctx context.Context) *Engine {
	if r := RunFrom(ctx); r != nil {
		return r.eng
	}
	if e, ok := ctx.Value(engineKey{}).(*Engine); ok {
		return e
	}
	return DefaultEngine()
}

// withDefaults returns a copy of e with every nil field set.
func (e *Engine) withDefaults() *Engine {
	c := *e
	if c.Recorder == nil {
		m := NewMemoryStore()
		c.Recorder = m
		if c.Results == nil {
			c.Results = m
		}
	}
	if c.Results == nil {
		if rs, ok := c.Recorder.(ResultStore); ok {
			c.Results = rs
		} else {
			c.Results = noResults{}
		}
	}
	if c.Clock == nil {
		c.Clock = SystemClock
	}
	if c.HookTimeout <= 0 {
		c.HookTimeout = time.Minute
	}
	return &c
}

// slots returns a function taking tags' concurrency slots from the
// engine's Limiter, or nil when there is nothing to take.
func (e *Engine) slots(tags []string) func(context.Context) (func(), error) {
	if e.Limiter == nil || len(tags) == 0 {
		return nil
	}
	return func(ctx context.Context) (func(), error) { return e.Limiter.Acquire(ctx, tags) }
}

type noResults struct{}

func (noResults) RunResults(context.Context, string) (map[string]json.RawMessage, error) {
	return nil, nil
}

func (noResults) CachedResult(context.Context, string, time.Time) (json.RawMessage, bool, error) {
	return nil, false, nil
}
