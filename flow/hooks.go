package flow

import (
	"context"
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
}

// RunHooks calls hooks in order for the run's state st. The task package
// calls it for task hooks; flows call it for theirs.
func (r *Run) RunHooks(ctx context.Context, which string, hooks []Hook, st State, err error) {
	if len(hooks) == 0 {
		return
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.eng.HookTimeout)
	defer cancel()
	ev := HookEvent{Run: r.rec, State: st, Err: err}
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
