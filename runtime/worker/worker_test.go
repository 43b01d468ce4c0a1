package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/task"
)

type env struct {
	st   store.Store
	path string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netauto.db")
	st, err := sqlite.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.ApplyPool(context.Background(), store.Pool{Name: "default", Type: "in-process"}); err != nil {
		t.Fatal(err)
	}
	return &env{st: st, path: path}
}

func (e *env) deploy(t testing.TB, d store.Deployment) {
	t.Helper()
	d.Pool = "default"
	if _, err := e.st.ApplyDeployment(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

func (e *env) createRun(t testing.TB, dep string, params string) string {
	t.Helper()
	run, _, err := e.st.CreateRun(context.Background(), store.RunSpec{Deployment: dep, Parameters: json.RawMessage(params)})
	if err != nil {
		t.Fatal(err)
	}
	return run.ID
}

// waitFor polls cond (a store read) until it holds, for at most 20s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) waitFinal(t testing.TB, id string) store.FlowRun {
	t.Helper()
	var run store.FlowRun
	waitFor(t, "run "+id+" to end", func() bool {
		var err error
		run, err = e.st.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return run.State.Final()
	})
	return run
}

// startWorker runs a worker until the test ends and returns it with a
// function that stops it (hard) and waits for Run to return.
func (e *env) startWorker(t testing.TB, opts Options) (*Worker, func()) {
	t.Helper()
	return e.startWorkerOn(t, e.st, opts)
}

// startWorkerOn is startWorker on the store st (a wrapper of e's).
func (e *env) startWorkerOn(t testing.TB, st store.Store, opts Options) (*Worker, func()) {
	t.Helper()
	opts.Pool = "default"
	if os.Getenv("NETAUTO_TEST_LOG") == "" {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Lease == 0 {
		// Short enough for the tests that wait for a lease to lapse,
		// long enough for renewals on a loaded machine under -race:
		// a run whose renewals lag 4/5 of its lease is stopped.
		opts.Lease = 2 * time.Second
	}
	if opts.Poll == 0 {
		opts.Poll = 10 * time.Millisecond
	}
	w, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(stop)
	return w, stop
}

func (e *env) inProcess(t testing.TB, defs ...flow.Definition) *InProcess {
	t.Helper()
	reg, err := NewRegistry(defs...)
	if err != nil {
		t.Fatal(err)
	}
	l := NewInProcess(e.st, reg, store.RecorderOptions{Interval: 20 * time.Millisecond}, store.LimiterOptions{Poll: 5 * time.Millisecond})
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close launcher: %v", err)
		}
	})
	return l
}

type greet struct {
	Name string `json:"name"`
}

func TestRunCompletes(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t)
	upper := task.New("upper", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	hello := flow.New("hello", func(ctx context.Context, p greet) (string, error) {
		s, err := upper.Run(ctx, p.Name)
		return "hello " + s, err
	})
	e.deploy(t, store.Deployment{Name: "hello", Flow: "hello"})
	l := e.inProcess(t, hello)
	w, stop := e.startWorker(t, Options{Launcher: l, LauncherType: "in-process", Name: "w1"})
	id := e.createRun(t, "hello", `{"name": "world"}`)
	w.Wake()
	run := e.waitFinal(t, id)
	if run.State.Name != flow.NameCompleted || run.Worker != "w1" {
		t.Fatalf("run ended %s on %q, want Completed on w1", run.State, run.Worker)
	}
	res, ok, err := e.st.RunResult(context.Background(), id)
	if err != nil || !ok || string(res) != `"hello WORLD"` {
		t.Fatalf("result %s %v %v", res, ok, err)
	}
	hist, err := e.st.RunHistory(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range hist {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"Scheduled", "Pending", "Running", "Completed"}) {
		t.Errorf("history %q", names)
	}
	workers, err := e.st.ListWorkers(context.Background(), "default")
	if err != nil || len(workers) != 1 || workers[0].Name != "w1" {
		t.Errorf("workers %+v %v, want w1's heartbeat", workers, err)
	}
	stop()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	e.st.Close()
	waitFor(t, "the worker's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestFailuresAreSettled(t *testing.T) {
	e := newEnv(t)
	typed := flow.New("typed", func(_ context.Context, p greet) (string, error) { return p.Name, nil })
	e.deploy(t, store.Deployment{Name: "typed", Flow: "typed"})
	e.deploy(t, store.Deployment{Name: "ghost", Flow: "not-compiled-in"})
	w, _ := e.startWorker(t, Options{Launcher: e.inProcess(t, typed)})
	bad := e.createRun(t, "typed", `{"name": 5}`)
	ghost := e.createRun(t, "ghost", "")
	w.Wake()
	for id, want := range map[string]string{bad: "name", ghost: "not in this binary"} {
		run := e.waitFinal(t, id)
		if run.State.Name != flow.NameFailed || !strings.Contains(run.State.Message, want) {
			t.Errorf("run ended %s, want Failed naming %q", run.State, want)
		}
	}
}

func TestConcurrencyLimit(t *testing.T) {
	e := newEnv(t)
	var (
		cur, peak atomic.Int64
		started   = make(chan struct{}, 10)
		release   = make(chan struct{})
	)
	block := flow.New("block", func(ctx context.Context, _ struct{}) (int, error) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		started <- struct{}{}
		<-release
		return 0, nil
	})
	e.deploy(t, store.Deployment{Name: "block", Flow: "block"})
	var ids []string
	for range 5 {
		ids = append(ids, e.createRun(t, "block", ""))
	}
	w, _ := e.startWorker(t, Options{Launcher: e.inProcess(t, block), Concurrency: 2})
	<-started
	<-started
	if w.Running() != 2 {
		t.Fatalf("running %d, want 2", w.Running())
	}
	waiting, _, err := e.st.ListRuns(context.Background(), store.RunFilter{States: []flow.StateType{flow.TypeScheduled}})
	if err != nil || len(waiting) != 3 {
		t.Fatalf("%d runs still scheduled (%v), want 3", len(waiting), err)
	}
	close(release)
	for _, id := range ids {
		if run := e.waitFinal(t, id); run.State.Name != flow.NameCompleted {
			t.Fatalf("run %s ended %s", id, run.State)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	wait := flow.New("wait", func(ctx context.Context, _ struct{}) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		return 0, ctx.Err()
	})
	e.deploy(t, store.Deployment{Name: "wait", Flow: "wait"})
	id := e.createRun(t, "wait", "")
	e.startWorker(t, Options{Launcher: e.inProcess(t, wait)})
	<-started
	st, err := e.st.CancelRun(context.Background(), id, "operator asked")
	if err != nil || st.Name != flow.NameCancelling {
		t.Fatalf("cancel: %s %v, want Cancelling", st, err)
	}
	if run := e.waitFinal(t, id); run.State.Name != flow.NameCancelled {
		t.Fatalf("run ended %s, want Cancelled", run.State)
	}
}

// TestLeaseLostRetryReusesResults stops a worker mid-run without letting
// it record anything (as if it died); the reaper crashes the run and
// schedules attempt 2, which another worker completes, reusing the result
// of the task the first attempt completed.
func TestLeaseLostRetryReusesResults(t *testing.T) {
	e := newEnv(t)
	var configured, verified atomic.Int64
	inB := make(chan struct{}, 2)
	configure := task.New("configure", func(_ context.Context, dev string) (string, error) {
		configured.Add(1)
		return "configured " + dev, nil
	})
	verify := task.New("verify", func(ctx context.Context, dev string) (bool, error) {
		inB <- struct{}{}
		if flowext.FlowRunFrom(ctx) != nil && verified.Add(1) == 1 {
			<-ctx.Done() // the first attempt hangs until its worker stops
			return false, ctx.Err()
		}
		return true, nil
	})
	change := flow.New("change", func(ctx context.Context, p greet) (string, error) {
		out, err := configure.Run(ctx, p.Name)
		if err != nil {
			return "", err
		}
		if _, err := verify.Run(ctx, p.Name); err != nil {
			return "", err
		}
		return out, nil
	})
	e.deploy(t, store.Deployment{Name: "change", Flow: "change", Retries: 1})
	id := e.createRun(t, "change", `{"name": "sw1"}`)

	l1 := e.inProcess(t, change)
	_, stop1 := e.startWorker(t, Options{Name: "w1", Launcher: l1})
	<-inB
	stop1() // dies: stops renewing, records nothing more
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	if run, _ := e.st.GetRun(context.Background(), id); run.State.Name != flow.NameRunning {
		t.Fatalf("after the worker stopped the run is %s, want still Running (fenced)", run.State)
	}

	later := time.Now().Add(time.Minute)
	reaped, err := e.st.ReapExpiredLeases(context.Background(), later)
	if err != nil {
		t.Fatal(err)
	}
	if len(reaped) != 1 || reaped[0].State.Name != flow.NameAwaitingRetry || reaped[0].Attempt != 2 {
		t.Fatalf("reaped %+v, want the run awaiting retry as attempt 2", reaped)
	}
	e.startWorker(t, Options{Name: "w2", Launcher: e.inProcess(t, change), Now: func() time.Time { return time.Now().Add(time.Minute) }})
	run := e.waitFinal(t, id)
	if run.State.Name != flow.NameCompleted || run.Attempt != 2 || run.Worker != "w2" {
		t.Fatalf("run ended %s, attempt %d on %q; want Completed, attempt 2, on w2", run.State, run.Attempt, run.Worker)
	}
	if n := configured.Load(); n != 1 {
		t.Errorf("configure ran %d times, want once (its result reused by attempt 2)", n)
	}
	if n := verified.Load(); n != 2 {
		t.Errorf("verify ran %d times, want twice", n)
	}
	hist, _ := e.st.RunHistory(context.Background(), id)
	var names []string
	for _, s := range hist {
		names = append(names, s.Name)
	}
	if want := []string{"Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry", "Pending", "Retrying", "Completed"}; !slices.Equal(names, want) {
		t.Errorf("history %q, want %q", names, want)
	}
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t)
	l := &Process{}
	for _, tt := range []struct {
		opts  Options
		field string
	}{
		{Options{Launcher: l}, "pool"},
		{Options{Pool: "default"}, "launcher"},
		{Options{Pool: "default", Launcher: l, Concurrency: -1}, "concurrency"},
	} {
		_, err := New(e.st, tt.opts)
		var ie *store.InvalidError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.opts, err, tt.field)
		}
	}
}

func TestShutdownDrains(t *testing.T) {
	e := newEnv(t)
	started, release := make(chan struct{}), make(chan struct{})
	slow := flow.New("slow", func(ctx context.Context, _ struct{}) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	e.deploy(t, store.Deployment{Name: "slow", Flow: "slow"})
	id := e.createRun(t, "slow", "")
	// One slot: while the run executes, the worker waits for a slot and
	// cannot be in the middle of a claim when Shutdown begins.
	w, err := New(e.st, Options{Pool: "default", Launcher: e.inProcess(t, slow), Concurrency: 1, Poll: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- w.Run(context.Background()) }()
	<-started
	drained := make(chan error, 1)
	go func() { drained <- w.Shutdown(context.Background()) }()
	<-w.draining
	other := e.createRun(t, "slow", "") // must not be claimed while draining
	w.Wake()
	select {
	case err := <-drained:
		t.Fatalf("Shutdown returned %v while a run was executing", err)
	case err := <-ran:
		t.Fatalf("Run returned %v while a run was executing", err)
	default:
	}
	close(release)
	if err := <-drained; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run = %v, want nil after Shutdown", err)
	}
	if run := e.waitFinal(t, id); run.State.Name != flow.NameCompleted {
		t.Fatalf("drained run ended %s", run.State)
	}
	if run, _ := e.st.GetRun(context.Background(), other); run.State.Name != flow.NameScheduled {
		t.Fatalf("run created while draining is %s, want still Scheduled", run.State)
	}
}

// TestLeaseLostWhileRunningIsFenced reaps a run whose worker is alive but
// late (as after a long stall): at its next renewal the worker stops the
// run and records nothing more, so the retry is not clobbered by the
// stopped execution's Cancelled state.
func TestLeaseLostWhileRunningIsFenced(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	stopped := make(chan error, 1)
	hang := flow.New("hang", func(ctx context.Context, _ struct{}) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return 0, ctx.Err()
	})
	e.deploy(t, store.Deployment{Name: "hang", Flow: "hang", Retries: 1})
	id := e.createRun(t, "hang", "")
	w, _ := e.startWorker(t, Options{Launcher: e.inProcess(t, hang)})
	<-started
	waitFor(t, "the run to be recorded Running", func() bool {
		run, err := e.st.GetRun(context.Background(), id)
		return err == nil && run.State.Name == flow.NameRunning
	})
	if _, err := e.st.ReapExpiredLeases(context.Background(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if cause := <-stopped; !errors.Is(cause, store.ErrLeaseLost) {
		t.Fatalf("run stopped with cause %v, want the lost lease", cause)
	}
	waitFor(t, "the worker to drop the run", func() bool { return w.Running() == 0 })
	run, err := e.st.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if run.State.Name != flow.NameAwaitingRetry || run.Attempt != 2 {
		t.Fatalf("run is %s, attempt %d; want AwaitingRetry, attempt 2, untouched by the stopped execution", run.State, run.Attempt)
	}
}

func TestRunUnknownPool(t *testing.T) {
	e := newEnv(t)
	w, err := New(e.st, Options{Pool: "nope", Launcher: &Process{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `pool "nope"`) {
		t.Fatalf("Run = %v, want pool \"nope\" not found", err)
	}
}

// downStore fails lease renewals once down is set, as an unreachable
// database would.
type downStore struct {
	store.Store
	down atomic.Bool
}

func (s *downStore) RenewLease(ctx context.Context, runID, worker string, until time.Time) (flow.State, error) {
	if s.down.Load() {
		return flow.State{}, errors.New("database unreachable")
	}
	return s.Store.RenewLease(ctx, runID, worker, until)
}

// TestLeaseExpiresWithoutRenewal stops and fences a run whose lease could
// not be renewed before it expired: the reaper may already have given it
// to another worker.
func TestLeaseExpiresWithoutRenewal(t *testing.T) {
	e := newEnv(t)
	ds := &downStore{Store: e.st}
	started := make(chan struct{}, 1)
	stopped := make(chan error, 1)
	hang := flow.New("hang", func(ctx context.Context, _ struct{}) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return 0, ctx.Err()
	})
	e.deploy(t, store.Deployment{Name: "hang", Flow: "hang"})
	id := e.createRun(t, "hang", "")
	w, err := New(ds, Options{Pool: "default", Launcher: e.inProcess(t, hang), Lease: 300 * time.Millisecond, Poll: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
	}()
	<-started
	waitFor(t, "the run to be recorded Running", func() bool {
		run, err := e.st.GetRun(context.Background(), id)
		return err == nil && run.State.Name == flow.NameRunning
	})
	ds.down.Store(true)
	if cause := <-stopped; cause == nil || !strings.Contains(cause.Error(), "expired without renewal") {
		t.Fatalf("run stopped with cause %v, want the expired lease", cause)
	}
	waitFor(t, "the worker to drop the run", func() bool { return w.Running() == 0 })
	if run, _ := e.st.GetRun(context.Background(), id); run.State.Name != flow.NameRunning {
		t.Fatalf("run is %s; the fenced execution must leave it to the reaper", run.State)
	}
}

// claimCounter counts the claims a worker makes and the runs each gave.
type claimCounter struct {
	store.Store
	mu    sync.Mutex
	calls [][2]int // max asked, runs given
}

func (c *claimCounter) ClaimRuns(ctx context.Context, cl store.Claim, max int) ([]store.FlowRun, error) {
	runs, err := c.Store.ClaimRuns(ctx, cl, max)
	c.mu.Lock()
	c.calls = append(c.calls, [2]int{max, len(runs)})
	c.mu.Unlock()
	return runs, err
}

// Runs due together go to a worker with free slots in one claim (one
// write transaction), not one claim per run, and never more than its
// free slots.
func TestClaimsDueRunsTogether(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	block := flow.New("block", func(ctx context.Context, _ struct{}) (int, error) {
		started <- struct{}{}
		<-release
		return 0, nil
	})
	e.deploy(t, store.Deployment{Name: "block", Flow: "block"})
	var ids []string
	for range 8 {
		ids = append(ids, e.createRun(t, "block", ""))
	}
	cc := &claimCounter{Store: e.st}
	w, _ := e.startWorkerOn(t, cc, Options{Launcher: e.inProcess(t, block), Concurrency: 6})
	for range 6 {
		<-started
	}
	cc.mu.Lock()
	first := cc.calls[0]
	cc.mu.Unlock()
	if first != [2]int{6, 6} {
		t.Fatalf("first claim asked for %d runs and got %d, want 6 and 6", first[0], first[1])
	}
	if w.Running() != 6 {
		t.Fatalf("running %d, want 6", w.Running())
	}
	close(release)
	for _, id := range ids {
		if run := e.waitFinal(t, id); run.State.Name != flow.NameCompleted {
			t.Fatalf("run %s ended %s", id, run.State)
		}
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, c := range cc.calls {
		if c[1] > c[0] || c[0] > 6 {
			t.Fatalf("a claim asked for %d runs and got %d (concurrency 6)", c[0], c[1])
		}
	}
}
