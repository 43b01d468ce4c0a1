package f5

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how often and how long to retry what is safe to retry:
// connection errors and device-busy (503) answers. 4xx answers are never
// retried. The caller's context always bounds the total time.
//
// A connection that breaks after a write was sent may have delivered it;
// retrying is still safe for AS3 (a declaration is idempotent: the repeat
// answers "no change"), while an LTM create may then answer 409 "already
// exists", which callers can treat as done.
type RetryPolicy struct {
	// InitialInterval is the first wait (default 500 ms).
	InitialInterval time.Duration
	// BackoffCoefficient multiplies the wait after each attempt (default 2).
	BackoffCoefficient float64
	// MaximumInterval caps one wait (default 30 s; AS3 suggests 2 minutes
	// for its lock, so contexts should allow a few of these).
	MaximumInterval time.Duration
	// MaximumAttempts caps attempts including the first; 0 means until the
	// context ends.
	MaximumAttempts int
}

// DefaultRetryPolicy is used when Config.Retry is the zero value.
var DefaultRetryPolicy = RetryPolicy{
	InitialInterval:    500 * time.Millisecond,
	BackoffCoefficient: 2,
	MaximumInterval:    30 * time.Second,
}

func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	if p.InitialInterval < 0 || p.MaximumInterval < 0 || p.MaximumAttempts < 0 || p.BackoffCoefficient < 0 {
		return p, errors.New("intervals, coefficient and attempts must not be negative")
	}
	if p.BackoffCoefficient != 0 && p.BackoffCoefficient < 1 {
		return p, fmt.Errorf("BackoffCoefficient %v must be at least 1", p.BackoffCoefficient)
	}
	if p.InitialInterval == 0 {
		p.InitialInterval = DefaultRetryPolicy.InitialInterval
	}
	if p.BackoffCoefficient == 0 {
		p.BackoffCoefficient = DefaultRetryPolicy.BackoffCoefficient
	}
	if p.MaximumInterval == 0 {
		p.MaximumInterval = max(DefaultRetryPolicy.MaximumInterval, p.InitialInterval)
	}
	return p, nil
}

// backoff returns the wait before attempt n+1 (n counted from 1), with
// jitter: uniformly within [d/2, d].
func (p RetryPolicy) backoff(n int) time.Duration {
	d := float64(p.InitialInterval)
	for i := 1; i < n && d < float64(p.MaximumInterval); i++ {
		d *= p.BackoffCoefficient
	}
	d = min(d, float64(p.MaximumInterval))
	half := d / 2
	return time.Duration(half + rand.Float64()*half)
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

// run calls op until it succeeds, returns a non-retryable error, the
// attempts are used up, or ctx would end before the next attempt.
func (p RetryPolicy) run(ctx context.Context, op func(attempt int) (retry bool, err error)) error {
	var prev error // the last retryable error, kept for a clearer timeout
	for attempt := 1; ; attempt++ {
		retry, err := op(attempt)
		if err != nil && prev != nil && ctx.Err() != nil {
			// The context ended during a retry: report why we were retrying.
			return &TimeoutError{Attempts: attempt, Last: prev, Ctx: ctx.Err()}
		}
		if err == nil || !retry {
			return err
		}
		prev = err
		if p.MaximumAttempts > 0 && attempt >= p.MaximumAttempts {
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		wait := p.backoff(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return &TimeoutError{Attempts: attempt, Last: err, Ctx: context.DeadlineExceeded}
		}
		if cerr := ctx.Err(); cerr != nil {
			return &TimeoutError{Attempts: attempt, Last: err, Ctx: cerr}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &TimeoutError{Attempts: attempt, Last: err, Ctx: ctx.Err()}
		case <-t.C:
		}
	}
}
