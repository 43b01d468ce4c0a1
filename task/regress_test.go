package task_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/task"
)

// A task completed in attempt 1 and reused in attempt 2 registers its
// compensation twice; the final failure then undoes it twice.
func TestDoubleCompensationAfterFlowRetry(t *testing.T) {
	h := flowtest.New(t)
	var undo atomic.Int32
	add := task.New("add", func(_ context.Context, s string) (string, error) { return s, nil },
		task.WithCompensation(func(context.Context, string, string) error { undo.Add(1); return nil }))
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		if _, err := add.Run(ctx, "sw1"); err != nil {
			return 0, err
		}
		return 0, errors.New("later step fails")
	}, flow.WithRetries(2))
	f.Run(h.Context(), struct{}{})
	if n := undo.Load(); n != 1 {
		t.Fatalf("compensation for one VLAN add ran %d times, want 1\n%s", n, h.Dump())
	}
}

// A cache hit changed nothing (documented: not compensated), but on the
// flow's retry the same call is "reused" and then compensated.
func TestCacheHitCompensatedAfterRetry(t *testing.T) {
	h := flowtest.New(t)
	var undo atomic.Int32
	alloc := task.New("alloc", func(_ context.Context, s string) (string, error) { return s, nil },
		task.WithCache(0),
		task.WithCompensation(func(context.Context, string, string) error { undo.Add(1); return nil }))
	// An earlier run of the flow fills the cache (entries are per flow).
	fill := flow.New("f", func(ctx context.Context, _ struct{}) (string, error) { return alloc.Run(ctx, "x") })
	if _, err := fill.Run(h.Context(), struct{}{}); err != nil {
		t.Fatal(err)
	}
	undo.Store(0)
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		if _, err := alloc.Run(ctx, "x"); err != nil { // cache hit: nothing done by this flow
			return 0, err
		}
		return 0, errors.New("fail")
	}, flow.WithRetries(1))
	f.Run(h.Context(), struct{}{})
	if n := undo.Load(); n != 0 {
		t.Fatalf("undo ran %d times for a step this flow never performed (cache hit)\n%s", n, h.Dump())
	}
}

// Tasks inside a subflow are re-run on the parent's retry: the subflow
// gets a fresh run ID, and its tasks' results are keyed by it.
func TestSubflowTasksRerunOnParentRetry(t *testing.T) {
	h := flowtest.New(t)
	var pushes, checks atomic.Int32
	push := task.New("push", func(_ context.Context, s string) (string, error) { pushes.Add(1); return s, nil })
	check := task.New("check", func(_ context.Context, s string) (bool, error) {
		if checks.Add(1) == 1 {
			return false, errors.New("not converged")
		}
		return true, nil
	})
	child := flow.New("child", func(ctx context.Context, dev string) (bool, error) {
		if _, err := push.Run(ctx, dev); err != nil {
			return false, err
		}
		return check.Run(ctx, dev)
	})
	parent := flow.New("parent", func(ctx context.Context, dev string) (bool, error) {
		return child.Run(ctx, dev)
	}, flow.WithRetries(1))
	if _, err := parent.Run(h.Context(), "sw1"); err != nil {
		t.Fatal(err)
	}
	if n := pushes.Load(); n != 1 {
		t.Fatalf("completed push inside a subflow ran %d times across the parent's retry, want 1\n%s", n, h.Dump())
	}
}

// A subflow that completed is not rolled back when its parent fails.
func TestCompletedSubflowNotCompensated(t *testing.T) {
	h := flowtest.New(t)
	var undo atomic.Int32
	add := task.New("add", func(_ context.Context, s string) (string, error) { return s, nil },
		task.WithCompensation(func(context.Context, string, string) error { undo.Add(1); return nil }))
	child := flow.New("child", func(ctx context.Context, dev string) (string, error) { return add.Run(ctx, dev) })
	parent := flow.New("parent", func(ctx context.Context, dev string) (int, error) {
		if _, err := child.Run(ctx, dev); err != nil {
			return 0, err
		}
		return 0, errors.New("next step fails")
	})
	parent.Run(h.Context(), "sw1")
	if n := undo.Load(); n != 1 {
		t.Fatalf("parent failed after a subflow changed sw1; compensations run: %d, want 1\n%s", n, h.Dump())
	}
}

// A compensation takes its step's tag slots: the rollback of a change on
// sw1 waits while another run holds sw1's only slot.
func TestCompensationWaitsForTagSlots(t *testing.T) {
	h := flowtest.New(t, flowtest.WithLimits(task.Limits{"device:*": 1}))
	lim := h.Engine.Limiter.(*task.Limiter)
	var released atomic.Bool
	var undoneAfterRelease, undone atomic.Bool
	add := task.New("add", func(_ context.Context, s string) (string, error) { return s, nil },
		task.WithTagsFrom(func(s string) []string { return []string{"device:" + s} }),
		task.WithCompensation(func(context.Context, string, string) error {
			undone.Store(true)
			undoneAfterRelease.Store(released.Load() && lim.InUse("device:sw1") == 1)
			return nil
		}))
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		if _, err := add.Run(ctx, "sw1"); err != nil {
			return 0, err
		}
		// Another flow takes sw1 and lets go once the rollback waits for it.
		rel, err := lim.Acquire(context.Background(), []string{"device:sw1"})
		if err != nil {
			return 0, err
		}
		go func() {
			for lim.Waiting("device:sw1") == 0 {
				runtime.Gosched()
			}
			released.Store(true)
			rel()
		}()
		return 0, errors.New("fail")
	})
	f.Run(h.Context(), struct{}{})
	if !undone.Load() || !undoneAfterRelease.Load() {
		t.Fatalf("rollback ran %v, after the other run released sw1 and holding its slot: %v\n%s", undone.Load(), undoneAfterRelease.Load(), h.Dump())
	}
}

// Then identifies the downstream run by the upstream's key, not by its
// input: when the upstream output changes between attempts, the
// downstream returns the stale result of the earlier attempt.
func TestThenReusesStaleResult(t *testing.T) {
	h := flowtest.New(t)
	var version atomic.Int32
	read := task.New("read-config", func(context.Context, string) (int, error) { return int(version.Add(1)), nil },
		task.WithoutResultPersistence())
	var pushed []int
	var mu sync.Mutex
	push := task.New("push-diff", func(_ context.Context, v int) (int, error) {
		mu.Lock()
		pushed = append(pushed, v)
		mu.Unlock()
		return v, nil
	})
	var attempts atomic.Int32
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		v, err := task.Then(ctx, task.Submit(ctx, read, "sw1"), push).Wait(ctx)
		if attempts.Add(1) == 1 {
			return 0, errors.New("fail")
		}
		return v, err
	}, flow.WithRetries(1))
	got, err := f.Run(h.Context(), struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Fatalf("attempt 2 read config version 2 but push-diff returned %d (pushed %v): result reused for a different input", got, pushed)
	}
}

// A run reused from an earlier attempt (state Cached) does not call
// OnCompletion again: it did when it completed.
func TestReusedRunDoesNotRepeatOnCompletion(t *testing.T) {
	h := flowtest.New(t)
	var hooks atomic.Int32
	add := task.New("add", func(_ context.Context, s string) (string, error) { return s, nil },
		task.OnCompletion(func(context.Context, flow.HookEvent) error { hooks.Add(1); return nil }))
	var attempts atomic.Int32
	f := flow.New("f", func(ctx context.Context, _ struct{}) (string, error) {
		out, err := add.Run(ctx, "x")
		if attempts.Add(1) == 1 {
			return "", errors.New("fail")
		}
		return out, err
	}, flow.WithRetries(1))
	if _, err := f.Run(h.Context(), struct{}{}); err != nil {
		t.Fatal(err)
	}
	if n := hooks.Load(); n != 1 {
		t.Fatalf("OnCompletion ran %d times for one completion and one reuse, want 1\n%s", n, h.Dump())
	}
}

// task.New validates the retry policy as flow.New does (it once did not,
// and a bad backoff surfaced per run, as a recorded Failed run).
func TestTaskBackoffNotValidatedAtNew(t *testing.T) {
	tk := task.New("t", func(context.Context, int) (int, error) { return 0, nil },
		task.WithBackoff(retry.Exponential(0, 2, 0)))
	if tk.Err() == nil {
		h := flowtest.New(t)
		_, err := tk.Run(h.Context(), 1)
		t.Fatalf("invalid backoff accepted by New; Run: %v; states %v", err, h.States(h.Only(t, "t").ID))
	}
}
