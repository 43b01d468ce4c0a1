package task_test

import (
	"context"
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

// inFlow runs fn as the body of a flow run and returns the flow's error.
func inFlow(ctx context.Context, fn func(ctx context.Context) error) error {
	f := flow.New("test-flow", func(ctx context.Context, _ struct{}) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	_, err := f.Run(ctx, struct{}{})
	return err
}

func TestTaskStates(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		fn     func(context.Context, int) (int, error)
		opts   []task.Option
		states []string
	}{
		{"completes", func(_ context.Context, n int) (int, error) { return n, nil }, nil,
			[]string{"Pending", "Running", "Completed"}},
		{"fails", func(context.Context, int) (int, error) { return 0, boom }, nil,
			[]string{"Pending", "Running", "Failed"}},
		{"retries", func(context.Context, int) (int, error) { return 0, boom }, []task.Option{task.WithRetries(1)},
			[]string{"Pending", "Running", "AwaitingRetry", "Retrying", "Failed"}},
		{"times out", overrun, []task.Option{task.WithTimeout(time.Second)}, []string{"Pending", "Running", "TimedOut"}},
		{"timeout is retried", overrun, []task.Option{task.WithTimeout(time.Second), task.WithRetries(1)},
			[]string{"Pending", "Running", "AwaitingRetry", "Retrying", "TimedOut"}},
		{"panic is not retried", func(context.Context, int) (int, error) { panic("bug") }, []task.Option{task.WithRetries(3)},
			[]string{"Pending", "Running", "Crashed"}},
		{"non-retryable", func(context.Context, int) (int, error) { return 0, flow.NonRetryable(boom) }, []task.Option{task.WithRetries(3)},
			[]string{"Pending", "Running", "Failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := flowtest.New(t)
			tk := task.New("t", tt.fn, tt.opts...)
			_ = inFlow(h.Context(), func(ctx context.Context) error { _, err := tk.Run(ctx, 1); return err })
			r := h.Only(t, "t")
			h.AssertStates(t, r.ID, tt.states...)
			if r.Kind != flow.KindTask || r.ParentID != h.Only(t, "test-flow").ID || r.FlowRunID != r.ParentID {
				t.Fatalf("task run not linked to its flow run: %+v", r)
			}
		})
	}
}

func TestStandaloneTaskRun(t *testing.T) {
	h := flowtest.New(t)
	tk := task.New("t", func(_ context.Context, n int) (int, error) { return n * 2, nil })
	got, err := tk.Run(h.Context(), 21)
	if err != nil || got != 42 {
		t.Fatalf("Run = %d, %v", got, err)
	}
	r := h.Only(t, "t")
	if r.FlowRunID != "" || r.ParentID != "" {
		t.Fatalf("standalone run has a flow: %+v", r)
	}
	h.AssertStates(t, r.ID, "Pending", "Running", "Completed")
}

// The task options build the retry.Policy its runs follow: as many
// attempts as WithRetries says, waiting what the policy's Delay computes
// (the waits themselves are tested in package retry).
func TestRetryOptionsAreThePolicyUsed(t *testing.T) {
	tests := []struct {
		name    string
		opts    []task.Option
		want    []time.Duration
		jitter  float64
		retries int
	}{
		{"no backoff", nil, []time.Duration{0, 0}, 0, 2},
		{"listed", []task.Option{task.WithBackoff(retry.Delays(time.Second, 10*time.Second))}, []time.Duration{time.Second, 10 * time.Second, 10 * time.Second}, 0, 3},
		{"exponential", []task.Option{task.WithBackoff(retry.Exponential(time.Second, 3, 20*time.Second))}, []time.Duration{time.Second, 3 * time.Second, 9 * time.Second, 20 * time.Second}, 0, 4},
		{"jitter", []task.Option{task.WithBackoff(retry.Fixed(10 * time.Second)), task.WithJitter(0.5)}, nil, 0.5, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := flowtest.New(t)
			var attempts atomic.Int32
			tk := task.New("t", func(context.Context, int) (int, error) { attempts.Add(1); return 0, errors.New("x") },
				append(tt.opts, task.WithRetries(tt.retries))...)
			_, _ = tk.Run(h.Context(), 0)
			if int(attempts.Load()) != tt.retries+1 {
				t.Fatalf("%d attempts, want %d", attempts.Load(), tt.retries+1)
			}
			got := h.Clock.Sleeps()
			if tt.jitter == 0 {
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("slept %v, want %v", got, tt.want)
				}
				return
			}
			lo, hi := 5*time.Second, 15*time.Second
			distinct := map[time.Duration]bool{}
			for _, d := range got {
				if d < lo || d > hi {
					t.Fatalf("jittered delay %s outside [%s, %s]", d, lo, hi)
				}
				distinct[d] = true
			}
			if len(distinct) < 10 {
				t.Fatalf("jitter produced only %d distinct delays in %d", len(distinct), len(got))
			}
		})
	}
}

// retry.Forever retries until the run's context ends; the run then ends
// Cancelled, and its Retrying states count attempts without a total.
func TestRetryForever(t *testing.T) {
	h := flowtest.New(t)
	ctx, cancel := context.WithCancel(h.Context())
	defer cancel()
	var attempts atomic.Int32
	tk := task.New("t", func(context.Context, int) (int, error) {
		if attempts.Add(1) == 25 {
			cancel()
		}
		return 0, errors.New("device busy")
	}, task.WithRetries(retry.Forever), task.WithBackoff(retry.Exponential(time.Second, 2, time.Minute)))
	_, err := tk.Run(ctx, 0)
	var ce *flow.CancelledError
	if !errors.As(err, &ce) || attempts.Load() != 25 {
		t.Fatalf("err %v after %d attempts, want a CancelledError after 25", err, attempts.Load())
	}
	if sleeps := h.Clock.Sleeps(); len(sleeps) != 24 || sleeps[23] != time.Minute {
		t.Fatalf("slept %v, want 24 waits growing to 1m", sleeps)
	}
	r := h.Only(t, "t")
	var last string
	for _, st := range h.Store.History(r.ID) {
		if st.Name == flow.NameRetrying {
			last = st.Message
		}
	}
	if last != "attempt 25 (task retries)" {
		t.Fatalf("last Retrying message %q, want \"attempt 25 (task retries)\"", last)
	}
	if got := h.Final(r.ID); got.Type != flow.TypeCancelled {
		t.Fatalf("final state %s, want Cancelled", got)
	}
}

func TestRetryIf(t *testing.T) {
	h := flowtest.New(t)
	transient := errors.New("503")
	var attempts atomic.Int32
	tk := task.New("t", func(context.Context, int) (int, error) {
		if attempts.Add(1) < 3 {
			return 0, transient
		}
		return 0, errors.New("422 invalid")
	}, task.WithRetries(5), task.WithRetryIf(func(err error) bool { return errors.Is(err, transient) }))
	_, err := tk.Run(h.Context(), 0)
	if err == nil || attempts.Load() != 3 {
		t.Fatalf("attempts %d, err %v; want 3 attempts ending on the non-retryable error", attempts.Load(), err)
	}
}

// overrun is a task function that runs a minute by the engine's clock (a
// fake clock moves at once), then waits for its context to end.
func overrun(ctx context.Context, _ int) (int, error) {
	flow.EngineFrom(ctx).Clock.Sleep(ctx, time.Minute)
	<-ctx.Done()
	return 0, ctx.Err()
}

// An attempt timeout runs on the engine's clock: an hour-long timeout
// expires when the test moves the fake clock an hour, with no real wait.
func TestTimeoutCancelsTheFunctionsContext(t *testing.T) {
	h := flowtest.New(t)
	before := runtime.NumGoroutine()
	started, exited := make(chan struct{}), make(chan struct{})
	tk := task.New("hang", func(ctx context.Context, _ int) (int, error) {
		defer close(exited)
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	}, task.WithTimeout(time.Hour))
	done := make(chan error, 1)
	go func() { _, err := tk.Run(h.Context(), 0); done <- err }()
	<-started
	if n := h.Clock.Timers(); n != 1 {
		t.Fatalf("%d timers on the engine's clock during the attempt, want its timeout's", n)
	}
	h.Clock.Advance(59 * time.Minute)
	select {
	case <-exited:
		t.Fatal("the attempt ended 59 minutes into a one-hour timeout")
	default:
	}
	h.Clock.Advance(time.Minute)
	err := <-done
	var te *flow.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || te.After != time.Hour {
		t.Fatalf("error %v, want a TimeoutError after 1h matching DeadlineExceeded", err)
	}
	h.AssertStates(t, h.Only(t, "hang").ID, "Pending", "Running", "TimedOut")
	if n := h.Clock.Timers(); n != 0 {
		t.Fatalf("%d timers left on the clock after the run", n)
	}
	select {
	case <-exited:
	default:
		t.Fatal("Run returned before the task function did")
	}
	// The timer that cancelled the attempt fires on a goroutine of its
	// own, which may still be returning: poll, bounded.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the run, %d before", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

func TestCancellingTheFlowCancelsRunningTasks(t *testing.T) {
	h := flowtest.New(t)
	ctx, cancel := context.WithCancel(h.Context())
	defer cancel()
	started := make(chan struct{}, 3)
	tk := task.New("wait", func(ctx context.Context, _ int) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		return 0, ctx.Err()
	})
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		_, err := task.Collect(ctx, task.Map(ctx, tk, []int{1, 2, 3}))
		return 0, err
	})
	go func() {
		for range 3 {
			<-started
		}
		cancel()
	}()
	_, err := f.Run(ctx, struct{}{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("flow error %v, want Canceled", err)
	}
	h.AssertStates(t, h.Only(t, "f").ID, "Pending", "Running", "Cancelled")
	for _, r := range h.Runs("wait") {
		h.AssertStates(t, r.ID, "Pending", "Running", "Cancelled")
	}
	if n := len(h.Runs("wait")); n != 3 {
		t.Fatalf("%d task runs, want 3", n)
	}
}

func TestCache(t *testing.T) {
	h := flowtest.New(t)
	var calls atomic.Int32
	tk := task.New("lookup", func(_ context.Context, s string) (string, error) {
		calls.Add(1)
		return strings.ToUpper(s), nil
	}, task.WithCache(time.Hour))
	ctx := h.Context()
	run := func(in string) string {
		t.Helper()
		out, err := tk.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if run("a") != "A" || run("a") != "A" || calls.Load() != 1 {
		t.Fatalf("second call with the same input ran the function (%d calls)", calls.Load())
	}
	runs := h.Runs("lookup")
	h.AssertStates(t, runs[1].ID, "Pending", "Cached")
	run("b")
	if calls.Load() != 2 {
		t.Fatal("a different input was served from the cache")
	}
	h.Clock.Advance(time.Hour)
	run("a")
	if calls.Load() != 3 {
		t.Fatal("an expired entry was served")
	}

	refresh := task.New("lookup", func(_ context.Context, s string) (string, error) {
		calls.Add(1)
		return s + "!", nil
	}, task.WithCache(time.Hour), task.WithCacheRefresh())
	if out, _ := refresh.Run(ctx, "a"); out != "a!" || calls.Load() != 4 {
		t.Fatalf("refresh served %q without running", out)
	}
	if run("a") != "a!" {
		t.Fatal("the refreshed result was not stored in the cache")
	}

	keyed := task.New("keyed", func(_ context.Context, d device) (string, error) {
		calls.Add(1)
		return d.Name, nil
	}, task.WithCacheKey(func(d device) string { return d.Name }))
	keyed.Run(ctx, device{Name: "r1", Load: 1})
	before := calls.Load()
	if out, _ := keyed.Run(ctx, device{Name: "r1", Load: 99}); out != "r1" || calls.Load() != before {
		t.Fatal("a custom cache key was ignored")
	}
}

type device struct {
	Name string
	Load int
}

func TestOccurrenceKeysAreStableUnderMap(t *testing.T) {
	h := flowtest.New(t)
	var calls atomic.Int32
	var failOnce sync.Once
	tk := task.New("probe", func(_ context.Context, n int) (int, error) {
		calls.Add(1)
		if n == 7 {
			var err error
			failOnce.Do(func() { err = errors.New("flaky") })
			return n, err
		}
		return n, nil
	})
	ins := make([]int, 40)
	for i := range ins {
		ins[i] = i % 10 // each input four times
	}
	f := flow.New("f", func(ctx context.Context, _ struct{}) ([]int, error) {
		return task.Collect(ctx, task.Map(ctx, tk, ins, task.Concurrency(8)))
	}, flow.WithRetries(1))
	out, err := f.Run(h.Context(), struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, ins) {
		t.Fatalf("outputs %v not in input order", out)
	}
	// Attempt 1 ran all 40; attempt 2 ran only the one that failed.
	if calls.Load() != 41 {
		t.Fatalf("%d calls, want 41", calls.Load())
	}
	keys := map[string]int{}
	for _, r := range h.Runs("probe") {
		keys[r.TaskKey]++
	}
	if len(keys) != 40 {
		t.Fatalf("%d distinct task keys over 80 runs, want 40 (one per call, same in both attempts)", len(keys))
	}
}

func TestCompensationsRunInReverseOnFailure(t *testing.T) {
	h := flowtest.New(t)
	var undone []string
	var mu sync.Mutex
	step := task.New("step", func(_ context.Context, s string) (string, error) {
		if s == "fail" {
			return "", errors.New("device refused")
		}
		return "applied " + s, nil
	}, task.WithCompensation(func(_ context.Context, in string, out string) error {
		mu.Lock()
		defer mu.Unlock()
		undone = append(undone, in+"/"+out)
		if in == "b" {
			return errors.New("rollback of b failed")
		}
		return nil
	}))
	var hookErr error
	f := flow.New("change", func(ctx context.Context, steps []string) (int, error) {
		for _, s := range steps {
			if _, err := step.Run(ctx, s); err != nil {
				return 0, err
			}
		}
		return len(steps), nil
	}, flow.OnFailure(func(_ context.Context, ev flow.HookEvent) error { hookErr = ev.Err; return nil }))

	_, err := f.Run(h.Context(), []string{"a", "b", "c", "fail", "d"})
	if want := []string{"c/applied c", "b/applied b", "a/applied a"}; !slices.Equal(undone, want) {
		t.Fatalf("compensated %v, want %v", undone, want)
	}
	var ce *flow.CompensationError
	if !errors.As(err, &ce) || !slices.Equal(ce.Failed, []string{"step.compensate"}) {
		t.Fatalf("error %v does not report the failed compensation", err)
	}
	if !errors.Is(hookErr, ce.Err) && !strings.Contains(fmt.Sprint(hookErr), "rollback of b failed") {
		t.Fatalf("OnFailure hook saw %v, without the compensation failure", hookErr)
	}
	comps := h.Runs("step.compensate")
	if len(comps) != 3 {
		t.Fatalf("%d compensation runs recorded, want 3\n%s", len(comps), h.Dump())
	}
	h.AssertStates(t, comps[0].ID, "Pending", "Running", "Completed")
	h.AssertStates(t, comps[1].ID, "Pending", "Running", "Failed")
	h.AssertStates(t, h.Only(t, "change").ID, "Pending", "Running", "Failed")

	undone = nil
	if _, err := f.Run(h.Context(), []string{"a"}); err != nil || len(undone) != 0 {
		t.Fatalf("a completed flow compensated %v (err %v)", undone, err)
	}
}

func TestHooks(t *testing.T) {
	h := flowtest.New(t)
	var mu sync.Mutex
	var seen []string
	hook := func(name string) flow.Hook {
		return func(_ context.Context, ev flow.HookEvent) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, name+":"+ev.State.Name)
			return nil
		}
	}
	tk := task.New("t", func(_ context.Context, fail bool) (int, error) {
		if fail {
			return 0, errors.New("x")
		}
		return 1, nil
	}, task.OnRunning(hook("running")), task.OnCompletion(hook("completion")), task.OnFailure(hook("failure")), task.WithRetries(1))
	tk.Run(h.Context(), false)
	tk.Run(h.Context(), true)
	want := []string{"running:Running", "completion:Completed", "running:Running", "running:Retrying", "failure:Failed"}
	if !slices.Equal(seen, want) {
		t.Fatalf("hooks %v, want %v", seen, want)
	}
}

func TestTagLimits(t *testing.T) {
	h := flowtest.New(t, flowtest.WithLimits(task.Limits{"ssh": 3, "device:*": 1}))
	var mu sync.Mutex
	active := map[string]int{}
	maxPerDevice, maxSSH, total := 0, 0, 0
	// The first runs wait until three are active at once: the ssh limit
	// must allow exactly that many, whatever the scheduling.
	full := make(chan struct{})
	var fullOnce sync.Once
	tk := task.New("cmd", func(_ context.Context, dev string) (int, error) {
		mu.Lock()
		active[dev]++
		total++
		maxPerDevice = max(maxPerDevice, active[dev])
		maxSSH = max(maxSSH, total)
		if total == 3 {
			fullOnce.Do(func() { close(full) })
		}
		mu.Unlock()
		select {
		case <-full:
		case <-time.After(10 * time.Second):
			return 0, errors.New("three runs never ran at once")
		}
		mu.Lock()
		active[dev]--
		total--
		mu.Unlock()
		return 0, nil
	}, task.WithTags("ssh"), task.WithTagsFrom(func(dev string) []string { return []string{"device:" + dev} }))
	var ins []string
	for i := range 60 {
		ins = append(ins, fmt.Sprintf("r%d", i%6))
	}
	err := inFlow(h.Context(), func(ctx context.Context) error {
		_, err := task.Collect(ctx, task.Map(ctx, tk, ins, task.Concurrency(20)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if maxPerDevice != 1 || maxSSH != 3 {
		t.Fatalf("at most %d at once per device (limit 1), %d with tag ssh (limit 3)", maxPerDevice, maxSSH)
	}
	for _, r := range h.Runs("cmd") {
		if len(r.Tags) != 2 || r.Tags[0] != "ssh" || !strings.HasPrefix(r.Tags[1], "device:r") {
			t.Fatalf("tags not recorded: %v", r.Tags)
		}
	}
}

func TestLimiterFIFOAndCancel(t *testing.T) {
	l, err := task.NewLimiter(task.Limits{"device:*": 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rel, err := l.Acquire(ctx, []string{"device:r1"})
	if err != nil {
		t.Fatal(err)
	}
	// A waiter that gives up leaves the queue.
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error)
	go func() { _, err := l.Acquire(cctx, []string{"device:r1"}); gaveUp <- err }()
	// Queue three more in a known order: each is queued once InUse shows
	// the slot held and its goroutine has started waiting.
	order := make(chan int, 3)
	var wg sync.WaitGroup
	queued := make(chan struct{})
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queued <- struct{}{}
			r, err := l.Acquire(ctx, []string{"device:r1"})
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			r()
		}()
		<-queued
		waitForWaiters(t, l, "device:r1", i+2) // the canceller plus i+1
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter got %v", err)
	}
	rel()
	rel() // a second release is a no-op
	wg.Wait()
	close(order)
	var got []int
	for i := range order {
		got = append(got, i)
	}
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("slots granted in order %v, want first come first served", got)
	}
	if l.InUse("device:r1") != 0 {
		t.Fatal("slot still held after every release")
	}
	if _, err := task.NewLimiter(task.Limits{"ssh": 0}); err == nil || !strings.Contains(err.Error(), `"ssh"`) {
		t.Fatalf("a zero limit gave %v, want an error naming the tag", err)
	}
}

func waitForWaiters(t *testing.T, l *task.Limiter, tag string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Waiting(tag) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters on %s, want %d", l.Waiting(tag), tag, n)
		}
		runtime.Gosched()
	}
}

func TestMapBound(t *testing.T) {
	h := flowtest.New(t)
	var active, peak atomic.Int32
	gate := make(chan struct{})
	var open sync.Once
	tk := task.New("t", func(_ context.Context, n int) (int, error) {
		a := active.Add(1)
		defer active.Add(-1)
		for {
			p := peak.Load()
			if a <= p || peak.CompareAndSwap(p, a) {
				break
			}
		}
		if a == 4 { // the first four wait for each other: the bound is reached
			open.Do(func() { close(gate) })
		}
		<-gate
		return n, nil
	})
	err := inFlow(h.Context(), func(ctx context.Context) error {
		_, err := task.Collect(ctx, task.Map(ctx, tk, make([]int, 50), task.Concurrency(4)))
		return err
	})
	if err != nil || peak.Load() != 4 {
		t.Fatalf("peak concurrency %d, want 4 (err %v)", peak.Load(), err)
	}
}

func TestThenAndUpstreamFailure(t *testing.T) {
	h := flowtest.New(t)
	render := task.New("render", func(_ context.Context, n int) (string, error) {
		if n < 0 {
			return "", errors.New("negative")
		}
		return fmt.Sprint(n), nil
	})
	push := task.New("push", func(_ context.Context, s string) (string, error) { return "pushed " + s, nil })
	err := inFlow(h.Context(), func(ctx context.Context) error {
		ok := task.Then(ctx, task.Submit(ctx, render, 5), push)
		bad := task.Then(ctx, task.Submit(ctx, render, -1), push)
		if out, err := ok.Wait(ctx); err != nil || out != "pushed 5" {
			return fmt.Errorf("Then = %q, %v", out, err)
		}
		_, err := bad.Wait(ctx)
		var ue *task.UpstreamError
		if !errors.As(err, &ue) {
			return fmt.Errorf("downstream of a failure: %v, want UpstreamError", err)
		}
		return task.Wait(ctx, ok)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.Runs("push")); n != 1 {
		t.Fatalf("%d push runs, want 1: a task after a failed one must not run", n)
	}
}

func TestFlowWaitsForSubmittedTasks(t *testing.T) {
	h := flowtest.New(t)
	var done atomic.Bool
	release := make(chan struct{})
	tk := task.New("slow", func(context.Context, int) (int, error) {
		<-release
		done.Store(true)
		return 0, nil
	})
	f := flow.New("f", func(ctx context.Context, _ struct{}) (int, error) {
		task.Submit(ctx, tk, 1) // not awaited
		close(release)
		return 0, nil
	})
	if _, err := f.Run(h.Context(), struct{}{}); err != nil {
		t.Fatal(err)
	}
	if !done.Load() {
		t.Fatal("the flow returned before a task it submitted finished")
	}
}

func TestStub(t *testing.T) {
	h := flowtest.New(t)
	real := task.New("push", func(context.Context, string) (string, error) { return "", errors.New("no lab here") })
	ctx := task.WithStub(h.Context(), real, func(_ context.Context, dev string) (string, error) { return "fake " + dev, nil })
	out, err := real.Run(ctx, "r1")
	if err != nil || out != "fake r1" {
		t.Fatalf("stubbed Run = %q, %v", out, err)
	}
	h.AssertStates(t, h.Only(t, "push").ID, "Pending", "Running", "Completed")
}

func TestTypedOptionMismatch(t *testing.T) {
	tk := task.New("t", func(context.Context, int) (string, error) { return "", nil },
		task.WithKey(func(s string) string { return s }))
	if tk.Err() == nil || !strings.Contains(tk.Err().Error(), "WithKey") {
		t.Fatalf("mismatched WithKey: %v", tk.Err())
	}
	if _, err := tk.Run(context.Background(), 1); err == nil {
		t.Fatal("Run ignored the configuration error")
	}
	for o, field := range map[*task.Option]string{
		new(task.WithRetries(-1)):                           "Retries",
		new(task.WithJitter(1.5)):                           "Jitter",
		new(task.WithBackoff(retry.Exponential(1, 0.5, 0))): "coefficient",
		new(task.WithTimeout(-1)):                           "WithTimeout",
		new(task.WithCache(-1)):                             "WithCache",
	} {
		err := task.New("x", func(context.Context, int) (int, error) { return 0, nil }, *o).Err()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad option: error %v, want one naming %s", err, field)
		}
	}
}

func TestUnencodableInputNeedsAKey(t *testing.T) {
	h := flowtest.New(t)
	tk := task.New("t", func(context.Context, chan int) (int, error) { return 1, nil })
	err := inFlow(h.Context(), func(ctx context.Context) error { _, err := tk.Run(ctx, make(chan int)); return err })
	if err == nil || !strings.Contains(err.Error(), "WithKey") {
		t.Fatalf("error %v, want one pointing at WithKey", err)
	}
	keyed := task.New("k", func(context.Context, chan int) (int, error) { return 1, nil },
		task.WithKey(func(chan int) string { return "the-channel" }))
	err = inFlow(h.Context(), func(ctx context.Context) error { _, err := keyed.Run(ctx, make(chan int)); return err })
	if err != nil {
		t.Fatal(err)
	}
}
