package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Options configure a [Worker]. Pool and Launcher are required; zero
// fields of the others take the defaults.
type Options struct {
	// Name identifies the worker in the store (leases, heartbeats); it
	// must be unique among running workers. Default: host-pid-random.
	Name string
	// Pool is the work pool whose runs the worker claims.
	Pool string
	// Queues restricts claims to these queues of the pool; empty means
	// all.
	Queues []string
	// Launcher executes the claimed runs.
	Launcher Launcher
	// LauncherType names the launcher in the worker's heartbeat info
	// ("in-process", "process", "docker").
	LauncherType string
	// Concurrency is how many runs the worker executes at once; default 4.
	Concurrency int
	// Lease is how long a claim holds without renewal; renewed every
	// Lease/3. A worker that dies loses its runs after at most Lease.
	// Default 30s.
	Lease time.Duration
	// Poll is the wait between claims while the pool has nothing due;
	// default 1s. [Worker.Wake] claims at once.
	Poll time.Duration
	// Heartbeat is the interval of heartbeats; default 10s.
	Heartbeat time.Duration
	// Now is the clock for claims and leases; default time.Now.
	Now func() time.Time
	// Logger receives what the worker does; default slog.Default().
	Logger *slog.Logger
}

// Worker claims the due runs of a pool, at most Concurrency at a time, and
// executes each through its [Launcher] while renewing its lease. A run
// asked to cancel (Cancelling, seen at renewal) is stopped and ends
// Cancelled. A run whose lease is lost (the worker stalled longer than the
// lease, and the run was reaped) is stopped and fenced: nothing more is
// recorded for it, so it cannot clash with its retry.
type Worker struct {
	st   store.Store
	opts Options
	log  *slog.Logger

	wake     chan struct{}
	draining chan struct{}
	drainOne sync.Once
	stopped  chan struct{}
	started  atomic.Bool
	running  atomic.Int64
	// abandoned fences every run when Run stops without draining.
	abandoned atomic.Bool
}

// ErrShutdown is the cause of the context of runs that a stopping worker
// abandons: their leases lapse and the scheduler's reaper retries them.
var ErrShutdown = errors.New("worker stopped")

// errCancelRequested is the cause of the context of a run that is being
// cancelled.
var errCancelRequested = errors.New("run cancelled")

// New validates opts and returns a worker. Errors name the field.
func New(st store.Store, opts Options) (*Worker, error) {
	switch {
	case st == nil:
		return nil, &store.InvalidError{Field: "store", Reason: "nil"}
	case strings.TrimSpace(opts.Pool) == "":
		return nil, &store.InvalidError{Field: "pool", Reason: "empty"}
	case opts.Launcher == nil:
		return nil, &store.InvalidError{Field: "launcher", Reason: "nil"}
	case opts.Concurrency < 0:
		return nil, &store.InvalidError{Field: "concurrency", Reason: "negative"}
	case opts.Lease < 0 || opts.Poll < 0 || opts.Heartbeat < 0:
		return nil, &store.InvalidError{Field: "lease", Reason: "negative durations"}
	}
	if opts.Name == "" {
		host, _ := os.Hostname()
		opts.Name = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), flow.NewID()[:8])
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	if opts.Lease == 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Worker{
		st:       st,
		opts:     opts,
		log:      opts.Logger.With(slog.String("worker", opts.Name), slog.String("pool", opts.Pool)),
		wake:     make(chan struct{}, 1),
		draining: make(chan struct{}),
		stopped:  make(chan struct{}),
	}, nil
}

// Name returns the worker's name.
func (w *Worker) Name() string { return w.opts.Name }

// Running returns how many runs the worker is executing.
func (w *Worker) Running() int { return int(w.running.Load()) }

// Wake makes the worker try a claim now instead of at its next poll: call
// it after creating a run for its pool in the same process.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run claims and executes runs until ctx is done or [Worker.Shutdown] has
// drained the worker. It fails at once when the pool does not exist. Call
// it once per Worker. When ctx is done, runs still executing are stopped
// and abandoned without a final state (their context's cause is
// [ErrShutdown]): their leases lapse and the reaper retries them, as if
// the worker had died. Run returns ctx's cause, or nil after Shutdown.
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return fmt.Errorf("worker %q: Run called twice", w.opts.Name)
	}
	defer close(w.stopped)
	if _, err := w.st.GetPool(ctx, w.opts.Pool); err != nil {
		return fmt.Errorf("worker %q: %w", w.opts.Name, err)
	}
	if err := w.heartbeat(ctx); err != nil {
		return err
	}
	hctx, stopHeartbeat := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { w.heartbeats(hctx) })
	defer func() {
		stopHeartbeat()
		bg.Wait()
	}()

	runCtx, cancelRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRuns(nil)
	abandon := func() {
		w.abandoned.Store(true) // fence first: a stopped run must record nothing
		cancelRuns(ErrShutdown)
	}
	var runs sync.WaitGroup
	slots := make(chan struct{}, w.opts.Concurrency)
	poll := time.NewTimer(0)
	defer poll.Stop()
	err := func() error {
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-w.draining:
				return nil
			}
			select {
			case <-w.draining: // both were ready: draining wins
				return nil
			default:
			}
			run, ok, err := w.st.ClaimRun(ctx, store.Claim{Pool: w.opts.Pool, Queues: w.opts.Queues, Worker: w.opts.Name, Lease: w.opts.Lease, Now: w.opts.Now()})
			if err != nil && ctx.Err() == nil {
				w.log.Error("claim a run", slog.String("error", err.Error()))
			}
			if !ok {
				<-slots
				poll.Reset(w.opts.Poll)
				select {
				case <-poll.C:
				case <-w.wake:
				case <-ctx.Done():
					return context.Cause(ctx)
				case <-w.draining:
					return nil
				}
				continue
			}
			w.running.Add(1)
			runs.Go(func() {
				defer func() {
					w.running.Add(-1)
					<-slots
					w.Wake() // a slot is free: claim again without waiting for the poll
				}()
				w.execute(runCtx, run)
			})
		}
	}()
	if err != nil {
		abandon()
	} else {
		// Draining: let the runs finish unless ctx ends first.
		done := make(chan struct{})
		go func() { runs.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			abandon()
			err = context.Cause(ctx)
		}
	}
	runs.Wait()
	return err
}

// Shutdown stops claiming and waits until the runs being executed have
// ended and Run has returned, or until ctx is done (then cancel Run's
// context to abandon the remaining runs).
func (w *Worker) Shutdown(ctx context.Context) error {
	w.drainOne.Do(func() { close(w.draining) })
	select {
	case <-w.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shut down worker %q: %w", w.opts.Name, context.Cause(ctx))
	}
}

func (w *Worker) heartbeat(ctx context.Context) error {
	info, _ := json.Marshal(map[string]any{"launcher": w.opts.LauncherType, "concurrency": w.opts.Concurrency, "running": w.Running(), "pid": os.Getpid()})
	hctx, cancel := context.WithTimeout(ctx, w.opts.Heartbeat)
	defer cancel()
	if err := w.st.Heartbeat(hctx, store.Worker{Name: w.opts.Name, Pool: w.opts.Pool, Info: info, LastSeen: w.opts.Now()}); err != nil {
		return fmt.Errorf("worker %q heartbeat: %w", w.opts.Name, err)
	}
	return nil
}

func (w *Worker) heartbeats(ctx context.Context) {
	t := time.NewTicker(w.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.heartbeat(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("heartbeat", slog.String("error", err.Error()))
			}
		}
	}
}

// execute runs one claimed run through the launcher while renewing its
// lease, then settles a run left without a final state.
func (w *Worker) execute(parent context.Context, run store.FlowRun) {
	log := w.log.With(slog.String("run_id", run.ID), slog.Int("attempt", run.Attempt))
	ctx, cancel := context.WithCancelCause(store.WithFence(parent, store.FenceOf(run)))
	defer cancel(nil)
	var fenced atomic.Bool
	renewDone := make(chan struct{})
	stopRenew := make(chan struct{})
	go func() {
		defer close(renewDone)
		w.renew(ctx, run.ID, &fenced, cancel, stopRenew, log)
	}()
	job := Job{
		Run: run,
		Started: func(id string) {
			if err := w.st.UpdateRunInfo(context.WithoutCancel(ctx), run.ID, store.RunInfo{InfrastructureID: id, SourceCommit: run.SourceCommit}); err != nil {
				log.Warn("record infrastructure id", slog.String("error", err.Error()))
			}
		},
		Fenced: func() bool { return fenced.Load() || w.abandoned.Load() },
	}
	log.Debug("run claimed", slog.String("flow", run.Flow), slog.String("deployment", run.Deployment))
	lerr := w.opts.Launcher.Launch(ctx, job)
	close(stopRenew)
	<-renewDone
	if job.Fenced() {
		log.Warn("run abandoned", slog.String("cause", context.Cause(ctx).Error()))
		return
	}
	w.settle(context.WithoutCancel(ctx), run, lerr, log)
}

// renew extends the run's lease every Lease/3 until stop is closed. It
// cancels the run when the run is Cancelling, and fences and cancels it
// when the lease is lost or could not be renewed before it expired.
func (w *Worker) renew(ctx context.Context, runID string, fenced *atomic.Bool, cancel context.CancelCauseFunc, stop <-chan struct{}, log *slog.Logger) {
	t := time.NewTicker(w.opts.Lease / 3)
	defer t.Stop()
	expires := w.opts.Now().Add(w.opts.Lease)
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			if !errors.Is(context.Cause(ctx), errCancelRequested) {
				return
			}
			// Cancelling: keep the lease while the run stops.
			select {
			case <-stop:
				return
			case <-t.C:
			}
		case <-t.C:
		}
		now := w.opts.Now()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.Lease/3)
		st, err := w.st.RenewLease(rctx, runID, w.opts.Name, now.Add(w.opts.Lease))
		rcancel()
		var lost *store.LeaseLostError
		switch {
		case errors.As(err, &lost) && lost.Holder == w.opts.Name && finalName(lost.State):
			// The run reported its final state (a child process, over the
			// API): nothing to renew; let it exit by itself.
			return
		case errors.Is(err, store.ErrLeaseLost):
			fenced.Store(true)
			cancel(err)
			log.Warn("lease lost; run stopped", slog.String("error", err.Error()))
			return
		case err != nil:
			if !w.opts.Now().Before(expires) {
				fenced.Store(true)
				cancel(fmt.Errorf("lease of run %s expired without renewal: %w", runID, err))
				log.Error("lease expired without renewal; run stopped", slog.String("error", err.Error()))
				return
			}
			log.Warn("renew lease", slog.String("error", err.Error()))
		default:
			expires = now.Add(w.opts.Lease)
			if st.Type == flow.TypeCancelling && ctx.Err() == nil {
				log.Info("run cancelling")
				cancel(errCancelRequested)
			}
		}
	}
}

// settle records a final state for a run the launcher left without one:
// Cancelled when it was being cancelled, Failed when it could not start
// (bad parameters, a flow this binary lacks, a [FailedError] such as a
// Git source that cannot be built), else Crashed, retried per
// the run's policy ([store.Runs.CrashRun]). ctx carries the execution's
// fence: settling a run that was reaped or claimed again meanwhile
// changes nothing.
func (w *Worker) settle(ctx context.Context, run store.FlowRun, lerr error, log *slog.Logger) {
	cur, err := w.st.GetRun(ctx, run.ID)
	if err != nil {
		log.Error("read run after it ended", slog.String("error", err.Error()))
		return
	}
	if cur.State.Final() {
		log.Debug("run ended", slog.String("state", cur.State.Name))
		return
	}
	var pe *flow.ParamsError
	var ue *UnknownFlowError
	var fe *FailedError
	if cur.State.Type != flow.TypeCancelling && (errors.As(lerr, &pe) || errors.As(lerr, &ue) || errors.As(lerr, &fe)) {
		to := flow.Failed(lerr.Error())
		if _, err := w.st.SetRunState(ctx, run.ID, to, nil); err != nil {
			log.Error("record final state", slog.String("state", to.Name), slog.String("error", err.Error()))
			return
		}
		log.Warn("run could not start", slog.String("state", to.Name), slog.String("message", to.Message))
		return
	}
	msg := "run ended without a final state"
	switch {
	case cur.State.Type == flow.TypeCancelling:
		msg = cur.State.Message
	case lerr != nil:
		msg += ": " + lerr.Error()
	}
	after, err := w.st.CrashRun(ctx, store.FenceOf(run), msg)
	if err != nil {
		log.Error("record crashed run", slog.String("error", err.Error()))
		return
	}
	log.Warn("run ended without a final state", slog.String("state", after.State.Name), slog.Int("attempt", after.Attempt), slog.String("message", msg))
}

// finalName reports whether a state name is that of a final state.
func finalName(name string) bool {
	t, ok := flow.NameType(name)
	return ok && flow.State{Type: t}.Final()
}
