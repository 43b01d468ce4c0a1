package remote_test

import (
	"context"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/remote"
	"github.com/netauto-dev/netauto/runtime/store"
)

// BenchmarkRemoteTaskRuns records trivial task runs (created, Running,
// Completed with a result) of one flow run through the API with the
// remote recorder; the timer stops after the final flush and the stored
// task runs are counted.
func BenchmarkRemoteTaskRuns(b *testing.B) {
	st, c, run := setup(b, nil)
	ctx := context.Background()
	rec := remote.NewRecorder(c, run.ID, store.RecorderOptions{})
	defer rec.Close()
	now := time.Now()
	b.ResetTimer()
	for i := range b.N {
		id := flow.NewID()
		key := "t-" + id
		_ = rec.CreateRun(ctx, &flow.RunRecord{ID: id, Kind: flow.KindTask, Name: "t", FlowRunID: run.ID, ParentID: run.ID, TaskKey: key, Created: now})
		_ = rec.SetState(ctx, id, flow.State{Type: flow.TypePending, Name: flow.NamePending, Timestamp: now}, nil)
		_ = rec.SetState(ctx, id, flow.State{Type: flow.TypeRunning, Name: flow.NameRunning, Timestamp: now}, nil)
		_ = rec.SetState(ctx, id, flow.State{Type: flow.TypeCompleted, Name: flow.NameCompleted, Timestamp: now},
			&flow.Result{FlowRunID: run.ID, TaskKey: key, Value: []byte(`1`)})
		if i%1000 == 999 {
			if err := rec.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := rec.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	trs, err := st.TaskRuns(ctx, run.ID)
	if err != nil || len(trs) != b.N {
		b.Fatalf("%d task runs stored (%v), want %d", len(trs), err, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "taskruns/s")
}
