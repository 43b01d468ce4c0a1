package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

// BenchmarkStoreTaskRuns measures trivial task runs persisted through the
// Recorder: b.N task runs (64 at a time, with task.Map) inside one flow
// run, each with its Pending, Running and Completed states and its result
// committed before the task returns. The timer stops after the flow's
// final flush; every task run is then counted in the store. Targets:
// ≥ 20,000/s on SQLite (a file, production settings), ≥ 10,000/s on
// PostgreSQL.
func BenchmarkStoreTaskRuns(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		s := openSQLite(b)
		benchTaskRuns(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		s := openPostgres(b)
		benchTaskRuns(b, s)
	})
}

// countingStore counts the commits a Recorder makes.
type countingStore struct {
	store.Store
	commits atomic.Int64
	busy    atomic.Int64 // nanoseconds spent in Record
}

func (c *countingStore) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	start := time.Now()
	defer func() { c.busy.Add(int64(time.Since(start))) }()
	c.commits.Add(1)
	return c.Store.Record(ctx, ops, logs)
}

func benchTaskRuns(b *testing.B, s store.Store) {
	cs := &countingStore{Store: s}
	rec := store.NewRecorder(cs, store.RecorderOptions{})
	defer rec.Close()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec})
	inc := task.New("inc", func(_ context.Context, n int) (int, error) { return n + 1, nil })
	var flowRunID string
	f := flow.New("bench", func(ctx context.Context, n int) (int, error) {
		flowRunID = flow.RunFrom(ctx).ID()
		ins := make([]int, n)
		for i := range ins {
			ins[i] = i
		}
		outs, err := task.Collect(ctx, task.Map(ctx, inc, ins, task.Concurrency(64)))
		return len(outs), err
	})
	b.ReportAllocs()
	b.ResetTimer()
	n, err := f.Run(ctx, b.N)
	b.StopTimer()
	if err != nil || n != b.N {
		b.Fatalf("flow ran %d tasks: %v", n, err)
	}
	runs, err := s.TaskRuns(context.Background(), flowRunID)
	if err != nil {
		b.Fatal(err)
	}
	completed := 0
	for _, r := range runs {
		if r.State.Type == flow.TypeCompleted && len(r.History) == 3 {
			completed++
		}
	}
	if completed != b.N {
		b.Fatalf("store holds %d completed task runs, ran %d", completed, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "taskruns/s")
	b.ReportMetric(float64(b.N)/float64(cs.commits.Load()), "taskruns/commit")
	b.ReportMetric(float64(cs.busy.Load())/float64(cs.commits.Load())/1e3, "µs/commit")
}
