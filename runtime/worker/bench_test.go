package worker

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

// BenchmarkWorkerInProcess measures runs per second through one
// in-process worker on SQLite: claim, lease, a flow with one task
// recorded through the store, final state. The runs are created before
// the timer starts; it stops when the last one is Completed in the store.
func BenchmarkWorkerInProcess(b *testing.B) {
	e := newEnv(b)
	var executed atomic.Int64
	double := task.New("double", func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	f := flow.New("bench", func(ctx context.Context, _ struct{}) (int, error) {
		executed.Add(1)
		return double.Run(ctx, 21)
	})
	e.deploy(b, store.Deployment{Name: "bench", Flow: "bench"})
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = e.createRun(b, "bench", "")
	}
	l := e.inProcess(b, f)
	b.ResetTimer()
	w, stop := e.startWorker(b, Options{Launcher: l, Concurrency: 8})
	w.Wake()
	e.waitFinal(b, ids[len(ids)-1])
	for _, id := range ids {
		e.waitFinal(b, id)
	}
	b.StopTimer()
	stop()
	if n := executed.Load(); n != int64(b.N) {
		b.Fatalf("executed %d runs, want %d", n, b.N)
	}
	done, _, err := e.st.ListRuns(context.Background(), store.RunFilter{States: []flow.StateType{flow.TypeCompleted}, Limit: 1000})
	if err != nil || len(done) != min(b.N, 1000) {
		b.Fatalf("%d completed runs listed (%v), want %d", len(done), err, min(b.N, 1000))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
