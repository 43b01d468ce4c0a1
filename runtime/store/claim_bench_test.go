package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// BenchmarkClaimIdle measures what a worker's poll costs when nothing is
// due: a pool with 10,000 runs scheduled in the future and 10,000
// finished ones.
func BenchmarkClaimIdle(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		s := openSQLite(b)
		benchClaimIdle(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		s := openPostgres(b)
		benchClaimIdle(b, s)
	})
}

func benchClaimIdle(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	if err := s.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.ApplyDeployment(ctx, store.Deployment{Name: "d", Flow: "f", Pool: "p"}); err != nil {
		b.Fatal(err)
	}
	var specs []store.RunSpec
	for i := range 10_000 {
		specs = append(specs, store.RunSpec{Deployment: "d", State: flow.Scheduled(now.Add(time.Hour + time.Duration(i)*time.Second))})
	}
	if _, err := s.CreateScheduledRuns(ctx, specs); err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		st := flow.Pending()
		if _, _, err := s.CreateRun(ctx, store.RunSpec{Deployment: "d", State: st, IdempotencyKey: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, ok, err := s.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w", Lease: time.Minute, Now: now}); err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}
