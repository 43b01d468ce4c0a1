package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

// BenchmarkRunLifecycle measures the store's work for one flow run as the
// API and a worker drive it, one after the other: create (API), claim,
// Running, Completed with its result (worker), and the state read a
// client watching it makes. It is the store's share of the end-to-end
// bench (cmd/netauto-bench), without HTTP or scheduling noise.
func BenchmarkRunLifecycle(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		s := openSQLite(b)
		benchLifecycle(b, s, nil)
	})
	// The same with a change calendar that is open (a past freeze and a
	// window open all year): what checking it at creation and claim costs.
	b.Run("sqlite-calendar", func(b *testing.B) {
		s := openSQLite(b)
		benchLifecycle(b, s, &window.Calendar{
			Windows: []window.Window{{Start: "0 * * * *", Duration: 2 * time.Hour, Timezone: "Europe/Berlin"}},
			Freezes: []window.Freeze{{Start: "2020-12-20", End: "2021-01-04"}},
		})
	})
	b.Run("postgres", func(b *testing.B) {
		s := openPostgres(b)
		benchLifecycle(b, s, nil)
	})
}

func benchLifecycle(b *testing.B, s store.Store, cal *window.Calendar) {
	ctx := context.Background()
	if err := s.ApplyPool(ctx, store.Pool{Name: "p", Type: "in-process"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.ApplyDeployment(ctx, store.Deployment{Name: "d", Flow: "f", Pool: "p", Calendar: cal}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, _, err := s.CreateRun(ctx, store.RunSpec{Deployment: "d", Parameters: json.RawMessage(`{"seq":1}`)})
		if err != nil {
			b.Fatal(err)
		}
		run, ok, err := s.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w", Lease: time.Minute})
		if err != nil || !ok || run.ID != r.ID {
			b.Fatalf("claim: %v %v %s, want %s", err, ok, run.ID, r.ID)
		}
		if _, err := s.SetRunState(ctx, r.ID, flow.Running(), nil); err != nil {
			b.Fatal(err)
		}
		if _, err := s.SetRunState(ctx, r.ID, flow.Completed(), &flow.Result{FlowRunID: r.ID, Value: json.RawMessage(`2`)}); err != nil {
			b.Fatal(err)
		}
		if got, err := s.GetRun(ctx, r.ID); err != nil || got.State.Type != flow.TypeCompleted {
			b.Fatalf("run %s: %v %v", r.ID, got.State.Name, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
