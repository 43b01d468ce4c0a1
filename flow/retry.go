package flow

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// RetryPolicy says whether and when a failed attempt of a flow or task run
// is tried again. The zero value never retries.
type RetryPolicy struct {
	// Retries is how many attempts may follow the first.
	Retries int
	// Backoff gives the delay before each retry; nil retries at once.
	Backoff Backoff
	// Jitter spreads each delay uniformly over [d·(1−Jitter), d·(1+Jitter)]
	// so that many runs failing together do not retry together. 0 to 1.
	Jitter float64
	// RetryIf, when set, must return true for an error to be retried.
	// Errors marked with [NonRetryable] are never retried, and a panic
	// (state Crashed) is never retried: it is a bug, not a blip.
	RetryIf func(error) bool
}

// delay returns the wait before retry n (1 for the first retry).
func (p RetryPolicy) delay(n int) time.Duration {
	if p.Backoff == nil {
		return 0
	}
	d := p.Backoff.Delay(n)
	if p.Jitter > 0 && d > 0 {
		f := 1 + p.Jitter*(2*rand.Float64()-1)
		d = time.Duration(float64(d) * f)
	}
	return max(d, 0)
}

func (p RetryPolicy) retryable(err error) bool {
	var nr *nonRetryable
	if errors.As(err, &nr) {
		return false
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return false
	}
	return p.RetryIf == nil || p.RetryIf(err)
}

// ValidateRetryPolicy reports a policy that cannot be meant: negative
// retries, jitter outside 0..1, a backoff with a negative or zero interval.
func ValidateRetryPolicy(p RetryPolicy) error { return p.validate() }

func (p RetryPolicy) validate() error {
	if p.Retries < 0 {
		return fmt.Errorf("retries: %d is negative", p.Retries)
	}
	if p.Jitter < 0 || p.Jitter > 1 || math.IsNaN(p.Jitter) {
		return fmt.Errorf("jitter: %v is outside 0..1", p.Jitter)
	}
	if v, ok := p.Backoff.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return fmt.Errorf("backoff: %w", err)
		}
	}
	return nil
}

// Backoff computes the delay before a retry.
type Backoff interface {
	// Delay returns the wait before retry n, counting from 1.
	Delay(n int) time.Duration
}

type fixed time.Duration

func (f fixed) Delay(int) time.Duration { return time.Duration(f) }

func (f fixed) validate() error {
	if f < 0 {
		return fmt.Errorf("fixed delay %s is negative", time.Duration(f))
	}
	return nil
}

// Fixed waits d before every retry.
func Fixed(d time.Duration) Backoff { return fixed(d) }

type delays []time.Duration

func (ds delays) Delay(n int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(n, len(ds))-1]
}

func (ds delays) validate() error {
	for i, d := range ds {
		if d < 0 {
			return fmt.Errorf("delay %d (%s) is negative", i, d)
		}
	}
	return nil
}

// Delays waits ds[0] before the first retry, ds[1] before the second, and
// the last delay before every retry past the list.
func Delays(ds ...time.Duration) Backoff { return delays(ds) }

type exponential struct {
	initial     time.Duration
	coefficient float64
	maximum     time.Duration
}

func (e exponential) Delay(n int) time.Duration {
	d := float64(e.initial) * math.Pow(e.coefficient, float64(max(n, 1)-1))
	if e.maximum > 0 && d > float64(e.maximum) {
		return e.maximum
	}
	if d >= math.MaxInt64 || math.IsInf(d, 1) || math.IsNaN(d) {
		return time.Duration(math.MaxInt64) // no maximum: ~292 years, not an overflow to zero
	}
	return time.Duration(d)
}

func (e exponential) validate() error {
	switch {
	case e.initial <= 0:
		return fmt.Errorf("exponential initial interval %s: must be positive", e.initial)
	case e.coefficient < 1 || math.IsNaN(e.coefficient):
		return fmt.Errorf("exponential coefficient %v: must be at least 1", e.coefficient)
	case e.maximum < 0:
		return fmt.Errorf("exponential maximum %s: must not be negative", e.maximum)
	}
	return nil
}

// Exponential waits initial before the first retry and multiplies the wait
// by coefficient for each retry after, up to maximum (0 for no maximum):
// Temporal's InitialInterval, BackoffCoefficient and MaximumInterval.
func Exponential(initial time.Duration, coefficient float64, maximum time.Duration) Backoff {
	return exponential{initial: initial, coefficient: coefficient, maximum: maximum}
}

type nonRetryable struct{ err error }

func (e *nonRetryable) Error() string { return e.err.Error() }
func (e *nonRetryable) Unwrap() error { return e.err }

// NonRetryable marks err so that no retry policy retries it: a validation
// error, a rejected credential, a change the device refused. The error's
// text and chain are unchanged. NonRetryable(nil) is nil.
func NonRetryable(err error) error {
	if err == nil {
		return nil
	}
	return &nonRetryable{err: err}
}

// IsNonRetryable reports whether err was marked with [NonRetryable].
func IsNonRetryable(err error) bool {
	var nr *nonRetryable
	return errors.As(err, &nr)
}

// PanicError is returned by a run whose code panicked. The run's state is
// Crashed, with the panic value as message and the stack recorded.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// TimeoutError is returned by a run attempt stopped by its timeout; its
// state is TimedOut. It matches context.DeadlineExceeded with errors.Is.
type TimeoutError struct {
	// Run names the flow or task run ("task \"render\"").
	Run string
	// After is the attempt timeout that expired; 0 when the deadline was
	// the caller's.
	After time.Duration
	// Err is what the code returned when its context expired.
	Err error
}

func (e *TimeoutError) Error() string {
	if e.After == 0 {
		return fmt.Sprintf("%s: deadline exceeded: %v", e.Run, e.Err)
	}
	return fmt.Sprintf("%s timed out after %s: %v", e.Run, e.After, e.Err)
}

// Unwrap returns the code's error and context.DeadlineExceeded.
func (e *TimeoutError) Unwrap() []error { return []error{e.Err, errDeadline} }

// CancelledError is returned by a run stopped because its context was
// cancelled (by its caller, its parent flow, or the runtime). It matches
// the context's cause and the code's own error with errors.Is.
type CancelledError struct {
	Run   string
	Cause error
	Err   error
}

func (e *CancelledError) Error() string {
	return fmt.Sprintf("%s cancelled (%v): %v", e.Run, e.Cause, e.Err)
}

// Unwrap returns the cancellation cause and the code's error.
func (e *CancelledError) Unwrap() []error { return []error{e.Cause, e.Err} }
