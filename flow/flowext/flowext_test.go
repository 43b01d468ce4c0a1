package flowext_test

import (
	"context"
	"errors"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/flow/retry"
)

// Attempt hands back fn's result of any type, interfaces and nil included,
// and the engine's retries and states, through the bridge to package flow.
func TestAttemptThroughTheBridge(t *testing.T) {
	h := flowtest.New(t)
	ctx, run, err := flowext.StartRun(h.Context(), flow.RunRecord{Kind: flow.KindTask, Name: "step"})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	out, final, err := flowext.Attempt(ctx, run, flowext.AttemptConfig{Label: "step", Retry: retry.Policy{Retries: 1}},
		func(context.Context) (error, error) {
			calls++
			if calls == 1 {
				return nil, errors.New("blip")
			}
			return errors.New("a value"), nil
		})
	if err != nil || out == nil || out.Error() != "a value" || final.Type != flow.TypeCompleted || calls != 2 {
		t.Fatalf("Attempt = %v, %s, %v after %d calls", out, final.Name, err, calls)
	}
	if err := flowext.Finish(ctx, run, final, nil); err != nil {
		t.Fatal(err)
	}
	h.AssertStates(t, run.ID(), "Pending", "Running", "AwaitingRetry", "Retrying", "Completed")
	if err := flowext.SetState(ctx, run, flow.Running()); !errors.Is(err, flowext.ErrFinished) {
		t.Fatalf("SetState after Finish: %v, want ErrFinished", err)
	}

	// A panic gives the zero result, not the boxed nil of the bridge.
	_, run2, _ := flowext.StartRun(h.Context(), flow.RunRecord{Kind: flow.KindTask, Name: "p"})
	n, final, err := flowext.Attempt(ctx, run2, flowext.AttemptConfig{Label: "p"}, func(context.Context) (int, error) { panic("boom") })
	var pe *flow.PanicError
	if n != 0 || final.Type != flow.TypeCrashed || !errors.As(err, &pe) {
		t.Fatalf("Attempt of a panic = %d, %s, %v", n, final.Name, err)
	}
}

// Compensations registered through flowext run when the flow run fails,
// and Go's goroutines are waited for.
func TestCompensationAndGo(t *testing.T) {
	h := flowtest.New(t)
	var undone, went bool
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		flowext.AddCompensation(ctx, flowext.Compensation{Key: "k", Name: "undo", RunName: "undo",
			Fn: func(context.Context) error { undone = true; return nil }})
		flowext.Go(ctx, func() { went = true })
		if got := flowext.CacheKeyPrefix(ctx); got != flowext.CacheNamespace("f") || got != "flow/f/" {
			t.Errorf("CacheKeyPrefix = %q", got)
		}
		if flowext.FlowRunFrom(ctx) != flow.RunFrom(ctx) {
			t.Error("FlowRunFrom of a flow function is not its run")
		}
		return 0, errors.New("fail")
	})
	if _, err := f.Run(h.Context(), struct{}{}); err == nil {
		t.Fatal("flow did not fail")
	}
	if !undone || !went {
		t.Fatalf("compensation ran %v, goroutine ran %v", undone, went)
	}
	h.AssertStates(t, h.Only(t, "undo").ID, "Pending", "Running", "Completed")
}
