package flow

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

var errDeadline = context.DeadlineExceeded

// AttemptConfig configures [Attempt].
type AttemptConfig struct {
	// Label names the run in errors and messages, e.g. `task "render"`.
	Label   string
	Retry   RetryPolicy
	Timeout time.Duration // per attempt; 0 for none
	// Attempt is the number of the first attempt to make, counting from 1.
	// The runtime passes more than 1 when it retries a run that crashed,
	// so that the policy's retries are not granted twice.
	Attempt int
	// OnRunning is called each time the run enters Running or Retrying.
	OnRunning func(ctx context.Context)
}

// Attempt calls fn, retrying it as cfg.Retry says, and records on run
// every state but the last: Running, then for each failed attempt that
// will be retried AwaitingRetry and Retrying. It returns fn's result, the
// final state for the caller to record with [Run.Finish] (so that a result
// can go with it), and the run's error:
//
//   - fn returned nil: Completed.
//   - fn panicked: Crashed with the stack, and a *[PanicError].
//   - the attempt's timeout expired and fn returned an error: TimedOut and
//     a *[TimeoutError] (retried).
//   - ctx was cancelled: Cancelled and a *[CancelledError] (not retried).
//   - otherwise: Failed and fn's error.
//
// fn gets a context that is cancelled when the attempt times out or ctx is
// cancelled; Attempt always waits for fn to return. A function that
// ignores its context therefore delays the run's end, but an abandoned
// attempt can never apply a change after its retry has started.
func Attempt[O any](ctx context.Context, run *Run, cfg AttemptConfig, fn func(context.Context) (O, error)) (O, State, error) {
	var zero O
	if err := cfg.Retry.validate(); err != nil {
		return zero, Failed(err.Error()), fmt.Errorf("%s: retry policy: %w", cfg.Label, err)
	}
	attempt := max(cfg.Attempt, 1)
	lastAttempt := cfg.Retry.Retries + 1
	for ; ; attempt++ {
		st := Running()
		if cur := run.State(); cur.Name == NameAwaitingRetry || attempt > 1 {
			st = Retrying(fmt.Sprintf("attempt %d of %d", attempt, lastAttempt))
		}
		if err := run.set(st, nil); err != nil {
			return zero, Crashed(err.Error(), ""), err
		}
		if cfg.OnRunning != nil {
			cfg.OnRunning(ctx)
		}
		out, final, err := attemptOnce(ctx, cfg, fn)
		if final.Type != TypeFailed || attempt >= lastAttempt || ctx.Err() != nil || !cfg.Retry.retryable(err) {
			return out, final, err
		}
		at := run.eng.Clock.Now().Add(cfg.Retry.delay(attempt))
		if err := run.set(AwaitingRetry(at, final.Message), nil); err != nil {
			return zero, Crashed(err.Error(), ""), err
		}
		if err := run.eng.Clock.Sleep(ctx, at.Sub(run.eng.Clock.Now())); err != nil || ctx.Err() != nil {
			cause := context.Cause(ctx)
			return zero, Cancelled("cancelled while awaiting retry: " + cause.Error()),
				&CancelledError{Run: cfg.Label, Cause: cause, Err: err}
		}
	}
}

// attemptOnce runs fn once under the attempt's timeout and classifies how
// it ended.
func attemptOnce[O any](ctx context.Context, cfg AttemptConfig, fn func(context.Context) (O, error)) (out O, final State, err error) {
	actx := ctx
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, cfg.Timeout, errAttemptTimeout)
		defer cancel()
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
		return out, Cancelled(cause.Error()), &CancelledError{Run: cfg.Label, Cause: cause, Err: err}
	case actx.Err() != nil && errors.Is(context.Cause(actx), errAttemptTimeout):
		te := &TimeoutError{Run: cfg.Label, After: cfg.Timeout, Err: err}
		return out, TimedOut(te.Error()), te
	default:
		return out, Failed(err.Error()), err
	}
}

var errAttemptTimeout = errors.New("attempt timed out")

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
