package task_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/task"
)

// Flows and tasks validate their definitions alike: in New, with a
// *flow.ConfigError naming the same field for the same mistake, returned
// by every run, which records nothing.
func TestConfigErrorsAsFlowsDo(t *testing.T) {
	fn := func(context.Context, int) (int, error) { return 0, nil }
	hook := func(context.Context, flow.HookEvent) error { return nil }
	for _, tt := range []struct {
		field string
		f     *flow.Flow[int, int]
		tk    *task.Task[int, int]
	}{
		{"name", flow.New(" ", fn), task.New(" ", fn)},
		{"function", flow.New[int, int]("x", nil), task.New[int, int]("x", nil)},
		{"WithRetries", flow.New("x", fn, flow.WithRetries(-2)), task.New("x", fn, task.WithRetries(-2))},
		{"WithJitter", flow.New("x", fn, flow.WithJitter(-0.1)), task.New("x", fn, task.WithJitter(-0.1))},
		{"WithBackoff", flow.New("x", fn, flow.WithBackoff(retry.Fixed(-time.Second))), task.New("x", fn, task.WithBackoff(retry.Fixed(-time.Second)))},
		{"WithTimeout", flow.New("x", fn, flow.WithTimeout(-time.Minute)), task.New("x", fn, task.WithTimeout(-time.Minute))},
		{"WithRunName", flow.New("x", fn, flow.WithRunName("{{.")), task.New("x", fn, task.WithRunName("{{."))},
		{"OnRunning", flow.New("x", fn, flow.OnRunning(hook, nil)), task.New("x", fn, task.OnRunning(hook, nil))},
		{"OnCompletion", flow.New("x", fn, flow.OnCompletion(nil)), task.New("x", fn, task.OnCompletion(nil))},
		{"OnFailure", flow.New("x", fn, flow.OnFailure(nil)), task.New("x", fn, task.OnFailure(nil))},
	} {
		var fe, te *flow.ConfigError
		if !errors.As(tt.f.Err(), &fe) || !errors.As(tt.tk.Err(), &te) {
			t.Errorf("%s: flow error %v, task error %v: want a *flow.ConfigError from both", tt.field, tt.f.Err(), tt.tk.Err())
			continue
		}
		if fe.Field != tt.field || te.Field != tt.field || fe.Kind != flow.KindFlow || te.Kind != flow.KindTask ||
			fe.Err.Error() != te.Err.Error() {
			t.Errorf("%s: flow says %v, task says %v", tt.field, fe, te)
		}
		h := flowtest.New(t)
		if _, err := tt.tk.Run(h.Context(), 1); !errors.As(err, &te) {
			t.Errorf("%s: task Run returned %v, want its ConfigError", tt.field, err)
		}
		if _, err := tt.f.Run(h.Context(), 1); !errors.As(err, &fe) {
			t.Errorf("%s: flow Run returned %v, want its ConfigError", tt.field, err)
		}
		if runs := h.Store.Runs(); len(runs) != 0 {
			t.Errorf("%s: a badly defined flow or task recorded %d runs", tt.field, len(runs))
		}
	}
}

// A task's hooks say which attempt they belong to; a cache hit made none.
func TestTaskHookSaysWhichAttempt(t *testing.T) {
	h := flowtest.New(t)
	var attempts []int
	hook := func(_ context.Context, ev flow.HookEvent) error { attempts = append(attempts, ev.Attempt); return nil }
	tk := task.New("t", func(context.Context, int) (int, error) { return 0, errors.New("down") },
		task.WithRetries(2), task.OnRunning(hook), task.OnFailure(hook))
	if _, err := tk.Run(h.Context(), 1); err == nil {
		t.Fatal("the task did not fail")
	}
	if want := []int{1, 2, 3, 3}; !slices.Equal(attempts, want) {
		t.Fatalf("hook attempts %v, want %v", attempts, want)
	}
	attempts = nil
	cached := task.New("c", func(context.Context, int) (int, error) { return 1, nil }, task.WithCache(0), task.OnCompletion(hook))
	for range 2 {
		if _, err := cached.Run(h.Context(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int{1, 0}; !slices.Equal(attempts, want) {
		t.Fatalf("completion hook attempts %v, want %v (the cache hit made no attempt)", attempts, want)
	}
}
