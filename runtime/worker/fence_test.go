package worker

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// launchFunc is a Launcher from a function.
type launchFunc func(ctx context.Context, job Job) error

func (f launchFunc) Launch(ctx context.Context, job Job) error { return f(ctx, job) }

// A child that exits without a final state under a live worker is Crashed
// and retried per the run's policy, like a run whose worker died.
func TestCrashedChildIsRetried(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, store.Deployment{Name: "d", Flow: "f", Retries: 1})
	var attempts atomic.Int32
	l := launchFunc(func(ctx context.Context, job Job) error {
		attempts.Add(1)
		if job.Run.Attempt == 1 {
			return errors.New("process exited with status 2")
		}
		if _, err := e.st.SetRunState(ctx, job.Run.ID, flow.Running(), nil); err != nil {
			return err
		}
		_, err := e.st.SetRunState(ctx, job.Run.ID, flow.Completed(), nil)
		return err
	})
	w, _ := e.startWorker(t, Options{Launcher: l})
	id := e.createRun(t, "d", "")
	w.Wake()
	run := e.waitFinal(t, id)
	if run.State.Name != flow.NameCompleted || run.Attempt != 2 || attempts.Load() != 2 {
		t.Fatalf("run %s at attempt %d after %d launches, want Completed at attempt 2", run.State, run.Attempt, attempts.Load())
	}
	hist, err := e.st.RunHistory(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range hist {
		names = append(names, s.Name)
	}
	if want := []string{"Scheduled", "Pending", "Crashed", "AwaitingRetry", "Pending", "Running", "Completed"}; !slices.Equal(names, want) {
		t.Fatalf("history %q, want %q", names, want)
	}
	if msg := hist[2].Message; msg != "run ended without a final state: process exited with status 2" {
		t.Errorf("crash message %q", msg)
	}
}

// Without retries left, the crashed child's run ends Crashed.
func TestCrashedChildWithoutRetries(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, store.Deployment{Name: "d", Flow: "f"})
	l := launchFunc(func(context.Context, Job) error { return errors.New("killed by signal 9") })
	w, _ := e.startWorker(t, Options{Launcher: l})
	id := e.createRun(t, "d", "")
	w.Wake()
	if run := e.waitFinal(t, id); run.State.Name != flow.NameCrashed || run.Attempt != 1 {
		t.Fatalf("run %s at attempt %d, want Crashed at attempt 1", run.State, run.Attempt)
	}
}

// An execution that was reaped, and whose run another worker claimed,
// cannot write through the context its launcher got, whatever it ignores.
func TestStaleExecutionIsRefusedByTheStore(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, store.Deployment{Name: "d", Flow: "f", Retries: 1})
	started := make(chan Job, 1)
	release := make(chan struct{})
	wrote := make(chan error, 2)
	l := launchFunc(func(ctx context.Context, job Job) error {
		started <- job
		<-release // a child that ignores the stop signal for a while
		// It ignores the cancellation too, but its context still carries
		// the execution's fence.
		ctx = context.WithoutCancel(ctx)
		_, err := e.st.SetRunState(ctx, job.Run.ID, flow.Running(), nil)
		wrote <- err
		wrote <- e.st.AppendLogs(ctx, []flow.LogRecord{{RunID: job.Run.ID, FlowRunID: job.Run.ID, Time: time.Now(), Message: "late"}})
		return nil
	})
	e.startWorker(t, Options{Launcher: l, Concurrency: 1, Name: "w1"})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the worker stops, should the test fail early
	id := e.createRun(t, "d", "")
	job := <-started
	if job.Run.Attempt != 1 || job.Run.Worker != "w1" {
		t.Fatalf("claimed %+v", job.Run)
	}
	if _, err := e.st.ReapExpiredLeases(context.Background(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	run2, ok, err := e.st.ClaimRun(context.Background(), store.Claim{Pool: "default", Worker: "w2", Lease: time.Minute, Now: time.Now().Add(2 * time.Minute)})
	if err != nil || !ok || run2.ID != id || run2.Attempt != 2 {
		t.Fatalf("w2's claim = %+v %v %v", run2, ok, err)
	}
	unblock()
	for range 2 {
		if err := <-wrote; !errors.Is(err, store.ErrFenced) {
			t.Fatalf("stale write: %v, want ErrFenced", err)
		}
	}
	run, err := e.st.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if run.State.Name != flow.NamePending || run.Worker != "w2" {
		t.Fatalf("run is %s on %q, want Pending on w2", run.State, run.Worker)
	}
	logs, _, err := e.st.Logs(context.Background(), store.LogQuery{FlowRunID: id})
	if err != nil || len(logs) != 0 {
		t.Fatalf("logs %+v %v, want none from the stale execution", logs, err)
	}
}

// An in-process flow that logs after its run was reaped and claimed again
// leaves no log line: the recorder attaches the execution's fence.
func TestInProcessStaleLogsRefused(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	done := make(chan struct{})
	hang := flow.New("hang", func(ctx context.Context, _ struct{}) (int, error) {
		flow.Logger(ctx).Info("early")
		started <- struct{}{}
		<-release
		flow.Logger(ctx).Info("late")
		close(done)
		return 0, nil
	})
	e.deploy(t, store.Deployment{Name: "hang", Flow: "hang", Retries: 1})
	id := e.createRun(t, "hang", "")
	l := e.inProcess(t, hang)
	e.startWorker(t, Options{Launcher: l, Concurrency: 1, Name: "w1"})
	t.Cleanup(unblock)
	<-started
	waitFor(t, "the early log line", func() bool {
		logs, _, err := e.st.Logs(context.Background(), store.LogQuery{FlowRunID: id})
		return err == nil && len(logs) > 0
	})
	if _, err := e.st.ReapExpiredLeases(context.Background(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.st.ClaimRun(context.Background(), store.Claim{Pool: "default", Worker: "w2", Lease: time.Minute, Now: time.Now().Add(2 * time.Minute)}); err != nil || !ok {
		t.Fatalf("w2's claim: %v %v", ok, err)
	}
	unblock()
	<-done
	if err := l.recorder.Flush(context.Background()); err != nil && !errors.Is(err, store.ErrFenced) {
		t.Fatal(err)
	}
	logs, _, err := e.st.Logs(context.Background(), store.LogQuery{FlowRunID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if l.Message == "late" {
			t.Fatalf("the stale execution's late log line was stored: %+v", logs)
		}
	}
}
