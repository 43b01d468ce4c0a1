package flow

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
)

var errDeadline = context.DeadlineExceeded

// attemptConfig configures runAttempts; flowext.AttemptConfig is its
// public twin (same fields, converted through flow/internal/extapi).
type attemptConfig struct {
	// Label names the run in errors and messages, e.g. `task "render"`.
	Label string
	// Retry says how many times and when a failed attempt is tried again
	// (package retry); the zero Policy never retries.
	Retry retry.Policy
	// RetryIf, when set, must also return true for a failed attempt's
	// error to be retried. It narrows, never widens: errors marked with
	// [NonRetryable], panics (state Crashed: a bug, not a blip) and runs
	// whose context ended are never retried.
	RetryIf func(error) bool
	Timeout time.Duration // per attempt; 0 for none
	// Execution is the runtime's number of this execution of the run,
	// from 1: more than 1 when the run crashed before (its process or
	// worker died) and the runtime runs it again; Executions is how many
	// executions the runtime makes at most (0 when unknown). They are a
	// budget of their own, apart from Retry's: they only tell the first
	// state's message, and the policy's attempts count from 1 in every
	// execution.
	Execution, Executions int
	// Slots, when set, is called before each attempt to take the run's
	// tag concurrency slots (the run waits in its current state, Pending
	// or AwaitingRetry); they are released when the attempt ends, so a run
	// holds no slot while it waits to retry.
	Slots func(ctx context.Context) (release func(), err error)
	// OnRunning is called each time the run enters Running or Retrying.
	OnRunning func(ctx context.Context)
}

// runAttempts (flowext.Attempt) calls fn, retrying it as cfg.Retry says,
// and records on run every state but the last: Running, then for each failed attempt that
// will be retried AwaitingRetry and Retrying. It returns fn's result, the
// final state for the caller to record with finish (so that a result
// can go with it), and the run's error:
//
//   - fn returned nil: Completed.
//   - fn panicked: Crashed with the stack, and a *[PanicError].
//   - the attempt's timeout expired and fn returned an error: TimedOut and
//     a *[TimeoutError] (retried).
//   - ctx's deadline passed: TimedOut and a *[TimeoutError] (not
//     retried: the time the caller gave is spent).
//   - ctx was cancelled: Cancelled and a *[CancelledError] (not retried).
//   - otherwise: Failed and fn's error.
//
// fn gets a context that is cancelled when the attempt times out or ctx is
// cancelled; runAttempts always waits for fn to return. A function that
// ignores its context therefore delays the run's end, but an abandoned
// attempt can never apply a change after its retry has started.
func runAttempts[O any](ctx context.Context, run *Run, cfg attemptConfig, fn func(context.Context) (O, error)) (O, State, error) {
	var zero O
	if err := cfg.Retry.Validate(); err != nil {
		return zero, Failed(err.Error()), fmt.Errorf("%s: retry policy: %w", cfg.Label, err)
	}
	run.execution.Store(int64(max(cfg.Execution, 1)))
	for attempt := 1; ; attempt++ {
		release := func() {}
		if cfg.Slots != nil {
			r, err := cfg.Slots(ctx)
			if err != nil {
				st, err := stopped(ctx, cfg.Label, "waiting for a concurrency slot", err)
				return zero, st, err
			}
			release = r
		}
		st := Running()
		switch {
		case attempt > 1:
			st = Retrying(fmt.Sprintf("%s (%s retries)", attemptOf(attempt, cfg.Retry.Retries), run.rec.Kind))
		case cfg.Execution > 1 && cfg.Executions > 0:
			st = Retrying(fmt.Sprintf("run attempt %d of %d after a crash (run retries)", cfg.Execution, cfg.Executions))
		case cfg.Execution > 1 || run.State().Name == NameAwaitingRetry:
			st = Retrying(fmt.Sprintf("run attempt %d after a crash (run retries)", max(cfg.Execution, 2)))
		}
		if err := run.set(st, nil, false); err != nil {
			release()
			return zero, Crashed(err.Error(), ""), err
		}
		run.attempt.Store(int64(attempt))
		if cfg.OnRunning != nil {
			cfg.OnRunning(ctx)
		}
		out, final, err := attemptOnce(ctx, run.eng.Clock, cfg, fn)
		release()
		if final.Type != TypeFailed || !cfg.Retry.Allows(attempt) || ctx.Err() != nil || !cfg.retryable(err) {
			return out, final, err
		}
		at := run.eng.Clock.Now().Add(cfg.Retry.Delay(attempt))
		if err := run.set(AwaitingRetry(at, final.Message), nil, false); err != nil {
			return zero, Crashed(err.Error(), ""), err
		}
		if err := run.eng.Clock.Sleep(ctx, at.Sub(run.eng.Clock.Now())); err != nil || ctx.Err() != nil {
			st, err := stopped(ctx, cfg.Label, "waiting to retry", err)
			return zero, st, err
		}
	}
}

// attemptOf says which attempt a retry is: "attempt 2 of 4", or
// "attempt 2" under a policy that retries until the context ends.
func attemptOf(attempt, retries int) string {
	if retries == retry.Forever {
		return fmt.Sprintf("attempt %d", attempt)
	}
	return fmt.Sprintf("attempt %d of %d", attempt, retries+1)
}

// retryable reports whether a failed attempt's error may be retried.
func (cfg *attemptConfig) retryable(err error) bool {
	var nr *nonRetryable
	if errors.As(err, &nr) {
		return false
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return false
	}
	return cfg.RetryIf == nil || cfg.RetryIf(err)
}

// stopped is the outcome of a run whose ctx ended while it waited
// (for a slot, or to retry): the zero result, and TimedOut or Cancelled.
func stopped(ctx context.Context, label, while string, err error) (State, error) {
	if ctx.Err() == nil { // not the caller: the limiter or clock failed
		return Crashed(while+": "+err.Error(), ""), fmt.Errorf("%s: %s: %w", label, while, err)
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, context.DeadlineExceeded) {
		te := &TimeoutError{Run: label, Err: err}
		return TimedOut(fmt.Sprintf("deadline passed %s", while)), te
	}
	return Cancelled(fmt.Sprintf("cancelled %s: %v", while, cause)), &CancelledError{Run: label, Cause: cause, Err: err}
}

// attemptOnce runs fn once under the attempt's timeout, timed by clock,
// and classifies how it ended.
func attemptOnce[O any](ctx context.Context, clock Clock, cfg attemptConfig, fn func(context.Context) (O, error)) (out O, final State, err error) {
	actx := ctx
	if cfg.Timeout > 0 {
		cause := &attemptTimeout{label: cfg.Label, after: cfg.Timeout}
		if _, real := clock.(systemClock); real {
			// A real deadline, which ctx.Deadline reports to the code.
			var cancel context.CancelFunc
			actx, cancel = context.WithTimeoutCause(ctx, cfg.Timeout, cause)
			defer cancel()
		} else {
			// The engine's clock times the attempt: a fake one in a test
			// times it out when the test moves it, without waiting.
			var cancel context.CancelCauseFunc
			actx, cancel = context.WithCancelCause(ctx)
			stop := clock.AfterFunc(cfg.Timeout, func() { cancel(cause) })
			defer func() { stop(); cancel(nil) }()
		}
	}
	out, err, pe := call(actx, fn)
	switch {
	case pe != nil:
		var zero O
		return zero, Crashed(pe.Error(), pe.Stack), pe
	case err == nil:
		return out, Completed(), nil
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		if errors.Is(cause, context.DeadlineExceeded) { // the caller's deadline
			te := &TimeoutError{Run: cfg.Label, Err: err}
			return out, TimedOut(te.Error()), te
		}
		return out, Cancelled(cause.Error()), &CancelledError{Run: cfg.Label, Cause: cause, Err: err}
	case actx.Err() != nil && errors.As(context.Cause(actx), new(*attemptTimeout)):
		te := &TimeoutError{Run: cfg.Label, After: cfg.Timeout, Err: err}
		return out, TimedOut(te.Error()), te
	default:
		// Approval gates (input.go): a rejection is Cancelled, a suspended
		// wait leaves the run Paused.
		if st, ok := inputOutcome(err); ok {
			return out, st, err
		}
		return out, Failed(err.Error()), err
	}
}

// attemptTimeout is the cancellation cause of an attempt whose timeout
// expired; runs nested in it (a flow's tasks) see it as their cause.
type attemptTimeout struct {
	label string
	after time.Duration
}

func (e *attemptTimeout) Error() string {
	return fmt.Sprintf("%s attempt timed out after %s", e.label, e.after)
}

// call runs fn, turning a panic into a *PanicError.
func call[O any](ctx context.Context, fn func(context.Context) (O, error)) (out O, err error, pe *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			pe = &PanicError{Value: v, Stack: string(debug.Stack())}
		}
	}()
	out, err = fn(ctx)
	return out, err, nil
}
