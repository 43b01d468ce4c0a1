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
	Failed    []string // compensation names, in the order they ran
	Err       error    // the failures, joined
}

func (e *CompensationError) Error() string {
	return fmt.Sprintf("flow run %s: %d compensation(s) failed: %v", e.FlowRunID, len(e.Failed), e.Err)
}

func (e *CompensationError) Unwrap() error { return e.Err }

// compensate runs the flow run's compensations in reverse order, each as
// a task run of its own, with a context that outlives the run's
// cancellation and is bounded by the engine's HookTimeout per step.
func (r *Run) compensate(ctx context.Context) error {
	s := r.scope
	s.mu.Lock()
	comps := s.compensations
	s.compensations = nil
	s.mu.Unlock()
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
			ce.Failed = append(ce.Failed, c.name)
			errs = append(errs, err)
			log.Error("compensation failed", slog.String("compensation", c.name), slog.String("error", err.Error()))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	ce.Err = errors.Join(errs...)
	return ce
}

func (r *Run) runCompensation(ctx context.Context, c compensation) error {
	ctx, run, err := startRun(ctx, RunRecord{Kind: KindTask, Name: c.name, RunName: c.runName, Tags: []string{"compensation"}}, State{})
	if err != nil {
		return err
	}
	cfg := AttemptConfig{Label: fmt.Sprintf("compensation %q", c.name), Timeout: r.eng.HookTimeout}
	_, final, err := Attempt(ctx, run, cfg, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.fn(ctx)
	})
	return errors.Join(err, run.Finish(ctx, final, nil))
}
