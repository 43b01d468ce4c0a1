package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/task"
)

func TestMemoryStoreKeepRuns(t *testing.T) {
	m := flow.NewMemoryStore(flow.KeepRuns(3))
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: m})
	f := flow.New("f", func(ctx context.Context, n int) (int, error) {
		flow.Logger(ctx).Info("run", "n", n)
		return n, nil
	})
	var ids []string
	for i := range 5 {
		if _, err := f.Run(ctx, i); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Runs()[len(m.Runs())-1].ID)
	}
	runs := m.Runs()
	if len(runs) != 3 || runs[0].ID != ids[2] {
		t.Fatalf("kept %d runs starting at %s, want the last 3 (from %s)", len(runs), runs[0].ID, ids[2])
	}
	if len(m.History(ids[0])) != 0 || len(m.Logs(ids[0])) != 0 {
		t.Fatal("a forgotten run's states or logs are still there")
	}
	if logs := m.Logs(""); len(logs) != 3 || logs[0].RunID != ids[2] {
		t.Fatalf("logs of the kept runs: %v", logs)
	}
}

func TestResumeAfterLostProcess(t *testing.T) {
	// The first execution "dies" after device a was pushed: from then on
	// nothing it does reaches the store, as when its process is killed.
	store := flow.NewMemoryStore()
	dying := &dyingRecorder{MemoryStore: store}
	var pushes atomic.Int32
	var afterPushA func()
	push := task.New("push", func(_ context.Context, dev string) (string, error) {
		pushes.Add(1)
		return "ok " + dev, nil
	})
	f := flow.New("change", func(ctx context.Context, devs []string) (int, error) {
		for _, d := range devs {
			if _, err := push.Run(ctx, d); err != nil {
				return 0, err
			}
			if d == "a" && afterPushA != nil {
				afterPushA()
			}
		}
		return len(devs), nil
	})
	afterPushA = func() { dying.dead.Store(true) }
	first := flow.WithEngine(context.Background(), &flow.Engine{Recorder: dying, Results: store})
	if _, err := f.Execute(first, flow.Execution{RunID: "r", Params: json.RawMessage(`["a","b"]`)}); err == nil {
		t.Fatal("the dying execution reported success")
	}
	if got := store.History("r"); got[len(got)-1].Name != flow.NameRunning {
		t.Fatalf("the lost run's last recorded state is %s, want Running", got[len(got)-1].Name)
	}
	afterPushA = nil
	second := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
	if _, err := f.Execute(second, flow.Execution{RunID: "r2", Params: json.RawMessage(`["a","b"]`), Attempt: 2, Resume: true}); err != nil {
		t.Fatal(err)
	}
	// A different run ID has no results to resume from: a pushes again.
	if pushes.Load() != 3 {
		t.Fatalf("push ran %d times, want 3 (a before dying, then a and b: another run ID resumes nothing)", pushes.Load())
	}
	pushes.Store(0)
	out, err := f.Execute(second, flow.Execution{RunID: "r", Params: json.RawMessage(`["a","b"]`), State: flow.Pending(), Attempt: 2, Resume: true})
	if err != nil || string(out) != "2" {
		t.Fatalf("resumed Execute = %s, %v", out, err)
	}
	if pushes.Load() != 1 {
		t.Fatalf("push ran %d times on resume, want 1: a's persisted result must be reused", pushes.Load())
	}
}

// dyingRecorder records until dead is set, then fails every call.
type dyingRecorder struct {
	*flow.MemoryStore
	dead atomic.Bool
}

var errDead = errors.New("process gone")

func (d *dyingRecorder) SetState(ctx context.Context, id string, s flow.State, res *flow.Result) error {
	if d.dead.Load() {
		return errDead
	}
	return d.MemoryStore.SetState(ctx, id, s, res)
}

func (d *dyingRecorder) CreateRun(ctx context.Context, r *flow.RunRecord) error {
	if d.dead.Load() {
		return errDead
	}
	return d.MemoryStore.CreateRun(ctx, r)
}

func TestExecuteFromOtherStates(t *testing.T) {
	f := flow.New("f", func(context.Context, struct{}) (int, error) { return 1, nil })
	for _, tt := range []struct {
		state flow.State
		ok    bool
	}{
		{flow.Pending(), true},
		{flow.State{}, true},
		{flow.Running(), false},
		{flow.Scheduled(time.Now()), false},
		{flow.Completed(), false},
	} {
		h := flowtest.New(t)
		_, err := f.Execute(h.Context(), flow.Execution{RunID: "x", State: tt.state})
		if (err == nil) != tt.ok {
			t.Errorf("Execute from %q: err = %v, want ok=%v", tt.state.Name, err, tt.ok)
		}
		var te *flow.TransitionError
		if err != nil && !errors.As(err, &te) {
			t.Errorf("Execute from %q: error %v is not a transition error", tt.state.Name, err)
		}
	}
}

func TestFlowTimeoutCancelsItsTasks(t *testing.T) {
	h := flowtest.New(t)
	started := make(chan struct{})
	wait := task.New("wait", func(ctx context.Context, _ int) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) { return wait.Run(ctx, 1) },
		flow.WithTimeout(20*time.Millisecond))
	done := make(chan error, 1)
	go func() { _, err := f.Run(h.Context(), struct{}{}); done <- err }()
	<-started
	h.Clock.Advance(20 * time.Millisecond) // the flow's timeout runs on the engine's clock
	err := <-done
	var te *flow.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("error %v, want a TimeoutError", err)
	}
	h.AssertStates(t, h.Only(t, "f").ID, "Pending", "Running", "TimedOut")
	tr := h.Only(t, "wait")
	h.AssertStates(t, tr.ID, "Pending", "Running", "Cancelled")
	if msg := h.Final(tr.ID).Message; msg != `flow "f" attempt timed out after 20ms` {
		t.Fatalf("the task's Cancelled state says %q, not why", msg)
	}
}

func TestCancelWhileAwaitingRetry(t *testing.T) {
	h := flowtest.New(t)
	ctx, cancel := context.WithCancel(h.Context())
	// The fake clock returns from Sleep at once unless ctx is done: cancel
	// from the first attempt so the wait for the retry sees it.
	f := flow.New("f", func(context.Context, struct{}) (int, error) {
		cancel()
		return 0, errors.New("flaky")
	}, flow.WithRetries(3))
	_, err := f.Run(ctx, struct{}{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want Canceled", err)
	}
	h.AssertStates(t, h.Only(t, "f").ID, "Pending", "Running", "Cancelled")
}

func TestNoGoroutineLeakAfterCancellingMap(t *testing.T) {
	h := flowtest.New(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(h.Context())
	var started atomic.Int32
	tk := task.New("t", func(ctx context.Context, _ int) (int, error) {
		if started.Add(1) == 5 {
			cancel()
		}
		<-ctx.Done()
		return 0, ctx.Err()
	})
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		_, err := task.Collect(ctx, task.Map(ctx, tk, make([]int, 100), task.Concurrency(10)))
		return 0, err
	})
	if _, err := f.Run(ctx, struct{}{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	if n := len(h.Runs("t")); n > 10 {
		t.Fatalf("%d task runs recorded; inputs not started after cancellation must not get runs", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestLimiterWaitEndsWithTheContext(t *testing.T) {
	h := flowtest.New(t, flowtest.WithLimits(task.Limits{"device:*": 1}))
	lim := h.Engine.Limiter.(*task.Limiter)
	release, err := lim.Acquire(context.Background(), []string{"device:r1"})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(h.Context())
	tk := task.New("t", func(context.Context, int) (int, error) { return 0, nil }, task.WithTags("device:r1"))
	go func() {
		for lim.Waiting("device:r1") == 0 {
			runtime.Gosched()
		}
		cancel()
	}()
	_, err = tk.Run(ctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want Canceled", err)
	}
	h.AssertStates(t, h.Only(t, "t").ID, "Pending", "Cancelled")
	if lim.Waiting("device:r1") != 0 || lim.InUse("device:r1") != 1 {
		t.Fatal("the cancelled waiter left the queue in a bad state")
	}
}

func TestRetrySleepDoesNotHoldSlots(t *testing.T) {
	h := flowtest.New(t, flowtest.WithLimits(task.Limits{"device:*": 1}))
	lim := h.Engine.Limiter.(*task.Limiter)
	var heldWhileWaiting []int
	clock := &observingClock{Clock: h.Clock, onSleep: func() { heldWhileWaiting = append(heldWhileWaiting, lim.InUse("device:r1")) }}
	h.Engine.Clock = clock
	var attempts atomic.Int32
	tk := task.New("t", func(context.Context, int) (int, error) {
		if attempts.Add(1) < 3 {
			return 0, errors.New("flaky")
		}
		return 1, nil
	}, task.WithTags("device:r1"), task.WithRetries(3), task.WithBackoff(retry.Fixed(time.Second)))
	if _, err := tk.Run(h.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(heldWhileWaiting) != "[0 0]" {
		t.Fatalf("slots held while waiting to retry: %v", heldWhileWaiting)
	}
}

type observingClock struct {
	*flowtest.Clock
	onSleep func()
}

func (c *observingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.onSleep()
	return c.Clock.Sleep(ctx, d)
}

// Hooks are told which attempt of the run's retry policy, and which
// execution by the runtime, their event belongs to; so is code in the run.
func TestHookEventSaysWhichAttempt(t *testing.T) {
	h := flowtest.New(t)
	var mu sync.Mutex
	var got []string
	note := func(which string) flow.Hook {
		return func(_ context.Context, ev flow.HookEvent) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s %s attempt %d execution %d", which, ev.State.Name, ev.Attempt, ev.Execution))
			return nil
		}
	}
	calls := 0
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		calls++
		if a, e := flow.RunFrom(ctx).Attempt(); a != calls || e != 2 {
			t.Errorf("call %d: Run.Attempt() = %d, %d", calls, a, e)
		}
		if calls < 3 {
			return 0, errors.New("flaky")
		}
		return calls, nil
	}, flow.WithRetries(2), flow.OnRunning(note("running")), flow.OnCompletion(note("completion")))
	ex := flow.Execution{RunID: flow.NewID(), Attempt: 2, Attempts: 3}
	if _, err := f.Execute(h.Context(), ex); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"running Retrying attempt 1 execution 2", // the first attempt of a second execution
		"running Retrying attempt 2 execution 2",
		"running Retrying attempt 3 execution 2",
		"completion Completed attempt 3 execution 2",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("hook events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
