package task_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/task"
)

func countRuns(store *flow.MemoryStore, name string, final flow.StateType) int {
	n := 0
	for _, r := range store.Runs() {
		if r.Name != name {
			continue
		}
		h := store.History(r.ID)
		if len(h) > 0 && h[len(h)-1].Type == final {
			n++
		}
	}
	return n
}

// countingStore is a MemoryStore that also counts the completed runs of
// one task (by their task keys), so a bounded store can prove every run
// was recorded with its result.
type countingStore struct {
	*flow.MemoryStore
	name      string
	completed atomic.Int64
}

func (c *countingStore) CreateRun(ctx context.Context, r *flow.RunRecord) error {
	return c.MemoryStore.CreateRun(ctx, r)
}

func (c *countingStore) SetState(ctx context.Context, id string, s flow.State, res *flow.Result) error {
	if s.Type == flow.TypeCompleted && res != nil && strings.HasPrefix(res.TaskKey, c.name+"/") {
		c.completed.Add(1)
	}
	return c.MemoryStore.SetState(ctx, id, s, res)
}

// BenchmarkTaskRun measures one trivial task run inside a flow run, with
// the in-memory recorder as DefaultEngine configures it (the last
// flow.DefaultKeepRuns runs kept): identity, three recorded states, the
// result persisted. Every run reaching the recorder Completed is counted.
// Target: ≤ 5 µs/op, ≤ 25 allocs/op.
func BenchmarkTaskRun(b *testing.B) {
	store := &countingStore{MemoryStore: flow.NewMemoryStore(flow.KeepRuns(flow.DefaultKeepRuns)), name: "inc"}
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store, Results: store.MemoryStore})
	inc := task.New("inc", func(_ context.Context, n int) (int, error) { return n + 1, nil })
	var runs int
	f := flow.New("bench", func(ctx context.Context, _ struct{}) (int, error) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := inc.Run(ctx, i); err != nil {
				return 0, err
			}
			runs++
		}
		return runs, nil
	})
	if _, err := f.Run(ctx, struct{}{}); err != nil {
		b.Fatal(err)
	}
	if got := store.completed.Load(); got != int64(runs) || runs == 0 {
		b.Fatalf("recorded %d completed task runs, ran %d", got, runs)
	}
}

// BenchmarkTaskMap10k measures 10,000 trivial task runs through Map with
// at most 64 at once. Target: ≥ 200,000 tasks/s (≤ 50 ms/op).
func BenchmarkTaskMap10k(b *testing.B) {
	const n = 10_000
	ins := make([]int, n)
	for i := range ins {
		ins[i] = i
	}
	inc := task.New("inc", func(_ context.Context, n int) (int, error) { return n + 1, nil })
	f := flow.New("bench-map", func(ctx context.Context, _ struct{}) (int, error) {
		outs, err := task.Collect(ctx, task.Map(ctx, inc, ins, task.Concurrency(64)))
		return len(outs), err
	})
	b.ReportAllocs()
	iterations := 0
	for b.Loop() {
		b.StopTimer()
		store := flow.NewMemoryStore()
		ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
		b.StartTimer()
		if got, err := f.Run(ctx, struct{}{}); err != nil || got != n {
			b.Fatalf("Map returned %d outputs, %v", got, err)
		}
		b.StopTimer()
		if got := countRuns(store, "inc", flow.TypeCompleted); got != n {
			b.Fatalf("recorded %d completed task runs, want %d", got, n)
		}
		iterations++
		b.StartTimer()
	}
	b.ReportMetric(float64(n*iterations)/b.Elapsed().Seconds(), "tasks/s")
}

// discard records nothing: BenchmarkTaskRunEngineOnly measures the
// engine's own overhead, apart from any store.
type discard struct{ completed atomic.Int64 }

func (*discard) CreateRun(context.Context, *flow.RunRecord) error { return nil }
func (d *discard) SetState(_ context.Context, _ string, s flow.State, _ *flow.Result) error {
	if s.Type == flow.TypeCompleted {
		d.completed.Add(1)
	}
	return nil
}
func (*discard) Log(context.Context, flow.LogRecord) {}
func (*discard) Flush(context.Context) error         { return nil }
func (*discard) RunResults(context.Context, string) (map[string]json.RawMessage, error) {
	return nil, nil
}
func (*discard) CachedResult(context.Context, string, time.Time) (json.RawMessage, bool, error) {
	return nil, false, nil
}

// BenchmarkTaskRunEngineOnly is BenchmarkTaskRun with a recorder that
// keeps nothing: what the engine itself costs per task run.
func BenchmarkTaskRunEngineOnly(b *testing.B) {
	rec := &discard{}
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec})
	runs := 0
	inc := task.New("inc", func(_ context.Context, n int) (int, error) { return n + 1, nil })
	f := flow.New("bench", func(ctx context.Context, _ struct{}) (int, error) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := inc.Run(ctx, i); err != nil {
				return 0, err
			}
			runs++
		}
		return 0, nil
	})
	if _, err := f.Run(ctx, struct{}{}); err != nil {
		b.Fatal(err)
	}
	if got := rec.completed.Load(); got != int64(runs)+1 || runs == 0 { // + the flow run
		b.Fatalf("recorded %d completed runs, ran %d tasks and a flow", got, runs)
	}
}
