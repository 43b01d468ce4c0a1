package scheduler

import (
	"context"
	"log/slog"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

// resumeDueInputs makes due the runs suspended at an approval gate whose
// deadline passed ([store.Inputs.ResumeDueInputs]): resumed, their flow
// meets the timeout and ends as it says (failed or cancelled). A store
// without approval gates has nothing to do.
func (s *Scheduler) resumeDueInputs(ctx context.Context, now time.Time) {
	in, ok := store.As[store.Inputs](s.st)
	if !ok {
		return
	}
	ids, err := in.ResumeDueInputs(ctx, now)
	if err != nil {
		s.log.Error("resume runs past their input deadline", slog.String("error", err.Error()))
		return
	}
	for _, id := range ids {
		s.log.Info("input timed out; run resumes to end", slog.String("run_id", id))
	}
}
