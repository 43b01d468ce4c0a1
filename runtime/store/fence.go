package store

import "context"

// Fence identifies one execution of a claimed flow run: the worker that
// claimed it and the attempt it claimed. A write carrying a fence is
// stored only while the run is still at that attempt and held by that
// worker; once the reaper crashed the attempt (and a retry was claimed, or
// the run was otherwise taken over), the write fails with a
// *[FencedError] and stores nothing, so a stalled execution that wakes up
// late cannot overwrite the states of its successor.
//
// The fence covers the flow run's own states and those of its subflow and
// task runs, as written through [Runs.Record], [Runs.AppendLogs],
// [Runs.SetRunState], [Runs.UpdateRunInfo] and [Runs.CrashRun].
type Fence struct {
	// RunID is the claimed flow run.
	RunID string `json:"run_id"`
	// Worker is the worker that claimed it; empty matches any worker.
	Worker string `json:"worker,omitempty"`
	// Attempt is the attempt claimed (FlowRun.Attempt at the claim).
	Attempt int `json:"attempt"`
}

// FenceOf returns the fence of the execution a worker starts for run as
// claimed.
func FenceOf(run FlowRun) Fence {
	return Fence{RunID: run.ID, Worker: run.Worker, Attempt: run.Attempt}
}

// execKey keys the execution a context records for: its fence and its
// lease, in one value, so that the recorder's hot path looks up both at
// once.
type execKey struct{}

// execution is what WithFence and WithLease put in a context.
type execution struct {
	fence *Fence          // nil: none
	lease context.Context // nil: none
}

func executionFrom(ctx context.Context) *execution {
	e, _ := ctx.Value(execKey{}).(*execution)
	return e
}

// withExecution returns ctx carrying a copy of its execution changed by
// set.
func withExecution(ctx context.Context, set func(*execution)) context.Context {
	var e execution
	if cur := executionFrom(ctx); cur != nil {
		e = *cur
	}
	set(&e)
	return context.WithValue(ctx, execKey{}, &e)
}

// WithFence returns a context whose writes are fenced by f: every write
// method of a [Store] called with it ([Runs.Record], [Runs.AppendLogs],
// [Runs.SetRunState], [Runs.UpdateRunInfo]) first checks f inside its
// transaction and, when the execution is stale, fails as a whole with a
// *[FencedError]. A [Recorder] also attaches the fence of the context of
// each CreateRun and SetState to its op ([Op.Fence]), so that one recorder
// may serve several executions.
func WithFence(ctx context.Context, f Fence) context.Context {
	return withExecution(ctx, func(e *execution) {
		e.fence = nil
		if f.RunID != "" {
			e.fence = &f
		}
	})
}

// FenceFrom returns the fence of ctx, if any.
func FenceFrom(ctx context.Context) (Fence, bool) {
	if e := executionFrom(ctx); e != nil && e.fence != nil {
		return *e.fence, true
	}
	return Fence{}, false
}

// noFence hides the fence of ctx.
func noFence(ctx context.Context) context.Context {
	if _, ok := FenceFrom(ctx); !ok {
		return ctx
	}
	return WithFence(ctx, Fence{})
}
