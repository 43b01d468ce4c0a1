package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// Hook is called when a run enters a state it was registered for. Hooks
// are plain functions of the run's record, so one notification hook serves
// every flow. A hook's error or panic is logged on the run at level ERROR
// and recorded; it never changes the run's state. Each hook runs with a
// context that is not cancelled with the run and is bounded by the
// engine's HookTimeout.
type Hook func(ctx context.Context, ev HookEvent) error

// HookEvent is what a [Hook] is told.
type HookEvent struct {
	Run   RunRecord
	State State
	// Err is the error the run ended with; nil on completion or running.
	Err error
	// Attempt is the attempt of the run's retry policy the event belongs
	// to, from 1 (on a final state: the last attempt); 0 when the run
	// ended without an attempt (a cache hit), or when the runtime calls
	// the hooks of a run whose process died. Execution is the runtime's
	// execution of the run, from 1 (0 when unknown); see [Run.Attempt].
	Attempt, Execution int
	// Input is the request of an [OnAwaitingInput] hook (nil otherwise).
	Input *InputRequest
}

// nilHook returns the error of an option adding hooks one of which is
// nil: a hook that would fail each time its state came.
func nilHook(option string, hooks []Hook) error {
	for i, h := range hooks {
		if h == nil {
			return optionError(option, fmt.Errorf("hook %d is nil", i))
		}
	}
	return nil
}

// runHooks (flowext.RunHooks) calls hooks in order for the run's state st. The task package
// calls it for task hooks; flows call it for theirs.
func (r *Run) runHooks(ctx context.Context, which string, hooks []Hook, st State, err error) {
	if len(hooks) == 0 {
		return
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.eng.HookTimeout)
	defer cancel()
	ev := HookEvent{Run: r.rec, State: st, Err: err}
	ev.Attempt, ev.Execution = r.Attempt()
	for i, h := range hooks {
		if herr := callHook(hctx, h, ev); herr != nil {
			Logger(ctx).LogAttrs(hctx, slog.LevelError, "state hook failed",
				slog.String("hook", fmt.Sprintf("%s[%d]", which, i)),
				slog.String("state", st.Name),
				slog.String("error", herr.Error()))
		}
	}
}

func callHook(ctx context.Context, h Hook, ev HookEvent) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return h(ctx, ev)
}

// StateHooker is a [Definition] whose state hooks the runtime can call
// for a flow run whose final state it recorded itself, because the run's
// process, container or worker died before the run could (a run killed,
// or out of memory, ends Crashed all the same). Every *[Flow] is one.
type StateHooker interface {
	RunStateHooks(ctx context.Context, ev HookEvent) error
}

// RunStateHooks calls the hooks the flow registered for the type of
// ev.State (OnCompletion, OnFailure for Failed and TimedOut,
// OnCancellation, OnCrashed) in order, each bounded by the engine's
// HookTimeout, as a run of the flow does when it ends. The runtime calls
// it for a flow run it ended itself; ev.Run is that run's record. It
// returns the hooks' errors and panics, joined, each naming its hook.
func (f *Flow[P, R]) RunStateHooks(ctx context.Context, ev HookEvent) error {
	var which string
	var hooks []Hook
	switch ev.State.Type {
	case TypeCompleted:
		which, hooks = "OnCompletion", f.cfg.hooks.completion
	case TypeFailed:
		which, hooks = "OnFailure", f.cfg.hooks.failure
	case TypeCancelled:
		which, hooks = "OnCancellation", f.cfg.hooks.cancellation
	case TypeCrashed:
		which, hooks = "OnCrashed", f.cfg.hooks.crashed
	}
	if len(hooks) == 0 {
		return nil
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), EngineFrom(ctx).HookTimeout)
	defer cancel()
	var errs []error
	for i, h := range hooks {
		if err := callHook(hctx, h, ev); err != nil {
			errs = append(errs, fmt.Errorf("flow %q: %s[%d] hook: %w", f.name, which, i, err))
		}
	}
	return errors.Join(errs...)
}
