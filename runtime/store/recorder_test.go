package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
	"github.com/netauto-dev/netauto/task"
)

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres opens a store on a schema of its own in the test
// PostgreSQL (skipped without one), closed when the test ends.
func openPostgres(t testing.TB) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), storetest.TempSchema(t, storetest.PostgresDSN(t)), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRecorderEngine runs a flow through the engine on a SQLite store and
// reads back what the recorder wrote. The first attempt fails after its
// tasks completed; the second resumes and reuses their results.
func TestRecorderEngine(t *testing.T) {
	s := openSQLite(t)
	rec := store.NewRecorder(s, store.RecorderOptions{})
	defer rec.Close()
	ctx := flow.WithEngine(t.Context(), &flow.Engine{Recorder: rec})
	var calls int
	var mu sync.Mutex
	render := task.New("render", func(ctx context.Context, dev string) (string, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		flow.Logger(ctx).Info("rendered", "device", dev)
		return "config of " + dev, nil
	})
	failed := false
	f := flow.New("backup", func(ctx context.Context, devs []string) (int, error) {
		outs, err := task.Collect(ctx, task.Map(ctx, render, devs))
		if err == nil && !failed {
			failed = true
			return 0, errors.New("push failed")
		}
		return len(outs), err
	})
	run, _, err := s.CreateRun(ctx, store.RunSpec{Flow: "backup", State: flow.Pending()})
	if err != nil {
		t.Fatal(err)
	}
	params := json.RawMessage(`["r1","r2","r3"]`)
	for attempt := 1; attempt <= 2; attempt++ {
		cur, err := s.GetRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if attempt == 2 { // the runtime retries the failed run
			if _, err = s.SetRunState(ctx, run.ID, flow.AwaitingRetry(time.Now(), "retry"), nil); err != nil {
				t.Fatal(err)
			}
			if cur, err = s.SetRunState(ctx, run.ID, flow.Pending(), nil); err != nil {
				t.Fatal(err)
			}
		}
		out, err := f.Execute(ctx, flow.Execution{RunID: run.ID, Params: params, State: cur.State, Attempt: attempt, Resume: attempt > 1})
		if attempt == 1 {
			if err == nil {
				t.Fatal("attempt 1 succeeded, want its error")
			}
			continue
		}
		if err != nil || string(out) != "3" {
			t.Fatalf("attempt %d: %s, %v", attempt, out, err)
		}
	}
	if calls != 3 {
		t.Fatalf("render ran %d times over two attempts, want 3 (the second reuses results)", calls)
	}
	got, err := s.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Type != flow.TypeCompleted || string(got.Parameters) != string(params) {
		t.Fatalf("run = %+v", got)
	}
	h, _ := s.RunHistory(ctx, run.ID)
	var names []string
	for _, st := range h {
		names = append(names, st.Name)
	}
	if len(names) != 7 || !slices.Equal(names[:5], []string{"Pending", "Running", "Failed", "AwaitingRetry", "Pending"}) || names[6] != "Completed" {
		t.Fatalf("history = %v", names)
	}
	tasks, err := s.TaskRuns(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var completed, cached int
	for _, tr := range tasks {
		switch tr.State.Name {
		case flow.NameCompleted:
			completed++
		case flow.NameCached:
			cached++
		}
	}
	if completed != 3 || cached != 3 {
		t.Fatalf("task runs: %d completed, %d cached; want 3 and 3", completed, cached)
	}
	logs, _, err := s.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 3 {
		t.Fatalf("%d log records, want the 3 task logs at least", len(logs))
	}
}

// fakeStore is a RecordStore whose commits a test controls.
type fakeStore struct {
	mu      sync.Mutex
	batches [][]store.Op
	logs    int
	fail    error                   // returned (once) by the next Record
	opErr   func(op store.Op) error // per-op errors
	gate    chan struct{}           // when set, Record waits for a value
	entered chan struct{}           // signalled when Record starts
}

func (f *fakeStore) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	f.mu.Lock()
	entered, gate := f.entered, f.gate
	f.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail; err != nil {
		f.fail = nil
		return nil, err
	}
	f.batches = append(f.batches, slices.Clone(ops))
	f.logs += len(logs)
	errs := make([]error, len(ops))
	for i, op := range ops {
		if f.opErr != nil {
			errs[i] = f.opErr(op)
		}
	}
	return errs, nil
}

func (f *fakeStore) RunResults(context.Context, string) (map[string]json.RawMessage, error) {
	return nil, nil
}

func (f *fakeStore) CachedResult(context.Context, string, time.Time) (json.RawMessage, bool, error) {
	return nil, false, nil
}

func (f *fakeStore) states() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.batches {
		for _, op := range b {
			if op.Create == nil {
				out = append(out, op.RunID+":"+op.State.Name)
			}
		}
	}
	return out
}

// slowOpts keeps the background goroutine out of the way.
var slowOpts = store.RecorderOptions{Interval: time.Hour}

func TestRecorderGroupCommit(t *testing.T) {
	f := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	r := store.NewRecorder(f, slowOpts)
	ctx := context.Background()
	_ = r.SetState(ctx, "a", flow.Pending(), nil)
	first := make(chan error)
	go func() { first <- r.Flush(ctx) }()
	<-f.entered // the first commit is under way, holding "a"
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		_ = r.SetState(ctx, string(rune('b'+i)), flow.Pending(), nil)
		go func() { errs <- r.Flush(ctx) }()
	}
	f.gate <- struct{}{} // finish the first commit
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-f.entered // one of the ten leads the second commit
	f.gate <- struct{}{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(f.batches) != 2 || len(f.batches[1]) != n {
		t.Fatalf("commits = %d (second with %d ops), want 2 commits, the second with all %d flushes' ops", len(f.batches), len(f.batches[len(f.batches)-1]), n)
	}
	f.mu.Lock()
	f.gate, f.entered = nil, nil
	f.mu.Unlock()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRecorderFailedCommitKeepsEvents(t *testing.T) {
	boom := errors.New("database is locked")
	f := &fakeStore{fail: boom}
	r := store.NewRecorder(f, slowOpts)
	defer r.Close()
	ctx := context.Background()
	_ = r.SetState(ctx, "a", flow.Pending(), nil)
	_ = r.SetState(ctx, "a", flow.Running(), nil)
	if err := r.Flush(ctx); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want the commit's error", err)
	}
	_ = r.SetState(ctx, "a", flow.Completed(), &flow.Result{FlowRunID: "f", TaskKey: "k", Value: json.RawMessage(`1`)})
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.states(); !slices.Equal(got, []string{"a:Pending", "a:Running", "a:Completed"}) {
		t.Fatalf("committed %v, want every state once, in order", got)
	}
}

func TestRecorderOpErrorsGoToTheirFlowRun(t *testing.T) {
	f := &fakeStore{opErr: func(op store.Op) error {
		if op.State.Name == flow.NameCompleted {
			return &flow.TransitionError{From: flow.Crashed("lost", ""), To: op.State, Reason: "reaped"}
		}
		return nil
	}}
	r := store.NewRecorder(f, slowOpts)
	defer r.Close()
	ctxA, runA := startFlowRun(t, r, "a")
	ctxB, runB := startFlowRun(t, r, "b")
	_ = r.SetState(ctxA, runA, flow.Completed(), nil)
	_ = r.SetState(ctxB, runB, flow.Running(), nil)
	if err := r.Flush(ctxB); err != nil {
		t.Fatalf("flow run b's Flush = %v, want nil: the error is a's", err)
	}
	var te *flow.TransitionError
	if err := r.Flush(ctxA); !errors.As(err, &te) {
		t.Fatalf("flow run a's Flush = %v, want its *flow.TransitionError", err)
	}
	if err := r.Flush(ctxA); err != nil {
		t.Fatalf("error reported twice: %v", err)
	}
}

// startFlowRun starts a flow run recorded on r and returns its context.
func startFlowRun(t *testing.T, r *store.Recorder, name string) (context.Context, string) {
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: r})
	ctx, run, err := flowext.StartRun(ctx, flow.RunRecord{Kind: flow.KindFlow, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, run.ID()
}

func TestRecorderBoundsLogs(t *testing.T) {
	f := &fakeStore{}
	r := store.NewRecorder(f, store.RecorderOptions{Interval: time.Hour, MaxLogs: 10, BatchSize: 1000})
	ctx := context.Background()
	for range 15 {
		r.Log(ctx, flow.LogRecord{RunID: "a", Message: "x"})
	}
	_ = r.SetState(ctx, "a", flow.Pending(), nil) // states are never dropped
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if r.DroppedLogs() != 5 || f.logs != 10 || len(f.states()) != 1 {
		t.Fatalf("dropped %d, stored %d logs and %d states; want 5, 10 and 1", r.DroppedLogs(), f.logs, len(f.states()))
	}
}

func TestRecorderBackgroundCommitAndClose(t *testing.T) {
	before := runtime.NumGoroutine()
	f := &fakeStore{entered: make(chan struct{}, 1)}
	r := store.NewRecorder(f, store.RecorderOptions{Interval: time.Millisecond})
	r.Log(context.Background(), flow.LogRecord{RunID: "a", Message: "live"})
	<-f.entered // committed by the background goroutine, nobody flushed
	f.mu.Lock()
	f.entered = nil
	f.mu.Unlock()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if f.logs != 1 {
		t.Fatalf("stored %d logs, want 1", f.logs)
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 2000 {
			t.Fatalf("goroutines: %d before, %d after Close", before, runtime.NumGoroutine())
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestRecorderConcurrentFlows runs flows side by side on one Recorder: every
// task run of every flow is committed when its flow returns.
func TestRecorderConcurrentFlows(t *testing.T) {
	s := openSQLite(t)
	rec := store.NewRecorder(s, store.RecorderOptions{Interval: time.Millisecond, BatchSize: 16})
	defer rec.Close()
	ctx := flow.WithEngine(t.Context(), &flow.Engine{Recorder: rec})
	step := task.New("step", func(ctx context.Context, n int) (int, error) {
		flow.Logger(ctx).Info("step", "n", n)
		return n * 2, nil
	})
	f := flow.New("fan-out", func(ctx context.Context, n int) (string, error) {
		ins := make([]int, n)
		for i := range ins {
			ins[i] = i
		}
		if _, err := task.Collect(ctx, task.Map(ctx, step, ins, task.Concurrency(8))); err != nil {
			return "", err
		}
		return flow.RunFrom(ctx).ID(), nil
	})
	const flows, tasks = 6, 40
	ids := make(chan string, flows)
	var wg sync.WaitGroup
	for range flows {
		wg.Go(func() {
			id, err := f.Run(ctx, tasks)
			if err != nil {
				t.Error(err)
			}
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	for id := range ids {
		trs, err := s.TaskRuns(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		logs, _, err := s.Logs(t.Context(), store.LogQuery{FlowRunID: id, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, tr := range trs {
			if tr.State.Name == flow.NameCompleted {
				done++
			}
		}
		if done != tasks || len(logs) != tasks {
			t.Fatalf("flow run %s: %d completed task runs and %d logs, want %d of each", id, done, len(logs), tasks)
		}
	}
}
