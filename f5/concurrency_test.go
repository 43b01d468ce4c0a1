package f5

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
)

func TestTwentyTenantsInParallel(t *testing.T) {
	srv, c := newPair(t, f5test.Options{TaskDuration: time.Millisecond})
	ctx := context.Background()
	if _, err := c.Info(ctx); err != nil { // log in before taking the baseline
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := simpleDecl(fmt.Sprintf("T%02d", i), "p", fmt.Sprintf("192.0.2.%d", i+1), "198.51.100.1")
			res, err := c.Declare(ctx, d, fastOpts)
			if err == nil && res.Tenants[0].Outcome() != OutcomeSuccess {
				err = fmt.Errorf("outcome %v", res.Tenants[0].Outcome())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("tenant %d: %v", i, err)
		}
	}
	if got := len(srv.Applied()); got != n {
		t.Fatalf("applied %d tenants, want %d", got, n)
	}
	if o := srv.Overlaps(); o != 0 {
		t.Fatalf("%d overlapping requests for one tenant", o)
	}
	c.http.CloseIdleConnections()
	waitGoroutines(t, base)
}

// waitGoroutines polls (bounded) until the goroutine count is back to base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOneTenantFIFO queues declarations for one tenant in a known order
// while the tenant is busy; they must reach the device in that order, one
// at a time.
func TestOneTenantFIFO(t *testing.T) {
	srv, c := newPair(t, f5test.Options{TaskDuration: time.Millisecond})
	ctx := context.Background()
	queued := make(chan struct{})
	c.tenants.onEnqueue = func([]string) { queued <- struct{}{} }
	hold := make(chan func())
	go func() {
		release, err := c.tenants.acquire(ctx, []string{"T"})
		if err != nil {
			panic(err)
		}
		hold <- release
	}()
	<-queued
	release := <-hold

	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Each declaration differs (one more member) so each changes the tenant.
			members := []string{}
			for j := 0; j <= i; j++ {
				members = append(members, fmt.Sprintf("198.51.100.%d", j+1))
			}
			_, errs[i] = c.Declare(ctx, simpleDecl("T", fmt.Sprint(i), "192.0.2.10", members...), fastOpts)
		})
		<-queued // declaration i is in line before i+1 starts
	}
	c.tenants.onEnqueue = nil
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("declaration %d: %v", i, err)
		}
	}
	var order []string
	for _, a := range srv.Applied() {
		order = append(order, a.DeclarationID)
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	if !slices.Equal(order, want) {
		t.Fatalf("applied order %v, want %v", order, want)
	}
	if o := srv.Overlaps(); o != 0 {
		t.Fatalf("%d interleaved requests for tenant T", o)
	}
}

func TestTenantQueue(t *testing.T) {
	q := newTenantQueue()
	ctx := context.Background()
	relA, err := q.acquire(ctx, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	relB, err := q.acquire(ctx, []string{"b"}) // disjoint: no wait
	if err != nil {
		t.Fatal(err)
	}
	// A ticket for a and b waits for both; a cancelled waiter leaves no trace.
	gotAB := make(chan func())
	go func() {
		rel, err := q.acquire(ctx, []string{"b", "a", "a"})
		if err != nil {
			panic(err)
		}
		gotAB <- rel
	}()
	waitQueued(t, q, "a", 2)
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error)
	go func() {
		_, err := q.acquire(cctx, []string{"a"})
		cancelled <- err
	}()
	waitQueued(t, q, "a", 3)
	cancel()
	if err := <-cancelled; err == nil {
		t.Fatal("cancelled acquire succeeded")
	}
	relA()
	select {
	case <-gotAB:
		t.Fatal("a+b ticket ran while b was held")
	default:
	}
	relB()
	relAB := <-gotAB
	relAB()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queues) != 0 {
		t.Fatalf("queues not empty: %v", q.queues)
	}
}

func waitQueued(t *testing.T, q *tenantQueue, tenant string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		l := len(q.queues[tenant])
		q.mu.Unlock()
		if l == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s has %d tickets, want %d", tenant, l, n)
		}
		runtime.Gosched()
	}
}
