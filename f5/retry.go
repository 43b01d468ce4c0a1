package f5

import (
	"context"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
)

// DefaultRetry is the policy of a Client whose Config.Retry is nil: retry
// until the context ends, waiting 500ms, 1s, 2s, ... up to 30s (each
// ±50%). AS3 asks to come back in 2 minutes when its device-wide lock is
// held, so a context for a declaration should allow a few minutes. New
// copies it; to change it for one client, copy it into Config.Retry.
var DefaultRetry = retry.Policy{
	Retries: retry.Forever,
	Backoff: retry.Exponential(500*time.Millisecond, 2, 30*time.Second),
	Jitter:  0.5,
}

// TimeoutError says the context ended (or would end before the next attempt)
// while the device kept answering busy or unreachable. It wraps both the
// context error and the last device error.
type TimeoutError struct {
	Attempts int
	Last     error
	Ctx      error
}

// Error says how many attempts were made, why it stopped and the last error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v; last error: %v", e.Attempts, e.Ctx, e.Last)
}

// Unwrap exposes both the context error and the last device error, so
// errors.Is(err, context.DeadlineExceeded) and errors.As(err, **Error) work.
func (e *TimeoutError) Unwrap() []error { return []error{e.Ctx, e.Last} }

// withRetries calls op until it succeeds, returns a non-retryable error,
// the client's retry policy allows no more retries, or ctx would end
// before the next attempt.
func (c *Client) withRetries(ctx context.Context, op func(attempt int) (again bool, err error)) error {
	var prev error // the last retryable error, kept for a clearer timeout
	for attempt := 1; ; attempt++ {
		again, err := op(attempt)
		if err != nil && prev != nil && ctx.Err() != nil {
			// The context ended during a retry: report why we were retrying.
			return &TimeoutError{Attempts: attempt, Last: prev, Ctx: ctx.Err()}
		}
		if err == nil || !again {
			return err
		}
		prev = err
		if !c.retry.Allows(attempt) {
			if attempt == 1 {
				return err
			}
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		wait := c.retry.Delay(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return &TimeoutError{Attempts: attempt, Last: err, Ctx: context.DeadlineExceeded}
		}
		if cerr := ctx.Err(); cerr != nil {
			return &TimeoutError{Attempts: attempt, Last: err, Ctx: cerr}
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return &TimeoutError{Attempts: attempt, Last: err, Ctx: serr}
		}
	}
}

// sleep waits d or until ctx ends, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
