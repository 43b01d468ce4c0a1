package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// HookRunner runs the state hooks of a flow run whose final state the
// runtime recorded itself: its process, container or worker died before
// the run could end (Crashed, or Cancelled while it was being
// cancelled), so the hooks the flow registered for that state did not
// run where it executed. run holds the final state. An error says which
// hooks failed, or that they could not run at all; the worker logs it on
// the run.
//
// [Registry] (and so [InProcess]) runs the hooks of the flows compiled in;
// the Git source launcher asks a commit's flow binary to run them
// (`hooks --run-id`).
type HookRunner interface {
	RunHooks(ctx context.Context, run store.FlowRun) error
}

// RunHooks implements [HookRunner] for the flows of the registry.
func (r *Registry) RunHooks(ctx context.Context, run store.FlowRun) error {
	def, ok := r.Lookup(run.Flow)
	if !ok {
		return &UnknownFlowError{Flow: run.Flow}
	}
	sh, ok := def.(flow.StateHooker)
	if !ok {
		return nil // a definition without hooks
	}
	return sh.RunStateHooks(ctx, run.HookEvent())
}

// RunHooks implements [HookRunner] with the launcher's registry.
func (l *InProcess) RunHooks(ctx context.Context, run store.FlowRun) error {
	return l.flows.RunHooks(ctx, run)
}

// WakeHooks makes the worker look for owed hooks now instead of at its
// next poll.
func (w *Worker) WakeHooks() {
	select {
	case w.wakeHooks <- struct{}{}:
	default:
	}
}

// hookLease is how long a worker holds owed hooks it runs: longer than
// the hooks may take (each is bounded by the engine's hook timeout).
const hookLease = 10 * time.Minute

// hooksLoop runs the hooks the runtime owes for the pool's runs, one run
// at a time, until ctx is done.
func (w *Worker) hooksLoop(ctx context.Context) {
	for {
		for ctx.Err() == nil {
			run, ok, err := w.st.ClaimHooks(ctx, store.Claim{Pool: w.opts.Pool, Worker: w.opts.Name, Lease: hookLease, Now: w.opts.Now()})
			if err != nil {
				if ctx.Err() == nil {
					w.log.Warn("look for owed hooks", slog.String("error", err.Error()))
				}
				break
			}
			if !ok {
				break
			}
			w.runHooks(ctx, run)
		}
		t := time.NewTimer(max(w.opts.Poll, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-w.wakeHooks:
			t.Stop()
		}
	}
}

// runHooks runs the hooks of one run, logs what failed on the run, and
// records them run: once, whatever the outcome, since a hook that failed
// is reported, not retried (as in the flow's own process).
func (w *Worker) runHooks(ctx context.Context, run store.FlowRun) {
	log := w.log.With(slog.String("run_id", run.ID), slog.String("state", run.State.Name))
	herr := w.opts.Hooks.RunHooks(ctx, run)
	if herr != nil {
		msg := fmt.Sprintf("%s hooks of the run failed: %v", run.State.Name, herr)
		var ue *UnknownFlowError
		if errors.As(herr, &ue) {
			msg = fmt.Sprintf("%s hooks of the run could not run: %v", run.State.Name, herr)
		}
		log.Warn(msg)
		rec := flow.LogRecord{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Level: slog.LevelError, Message: msg}
		if err := w.retry(ctx, "log hook failure", func(ctx context.Context) error { return w.st.AppendLogs(ctx, []flow.LogRecord{rec}) }); err != nil {
			log.Warn("log hook failure on the run", slog.String("error", err.Error()))
		}
	} else {
		log.Info("ran the hooks of a run the runtime ended")
	}
	if err := w.retry(ctx, "record hooks run", func(ctx context.Context) error { return w.st.HooksRun(ctx, run.ID) }); err != nil {
		log.Warn("record hooks run", slog.String("error", err.Error()))
	}
}
