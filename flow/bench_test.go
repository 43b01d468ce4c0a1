package flow_test

import (
	"context"
	"testing"

	"github.com/netauto-dev/netauto/flow"
)

// BenchmarkFlowRun measures an empty flow run with the in-memory
// recorder: record, Pending, Running, Completed, result persisted.
// Target: ≤ 10 µs/op.
func BenchmarkFlowRun(b *testing.B) {
	store := flow.NewMemoryStore()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
	f := flow.New("empty", func(context.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	b.ReportAllocs()
	runs := 0
	for b.Loop() {
		if _, err := f.Run(ctx, struct{}{}); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	b.StopTimer()
	completed := 0
	for _, r := range store.Runs() {
		if h := store.History(r.ID); len(h) == 3 && h[2].Type == flow.TypeCompleted {
			completed++
		}
	}
	if completed != runs {
		b.Fatalf("recorded %d completed flow runs, ran %d", completed, runs)
	}
}
