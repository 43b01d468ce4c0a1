package flow

import (
	"fmt"
	"time"
)

// StateType is the coarse kind of a run state. Flows and tasks share the
// same types; a state's Name refines its type (Late and AwaitingRetry are
// Scheduled, Retrying is Running, Cached is Completed, TimedOut is Failed).
type StateType string

// The state types, as Prefect 3 names them.
const (
	TypeScheduled  StateType = "SCHEDULED"
	TypePending    StateType = "PENDING"
	TypeRunning    StateType = "RUNNING"
	TypePaused     StateType = "PAUSED"
	TypeCancelling StateType = "CANCELLING"
	TypeCompleted  StateType = "COMPLETED"
	TypeFailed     StateType = "FAILED"
	TypeCancelled  StateType = "CANCELLED"
	TypeCrashed    StateType = "CRASHED"
)

// The state names. Each name belongs to exactly one type; see [NameType].
const (
	NameScheduled     = "Scheduled"
	NameLate          = "Late"
	NameAwaitingRetry = "AwaitingRetry"
	NamePending       = "Pending"
	NameRunning       = "Running"
	NameRetrying      = "Retrying"
	NamePaused        = "Paused"
	NameCancelling    = "Cancelling"
	NameCompleted     = "Completed"
	NameCached        = "Cached"
	NameFailed        = "Failed"
	NameTimedOut      = "TimedOut"
	NameCancelled     = "Cancelled"
	NameCrashed       = "Crashed"
	// NameAwaitingInput (type Paused) is a run stopped in [WaitForInput]
	// until a human answers; NameResuming (type Scheduled) is such a run,
	// suspended, that got its answer (or passed its deadline) and waits
	// for a worker to resume it. See input.go.
	NameAwaitingInput = "AwaitingInput"
	NameResuming      = "Resuming"
	// NameAwaitingWindow (type Scheduled) is a run of a deployment with a
	// change calendar held until its next change window opens (its
	// ScheduledAt), or a freeze ends; NameWindowOverridden (type
	// Scheduled) is such a run an operator let start at once, with a
	// reason. The orchestrator's store sets both (runtime/window).
	NameAwaitingWindow   = "AwaitingWindow"
	NameWindowOverridden = "WindowOverridden"
)

// NameType returns the type a state name belongs to, and false for a name
// that is not a state name.
func NameType(name string) (StateType, bool) {
	switch name {
	case NameScheduled, NameLate, NameAwaitingRetry, NameResuming, NameAwaitingWindow, NameWindowOverridden:
		return TypeScheduled, true
	case NamePending:
		return TypePending, true
	case NameRunning, NameRetrying:
		return TypeRunning, true
	case NamePaused, NameAwaitingInput:
		return TypePaused, true
	case NameCancelling:
		return TypeCancelling, true
	case NameCompleted, NameCached:
		return TypeCompleted, true
	case NameFailed, NameTimedOut:
		return TypeFailed, true
	case NameCancelled:
		return TypeCancelled, true
	case NameCrashed:
		return TypeCrashed, true
	}
	return "", false
}

// State is one entry of a run's state history.
type State struct {
	Type      StateType `json:"type"`
	Name      string    `json:"name"`
	Timestamp time.Time `json:"timestamp"`
	// Message says why the run entered the state: the error of a failed
	// attempt, the panic value of a crash, who cancelled.
	Message string `json:"message,omitempty"`
	// ScheduledAt is when a Scheduled run (including AwaitingRetry) is due.
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	// Stack is the goroutine stack of a panic, for Crashed states.
	Stack string `json:"stack,omitempty"`
}

// Final reports whether the state ends a run: Completed, Failed, Cancelled
// or Crashed. A Failed or Crashed run may still be scheduled for a retry.
func (s State) Final() bool {
	switch s.Type {
	case TypeCompleted, TypeFailed, TypeCancelled, TypeCrashed:
		return true
	}
	return false
}

// IsZero reports whether s is the zero State, the "state" of a run that has
// not been created yet.
func (s State) IsZero() bool { return s.Type == "" }

// String returns the state's name, with its message if any.
func (s State) String() string {
	if s.Message == "" {
		return s.Name
	}
	return s.Name + ": " + s.Message
}

// Validate checks that the state's name belongs to its type.
func (s State) Validate() error {
	t, ok := NameType(s.Name)
	if !ok {
		return fmt.Errorf("state name %q: unknown", s.Name)
	}
	if t != s.Type {
		return fmt.Errorf("state name %q: belongs to type %s, not %s", s.Name, t, s.Type)
	}
	return nil
}

// Scheduled is a run due at the given time.
func Scheduled(at time.Time) State {
	return State{Type: TypeScheduled, Name: NameScheduled, ScheduledAt: at}
}

// Late is a scheduled run whose time has passed without it starting.
func Late(at time.Time) State {
	return State{Type: TypeScheduled, Name: NameLate, ScheduledAt: at}
}

// AwaitingRetry is a run whose attempt failed and that will run again at.
func AwaitingRetry(at time.Time, msg string) State {
	return State{Type: TypeScheduled, Name: NameAwaitingRetry, ScheduledAt: at, Message: msg}
}

// Pending is a run that was created or claimed and has not started.
func Pending() State { return State{Type: TypePending, Name: NamePending} }

// Running is a run executing its first attempt.
func Running() State { return State{Type: TypeRunning, Name: NameRunning} }

// Retrying is a run executing an attempt after the first.
func Retrying(msg string) State { return State{Type: TypeRunning, Name: NameRetrying, Message: msg} }

// Paused is a run suspended until resumed.
func Paused(msg string) State { return State{Type: TypePaused, Name: NamePaused, Message: msg} }

// Cancelling is a run asked to stop that has not stopped yet.
func Cancelling(msg string) State {
	return State{Type: TypeCancelling, Name: NameCancelling, Message: msg}
}

// Completed is a run that returned a result.
func Completed() State { return State{Type: TypeCompleted, Name: NameCompleted} }

// Cached is a run completed with a result it did not compute: a cache hit,
// or a result reused from an earlier attempt of the same flow run.
func Cached(msg string) State { return State{Type: TypeCompleted, Name: NameCached, Message: msg} }

// Failed is a run that returned an error.
func Failed(msg string) State { return State{Type: TypeFailed, Name: NameFailed, Message: msg} }

// TimedOut is a run stopped by its timeout.
func TimedOut(msg string) State { return State{Type: TypeFailed, Name: NameTimedOut, Message: msg} }

// Cancelled is a run stopped on request.
func Cancelled(msg string) State {
	return State{Type: TypeCancelled, Name: NameCancelled, Message: msg}
}

// Crashed is a run ended by something other than its own code returning:
// a panic, a lost worker, a killed process or container.
func Crashed(msg, stack string) State {
	return State{Type: TypeCrashed, Name: NameCrashed, Message: msg, Stack: stack}
}
