package task_test

import (
	"context"
	"testing"

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

// BenchmarkTaskRun measures one trivial task run inside a flow run, with
// the in-memory recorder: identity, three recorded states, the result
// persisted. Target: ≤ 5 µs/op, ≤ 25 allocs/op.
func BenchmarkTaskRun(b *testing.B) {
	store := flow.NewMemoryStore()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
	inc := task.New("inc", func(_ context.Context, n int) (int, error) { return n + 1, nil })
	var runs int
	f := flow.New("bench", func(ctx context.Context, _ struct{}) (int, error) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, err := inc.Run(ctx, i); err != nil {
				return 0, err
			}
			runs++
		}
		b.StopTimer()
		return runs, nil
	})
	if _, err := f.Run(ctx, struct{}{}); err != nil {
		b.Fatal(err)
	}
	if got := countRuns(store, "inc", flow.TypeCompleted); got != runs || runs == 0 {
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
	var stores []*flow.MemoryStore
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store := flow.NewMemoryStore()
		stores = append(stores, store)
		ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
		b.StartTimer()
		if got, err := f.Run(ctx, struct{}{}); err != nil || got != n {
			b.Fatalf("Map returned %d outputs, %v", got, err)
		}
	}
	b.StopTimer()
	for _, s := range stores {
		if got := countRuns(s, "inc", flow.TypeCompleted); got != n {
			b.Fatalf("recorded %d completed task runs, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*len(stores))/b.Elapsed().Seconds(), "tasks/s")
}
