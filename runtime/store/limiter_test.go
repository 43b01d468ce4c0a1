package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

func TestTagLimit(t *testing.T) {
	limits := map[string]int{"ssh": 20, "device:*": 1, "device:core-*": 2, "*": 100}
	tests := []struct {
		tag  string
		want int
	}{
		{"ssh", 20},
		{"device:r1", 1},
		{"device:core-1", 2},
		{"http", 100},
	}
	for _, tc := range tests {
		if got := store.TagLimit(limits, tc.tag); got != tc.want {
			t.Errorf("TagLimit(%q) = %d, want %d", tc.tag, got, tc.want)
		}
	}
	if got := store.TagLimit(map[string]int{"ssh": 1}, "http"); got != 0 {
		t.Errorf("unlimited tag: %d", got)
	}
}

// TestLimiterAcrossProcesses uses two Limiters on one store, as two worker
// processes would.
func TestLimiterAcrossProcesses(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	if err := s.SetTagLimit(ctx, "device:*", 1); err != nil {
		t.Fatal(err)
	}
	opts := store.LimiterOptions{Lease: time.Minute, Poll: time.Millisecond, MaxPoll: 5 * time.Millisecond}
	w1, w2 := store.NewLimiter(s, opts), store.NewLimiter(s, opts)

	free, err := w1.Acquire(ctx, []string{"unlimited"})
	if err != nil {
		t.Fatal(err)
	}
	free()
	release, err := w1.Acquire(ctx, []string{"device:r1", "unlimited"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := w2.Acquire(ctx, []string{"device:r2"}) // another device has its own slot
	if err != nil {
		t.Fatal(err)
	}
	other()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = w2.Acquire(short, []string{"device:r1"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder of device:r1: %v, want to wait until its deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		rel, err := w2.Acquire(ctx, []string{"device:r1"})
		if err == nil {
			rel()
		}
		got <- err
	}()
	release()
	release() // a second call is harmless
	if err := <-got; err != nil {
		t.Fatalf("after release: %v", err)
	}
	if n, _ := s.SlotsInUse(ctx, "device:r1", time.Now()); n != 0 {
		t.Fatalf("%d slots held after both released", n)
	}
}

// TestLimiterDeadHolder: a process that died holding a slot frees it when
// its lease ends.
func TestLimiterDeadHolder(t *testing.T) {
	s := openSQLite(t)
	ctx := t.Context()
	if err := s.SetTagLimit(ctx, "api", 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AcquireSlots(ctx, "dead-worker", []string{"api"}, time.Now().Add(100*time.Millisecond)); !ok || err != nil {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	l := store.NewLimiter(s, store.LimiterOptions{Poll: 5 * time.Millisecond, MaxPoll: 20 * time.Millisecond})
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	release, err := l.Acquire(wait, []string{"api"})
	if err != nil {
		t.Fatalf("slot of a dead holder never freed: %v", err)
	}
	release()
}
