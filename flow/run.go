package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
)

// Run is the handle of one flow or task run in progress: its record, its
// current state, and the engine it records to. Every state change goes
// through the engine (package flowext's SetState and Finish), which check it against the
// transition table before recording it. Once Finish recorded a final
// state the handle is sealed: nothing (a hook, say) can move the run
// again.
//
// Flow authors rarely need a Run; [RunFrom] gives the one in a context
// (for its ID, say). Packages that add their own kinds of work to flows
// (the task package is one) use package flowext.
type Run struct {
	eng    *Engine
	rec    RunRecord
	flow   *Run // the flow run this run belongs to; itself for a flow run
	root   *Run // the top-level flow run, which owns reusable results
	parent *Run // the run in whose context this one started, if any
	// prefix starts the task keys of runs inside this flow run: "" for a
	// top-level flow run, the subflow's own task key and ">" for a
	// subflow, so that every key is unique within the root flow run.
	prefix string
	// ctx is the context the run executes in: where it started, plus the
	// run itself as a value (held here to save an allocation per run).
	ctx runContext
	// rctx is the context recorder calls get: the flow run's values
	// without its cancellation, since recording a Cancelled state must not
	// fail because the run was cancelled.
	rctx context.Context

	mu       sync.Mutex
	state    State
	finished bool

	scope *scope // flow runs only
	// inputHooks are the flow's OnAwaitingInput hooks (input.go).
	inputHooks []Hook
	logger     atomic.Pointer[slog.Logger]
	// attempt is the attempt of the run's retry policy under way or last
	// made, from 1 (0 before the first); execution is the runtime's
	// execution of the run it belongs to, from 1.
	attempt, execution atomic.Int64
}

// scope is what a flow run's tasks share.
type scope struct {
	mu       sync.Mutex
	counts   map[string]int // task key → calls so far in this attempt
	attempts int            // attempts started
	// prior holds results of completed runs by task key; only the root
	// flow run's is used, for every run nested in it.
	prior         map[string]json.RawMessage
	compensations []compensation
	compIndex     map[string]int // compensation key → index
	wg            sync.WaitGroup // goroutines started with Go
}

// compensation undoes one completed step of a flow run; see
// addCompensation.
type compensation struct {
	// Key identifies the step, normally its task key: registering a
	// compensation with a key already registered replaces that one, so a
	// step reused on a retry is undone once.
	Key string
	// Name and RunName name the task run that records the compensation.
	Name, RunName string
	// Tags are the step's tags: the compensation waits for their
	// concurrency slots, as the step did.
	Tags []string
	Fn   func(context.Context) error
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

// flowRunFrom (flowext.FlowRunFrom) returns the flow run executing in ctx, or nil.
func flowRunFrom(ctx context.Context) *Run {
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

// Attempt returns which attempt of the run's retry policy is under way
// (or was the last, once the run finished), counting from 1, and which
// execution of the run by the runtime it belongs to, counting from 1 (more
// than 1 when the run's worker or process died and the runtime runs it
// again). Attempt is 0 before the first attempt, and for a run that ended
// without one (a cache hit, a result reused from an earlier attempt).
func (r *Run) Attempt() (attempt, execution int) {
	return int(r.attempt.Load()), int(r.execution.Load())
}

// State returns the run's current state.
func (r *Run) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// startRun creates a run under the run in ctx, if any, records it with its
// first state (Pending) unless it exists in state current already (a flow
// run the runtime created and claimed), and returns a context carrying it.
// The record's ID is generated when empty; Created, FlowRunID and ParentID
// are filled in. A record of kind flow gets a fresh scope for the tasks it
// will run. flowext.StartRun is startRun for a new run.
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
		r.root = r
		if parent != nil {
			r.root = parent.root
			r.prefix = rec.TaskKey + ">"
		}
		r.scope = &scope{counts: make(map[string]int)}
	case KindTask:
		if parent != nil {
			r.flow = parent.flow
			r.root = parent.root
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
		if err := r.set(p, nil, false); err != nil {
			return ctx, nil, err
		}
	}
	return ctx, r, nil
}

// finish (flowext.Finish) moves the run to its final state s with the result to keep (nil
// for none), seals the handle, and returns once both are durable (the
// recorder's Flush). A result with a task key is what later attempts of
// the same top-level flow run reuse, read back through the engine's
// ResultStore; its FlowRunID is set to that top-level run's ID.
func (r *Run) finish(_ context.Context, s State, res *Result) error {
	if !s.Final() {
		return fmt.Errorf("%s run %q (%s): finish with %s: not a final state", r.rec.Kind, r.rec.Name, r.rec.ID, s.Name)
	}
	if res != nil && res.TaskKey != "" && r.root != nil {
		res.FlowRunID = r.root.rec.ID
	}
	if err := r.set(s, res, true); err != nil {
		return err
	}
	if err := r.eng.Recorder.Flush(r.rctx); err != nil {
		return fmt.Errorf("flush %s run %q (%s): %w", r.rec.Kind, r.rec.Name, r.rec.ID, err)
	}
	return nil
}

// errFinished is returned for a state change of a run that already
// finished.
var errFinished = errors.New("run already finished")

func (r *Run) set(s State, res *Result, finish bool) error {
	if s.Timestamp.IsZero() {
		s.Timestamp = r.eng.Clock.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return fmt.Errorf("%s run %q (%s): move to %s: %w", r.rec.Kind, r.rec.Name, r.rec.ID, s.Name, errFinished)
	}
	if err := CheckTransition(r.state, s); err != nil {
		return fmt.Errorf("%s run %q (%s): %w", r.rec.Kind, r.rec.Name, r.rec.ID, err)
	}
	if err := r.eng.Recorder.SetState(r.rctx, r.rec.ID, s, res); err != nil {
		return fmt.Errorf("record state %s of %s run %q (%s): %w", s.Name, r.rec.Kind, r.rec.Name, r.rec.ID, err)
	}
	r.state = s
	r.finished = finish
	return nil
}

// loadPrior replaces the known results of the top-level flow run (which
// holds those of every run nested in it) with what the engine's
// ResultStore has, before a retry or a resumed execution.
func (r *Run) loadPrior() error {
	root := r.root
	prior, err := r.eng.Results.RunResults(r.rctx, root.rec.ID)
	if err != nil {
		return fmt.Errorf("flow run %q (%s): load results of completed tasks: %w", root.rec.Name, root.rec.ID, err)
	}
	root.scope.mu.Lock()
	root.scope.prior = prior
	root.scope.mu.Unlock()
	return nil
}

// taskKey (flowext.TaskKey) returns the stable identity of a call within the flow run in ctx:
// the enclosing subflows' keys, name, the caller's key for the input, and
// an occurrence number for repeated calls with the same name and key
// ("render/ab12", then "render/ab12#1"). Occurrences count in call order
// and restart with each attempt of the flow run, so the n-th identical
// call of every attempt has the same key. Calls made concurrently from
// several goroutines with the same name and input key get their
// occurrence numbers in whatever order they arrive: where the input key
// is a hash of the input, their inputs are equal and any of their results
// serves; a caller-chosen input key must keep that property. Outside a
// flow run it returns "".
func taskKey(ctx context.Context, name, inputKey string) string {
	fr := flowRunFrom(ctx)
	if fr == nil {
		return ""
	}
	k := fr.prefix + name + "/" + inputKey
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

// priorResult (flowext.PriorResult) returns the result of an earlier completed run with the task
// key in the top-level flow run of ctx: from an earlier attempt in this
// process, or persisted before a crash and loaded when the flow run
// resumed.
func priorResult(ctx context.Context, key string) (json.RawMessage, bool) {
	fr := flowRunFrom(ctx)
	if fr == nil || key == "" {
		return nil, false
	}
	s := fr.root.scope
	s.mu.Lock()
	v, ok := s.prior[key]
	s.mu.Unlock()
	return v, ok
}

// addCompensation (flowext.AddCompensation) registers c to undo a completed step of the flow run in
// ctx; a compensation with the same key replaces the earlier one. If the
// flow run ends Failed, Crashed or Cancelled after its last attempt, its
// compensations run newest first, each recorded as a task run. When a
// subflow completes, its compensations pass to its parent, so a later
// failure of the parent undoes the subflow's steps too. Outside a flow run
// it does nothing.
func addCompensation(ctx context.Context, c compensation) {
	if fr := flowRunFrom(ctx); fr != nil {
		fr.scope.addCompensations(c)
	}
}

func (s *scope) addCompensations(cs ...compensation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compIndex == nil {
		s.compIndex = make(map[string]int)
	}
	for _, c := range cs {
		if i, ok := s.compIndex[c.Key]; ok && c.Key != "" {
			s.compensations[i] = c
			continue
		}
		s.compIndex[c.Key] = len(s.compensations)
		s.compensations = append(s.compensations, c)
	}
}

// takeCompensations empties the scope's compensations and returns them.
func (s *scope) takeCompensations() []compensation {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.compensations
	s.compensations, s.compIndex = nil, nil
	return cs
}

// goInFlow (flowext.Go) runs fn in a new goroutine that the flow run in ctx waits for before
// it finishes. Outside a flow run it is a plain go statement.
func goInFlow(ctx context.Context, fn func()) {
	fr := flowRunFrom(ctx)
	if fr == nil {
		go fn()
		return
	}
	fr.scope.wg.Go(fn)
}

// cacheNamespace (flowext.CacheNamespace) returns the prefix of the cache keys of the flow named
// flowName: "flow/" and the escaped name and "/". Task results cached
// inside a flow run are keyed under the namespace of its top-level flow
// (see cacheKeyPrefix), so that a run of one flow can neither read nor
// poison another flow's cache entries: the runtime refuses a run token
// any key outside its run's namespace.
func cacheNamespace(flowName string) string {
	return "flow/" + url.PathEscape(flowName) + "/"
}

// cacheKeyPrefix (flowext.CacheKeyPrefix) returns the cache namespace of the top-level flow run
// executing in ctx (cacheNamespace), or "" outside any flow run.
func cacheKeyPrefix(ctx context.Context) string {
	fr := flowRunFrom(ctx)
	if fr == nil {
		return ""
	}
	return cacheNamespace(fr.root.rec.Name)
}
