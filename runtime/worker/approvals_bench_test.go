package worker

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// BenchmarkSuspendedRuns puts 10,000 runs at an approval gate and
// suspends them, in a pool limited to one run at a time, then measures a
// further run through that pool: it is claimed at once (the suspended
// runs hold no slot) and the process's live heap grew by heap-MB for all
// of them (the waiting runs live in the store, not in memory).
func BenchmarkSuspendedRuns(b *testing.B) {
	const n = 10_000
	e := newEnv(b)
	ctx := context.Background()
	in := e.inputs(b)
	if err := e.st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process", ConcurrencyLimit: 1}); err != nil {
		b.Fatal(err)
	}
	e.deploy(b, store.Deployment{Name: "d", Flow: "gated"})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	now := time.Now()
	for i := range n {
		run, _, err := e.st.CreateRun(ctx, store.RunSpec{Deployment: "d", State: flow.Scheduled(now)})
		if err != nil {
			b.Fatal(err)
		}
		claimed, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: now})
		if err != nil || !ok || claimed.ID != run.ID {
			b.Fatalf("run %d: claim %v %v", i, ok, err)
		}
		fctx := store.WithFence(ctx, store.FenceOf(claimed))
		if _, err := e.st.SetRunState(fctx, run.ID, flow.Running(), nil); err != nil {
			b.Fatal(err)
		}
		if _, _, err := in.RequestInput(fctx, flow.InputRequest{RunID: run.ID, Key: "input/approval", OnTimeout: flow.TimeoutFail,
			Prompt: flow.Prompt{Text: "apply?", Diff: "+ vlan 10"}, Schema: flow.SchemaFor[ticket]()}); err != nil {
			b.Fatal(err)
		}
		if _, err := e.st.SetRunState(fctx, run.ID, flow.State{Type: flow.TypePaused, Name: flow.NameAwaitingInput}, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := in.SuspendRun(ctx, store.FenceOf(claimed)); err != nil {
			b.Fatal(err)
		}
	}
	grown := float64(int64(heap())-int64(before)) / (1 << 20)
	b.ResetTimer()
	for b.Loop() {
		run, _, err := e.st.CreateRun(ctx, store.RunSpec{Deployment: "d", State: flow.Scheduled(now)})
		if err != nil {
			b.Fatal(err)
		}
		claimed, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: now})
		if err != nil || !ok || claimed.ID != run.ID {
			b.Fatalf("a run of a pool of limit 1 with %d suspended runs: claimed %v %v", n, ok, err)
		}
		fctx := store.WithFence(ctx, store.FenceOf(claimed))
		if _, err := e.st.SetRunState(fctx, run.ID, flow.Running(), nil); err != nil {
			b.Fatal(err)
		}
		if _, err := e.st.SetRunState(fctx, run.ID, flow.Completed(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(grown, "heap-MB")
	list, err := in.ListInputs(ctx, store.InputFilter{Limit: 1000})
	if err != nil || len(list) != 1000 {
		b.Fatalf("listed %d waiting runs: %v", len(list), err)
	}
}
