package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// CompensationError lists the compensations that failed after a flow run
// failed. The failed steps need an operator: their changes are still in
// place.
type CompensationError struct {
	FlowRunID string
	Failed    []string // run names of the failed compensations, in the order they ran
	Err       error    // the failures, joined
}

func (e *CompensationError) Error() string {
	return fmt.Sprintf("flow run %s: %d compensation(s) failed: %v", e.FlowRunID, len(e.Failed), e.Err)
}

func (e *CompensationError) Unwrap() error { return e.Err }

// compensate runs the flow run's compensations newest first, each as a
// task run of its own holding its step's tag slots, with a context that
// outlives the run's cancellation and is bounded by the engine's
// HookTimeout per step (waiting for slots included).
func (r *Run) compensate(ctx context.Context) error {
	comps := r.scope.takeCompensations()
	if len(comps) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	log := Logger(ctx)
	log.Warn("flow run did not complete; compensating completed steps", slog.Int("steps", len(comps)))
	ce := &CompensationError{FlowRunID: r.rec.ID}
	var errs []error
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		if err := r.runCompensation(ctx, c); err != nil {
			ce.Failed = append(ce.Failed, c.RunName)
			errs = append(errs, err)
			log.Error("compensation failed", slog.String("compensation", c.RunName), slog.String("error", err.Error()))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	ce.Err = errors.Join(errs...)
	return ce
}

func (r *Run) runCompensation(ctx context.Context, c compensation) error {
	tags := append([]string{"compensation"}, c.Tags...)
	ctx, run, err := startRun(ctx, RunRecord{Kind: KindTask, Name: c.Name, RunName: c.RunName, Tags: tags}, State{})
	if err != nil {
		return err
	}
	cfg := attemptConfig{
		Label: fmt.Sprintf("compensation %q", c.RunName),
		Slots: r.eng.slots(c.Tags),
	}
	// HookTimeout bounds the wait for the step's slots and the undo.
	actx, cancel := context.WithTimeout(ctx, r.eng.HookTimeout)
	defer cancel()
	_, final, err := runAttempts(actx, run, cfg, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.Fn(ctx)
	})
	return errors.Join(err, run.finish(ctx, final, nil))
}
