package worker

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

// outageStore is a store that is unreachable while down is set: every
// write and every run read fails as a refused connection does.
type outageStore struct {
	store.Store
	down    atomic.Bool
	refused atomic.Int64
}

func (s *outageStore) fail() error {
	if !s.down.Load() {
		return nil
	}
	s.refused.Add(1)
	return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

func (s *outageStore) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Record(ctx, ops, logs)
}

func (s *outageStore) RenewLease(ctx context.Context, runID, worker string, until time.Time) (flow.State, error) {
	if err := s.fail(); err != nil {
		return flow.State{}, err
	}
	return s.Store.RenewLease(ctx, runID, worker, until)
}

func (s *outageStore) GetRun(ctx context.Context, id string) (store.FlowRun, error) {
	if err := s.fail(); err != nil {
		return store.FlowRun{}, err
	}
	return s.Store.GetRun(ctx, id)
}

func (s *outageStore) ClaimRun(ctx context.Context, c store.Claim) (store.FlowRun, bool, error) {
	if err := s.fail(); err != nil {
		return store.FlowRun{}, false, err
	}
	return s.Store.ClaimRun(ctx, c)
}

func (s *outageStore) ClaimRuns(ctx context.Context, c store.Claim, max int) ([]store.FlowRun, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.ClaimRuns(ctx, c, max)
}

// TestRunSurvivesStoreOutage: the store goes away as a task completes
// (a database restart) and comes back well within the lease. The worker
// keeps the attempt alive, the task's Completed state is written once the
// store is back, before the next task starts, and the run completes in
// its first attempt. Before, the task returned the failed write's error
// and the flow run ended Failed while the store held the task Completed.
func TestRunSurvivesStoreOutage(t *testing.T) {
	e := newEnv(t)
	os := &outageStore{Store: e.st}
	var verified atomic.Int64
	configure := task.New("configure", func(context.Context, string) (string, error) {
		os.down.Store(true)
		return "configured", nil
	})
	verify := task.New("verify", func(context.Context, string) (bool, error) {
		verified.Add(1)
		return true, nil
	})
	change := flow.New("change", func(ctx context.Context, p greet) (bool, error) {
		if _, err := configure.Run(ctx, p.Name); err != nil {
			return false, err
		}
		return verify.Run(ctx, p.Name)
	})
	e.deploy(t, store.Deployment{Name: "change", Flow: "change", Retries: 2})
	reg, err := NewRegistry(change)
	if err != nil {
		t.Fatal(err)
	}
	l := NewInProcess(os, reg, store.RecorderOptions{Interval: 20 * time.Millisecond}, store.LimiterOptions{})
	defer l.Close()
	id := e.createRun(t, "change", `{"name":"sw1"}`)
	e.startWorkerOn(t, os, Options{Launcher: l, Lease: 4 * time.Second})
	waitFor(t, "the store refusing the worker a while", func() bool { return os.refused.Load() >= 5 })
	if verified.Load() != 0 {
		t.Fatal("the next task started before the first one's Completed state was durable")
	}
	os.down.Store(false)
	run := e.waitFinal(t, id)
	if run.State.Name != flow.NameCompleted || run.Attempt != 1 {
		t.Fatalf("run ended %s at attempt %d, want Completed at attempt 1", run.State, run.Attempt)
	}
	hist, err := e.st.RunHistory(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range hist {
		names = append(names, s.Name)
	}
	if want := []string{"Scheduled", "Pending", "Running", "Completed"}; !slices.Equal(names, want) {
		t.Fatalf("history %q, want %q", names, want)
	}
}

// TestRunStopsWhenOutageOutlastsLease: an outage longer than the lease
// stops the attempt before the lease would expire in the store, so that
// the reaper may retry the run without two executions meeting; nothing of
// the stopped attempt is recorded as its end (the reaper crashes it).
func TestRunStopsWhenOutageOutlastsLease(t *testing.T) {
	e := newEnv(t)
	os := &outageStore{Store: e.st}
	stopped := make(chan error, 1)
	hang := flow.New("hang", func(ctx context.Context, _ struct{}) (int, error) {
		os.down.Store(true)
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return 0, ctx.Err()
	})
	e.deploy(t, store.Deployment{Name: "hang", Flow: "hang", Retries: 1})
	id := e.createRun(t, "hang", "")
	w, _ := e.startWorkerOn(t, os, Options{Launcher: e.inProcess(t, hang), Lease: 500 * time.Millisecond})
	cause := <-stopped
	if !errors.Is(cause, ErrLeaseExpired) {
		t.Fatalf("run stopped with cause %v, want the lease expired unrenewed", cause)
	}
	waitFor(t, "the worker to drop the run", func() bool { return w.Running() == 0 })
	os.down.Store(false)
	run, err := e.st.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if run.State.Final() {
		t.Fatalf("run is %s; the stopped attempt must leave it to the reaper", run.State)
	}
	if !strings.Contains(cause.Error(), "connection refused") {
		t.Errorf("cause %q does not say why the renewals failed", cause)
	}
}

// TestPoolTiming: a worker takes its lease and heartbeat from its pool,
// and a change of the pool's applies at its next heartbeat.
func TestPoolTiming(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process", Lease: 900 * time.Millisecond, Heartbeat: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	w, err := New(e.st, Options{Pool: "default", Launcher: launchFunc(func(context.Context, Job) error { return nil }), Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if l, hb := w.Timing(); l != store.DefaultLease || hb != store.DefaultLease/3 {
		t.Fatalf("before Run: lease %s heartbeat %s, want the defaults", l, hb)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the pool's timing", func() bool { l, hb := w.Timing(); return l == 900*time.Millisecond && hb == 100*time.Millisecond })
	if err := e.st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process", Lease: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pool's new timing", func() bool { l, hb := w.Timing(); return l == 2*time.Second && hb == 2*time.Second/3 })
	if err := e.st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process", Lease: time.Second, Heartbeat: time.Second}); err == nil {
		t.Fatal("a heartbeat longer than half the lease was accepted")
	}
}

// TestCrashHooksRunByWorker: a run whose process died (the launcher
// returned without a final state) or whose worker died (the reaper
// crashed it) ends Crashed without its flow's OnCrashed hooks having run
// anywhere; a worker of its pool runs them, once. A crash that is retried
// runs none: the run is not over.
func TestCrashHooksRunByWorker(t *testing.T) {
	e := newEnv(t)
	type call struct {
		run   string
		state string
		err   string
	}
	calls := make(chan call, 10)
	fragile := flow.New("fragile", func(ctx context.Context, _ struct{}) (int, error) { return 0, nil },
		flow.OnCrashed(func(_ context.Context, ev flow.HookEvent) error {
			calls <- call{ev.Run.ID, ev.State.Name, ev.Err.Error()}
			return nil
		}))
	reg, err := NewRegistry(fragile)
	if err != nil {
		t.Fatal(err)
	}
	e.deploy(t, store.Deployment{Name: "once", Flow: "fragile"})
	e.deploy(t, store.Deployment{Name: "retried", Flow: "fragile", Retries: 1, RetryDelay: time.Hour})
	killed := launchFunc(func(context.Context, Job) error { return errors.New("process killed by signal killed") })

	// A run reaped after its worker died.
	ctx := context.Background()
	ghost := e.createRun(t, "once", "")
	if _, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "ghost", Lease: time.Second, Now: time.Now()}); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, err := e.st.ReapExpiredLeases(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	w, _ := e.startWorker(t, Options{Launcher: killed, Hooks: reg})
	if c := <-calls; c.run != ghost || c.state != flow.NameCrashed || !strings.Contains(c.err, `"ghost" lost its lease`) {
		t.Fatalf("hook of the reaped run: %+v", c)
	}

	// A run whose process died under a live worker, no retry left.
	id := e.createRun(t, "once", "")
	w.Wake()
	if c := <-calls; c.run != id || c.state != flow.NameCrashed || !strings.Contains(c.err, "killed by signal") {
		t.Fatalf("hook of the crashed run: %+v", c)
	}
	// A crash with a retry left runs no hook.
	retried := e.createRun(t, "retried", "")
	w.Wake()
	waitFor(t, "the crash to be retried", func() bool {
		r, err := e.st.GetRun(ctx, retried)
		return err == nil && r.State.Name == flow.NameAwaitingRetry
	})
	if _, ok, err := e.st.ClaimHooks(ctx, store.Claim{Pool: "default", Worker: "check", Lease: time.Minute, Now: time.Now().Add(time.Minute)}); err != nil || ok {
		t.Fatalf("hooks still owed after the worker ran them, or owed for a retried run: %v %v", ok, err)
	}
	select {
	case c := <-calls:
		t.Fatalf("hook ran again: %+v", c)
	default:
	}
}
