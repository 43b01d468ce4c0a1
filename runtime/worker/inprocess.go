package worker

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Registry holds the flows compiled into the binary, by name.
type Registry struct {
	flows map[string]flow.Definition
}

// NewRegistry returns a registry of defs. Two flows with one name are an
// error.
func NewRegistry(defs ...flow.Definition) (*Registry, error) {
	r := &Registry{flows: make(map[string]flow.Definition, len(defs))}
	for i, d := range defs {
		if d == nil {
			return nil, &store.InvalidError{Field: fmt.Sprintf("flows[%d]", i), Reason: "nil"}
		}
		name := d.Describe().Name
		if _, dup := r.flows[name]; dup {
			return nil, &store.InvalidError{Field: fmt.Sprintf("flows[%d]", i), Reason: fmt.Sprintf("flow %q registered twice", name)}
		}
		r.flows[name] = d
	}
	return r, nil
}

// Lookup returns the flow named name.
func (r *Registry) Lookup(name string) (flow.Definition, bool) {
	d, ok := r.flows[name]
	return d, ok
}

// Names returns the registered flow names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.flows))
	for n := range r.flows {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// UnknownFlowError is a run of a flow this binary does not contain. The
// worker records the run Failed.
type UnknownFlowError = wire.UnknownFlowError

// InProcess is the in-process launcher: the run's flow, looked up in a
// [Registry], executes in a goroutine of the worker with an engine that
// records into the store (batched, through a [store.Recorder]) and limits
// tag concurrency across every worker through the store ([store.Limiter]).
type InProcess struct {
	flows    *Registry
	recorder *store.Recorder
	limiter  *store.Limiter
	// Approval gates (flow.WaitForInput): inputs is the store's, when it
	// has them. A run that waits longer than SuspendAfter (default
	// [DefaultSuspendAfter]; negative: never) is suspended, its attempt
	// ended; while it waits, the answer is polled every InputPoll
	// (default 1 s).
	inputs       store.Inputs
	SuspendAfter time.Duration
	InputPoll    time.Duration
	console      console
}

// console prints run log lines to a writer (a terminal), one at a time.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) print(rec flow.LogRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return
	}
	id := rec.FlowRunID
	if len(id) > 8 {
		id = id[len(id)-8:] // the random tail: UUIDv7 runs share their time prefix
	}
	line := rec.Time.Local().Format("15:04:05.000") + " " + fmt.Sprintf("%-5s", rec.Level.String()) + " run " + id + " | " + rec.Message
	if len(rec.Attrs) > 0 && string(rec.Attrs) != "{}" && string(rec.Attrs) != "null" {
		line += " " + string(rec.Attrs)
	}
	fmt.Fprintln(c.w, line)
}

// SetConsole makes the launcher print every log line of the runs it
// executes to w too, as they are logged (what the store keeps: the
// engine has masked secrets already); nil stops it. A server's embedded
// worker and `worker` print to their terminal, as a local run does.
func (l *InProcess) SetConsole(w io.Writer) {
	l.console.mu.Lock()
	l.console.w = w
	l.console.mu.Unlock()
}

// DefaultSuspendAfter is how long a run waits for input in its attempt
// before it is suspended, holding no worker slot.
const DefaultSuspendAfter = 30 * time.Second

// NewInProcess returns an in-process launcher for the flows of reg on st.
// Call Close when the worker has stopped.
func NewInProcess(st store.Store, reg *Registry, rec store.RecorderOptions, lim store.LimiterOptions) *InProcess {
	l := &InProcess{flows: reg, recorder: store.NewRecorder(st, rec), limiter: store.NewLimiter(st, lim)}
	l.inputs, _ = store.As[store.Inputs](st)
	return l
}

// Close commits what the recorder still buffers.
func (l *InProcess) Close() error { return l.recorder.Close() }

// Launch implements [Launcher]: it executes the run's flow with
// [flow.Definition.Execute] and returns its error.
func (l *InProcess) Launch(ctx context.Context, job Job) error {
	def, ok := l.flows.Lookup(job.Run.Flow)
	if !ok {
		return &UnknownFlowError{Flow: job.Run.Flow}
	}
	eng := &flow.Engine{
		Recorder: &fencedRecorder{Recorder: l.recorder, fenced: job.Fenced, runID: job.Run.ID, console: &l.console},
		Results:  l.recorder,
		Limiter:  l.limiter,
	}
	if l.inputs != nil {
		eng.Inputs = &store.InputBroker{Store: l.inputs, Poll: l.InputPoll}
		eng.SuspendAfter = l.SuspendAfter
		if eng.SuspendAfter == 0 {
			eng.SuspendAfter = DefaultSuspendAfter
		}
		eng.SuspendAfter = max(eng.SuspendAfter, 0)
	}
	// The store refuses what this execution records once it is stale
	// (reaped, or claimed again): fencedRecorder only stops it earlier.
	ctx = store.WithFence(ctx, store.FenceOf(job.Run))
	if job.Lease != nil {
		// A store that is briefly unavailable is waited out, not a
		// failure of the run, for as long as the worker holds the lease.
		ctx = store.WithLease(ctx, job.Lease.Context())
	}
	_, err := def.Execute(flow.WithEngine(ctx, eng), flow.Execution{
		RunID:    job.Run.ID,
		RunName:  job.Run.Name,
		Tags:     job.Run.Tags,
		Params:   job.Run.Parameters,
		State:    job.Run.State,
		Attempt:  job.Run.Attempt,
		Attempts: job.Run.Retries + 1,
		Resume:   job.Run.Attempt > 1 || store.Resumed(job.Run),
	})
	return err
}

// errLeaseLost is returned to the engine for records of a run whose lease
// the worker lost; it matches store.ErrFenced.
var errLeaseLost = fmt.Errorf("the worker lost the run's lease; nothing more is recorded for this execution: %w", store.ErrFenced)

// fencedRecorder refuses run records once the worker knows the run is
// fenced, so that an execution that lost its lease cannot overwrite the
// states of its retry. Log lines pass to the recorder, which attaches the
// execution's fence to them: the store keeps those logged before the run
// was taken over and refuses the others.
type fencedRecorder struct {
	*store.Recorder
	fenced  func() bool
	runID   string
	console *console
}

func (f *fencedRecorder) Log(ctx context.Context, rec flow.LogRecord) {
	f.Recorder.Log(ctx, rec)
	if f.console != nil {
		f.console.print(rec)
	}
}

func (f *fencedRecorder) CreateRun(ctx context.Context, rec *flow.RunRecord) error {
	if f.fenced != nil && f.fenced() {
		return fmt.Errorf("run %s: %w", f.runID, errLeaseLost)
	}
	return f.Recorder.CreateRun(ctx, rec)
}

func (f *fencedRecorder) SetState(ctx context.Context, runID string, s flow.State, res *flow.Result) error {
	if f.fenced != nil && f.fenced() {
		return fmt.Errorf("run %s: %w", f.runID, errLeaseLost)
	}
	return f.Recorder.SetState(ctx, runID, s, res)
}
