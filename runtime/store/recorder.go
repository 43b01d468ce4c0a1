package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
)

// RecordStore is what a [Recorder] writes to and reads results from:
// every [Store], or a client reporting to the API server.
type RecordStore interface {
	Record(ctx context.Context, ops []Op, logs []flow.LogRecord) (errs []error, err error)
	flow.ResultStore
}

// RecorderOptions tune a [Recorder]. Zero fields take the defaults.
type RecorderOptions struct {
	// Interval is how often buffered events are committed when nobody
	// flushes: how stale a live view of a run's logs and states may be.
	// Default 200ms.
	Interval time.Duration
	// BatchSize is how many buffered events start a commit without
	// waiting for Interval. Default 1000.
	BatchSize int
	// MaxLogs bounds the log records buffered while commits fail or lag;
	// further records are dropped and counted ([Recorder.DroppedLogs]).
	// Runs, states and results are never dropped. Default 100,000.
	MaxLogs int
	// WriteTimeout bounds one commit. Default 30s.
	WriteTimeout time.Duration
	// OutagePatience is how long Flush, RunResults and CachedResult wait
	// out an unavailable store ([IsUnavailable]) when their context
	// carries no lease ([WithLease]); with a lease, they wait for as long
	// as it holds. Default 1 minute.
	OutagePatience time.Duration
}

// Recorder implements [flow.Recorder] and [flow.ResultStore] on a store,
// batching: CreateRun, SetState and Log only buffer; a commit writes
// everything buffered in one transaction. Flush starts a commit (or joins
// the one under way: concurrent Flush calls share commits) and returns
// once everything recorded before it is committed.
//
// Errors are never swallowed. A commit that fails as a whole keeps its
// events buffered, in order, for the next commit. When it failed because
// the store is unavailable (a database restarting, a connection refused:
// [IsUnavailable]), Flush does not give up: it commits again with
// backoff for as long as the execution holds its lease ([WithLease]; or
// OutagePatience without one), so that a database blink fails no run;
// otherwise, or once the lease is lost, Flush returns the error. Once
// the lease is lost, CreateRun and SetState refuse to buffer anything
// more for that execution. An event that fails on its own
// (an illegal transition because the run was cancelled or reaped
// meanwhile) is not written, and its error is returned by the next Flush
// of the flow run it belongs to.
//
// A background goroutine commits every Interval, so that logs and states
// show up live even between flushes. Close stops it after a last commit.
type Recorder struct {
	rs   RecordStore
	opts RecorderOptions

	mu        sync.Mutex
	ops       []pendingOp
	logs      []flow.LogRecord
	seq       uint64  // events buffered so far
	committed uint64  // every event ≤ committed is written (or failed on its own)
	inflight  *commit // the commit under way, if any
	opErrs    map[string][]error
	// fenced is set once the store refused a whole commit as coming from
	// a stale execution: nothing more is recorded.
	fenced error
	// opLogs counts the log records buffered in ops (fenced ones).
	opLogs int

	dropped atomic.Int64
	kick    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

type pendingOp struct {
	op      Op
	flowRun string // whose Flush reports the op's error
}

type commit struct {
	end  uint64
	err  error
	done chan struct{}
}

var (
	_ flow.Recorder    = (*Recorder)(nil)
	_ flow.ResultStore = (*Recorder)(nil)
)

// maxOpErrs bounds the op errors kept for flow runs that have not flushed
// since; beyond it the oldest flow run's errors are reported by whichever
// Flush comes next.
const maxOpErrs = 10_000

// NewRecorder returns a Recorder writing to rs. Call Close when done.
func NewRecorder(rs RecordStore, opts RecorderOptions) *Recorder {
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.MaxLogs <= 0 {
		opts.MaxLogs = 100_000
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.OutagePatience <= 0 {
		opts.OutagePatience = time.Minute
	}
	r := &Recorder{
		rs:      rs,
		opts:    opts,
		opErrs:  make(map[string][]error),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go r.background()
	return r
}

// flowRunOf returns the flow run whose Flush reports an event's error: the
// flow run executing in ctx (the engine records with its flow run's
// context), else fallback.
func flowRunOf(ctx context.Context, fallback string) string {
	if fr := flowext.FlowRunFrom(ctx); fr != nil {
		return fr.ID()
	}
	return fallback
}

// add buffers p, the op of the execution e (nil for none): fenced by its
// fence, refused once its lease is lost.
func (r *Recorder) add(e *execution, p pendingOp) error {
	if e != nil {
		if err := e.lost(); err != nil {
			id := p.op.RunID
			if p.op.Create != nil {
				id = p.op.Create.ID
			}
			return fmt.Errorf("run %s: nothing more is recorded for this execution: %w", id, err)
		}
		p.op.Fence = e.fence
	}
	r.mu.Lock()
	if err := r.fenced; err != nil {
		r.mu.Unlock()
		return err
	}
	r.ops = append(r.ops, p)
	r.seq++
	full := len(r.ops) >= r.opts.BatchSize
	r.mu.Unlock()
	if full {
		r.poke()
	}
	return nil
}

func (r *Recorder) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// opFence returns the fence of ctx for an op, nil when none. Ops share
// the context's fence: it is never changed.
func opFence(ctx context.Context) *Fence {
	if e := executionFrom(ctx); e != nil {
		return e.fence
	}
	return nil
}

// CreateRun implements [flow.Recorder]. It buffers a copy of run, fenced
// by the fence of ctx ([WithFence]) if any. Once the store refused a
// commit as stale ([ErrFenced]), or the lease of ctx is lost
// ([WithLease]), it returns that error and buffers nothing.
func (r *Recorder) CreateRun(ctx context.Context, run *flow.RunRecord) error {
	rec := *run
	return r.add(executionFrom(ctx), pendingOp{op: Op{Create: &rec}, flowRun: flowRunOf(ctx, rec.FlowRunID)})
}

// SetState implements [flow.Recorder], like CreateRun.
func (r *Recorder) SetState(ctx context.Context, runID string, s flow.State, res *flow.Result) error {
	if res != nil {
		c := *res
		res = &c
	}
	return r.add(executionFrom(ctx), pendingOp{op: Op{RunID: runID, State: s, Result: res}, flowRun: flowRunOf(ctx, runID)})
}

// Log implements [flow.Recorder]. When MaxLogs records are buffered the
// record is dropped and counted. A record logged with a fenced context
// ([WithFence]) is stored only while its execution is current.
func (r *Recorder) Log(ctx context.Context, rec flow.LogRecord) {
	f := opFence(ctx)
	r.mu.Lock()
	if r.fenced != nil {
		r.mu.Unlock()
		return
	}
	if len(r.logs)+r.opLogs >= r.opts.MaxLogs {
		r.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	if f != nil {
		// Coalesce with the previous op when it holds the same
		// execution's records.
		if n := len(r.ops); n > 0 && r.ops[n-1].op.Logs != nil && *r.ops[n-1].op.Fence == *f {
			r.ops[n-1].op.Logs = append(r.ops[n-1].op.Logs, rec)
		} else {
			r.ops = append(r.ops, pendingOp{op: Op{Logs: []flow.LogRecord{rec}, Fence: f}, flowRun: flowRunOf(ctx, rec.FlowRunID)})
		}
		r.opLogs++
		r.seq++
		full := len(r.ops)+r.opLogs >= r.opts.BatchSize
		r.mu.Unlock()
		if full {
			r.poke()
		}
		return
	}
	r.logs = append(r.logs, rec)
	r.seq++
	full := len(r.logs) >= r.opts.BatchSize
	r.mu.Unlock()
	if full {
		r.poke()
	}
}

// DroppedLogs returns how many log records were dropped because MaxLogs
// were buffered.
func (r *Recorder) DroppedLogs() int64 { return r.dropped.Load() }

// Flush implements [flow.Recorder]: it returns once everything recorded
// before the call is committed, with the error of a failed commit, or the
// errors of events of the flow run in ctx that could not be written.
// Called outside a flow run, it returns every such error not reported yet.
// While the store is unavailable it commits again with backoff, as long
// as the lease of ctx holds ([WithLease]; OutagePatience without one).
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	target := r.seq
	r.mu.Unlock()
	err := r.commitUpTo(ctx, target)
	if IsUnavailable(err) {
		// An outage: commit again while the execution may go on.
		lctx, cancel := leaseBound(ctx)
		err = RetryUnavailable(lctx, r.opts.OutagePatience, "", func(ctx context.Context) error {
			return r.commitUpTo(ctx, target)
		})
		cancel()
	}
	if err != nil {
		if fr := flowext.FlowRunFrom(ctx); fr != nil {
			return fmt.Errorf("flow run %s: %w", fr.ID(), err)
		}
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fenced != nil {
		return r.fenced
	}
	var errs []error
	if fr := flowext.FlowRunFrom(ctx); fr != nil {
		errs = r.opErrs[fr.ID()]
		delete(r.opErrs, fr.ID())
	} else {
		for k, e := range r.opErrs {
			errs = append(errs, e...)
			delete(r.opErrs, k)
		}
	}
	return errors.Join(errs...)
}

// commitUpTo returns once every event up to target is committed, leading
// a commit itself or waiting for the one under way.
func (r *Recorder) commitUpTo(ctx context.Context, target uint64) error {
	r.mu.Lock()
	for {
		if r.committed >= target {
			r.mu.Unlock()
			return nil
		}
		if c := r.inflight; c != nil {
			r.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return fmt.Errorf("flush run records: %w", context.Cause(ctx))
			}
			if c.err != nil && c.end >= target {
				return c.err
			}
			r.mu.Lock()
			continue
		}
		c := &commit{done: make(chan struct{})}
		r.inflight = c
		// Let runnable goroutines that are about to record and flush join
		// this commit rather than wait for the next one.
		r.mu.Unlock()
		runtime.Gosched()
		r.mu.Lock()
		c.end = r.seq
		pending, logs, opLogs := r.ops, r.logs, r.opLogs
		r.ops, r.logs, r.opLogs = nil, nil, 0
		r.mu.Unlock()

		ops := make([]Op, len(pending))
		for i := range pending {
			ops[i] = pending[i].op
		}
		// Ops carry their own fences: the caller's must not fence the
		// whole batch, which may hold several executions' events.
		wctx, cancel := context.WithTimeout(noFence(context.WithoutCancel(ctx)), r.opts.WriteTimeout)
		errs, err := r.rs.Record(wctx, ops, logs)
		if err != nil && wctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			// The store did not answer within the write timeout.
			err = &UnavailableError{Err: err}
		}
		cancel()

		r.mu.Lock()
		switch {
		case errors.Is(err, ErrFenced):
			// Final: the execution is stale, and so is all it buffered.
			r.fenced = fmt.Errorf("flush run records: %w", err)
			r.ops, r.logs, r.opLogs = nil, nil, 0
			r.committed = r.seq
			c.err = r.fenced
		case err != nil:
			// Keep everything, in order, for the next commit.
			r.ops = append(pending, r.ops...)
			r.opLogs += opLogs
			if room := r.opts.MaxLogs - len(r.logs); room < len(logs) {
				r.dropped.Add(int64(len(logs) - max(room, 0)))
				logs = logs[:max(room, 0)]
			}
			r.logs = append(logs, r.logs...)
			c.err = fmt.Errorf("flush run records: %w", err)
		default:
			r.committed = c.end
			for i, e := range errs {
				if e != nil {
					r.addOpErr(pending[i].flowRun, e)
				}
			}
		}
		r.inflight = nil
		close(c.done)
		if c.err != nil {
			r.mu.Unlock()
			return c.err
		}
	}
}

func (r *Recorder) addOpErr(flowRun string, err error) {
	if len(r.opErrs) >= maxOpErrs {
		for k, e := range r.opErrs { // fold an arbitrary entry into "" (reported by the next Flush outside a run)
			if k != "" {
				r.opErrs[""] = append(r.opErrs[""], e...)
				delete(r.opErrs, k)
				break
			}
		}
	}
	r.opErrs[flowRun] = append(r.opErrs[flowRun], err)
}

func (r *Recorder) background() {
	defer close(r.stopped)
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kick:
		}
		r.mu.Lock()
		target := r.seq
		r.mu.Unlock()
		// A failed commit keeps its events; the next tick or Flush retries.
		_ = r.commitUpTo(context.Background(), target)
	}
}

// Close stops background commits and commits what is buffered, returning
// that commit's error and the errors of events no Flush reported.
func (r *Recorder) Close() error {
	r.once.Do(func() { close(r.stop) })
	<-r.stopped
	return r.Flush(context.Background())
}

// RunResults implements [flow.ResultStore]. Like Flush, it waits out an
// unavailable store while the lease of ctx holds.
func (r *Recorder) RunResults(ctx context.Context, flowRunID string) (map[string]json.RawMessage, error) {
	var out map[string]json.RawMessage
	lctx, cancel := leaseBound(ctx)
	defer cancel()
	err := RetryUnavailable(lctx, r.opts.OutagePatience, "read results of flow run "+flowRunID, func(ctx context.Context) error {
		var err error
		out, err = r.rs.RunResults(ctx, flowRunID)
		return err
	})
	return out, err
}

// CachedResult implements [flow.ResultStore]. Like Flush, it waits out an
// unavailable store while the lease of ctx holds.
func (r *Recorder) CachedResult(ctx context.Context, key string, now time.Time) (json.RawMessage, bool, error) {
	var (
		v  json.RawMessage
		ok bool
	)
	lctx, cancel := leaseBound(ctx)
	defer cancel()
	err := RetryUnavailable(lctx, r.opts.OutagePatience, "read cached result", func(ctx context.Context) error {
		var err error
		v, ok, err = r.rs.CachedResult(ctx, key, now)
		return err
	})
	return v, ok, err
}

// leaseBound returns ctx, also cancelled (with the lease's cause) when
// the lease of ctx ends, so that a call waiting on the store returns once
// the execution may no longer go on.
func leaseBound(ctx context.Context) (context.Context, context.CancelFunc) {
	lease, ok := LeaseFrom(ctx)
	if !ok {
		return ctx, func() {}
	}
	c, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(lease, func() { cancel(context.Cause(lease)) })
	return c, func() {
		stop()
		cancel(context.Canceled)
	}
}
