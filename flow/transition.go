package flow

import "fmt"

// The transition table: for each type a run can be in ("" for a run not yet
// created), the types it may move to. It is the one place where legal moves
// are defined; the engine, the runtime's store and its API all call
// [CheckTransition].
var transitions = map[StateType][]StateType{
	"":            {TypeScheduled, TypePending},
	TypeScheduled: {TypeScheduled, TypePending, TypeRunning, TypeCancelling, TypeCancelled, TypeCrashed},
	TypePending:   {TypeScheduled, TypeRunning, TypeCompleted, TypeFailed, TypeCancelling, TypeCancelled, TypeCrashed},
	TypeRunning:   {TypeScheduled, TypeCompleted, TypeFailed, TypeCancelling, TypeCancelled, TypeCrashed, TypePaused},
	// Paused → Scheduled only as Resuming (a suspended run given its
	// answer: approvals, input.go).
	TypePaused:     {TypeScheduled, TypeRunning, TypeFailed, TypeCancelling, TypeCancelled, TypeCrashed},
	TypeCancelling: {TypeCompleted, TypeFailed, TypeCancelled, TypeCrashed},
	TypeCompleted:  nil,
	TypeFailed:     {TypeScheduled},
	TypeCancelled:  nil,
	TypeCrashed:    {TypeScheduled},
}

// typeIndex numbers the types ("" is 0) for the allowed matrix.
func typeIndex(t StateType) int {
	switch t {
	case "":
		return 0
	case TypeScheduled:
		return 1
	case TypePending:
		return 2
	case TypeRunning:
		return 3
	case TypePaused:
		return 4
	case TypeCancelling:
		return 5
	case TypeCompleted:
		return 6
	case TypeFailed:
		return 7
	case TypeCancelled:
		return 8
	case TypeCrashed:
		return 9
	}
	return -1
}

// allowed is transitions as a matrix, built once: the check is on every
// state change of every run.
var allowed = func() (m [10][10]bool) {
	for from, tos := range transitions {
		for _, to := range tos {
			m[typeIndex(from)][typeIndex(to)] = true
		}
	}
	return m
}()

// TransitionError is returned for a state change the transition table
// forbids. Nothing is recorded when it is returned.
type TransitionError struct {
	From, To State
	Reason   string
}

func (e *TransitionError) Error() string {
	from := e.From.Name
	if from == "" {
		from = "(new)"
	}
	return fmt.Sprintf("illegal state transition from %s to %s: %s", from, e.To.Name, e.Reason)
}

// CheckTransition reports whether a run in state from may move to state to.
// Besides the type table, names constrain the move:
//
//   - Retrying starts only from AwaitingRetry or Pending (a claimed retry);
//   - Running starts only from Pending or Paused: a scheduled run is claimed
//     first, and a new attempt passes through AwaitingRetry;
//   - AwaitingRetry follows only a started, failed or crashed run;
//   - Late follows only Scheduled or Late, and Scheduled only a new or
//     scheduled run;
//   - Pending moves to Completed only as Cached;
//   - Resuming follows only AwaitingInput, the one Scheduled state a
//     Paused run may move to;
//   - AwaitingWindow follows only a new or scheduled run, and
//     WindowOverridden only AwaitingWindow.
func CheckTransition(from, to State) error {
	if err := to.Validate(); err != nil {
		return &TransitionError{From: from, To: to, Reason: err.Error()}
	}
	if !from.IsZero() {
		if err := from.Validate(); err != nil {
			return &TransitionError{From: from, To: to, Reason: "current " + err.Error()}
		}
	}
	if !allowed[typeIndex(from.Type)][typeIndex(to.Type)] {
		return &TransitionError{From: from, To: to, Reason: fmt.Sprintf("%s may not move to %s", typeLabel(from.Type), to.Type)}
	}
	if from.Type == TypePaused && to.Type == TypeScheduled && to.Name != NameResuming {
		return &TransitionError{From: from, To: to, Reason: "a paused run is rescheduled only as Resuming"}
	}
	switch to.Name {
	case NameRetrying:
		if from.Name != NameAwaitingRetry && from.Name != NamePending {
			return &TransitionError{From: from, To: to, Reason: "a retry starts from AwaitingRetry or Pending"}
		}
	case NameRunning:
		if from.Type != TypePending && from.Type != TypePaused {
			return &TransitionError{From: from, To: to, Reason: "a run starts from Pending or Paused"}
		}
	case NameAwaitingRetry:
		switch from.Name {
		case NameRunning, NameRetrying, NamePending, NameFailed, NameTimedOut, NameCrashed:
		default:
			return &TransitionError{From: from, To: to, Reason: "only a started or failed run awaits a retry"}
		}
	case NameLate:
		if from.Name != NameScheduled && from.Name != NameLate {
			return &TransitionError{From: from, To: to, Reason: "only a scheduled run becomes late"}
		}
	case NameResuming:
		if from.Name != NameAwaitingInput {
			return &TransitionError{From: from, To: to, Reason: "only a run awaiting input resumes"}
		}
	case NameWindowOverridden:
		if from.Name != NameAwaitingWindow {
			return &TransitionError{From: from, To: to, Reason: "only a run awaiting its change window is let through"}
		}
	case NameScheduled, NameAwaitingWindow:
		if from.Type != "" && from.Type != TypeScheduled {
			return &TransitionError{From: from, To: to, Reason: "a started run is rescheduled only as AwaitingRetry"}
		}
	case NameCompleted:
		if from.Type == TypePending {
			return &TransitionError{From: from, To: to, Reason: "a run that never ran completes only as Cached"}
		}
	}
	return nil
}

func typeLabel(t StateType) string {
	if t == "" {
		return "a new run"
	}
	return string(t)
}
