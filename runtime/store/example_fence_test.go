package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// An execution writes through a fenced context; after its run was reaped
// and claimed again, its late writes are refused.
func ExampleWithFence() {
	s, done := exampleStore(nil)
	defer done()
	ctx := context.Background()
	if err := s.ApplyPool(ctx, store.Pool{Name: "default", Type: "process"}); err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	if _, _, err := s.CreateRun(ctx, store.RunSpec{Flow: "backup", Pool: "default", Retries: 1, State: flow.Scheduled(now)}); err != nil {
		log.Fatal(err)
	}
	first, _, err := s.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w1", Lease: time.Minute, Now: now})
	if err != nil {
		log.Fatal(err)
	}
	stale := store.WithFence(ctx, store.FenceOf(first)) // what w1's execution writes with

	// w1 stalls; its lease expires, the run is retried on w2.
	if _, err := s.ReapExpiredLeases(ctx, now.Add(2*time.Minute)); err != nil {
		log.Fatal(err)
	}
	second, _, err := s.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w2", Lease: time.Minute, Now: now.Add(2 * time.Minute)})
	if err != nil {
		log.Fatal(err)
	}

	_, err = s.SetRunState(stale, first.ID, flow.Running(), nil)
	fmt.Println("attempt 1 refused:", errors.Is(err, store.ErrFenced))
	_, err = s.SetRunState(store.WithFence(ctx, store.FenceOf(second)), second.ID, flow.Running(), nil)
	fmt.Println("attempt 2 written:", err == nil)
	// Output:
	// attempt 1 refused: true
	// attempt 2 written: true
}
