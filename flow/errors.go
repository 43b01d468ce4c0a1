package flow

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
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

// ConfigError reports a flow or task defined with a bad name, function or
// option. flow.New and task.New check everything they are given when they
// are called, at definition, and keep the first error: [Flow.Err] (and
// task's Err) report it, and every run returns it without recording
// anything. A definition is a package-level variable, so a test that
// checks Err, or a program that checks it at start-up, finds a bad option
// before a scheduled run would, hours later.
type ConfigError struct {
	Kind RunKind // KindFlow or KindTask
	Name string  // the flow's or task's name
	// Field is what is wrong: "name", "function", or the option that set
	// it ("WithTimeout", "WithRetries", "WithKey", ...).
	Field string
	Err   error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s %q: %s: %v", e.Kind, e.Name, e.Field, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// optionError (flowext.OptionError) returns the error an option of a
// flow or task returns for a bad value: a *ConfigError naming the option,
// whose Kind and Name New fills in.
func optionError(option string, err error) error {
	return &ConfigError{Field: option, Err: err}
}

// configError returns err as the *ConfigError of the flow or task named
// name: filled in if an option returned one, else naming field.
func configError(kind RunKind, name, field string, err error) *ConfigError {
	var ce *ConfigError
	if errors.As(err, &ce) {
		c := *ce
		c.Kind, c.Name = kind, name
		return &c
	}
	return &ConfigError{Kind: kind, Name: name, Field: field, Err: err}
}

// policyOption is the option that set a field of a retry.Policy.
var policyOption = map[string]string{"Retries": "WithRetries", "Backoff": "WithBackoff", "Jitter": "WithJitter"}

// validateConfig (flowext.ValidateConfig) checks a flow's or task's name,
// function, options' errors (in order) and retry policy, and returns the
// first problem as a *ConfigError, or nil.
func validateConfig(kind RunKind, name string, fn any, policy retry.Policy, errs ...error) error {
	switch {
	case strings.TrimSpace(name) == "":
		return configError(kind, name, "name", errors.New("empty"))
	case fn == nil || reflect.ValueOf(fn).IsNil():
		return configError(kind, name, "function", errors.New("nil"))
	}
	for _, err := range errs {
		if err != nil {
			return configError(kind, name, "option", err)
		}
	}
	if err := policy.Validate(); err != nil {
		var pe *retry.PolicyError
		field := "retry policy"
		if errors.As(err, &pe) && policyOption[pe.Field] != "" {
			field = policyOption[pe.Field]
		}
		return configError(kind, name, field, err)
	}
	return nil
}
