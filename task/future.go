package task

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
)

// Future is the pending output of a task run started with [Submit], [Map]
// or [Then].
type Future[O any] struct {
	done chan struct{}
	key  string // the run's task key, for Then
	out  O
	err  error
}

func (f *Future[O]) resolve(out O, err error) {
	f.out, f.err = out, err
	close(f.done)
}

// Wait waits for the run to end and returns its output, or ctx's error if
// ctx is done first (the run goes on).
func (f *Future[O]) Wait(ctx context.Context) (O, error) {
	select {
	case <-f.done:
		return f.out, f.err
	case <-ctx.Done():
		var zero O
		return zero, context.Cause(ctx)
	}
}

// Done is closed when the run has ended.
func (f *Future[O]) Done() <-chan struct{} { return f.done }

// Err returns the run's error once Done is closed, and nil before.
func (f *Future[O]) Err() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}

// Waiter is any future, whatever its output type.
type Waiter interface {
	Done() <-chan struct{}
	Err() error
}

// Submit starts a run of t with input in and returns its future at once.
// Within a flow run, the flow does not end before the run does; its
// identity is fixed now, in call order, not when it gets to run.
func Submit[I, O any](ctx context.Context, t *Task[I, O], in I) *Future[O] {
	f := &Future[O]{done: make(chan struct{})}
	if t.err != nil {
		f.resolve(f.out, t.err)
		return f
	}
	ik, err := t.inputKey(ctx, in)
	if err != nil {
		f.resolve(f.out, err)
		return f
	}
	f.key = flowext.TaskKey(ctx, t.name, ik)
	flowext.Go(ctx, func() { f.resolve(t.run(ctx, in, ik, f.key)) })
	return f
}

// MapOption configures [Map].
type MapOption func(*mapConfig)

type mapConfig struct{ concurrency int }

// DefaultMapConcurrency is how many runs Map executes at once unless told.
const DefaultMapConcurrency = 16

// Concurrency sets how many of Map's runs execute at once (at least 1).
func Concurrency(n int) MapOption { return func(c *mapConfig) { c.concurrency = max(n, 1) } }

// Map runs t over ins, at most DefaultMapConcurrency (or [Concurrency])
// at once, and returns one future per input, in input order. Runs are
// identified in input order, so a retried flow run reuses each completed
// one. Once ctx is done, inputs not yet started are not started: their
// futures fail with a *[flow.CancelledError] and no run is recorded.
func Map[I, O any](ctx context.Context, t *Task[I, O], ins []I, opts ...MapOption) []*Future[O] {
	cfg := mapConfig{concurrency: DefaultMapConcurrency}
	for _, o := range opts {
		o(&cfg)
	}
	n := len(ins)
	futs := make([]Future[O], n)
	ptrs := make([]*Future[O], n)
	iks := make([]string, n)
	pending := 0
	for i := range futs {
		f := &futs[i]
		f.done = make(chan struct{})
		ptrs[i] = f
		if t.err != nil {
			f.resolve(f.out, t.err)
			continue
		}
		ik, err := t.inputKey(ctx, ins[i])
		if err != nil {
			f.resolve(f.out, fmt.Errorf("input %d: %w", i, err))
			continue
		}
		iks[i] = ik
		f.key = flowext.TaskKey(ctx, t.name, ik)
		pending++
	}
	var next atomic.Int64
	for range min(cfg.concurrency, pending) {
		flowext.Go(ctx, func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f := &futs[i]
				if isDone(f.done) {
					continue // resolved above with an input error
				}
				if ctx.Err() != nil {
					cause := context.Cause(ctx)
					f.resolve(f.out, &flow.CancelledError{Run: `task "` + t.name + `"`, Cause: cause, Err: errNotStarted})
					continue
				}
				f.resolve(t.run(ctx, ins[i], iks[i], f.key))
			}
		})
	}
	return ptrs
}

var errNotStarted = errors.New("not started")

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Then runs t on up's output once up completes, and returns its future.
// If up fails, t does not run and the future fails with an
// *[UpstreamError].
func Then[A, B any](ctx context.Context, up *Future[A], t *Task[A, B]) *Future[B] {
	f := &Future[B]{done: make(chan struct{})}
	if t.err != nil {
		f.resolve(f.out, t.err)
		return f
	}
	// The key's position is fixed now, in call order; the input's own
	// key is added once it is known, so a changed upstream output is
	// never answered with an earlier attempt's result.
	base := flowext.TaskKey(ctx, t.name, "after:"+up.key)
	f.key = base // what a task chained on f builds on
	flowext.Go(ctx, func() {
		in, err := up.Wait(ctx)
		if err != nil {
			f.resolve(f.out, &UpstreamError{Task: t.name, Err: err})
			return
		}
		ik, err := t.identify(in)
		if err != nil {
			f.resolve(f.out, err)
			return
		}
		key := base
		if base != "" {
			key = base + "/" + ik
		}
		f.resolve(t.run(ctx, in, ik, key))
	})
	return f
}

// UpstreamError is the error of a run that did not start because a run it
// depends on failed.
type UpstreamError struct {
	Task string
	Err  error
}

func (e *UpstreamError) Error() string {
	return fmt.Sprintf("task %q not run: upstream failed: %v", e.Task, e.Err)
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// Collect waits for every future, even after one fails, and returns their
// outputs in order with the failures joined (each prefixed with its index).
// If ctx is done first it returns ctx's cause; the runs go on.
func Collect[O any](ctx context.Context, futs []*Future[O]) ([]O, error) {
	outs := make([]O, len(futs))
	var errs []error
	for i, f := range futs {
		out, err := f.Wait(ctx)
		if ctx.Err() != nil {
			return outs, context.Cause(ctx)
		}
		outs[i] = out
		if err != nil {
			errs = append(errs, fmt.Errorf("[%d]: %w", i, err))
		}
	}
	return outs, errors.Join(errs...)
}

// Wait waits for every future, whatever their output types, and returns
// their failures joined.
func Wait(ctx context.Context, futs ...Waiter) error {
	var errs []error
	for _, f := range futs {
		select {
		case <-f.Done():
			if err := f.Err(); err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return errors.Join(errs...)
}
