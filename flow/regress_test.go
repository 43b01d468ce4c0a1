package flow_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/task"
)

// flushFailsAfterFailed fails Flush once a Failed state was recorded.
type flushFailsAfterFailed struct {
	*flow.MemoryStore
	failed atomic.Bool
}

func (r *flushFailsAfterFailed) SetState(ctx context.Context, id string, s flow.State, res *flow.Result) error {
	if s.Type == flow.TypeFailed {
		r.failed.Store(true)
	}
	return r.MemoryStore.SetState(ctx, id, s, res)
}

func (r *flushFailsAfterFailed) Flush(context.Context) error {
	if r.failed.Load() {
		return errors.New("fsync failed")
	}
	return nil
}

// A Flush error on the flow's Failed state makes execute return before
// compensating: the applied change stays, and nothing says so.
func TestFlushErrorSkipsCompensation(t *testing.T) {
	rec := &flushFailsAfterFailed{MemoryStore: flow.NewMemoryStore()}
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec})
	var undo atomic.Int32
	add := task.New("add", func(_ context.Context, s string) (string, error) { return s, nil },
		task.WithCompensation(func(context.Context, string, string) error { undo.Add(1); return nil }))
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		if _, err := add.Run(ctx, "sw1"); err != nil {
			return 0, err
		}
		return 0, errors.New("boom")
	})
	_, err := f.Run(ctx, struct{}{})
	var ce *flow.CompensationError
	if undo.Load() != 1 && !errors.As(err, &ce) {
		t.Fatalf("flush failed on the Failed state: compensations run %d, error %v (no mention of the un-rolled-back step)", undo.Load(), err)
	}
}

// A deadline on the caller's context ends the run Cancelled (OnCancellation,
// CancelledError), not TimedOut as the issue asks for a timed-out run.
func TestCallerDeadlineIsCancelledNotTimedOut(t *testing.T) {
	h := flowtest.New(t)
	ctx, cancel := context.WithTimeout(h.Context(), time.Millisecond)
	defer cancel()
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
	f.Run(ctx, struct{}{})
	if got := h.Final(h.Only(t, "f").ID); got.Name != flow.NameTimedOut {
		t.Fatalf("run stopped by a context deadline ended %s, want TimedOut", got)
	}
}

// A hook gets a context carrying the run, and flowext.SetState is public:
// yet a hook cannot move a finished run (Failed → AwaitingRetry) after the fact.
func TestHookCanChangeFinalState(t *testing.T) {
	h := flowtest.New(t)
	f := flow.New("f", func(context.Context, struct{}) (int, error) { return 0, errors.New("x") },
		flow.OnFailure(func(ctx context.Context, ev flow.HookEvent) error {
			return flowext.SetState(ctx, flow.RunFrom(ctx), flow.AwaitingRetry(time.Now(), "hook"))
		}))
	f.Run(h.Context(), struct{}{})
	if got := h.Final(h.Only(t, "f").ID); got.Name != flow.NameFailed {
		t.Fatalf("final state after an OnFailure hook: %s", got.Name)
	}
}

// errClock fails Sleep without its context being done.
type errClock struct{ *flowtest.Clock }

func (errClock) Sleep(context.Context, time.Duration) error { return errors.New("clock broken") }

// A Clock whose Sleep fails while ctx is live makes Attempt dereference a
// nil cause: a panic out of Run.
func TestClockSleepErrorPanics(t *testing.T) {
	h := flowtest.New(t)
	h.Engine.Clock = errClock{h.Clock}
	f := flow.New("f", func(context.Context, struct{}) (int, error) { return 0, errors.New("x") }, flow.WithRetries(1))
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("Run panicked: %v", v)
		}
	}()
	f.Run(h.Context(), struct{}{})
}

type withProviderField struct {
	X flow.SchemaProvider `json:"x"`
}

// A field whose type is an interface embedding SchemaProvider makes
// SchemaFor (and so Describe) panic: reflect.Zero of an interface is nil.
func TestSchemaForInterfaceProviderPanics(t *testing.T) {
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("SchemaFor panicked: %v", v)
		}
	}()
	_ = flow.SchemaFor[withProviderField]()
}
