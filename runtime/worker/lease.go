package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Lease is a worker's hold on one claimed run, as its launcher sees it.
// The worker renews it every heartbeat; the execution may go on until
// [Lease.Deadline] unless it is renewed before. When the worker loses it
// (the store refused a renewal, no renewal passed before the deadline, or
// the worker abandons its runs) it is done, and nothing more of the
// execution may happen: the run may already be retried elsewhere. A
// launcher stops what it started at once then, with no grace period, and
// hands the deadline on to processes that must stop by themselves when
// their worker is gone (see [Process]).
type Lease struct {
	ctx  context.Context
	lose context.CancelCauseFunc

	mu       sync.Mutex
	deadline time.Time
	renewed  chan struct{}
}

// NewLease returns a lease held until deadline, lost when parent is done.
// Launchers get theirs from the worker; NewLease is for tests and for
// programs that drive a launcher themselves.
func NewLease(parent context.Context, deadline time.Time) *Lease {
	ctx, lose := context.WithCancelCause(parent)
	return &Lease{ctx: ctx, lose: lose, deadline: deadline, renewed: make(chan struct{})}
}

// Context returns a context done when the lease is lost, with the reason
// as its cause.
func (l *Lease) Context() context.Context { return l.ctx }

// Done is closed when the lease is lost.
func (l *Lease) Done() <-chan struct{} { return l.ctx.Done() }

// Err returns why the lease was lost, nil while it holds.
func (l *Lease) Err() error {
	if l.ctx.Err() == nil {
		return nil
	}
	return context.Cause(l.ctx)
}

// Deadline returns when the execution must have stopped unless the lease
// is renewed before: a fifth of the lease before it expires in the store,
// so that the run has stopped before the reaper may retry it.
func (l *Lease) Deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline
}

// Renewed returns a channel closed at the next renewal.
func (l *Lease) Renewed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewed
}

// Renew moves the deadline on and wakes the waiters of Renewed.
func (l *Lease) Renew(deadline time.Time) {
	l.mu.Lock()
	l.deadline = deadline
	close(l.renewed)
	l.renewed = make(chan struct{})
	l.mu.Unlock()
}

// Lose ends the lease with cause.
func (l *Lease) Lose(cause error) { l.lose(cause) }

// ErrLeaseExpired is the cause of a lease that could not be renewed
// before its deadline (the store was unreachable for most of the lease).
var ErrLeaseExpired = errors.New("lease expired without renewal")

// leaseMargin is how long before the store's lease expiry an execution
// that could not renew stops: it must be over before the reaper may crash
// the run and another worker claim it.
func leaseMargin(lease time.Duration) time.Duration { return lease / 5 }

// hold renews the lease of run every heartbeat until stop is closed. A
// renewal that fails is tried again soon (the store may be restarting);
// when none passed before the deadline, or the store says the lease is
// lost, the lease is lost: the execution stops and records nothing more.
// A run seen Cancelling is cancelled (cancel with errCancelRequested)
// and its lease kept while it stops.
func (w *Worker) hold(ctx context.Context, run store.FlowRun, lease *Lease, cancel context.CancelCauseFunc, stop <-chan struct{}, log *slog.Logger) {
	dur, hb := w.timing()
	deadline := time.NewTimer(time.Until(lease.Deadline()))
	defer deadline.Stop()
	next := time.NewTimer(hb)
	defer next.Stop()
	var lastErr error
	retry := min(hb/2, time.Second)
	var nudged chan struct{} // registered by execute before the run starts
	if v, ok := w.nudges.Load(run.ID); ok {
		nudged = v.(chan struct{})
	}
	for {
		select {
		case <-nudged: // asked to cancel: renew now, which reads the state
		case <-stop:
			return
		case <-lease.Done():
			return // abandoned: the reaper retries the run
		case <-deadline.C:
			cause := fmt.Errorf("run %s: %w (last error: %v)", run.ID, ErrLeaseExpired, lastErr)
			lease.Lose(cause)
			cancel(cause)
			log.Error("lease not renewed in time; run stopped, left to the reaper", slog.String("error", fmt.Sprint(lastErr)))
			return
		case <-next.C:
		}
		dur, hb = w.timing()
		start := time.Now()
		rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), lease.Deadline())
		st, err := w.st.RenewLease(rctx, run.ID, w.opts.Name, w.opts.Now().Add(dur))
		rcancel()
		var lost *store.LeaseLostError
		switch {
		case errors.As(err, &lost) && lost.Holder == w.opts.Name && finalName(lost.State):
			// The run reported its final state (a child process, over the
			// API): nothing to renew; let it exit by itself.
			return
		case errors.Is(err, store.ErrLeaseLost):
			lease.Lose(err)
			cancel(err)
			log.Warn("lease lost; run stopped", slog.String("error", err.Error()))
			return
		case err != nil:
			lastErr = err
			log.Warn("renew lease", slog.String("error", err.Error()))
			next.Reset(retry)
		default:
			lastErr = nil
			lease.Renew(start.Add(dur - leaseMargin(dur)))
			deadline.Reset(time.Until(lease.Deadline()))
			next.Reset(hb)
			if st.Type == flow.TypeCancelling && ctx.Err() == nil {
				log.Info("run cancelling")
				cancel(cancelRequested(st.Message))
			}
		}
	}
}
