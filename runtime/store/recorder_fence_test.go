package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// A commit refused as stale is final: the buffered events are dropped,
// Flush reports ErrFenced, and nothing more is buffered or sent.
func TestRecorderFencedIsFinal(t *testing.T) {
	f := &fakeStore{fail: &store.FencedError{Fence: store.Fence{RunID: "r", Attempt: 1}, Attempt: 2}}
	r := store.NewRecorder(f, store.RecorderOptions{Interval: time.Hour})
	ctx := context.Background()
	if err := r.SetState(ctx, "r", flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	r.Log(ctx, flow.LogRecord{RunID: "r", Message: "x"})
	if err := r.Flush(ctx); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Flush = %v, want ErrFenced", err)
	}
	if err := r.SetState(ctx, "r", flow.Completed(), nil); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("SetState after fencing = %v, want ErrFenced", err)
	}
	r.Log(ctx, flow.LogRecord{RunID: "r", Message: "y"})
	if err := r.Close(); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Close = %v, want ErrFenced", err)
	}
	if got := f.states(); len(got) != 0 || f.logs != 0 {
		t.Fatalf("sent after fencing: %v, %d logs", got, f.logs)
	}
}

// The recorder attaches the fence of each call's context to its op, and
// does not fence the whole batch with the flushing caller's.
func TestRecorderAttachesFences(t *testing.T) {
	var seen []*store.Fence
	var batchFenced bool
	f := &fakeStore{opErr: func(op store.Op) error { seen = append(seen, op.Fence); return nil }}
	rs := fenceProbe{fakeStore: f, fenced: &batchFenced}
	r := store.NewRecorder(rs, store.RecorderOptions{Interval: time.Hour})
	fc := store.WithFence(context.Background(), store.Fence{RunID: "a", Worker: "w", Attempt: 3})
	if err := r.SetState(fc, "a", flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	if err := r.SetState(context.Background(), "b", flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	r.Log(fc, flow.LogRecord{RunID: "a", Message: "1"})
	r.Log(fc, flow.LogRecord{RunID: "a", Message: "2"})
	r.Log(context.Background(), flow.LogRecord{RunID: "b", Message: "plain"})
	if err := r.Flush(fc); err != nil {
		t.Fatal(err)
	}
	r.Close()
	// The two fenced records travel as one log op; the plain one apart.
	if len(seen) != 3 || seen[0] == nil || seen[0].Attempt != 3 || seen[1] != nil || seen[2] == nil || seen[2].RunID != "a" {
		t.Fatalf("op fences %+v", seen)
	}
	if ops := f.batches[0]; len(ops[2].Logs) != 2 || f.logs != 1 {
		t.Fatalf("log op %+v, %d plain logs; want 2 fenced records in one op and 1 plain", ops[2].Logs, f.logs)
	}
	if batchFenced {
		t.Fatal("the batch carried the flushing caller's fence")
	}
}

type fenceProbe struct {
	*fakeStore
	fenced *bool
}

func (p fenceProbe) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	if _, ok := store.FenceFrom(ctx); ok {
		*p.fenced = true
	}
	return p.fakeStore.Record(ctx, ops, logs)
}
