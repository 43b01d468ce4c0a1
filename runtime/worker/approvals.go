package worker

import (
	"context"
	"log/slog"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// suspend ends the execution of a run its flow left Paused at an approval
// gate (flow.WaitForInput gave up waiting in the attempt): the store
// clears its lease and frees its tag slots, so that the run holds no
// worker slot while a human decides; the answer (or its deadline) makes it
// due again, and a worker resumes it. A store without approval gates
// cannot hold such a run: it is crashed as any run left unfinished.
func (w *Worker) suspend(ctx context.Context, run store.FlowRun, log *slog.Logger) {
	in, ok := store.As[store.Inputs](w.st)
	if !ok {
		if _, err := w.st.CrashRun(ctx, store.FenceOf(run), "paused awaiting input on a store without approval gates"); err != nil {
			log.Error("record crashed run", slog.String("error", err.Error()))
		}
		return
	}
	var after store.FlowRun
	if err := store.RetryUnavailable(ctx, 0, "suspend run "+run.ID, func(ctx context.Context) error {
		var err error
		after, err = in.SuspendRun(ctx, store.FenceOf(run))
		return err
	}); err != nil {
		log.Error("suspend run awaiting input", slog.String("error", err.Error()))
		return
	}
	if after.State.Name == flow.NameResuming {
		log.Info("run answered while suspending; it resumes", slog.String("state", after.State.Name))
		return
	}
	log.Info("run suspended awaiting input", slog.String("state", after.State.Name))
}
