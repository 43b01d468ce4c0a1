package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
)

// Run is the handle of one flow or task run in progress: its record, its
// current state, and the engine it records to. Every state change goes
// through [Run.SetState] or [Run.Finish], which check it against the
// transition table before recording it.
//
// Flow authors rarely need a Run; [RunFrom] gives the one in a context
// (for its ID, say). Packages that add their own kinds of work to flows
// (the task package is one) use [StartRun], [Attempt] and the per-flow-run
// helpers [TaskKey], [PriorResult], [AddCompensation] and [Go].
type Run struct {
	eng    *Engine
	rec    RunRecord
	flow   *Run // the flow run this run belongs to; itself for a flow run
	parent *Run // the run in whose context this one started, if any
	// ctx is the context the run executes in: where it started, plus the
	// run itself as a value (held here to save an allocation per run).
	ctx runContext
	// rctx is the context recorder calls get: the flow run's values
	// without its cancellation, since recording a Cancelled state must not
	// fail because the run was cancelled.
	rctx context.Context

	mu    sync.Mutex
	state State

	scope  *scope // flow runs only
	logger atomic.Pointer[slog.Logger]
}

// scope is what a flow run's tasks share.
type scope struct {
	mu            sync.Mutex
	counts        map[string]int             // task key → calls so far in this attempt
	attempts      int                        // attempts started
	prior         map[string]json.RawMessage // task key → result of a completed run
	compensations []compensation
	wg            sync.WaitGroup // goroutines started with Go
}

type compensation struct {
	name, runName string
	fn            func(context.Context) error
}

type runKey struct{}

// runContext is a context carrying a run.
type runContext struct {
	context.Context
	run *Run
}

func (c *runContext) Value(key any) any {
	if key == (runKey{}) {
		return c.run
	}
	return c.Context.Value(key)
}

// RunFrom returns the run executing in ctx (a task run inside a task, a
// flow run inside a flow), or nil outside any run.
func RunFrom(ctx context.Context) *Run {
	r, _ := ctx.Value(runKey{}).(*Run)
	return r
}

// FlowRunFrom returns the flow run executing in ctx, or nil.
func FlowRunFrom(ctx context.Context) *Run {
	if r := RunFrom(ctx); r != nil {
		return r.flow
	}
	return nil
}

// ID returns the run's ID.
func (r *Run) ID() string { return r.rec.ID }

// Record returns a copy of the run's record.
func (r *Run) Record() RunRecord { return r.rec }

// Engine returns the engine the run records to.
func (r *Run) Engine() *Engine { return r.eng }

// State returns the run's current state.
func (r *Run) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// StartRun creates a run under the run in ctx, if any, records it with its
// first state (Pending) and returns a context carrying it. The record's ID
// is generated when empty; Created, FlowRunID and ParentID are filled in.
// A record of kind flow gets a fresh scope for the tasks it will run.
func StartRun(ctx context.Context, rec RunRecord) (context.Context, *Run, error) {
	return startRun(ctx, rec, State{})
}

// startRun is StartRun for a run that may already exist in state current
// (a flow run the runtime created and claimed).
func startRun(ctx context.Context, rec RunRecord, current State) (context.Context, *Run, error) {
	eng := EngineFrom(ctx)
	parent := RunFrom(ctx)
	now := eng.Clock.Now()
	if rec.ID == "" {
		rec.ID = newID(now)
	}
	if rec.Created.IsZero() {
		rec.Created = now
	}
	r := &Run{eng: eng, state: current, parent: parent}
	if parent != nil {
		rec.ParentID = parent.rec.ID
	}
	switch rec.Kind {
	case KindFlow:
		rec.FlowRunID = rec.ID
		r.flow = r
		r.scope = &scope{counts: make(map[string]int)}
	case KindTask:
		if parent != nil {
			r.flow = parent.flow
			rec.FlowRunID = parent.flow.rec.ID
		}
	default:
		return ctx, nil, fmt.Errorf("start run %q: kind %q: want %q or %q", rec.Name, rec.Kind, KindFlow, KindTask)
	}
	r.rec = rec
	r.ctx = runContext{Context: ctx, run: r}
	ctx = &r.ctx
	if r.flow != nil && r.flow != r {
		r.rctx = r.flow.rctx
	} else {
		r.rctx = context.WithoutCancel(ctx)
	}
	if err := eng.Recorder.CreateRun(r.rctx, &r.rec); err != nil {
		return ctx, nil, fmt.Errorf("record %s run %q: %w", rec.Kind, rec.Name, err)
	}
	if current.IsZero() {
		p := Pending()
		p.Timestamp = now
		if err := r.set(p, nil); err != nil {
			return ctx, nil, err
		}
	}
	return ctx, r, nil
}

// SetState moves the run to s, after checking the move against
// [CheckTransition]. The state's Timestamp is set from the engine's clock
// when zero. An illegal move returns a *[TransitionError] and records
// nothing.
func (r *Run) SetState(_ context.Context, s State) error {
	return r.set(s, nil)
}

// Finish moves the run to its final state s with the result to keep (nil
// for none) and returns once both are durable (the recorder's Flush).
// A result with a task key is what later attempts of the same flow run
// reuse, read back through the engine's ResultStore.
func (r *Run) Finish(_ context.Context, s State, res *Result) error {
	if err := r.set(s, res); err != nil {
		return err
	}
	if err := r.eng.Recorder.Flush(r.rctx); err != nil {
		return fmt.Errorf("flush %s run %q (%s): %w", r.rec.Kind, r.rec.Name, r.rec.ID, err)
	}
	return nil
}

// loadPrior replaces the flow run's known results with those the engine's
// ResultStore holds, before a retry or a resumed execution.
func (r *Run) loadPrior(ctx context.Context) error {
	prior, err := r.eng.Results.RunResults(r.rctx, r.rec.ID)
	if err != nil {
		return fmt.Errorf("flow run %q (%s): load results of completed tasks: %w", r.rec.Name, r.rec.ID, err)
	}
	r.scope.mu.Lock()
	r.scope.prior = prior
	r.scope.mu.Unlock()
	return nil
}

func (r *Run) set(s State, res *Result) error {
	if s.Timestamp.IsZero() {
		s.Timestamp = r.eng.Clock.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := CheckTransition(r.state, s); err != nil {
		return fmt.Errorf("%s run %q (%s): %w", r.rec.Kind, r.rec.Name, r.rec.ID, err)
	}
	if err := r.eng.Recorder.SetState(r.rctx, r.rec.ID, s, res); err != nil {
		return fmt.Errorf("record state %s of %s run %q (%s): %w", s.Name, r.rec.Kind, r.rec.Name, r.rec.ID, err)
	}
	r.state = s
	return nil
}

// TaskKey returns the stable identity of a call within the flow run in ctx:
// name, the caller's key for the input, and an occurrence number for
// repeated calls with the same name and key ("render/ab12", then
// "render/ab12#1"). Occurrences count in call order and restart with each
// attempt of the flow run, so the n-th identical call of every attempt has
// the same key. Calls made concurrently from several goroutines with the
// same name and input key get their occurrence numbers in whatever order
// they arrive; their inputs being equal, any of their results serves.
// Outside a flow run TaskKey returns "".
func TaskKey(ctx context.Context, name, inputKey string) string {
	fr := FlowRunFrom(ctx)
	if fr == nil {
		return ""
	}
	k := name + "/" + inputKey
	s := fr.scope
	s.mu.Lock()
	n := s.counts[k]
	s.counts[k] = n + 1
	s.mu.Unlock()
	if n > 0 {
		k += "#" + strconv.Itoa(n)
	}
	return k
}

// PriorResult returns the result of an earlier completed run with the task
// key in the flow run of ctx: from an earlier attempt in this process, or
// persisted before a crash and loaded when the flow run resumed.
func PriorResult(ctx context.Context, key string) (json.RawMessage, bool) {
	fr := FlowRunFrom(ctx)
	if fr == nil || key == "" {
		return nil, false
	}
	fr.scope.mu.Lock()
	v, ok := fr.scope.prior[key]
	fr.scope.mu.Unlock()
	return v, ok
}

// AddCompensation registers fn to undo a completed step of the flow run in
// ctx. If the flow run ends Failed, Crashed or Cancelled after its last
// attempt, its compensations run in reverse order of registration, each
// recorded as a task run with the given name and run name. Outside a flow
// run it does nothing.
func AddCompensation(ctx context.Context, name, runName string, fn func(context.Context) error) {
	fr := FlowRunFrom(ctx)
	if fr == nil {
		return
	}
	fr.scope.mu.Lock()
	fr.scope.compensations = append(fr.scope.compensations, compensation{name: name, runName: runName, fn: fn})
	fr.scope.mu.Unlock()
}

// Go runs fn in a new goroutine that the flow run in ctx waits for before
// it finishes. Outside a flow run it is a plain go statement.
func Go(ctx context.Context, fn func()) {
	fr := FlowRunFrom(ctx)
	if fr == nil {
		go fn()
		return
	}
	fr.scope.wg.Go(fn)
}
