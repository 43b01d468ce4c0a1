package store_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/task"
)

// downStore is a RecordStore that refuses commits as an unreachable
// database does (connection refused) while down is set, and signals each
// refused commit on refused.
type downStore struct {
	fakeStore
	down    atomic.Bool
	refused chan struct{}
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func (d *downStore) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	if d.down.Load() {
		select {
		case d.refused <- struct{}{}:
		default:
		}
		return nil, errRefused
	}
	return d.fakeStore.Record(ctx, ops, logs)
}

// TestRecorderWaitsOutAnOutage: a task completes while the store is
// unreachable. Its Completed state cannot be made durable, so the next
// task must not start; but the outage is not the flow's failure: the
// recorder commits again until the store is back, then the flow goes on
// and completes. Before, the task returned the commit's error and the
// flow run ended Failed.
func TestRecorderWaitsOutAnOutage(t *testing.T) {
	ds := &downStore{refused: make(chan struct{}, 1)}
	rec := store.NewRecorder(ds, store.RecorderOptions{Interval: time.Hour})
	defer rec.Close()
	lease, lose := context.WithCancelCause(context.Background())
	defer lose(nil)
	ctx := store.WithLease(flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec}), lease)
	var secondStarted atomic.Bool
	first := task.New("configure", func(context.Context, string) (string, error) {
		ds.down.Store(true) // the database restarts as the task completes
		return "done", nil
	})
	second := task.New("verify", func(context.Context, string) (bool, error) {
		secondStarted.Store(true)
		return true, nil
	})
	f := flow.New("change", func(ctx context.Context, dev string) (bool, error) {
		if _, err := first.Run(ctx, dev); err != nil {
			return false, err
		}
		return second.Run(ctx, dev)
	})
	done := make(chan error, 1)
	go func() {
		_, err := f.Run(ctx, "sw1")
		done <- err
	}()
	for range 3 { // three refused commits: the recorder keeps trying
		select {
		case <-ds.refused:
		case err := <-done:
			t.Fatalf("the flow ended during the outage: %v", err)
		}
	}
	if secondStarted.Load() {
		t.Fatal("the next task started before the first one's Completed state was durable")
	}
	select {
	case err := <-done:
		t.Fatalf("the flow ended during the outage: %v", err)
	default:
	}
	ds.down.Store(false)
	if err := <-done; err != nil {
		t.Fatalf("flow run failed by a store outage: %v", err)
	}
	states := ds.states()
	iFirst, iSecond := -1, -1
	for i, s := range states {
		if strings.HasSuffix(s, ":Completed") && iFirst < 0 {
			iFirst = i
		}
		if strings.HasSuffix(s, ":Pending") && iFirst >= 0 && iSecond < 0 {
			iSecond = i
		}
	}
	if iFirst < 0 || iSecond < 0 {
		t.Fatalf("committed states %v: want the first task Completed before the second started", states)
	}
}

// TestRecorderStopsWithItsLease: once the execution's lease is lost
// (another worker may run the run now), the recorder stops waiting for
// the store, the flush fails with the lease's cause naming the flow run,
// and nothing more is buffered for the execution.
func TestRecorderStopsWithItsLease(t *testing.T) {
	ds := &downStore{refused: make(chan struct{}, 1)}
	ds.down.Store(true)
	rec := store.NewRecorder(ds, store.RecorderOptions{Interval: time.Hour})
	defer func() {
		ds.down.Store(false) // the store is back: Close commits what is left
		rec.Close()
	}()
	lease, lose := context.WithCancelCause(context.Background())
	ctx := store.WithLease(flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec}), lease)
	ctx, run, err := flowext.StartRun(ctx, flow.RunRecord{Kind: flow.KindFlow, Name: "change"})
	if err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- rec.Flush(ctx) }()
	select {
	case <-ds.refused:
	case err := <-flushed:
		t.Fatalf("Flush = %v before the lease was lost, want it to wait for the store", err)
	}
	lostLease := errors.New("worker w1 lost its lease")
	lose(lostLease)
	err = <-flushed
	if !errors.Is(err, lostLease) || !strings.Contains(err.Error(), run.ID()) || !store.IsUnavailable(err) {
		t.Fatalf("Flush = %v, want the lease's cause and the outage, naming flow run %s", err, run.ID())
	}
	if err := rec.SetState(ctx, run.ID(), flow.Running(), nil); !errors.Is(err, lostLease) {
		t.Fatalf("SetState after the lease was lost = %v, want it refused", err)
	}
}

// TestBatchErrorNamesNoOtherRun: two executions' events share a commit
// while PostgreSQL is down. The error each flush reports names its own
// run, never the other (it used to say "check fence of run <other>").
func TestBatchErrorNamesNoOtherRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := proctest.StartPostgres(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, pg.DSN, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyDeployment(ctx, store.Deployment{Name: "d", Flow: "f", Pool: "p"}); err != nil {
		t.Fatal(err)
	}
	var runs [2]store.FlowRun
	for i := range runs {
		if _, _, err := s.CreateRun(ctx, store.RunSpec{Deployment: "d"}); err != nil {
			t.Fatal(err)
		}
		run, ok, err := s.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w1", Lease: time.Minute, Now: time.Now()})
		if err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		runs[i] = run
	}
	rec := store.NewRecorder(s, store.RecorderOptions{Interval: time.Hour, WriteTimeout: 5 * time.Second})
	defer rec.Close()
	lease, lose := context.WithCancelCause(context.Background())
	var ctxs [2]context.Context
	for i, r := range runs {
		c := store.WithLease(store.WithFence(flow.WithEngine(ctx, &flow.Engine{Recorder: rec}), store.FenceOf(r)), lease)
		// The execution records its flow run (an upsert) and a state:
		// ops fenced by its claim, committed in one batch with the other's.
		c, _, err := flowext.StartRun(c, flow.RunRecord{ID: r.ID, Kind: flow.KindFlow, Name: r.Flow})
		if err != nil {
			t.Fatal(err)
		}
		ctxs[i] = c
	}
	pg.Stop(t, "fast")
	var wg sync.WaitGroup
	var errs [2]error
	for i := range runs {
		wg.Go(func() { errs[i] = rec.Flush(ctxs[i]) })
	}
	time.AfterFunc(time.Second, func() { lose(errors.New("test over")) })
	wg.Wait()
	t.Logf("flush errors: %v / %v", errs[0], errs[1])
	for i, r := range runs {
		other := runs[1-i].ID
		if errs[i] == nil || !strings.Contains(errs[i].Error(), r.ID) || strings.Contains(errs[i].Error(), other) {
			t.Errorf("flush of run %s = %v: want an error naming it and not run %s", r.ID, errs[i], other)
		}
	}
	pg.Start(t)
}
