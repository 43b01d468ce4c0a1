package flow

import (
	"errors"
	"fmt"
	"time"
)

type nonRetryable struct{ err error }

func (e *nonRetryable) Error() string { return e.err.Error() }
func (e *nonRetryable) Unwrap() error { return e.err }

// NonRetryable marks err so that no flow or task run retries it, whatever
// its retry policy: a validation error, a rejected credential, a change
// the device refused. The error's
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
