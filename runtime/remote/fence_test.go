package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/remote"
	"github.com/netauto-dev/netauto/runtime/store"
)

// A child whose attempt was reaped and claimed again learns it at its next
// commit: the server answers 409 (fence), the recorder stops recording,
// and nothing of the stale execution lands.
func TestStaleChildIsFenced(t *testing.T) {
	st, c, run := setup(t, nil)
	ctx := context.Background()
	rec := remote.NewRecorder(c, run.ID, store.RecorderOptions{Interval: time.Hour})
	if err := rec.SetState(ctx, run.ID, flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReapExpiredLeases(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w2", Lease: time.Minute, Now: time.Now().Add(2 * time.Hour)}); err != nil || !ok {
		t.Fatalf("reclaim: %v %v", ok, err)
	}
	if err := rec.SetState(ctx, run.ID, flow.Completed(), nil); err != nil {
		t.Fatal(err)
	}
	rec.Log(ctx, flow.LogRecord{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "late"})
	if err := rec.Flush(ctx); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Flush = %v, want ErrFenced", err)
	}
	if err := rec.SetState(ctx, run.ID, flow.Failed("x"), nil); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("SetState after fencing = %v, want ErrFenced", err)
	}
	if err := rec.Close(); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Close = %v, want ErrFenced", err)
	}
	got, err := st.GetRun(ctx, run.ID)
	if err != nil || got.State.Name != flow.NamePending || got.Attempt != 2 {
		t.Fatalf("run %+v %v, want Pending at attempt 2", got.State, err)
	}
	if logs, _, _ := st.Logs(ctx, store.LogQuery{FlowRunID: run.ID}); len(logs) != 0 {
		t.Fatalf("stale logs stored: %d", len(logs))
	}
}
