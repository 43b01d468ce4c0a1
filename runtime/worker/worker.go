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
	// ("in-process", "process", "docker", or a pool type an App registers).
	LauncherType string
	// Concurrency is how many runs the worker executes at once; default 4.
	Concurrency int
	// Lease is how long a claim holds without renewal: a worker that dies
	// loses its runs after at most Lease (plus the reaper's interval).
	// Heartbeat is how often the worker renews its leases and records
	// that it lives. Both default to the pool's ([store.Pool.Timing]:
	// 10s and Lease/3 unless the pool sets them), read again at every
	// heartbeat; set them here to override the pool's.
	Lease, Heartbeat time.Duration
	// Poll is the wait between claims while the pool has nothing due;
	// default 1s. [Worker.Wake] claims at once.
	Poll time.Duration
	// Hooks runs the state hooks of the pool's runs that the runtime
	// ended itself (a process, container or worker died:
	// [store.Runs.ClaimHooks]). Default: the Launcher, when it is a
	// [HookRunner]. Without one the worker runs no hooks; they stay owed
	// to a worker that can.
	Hooks HookRunner
	// Now is the clock for claims and leases; default time.Now.
	Now func() time.Time
	// Logger receives what the worker does; default slog.Default().
	Logger *slog.Logger
}

// DefaultName is a new worker name unique among running workers:
// host-pid-random. Pick it before building a launcher that needs the
// worker's name, or keep a fixed name across restarts.
func DefaultName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), flow.NewID()[:8])
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
	// lease and heartbeat are the current timing (nanoseconds): the
	// options', else the pool's.
	leaseNS, heartbeatNS atomic.Int64
	wakeHooks            chan struct{}
	// nudges holds, by run ID, a channel that makes the run's lease
	// holder renew at once: the run was asked to cancel.
	nudges sync.Map
}

// CancelNotifier is a store (a wrapper, such as the API's instrumented
// store) that tells the process of each run asked to cancel as it
// records the request. A worker on such a store stops its run at once,
// not at its next lease renewal.
type CancelNotifier interface {
	NotifyCancel(fn func(runID string)) (stop func())
}

// nudge makes the lease holder of run id, if this worker executes it,
// read its state now.
func (w *Worker) nudge(id string) {
	if v, ok := w.nudges.Load(id); ok {
		select {
		case v.(chan struct{}) <- struct{}{}:
		default:
		}
	}
}

// ErrShutdown is the cause of the context of runs that a stopping worker
// abandons: their leases lapse and the scheduler's reaper retries them.
var ErrShutdown = errors.New("worker stopped")

// errCancelRequested is the cause of the context of a run that is being
// cancelled.
var errCancelRequested = errors.New("run cancelled")

// cancelRequested is errCancelRequested carrying the reason of the
// request (the Cancelling state's message: what was given and who
// asked), which the run's Cancelled state then keeps.
func cancelRequested(reason string) error {
	if reason == "" {
		return errCancelRequested
	}
	return &cancelReason{reason}
}

type cancelReason struct{ reason string }

func (c *cancelReason) Error() string        { return c.reason }
func (c *cancelReason) Is(target error) bool { return target == errCancelRequested }

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
	case opts.Lease > 0 && opts.Lease < 3*time.Millisecond:
		return nil, &store.InvalidError{Field: "lease", Reason: "shorter than 3ms"}
	case opts.Lease > 0 && opts.Heartbeat > opts.Lease/2:
		return nil, &store.InvalidError{Field: "heartbeat", Reason: "more than half the lease"}
	}
	if opts.Hooks == nil {
		opts.Hooks, _ = opts.Launcher.(HookRunner)
	}
	if opts.Name == "" {
		opts.Name = DefaultName()
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Worker{
		st:        st,
		opts:      opts,
		log:       opts.Logger.With(slog.String("worker", opts.Name), slog.String("pool", opts.Pool)),
		wake:      make(chan struct{}, 1),
		wakeHooks: make(chan struct{}, 1),
		draining:  make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	w.setTiming(store.Pool{})
	return w, nil
}

// setTiming sets the worker's lease and heartbeat: its options', else
// pool's, else the defaults.
func (w *Worker) setTiming(pool store.Pool) {
	if w.opts.Lease > 0 {
		pool.Lease, pool.Heartbeat = w.opts.Lease, w.opts.Heartbeat
	} else if w.opts.Heartbeat > 0 {
		pool.Heartbeat = w.opts.Heartbeat
	}
	lease, hb := pool.Timing()
	w.leaseNS.Store(int64(lease))
	w.heartbeatNS.Store(int64(hb))
}

// timing returns the worker's current lease and heartbeat.
func (w *Worker) timing() (lease, heartbeat time.Duration) {
	return time.Duration(w.leaseNS.Load()), time.Duration(w.heartbeatNS.Load())
}

// Timing returns the lease and heartbeat the worker uses now.
func (w *Worker) Timing() (lease, heartbeat time.Duration) { return w.timing() }

// Name returns the worker's name.
func (w *Worker) Name() string { return w.opts.Name }

// Running returns how many runs the worker is executing.
func (w *Worker) Running() int { return int(w.running.Load()) }

// maxClaim bounds the runs one claim asks for: a worker with many free
// slots still hands out a batch in one short transaction.
const maxClaim = 16

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
	if cn, ok := w.st.(CancelNotifier); ok {
		defer cn.NotifyCancel(w.nudge)()
	}
	// A store that is down when the worker starts (a database failover
	// under a restarting fleet) is waited for, not a reason to exit.
	var pool store.Pool
	if err := w.retry(ctx, "read pool", func(ctx context.Context) error {
		var err error
		pool, err = w.st.GetPool(ctx, w.opts.Pool)
		return err
	}); err != nil {
		return fmt.Errorf("worker %q: %w", w.opts.Name, err)
	}
	w.setTiming(pool)
	if err := w.retry(ctx, "heartbeat", w.heartbeat); err != nil {
		return err
	}
	hctx, stopHeartbeat := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { w.heartbeats(hctx) })
	if w.opts.Hooks != nil {
		bg.Go(func() { w.hooksLoop(hctx) })
	}
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
	var executing sync.WaitGroup
	var outage outageLog
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
			// Every free slot, not only the one just taken: runs created
			// together are claimed in one transaction instead of one
			// after the other.
			free := 1
		more:
			for free < maxClaim {
				select {
				case slots <- struct{}{}:
					free++
				default:
					break more
				}
			}
			lease, _ := w.timing()
			claimed := time.Now()
			runs, err := w.st.ClaimRuns(ctx, store.Claim{Pool: w.opts.Pool, Queues: w.opts.Queues, Worker: w.opts.Name, Lease: lease, Now: w.opts.Now()}, free)
			for range free - len(runs) {
				<-slots
			}
			wait := w.opts.Poll
			switch {
			case err == nil:
				outage.over(w.log)
			case ctx.Err() != nil:
			case store.IsUnavailable(err):
				// Said once per outage, and claimed less often meanwhile.
				outage.begin(w.log, err)
				wait = outage.backoff.Next()
			default:
				w.log.Error("claim a run", slog.String("error", err.Error()))
			}
			if len(runs) == 0 {
				poll.Reset(wait)
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
			for _, run := range runs {
				w.running.Add(1)
				executing.Go(func() {
					defer func() {
						w.running.Add(-1)
						<-slots
						w.Wake() // a slot is free: claim again without waiting for the poll
					}()
					w.execute(runCtx, run, claimed.Add(lease-leaseMargin(lease)))
				})
			}
		}
	}()
	if err != nil {
		abandon()
	} else {
		// Draining: let the runs finish unless ctx ends first.
		done := make(chan struct{})
		go func() { executing.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			abandon()
			err = context.Cause(ctx)
		}
	}
	executing.Wait()
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
	lease, hb := w.timing()
	info, _ := json.Marshal(map[string]any{"launcher": w.opts.LauncherType, "concurrency": w.opts.Concurrency, "running": w.Running(), "pid": os.Getpid(),
		"lease": lease.String(), "heartbeat": hb.String()})
	hctx, cancel := context.WithTimeout(ctx, hb)
	defer cancel()
	if err := w.st.Heartbeat(hctx, store.Worker{Name: w.opts.Name, Pool: w.opts.Pool, Info: info, LastSeen: w.opts.Now()}); err != nil {
		return fmt.Errorf("worker %q heartbeat: %w", w.opts.Name, err)
	}
	return nil
}

// heartbeats records the worker every heartbeat and reads the pool's
// timing again, so that a change of the pool's lease or heartbeat takes
// effect without a restart.
func (w *Worker) heartbeats(ctx context.Context) {
	for {
		_, hb := w.timing()
		t := time.NewTimer(hb)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := w.heartbeat(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("heartbeat", slog.String("error", err.Error()))
		}
		pctx, cancel := context.WithTimeout(ctx, hb)
		if p, err := w.st.GetPool(pctx, w.opts.Pool); err == nil {
			w.setTiming(p)
		}
		cancel()
	}
}

// retry calls fn until it succeeds or fails for another reason than an
// unavailable store, waiting with backoff, until ctx is done.
func (w *Worker) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	b := store.Backoff{First: 100 * time.Millisecond, Limit: 5 * time.Second}
	for logged := false; ; {
		err := fn(ctx)
		if err == nil || !store.IsUnavailable(err) || ctx.Err() != nil {
			return err
		}
		if !logged {
			w.log.Warn(what+": store unavailable; trying again", slog.String("error", err.Error()))
			logged = true
		}
		t := time.NewTimer(b.Next())
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (gave up: %w)", what, err, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// execute runs one claimed run through the launcher while holding its
// lease, then settles a run left without a final state. deadline is when
// the claim's lease would have the execution stop unless renewed.
func (w *Worker) execute(parent context.Context, run store.FlowRun, deadline time.Time) {
	log := w.log.With(slog.String("run_id", run.ID), slog.Int("attempt", run.Attempt))
	parent = store.WithFence(parent, store.FenceOf(run))
	// The lease is lost when the worker abandons its runs (parent's
	// cause: ErrShutdown) or cannot keep it; the run's context ends then
	// too, and also when the run is asked to cancel.
	lease := NewLease(parent, deadline)
	defer lease.Lose(context.Canceled)
	ctx, cancel := context.WithCancelCause(lease.Context())
	defer cancel(nil)
	// A cancel request nudges the lease holder (see CancelNotifier):
	// registered before the run starts, so that none is missed.
	w.nudges.Store(run.ID, make(chan struct{}, 1))
	defer w.nudges.Delete(run.ID)
	holdDone := make(chan struct{})
	stopHold := make(chan struct{})
	go func() {
		defer close(holdDone)
		w.hold(ctx, run, lease, cancel, stopHold, log)
	}()
	job := Job{
		Run: run,
		Started: func(id string) {
			if err := w.st.UpdateRunInfo(context.WithoutCancel(ctx), run.ID, store.RunInfo{InfrastructureID: id, SourceCommit: run.SourceCommit}); err != nil {
				log.Warn("record infrastructure id", slog.String("error", err.Error()))
			}
		},
		Fenced: func() bool { return lease.Err() != nil || w.abandoned.Load() },
		Lease:  lease,
	}
	// One line per run started and one per run ended, at info: what an
	// operator reads in a worker's log to know what it did.
	started := time.Now()
	log.Info("run started", slog.String("flow", run.Flow), slog.String("deployment", run.Deployment),
		slog.String("launcher", w.opts.LauncherType))
	// Launchers wait out a store that is unavailable for a while (the
	// store.RetryUnavailable of their reads) for as long as the lease holds.
	lerr := w.opts.Launcher.Launch(store.WithLease(ctx, lease.Context()), job)
	if job.Fenced() {
		close(stopHold)
		<-holdDone
		log.Warn("run abandoned", slog.String("cause", fmt.Sprint(lease.Err())))
		return
	}
	// Settle while the lease holds: the store may be restarting, and the
	// reaper must not take the run meanwhile.
	state := w.settle(store.WithLease(context.WithoutCancel(ctx), lease.Context()), run, lerr, log)
	close(stopHold)
	<-holdDone
	log.Info("run finished", slog.String("state", state), slog.Duration("took", time.Since(started).Round(time.Millisecond)))
}

// settle records a final state for a run the launcher left without one:
// Cancelled when it was being cancelled, Failed when it could not start
// (bad parameters, a flow this binary lacks, a [FailedError] such as a
// Git source that cannot be built), else Crashed, retried per
// the run's policy ([store.Runs.CrashRun]). ctx carries the execution's
// fence: settling a run that was reaped or claimed again meanwhile
// changes nothing.
func (w *Worker) settle(ctx context.Context, run store.FlowRun, lerr error, log *slog.Logger) (state string) {
	var cur store.FlowRun
	err := store.RetryUnavailable(ctx, 0, "read run "+run.ID, func(ctx context.Context) error {
		var err error
		cur, err = w.st.GetRun(ctx, run.ID)
		return err
	})
	if err != nil {
		log.Error("read run after it ended", slog.String("error", err.Error()))
		return "unknown"
	}
	if cur.State.Final() {
		return cur.State.Name
	}
	if cur.State.Name == flow.NameAwaitingInput {
		w.suspend(ctx, run, log) // approvals.go
		return
	}
	var pe *flow.ParamsError
	var ue *UnknownFlowError
	var fe *FailedError
	if cur.State.Type != flow.TypeCancelling && (errors.As(lerr, &pe) || errors.As(lerr, &ue) || errors.As(lerr, &fe)) {
		to := flow.Failed(lerr.Error())
		if err := store.RetryUnavailable(ctx, 0, "record run "+run.ID+" Failed", func(ctx context.Context) error {
			_, err := w.st.SetRunState(ctx, run.ID, to, nil)
			return err
		}); err != nil {
			log.Error("record final state", slog.String("state", to.Name), slog.String("error", err.Error()))
			return cur.State.Name
		}
		log.Warn("run could not start", slog.String("state", to.Name), slog.String("message", to.Message))
		return to.Name
	}
	msg := "run ended without a final state"
	switch {
	case cur.State.Type == flow.TypeCancelling:
		msg = cur.State.Message
	case lerr != nil:
		msg += ": " + lerr.Error()
	}
	var after store.FlowRun
	if err := store.RetryUnavailable(ctx, 0, "record run "+run.ID+" crashed", func(ctx context.Context) error {
		var err error
		after, err = w.st.CrashRun(ctx, store.FenceOf(run), msg)
		return err
	}); err != nil {
		log.Error("record crashed run", slog.String("error", err.Error()))
		return cur.State.Name
	}
	log.Warn("run ended without a final state", slog.String("state", after.State.Name), slog.Int("attempt", after.Attempt), slog.String("message", msg))
	if after.State.Final() {
		w.WakeHooks() // its hooks are owed: run them now
	}
	return after.State.Name
}

// finalName reports whether a state name is that of a final state.
func finalName(name string) bool {
	t, ok := flow.NameType(name)
	return ok && flow.State{Type: t}.Final()
}

// outageLog says once that the store became unavailable to the claim
// loop, and once that it is back, instead of logging every poll.
type outageLog struct {
	since   time.Time
	backoff store.Backoff
}

func (o *outageLog) begin(log *slog.Logger, err error) {
	if o.since.IsZero() {
		o.since = time.Now()
		o.backoff = store.Backoff{First: 100 * time.Millisecond, Limit: 2 * time.Second}
		log.Warn("store unavailable: claiming again with backoff; runs in flight keep their leases while they can renew them", slog.String("error", err.Error()))
	}
}

func (o *outageLog) over(log *slog.Logger) {
	if !o.since.IsZero() {
		log.Info("store available again", slog.Duration("after", time.Since(o.since).Round(time.Millisecond)))
		o.since = time.Time{}
	}
}
