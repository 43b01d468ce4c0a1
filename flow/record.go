package flow

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// RunKind says whether a run is a flow run or a task run.
type RunKind string

// The run kinds.
const (
	KindFlow RunKind = "flow"
	KindTask RunKind = "task"
)

// RunRecord describes a flow or task run. It is created once, when the run
// is; its state changes are recorded separately.
type RunRecord struct {
	ID   string  `json:"id"`
	Kind RunKind `json:"kind"`
	// Name is the flow's or task's name; RunName names this run.
	Name    string `json:"name"`
	RunName string `json:"run_name"`
	Version string `json:"version,omitempty"`
	// FlowRunID is the flow run a task run belongs to; for a flow run it is
	// the run's own ID.
	FlowRunID string `json:"flow_run_id"`
	// ParentID is the run that started this one: a task run's flow run, a
	// subflow run's parent flow run. Empty for a top-level flow run.
	ParentID string `json:"parent_id,omitempty"`
	// TaskKey is the stable identity of a task run or subflow run within
	// its parent flow run (see flowext.TaskKey); results are reused under it.
	TaskKey string   `json:"task_key,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	// Parameters are a flow run's parameters as JSON. Task inputs are not
	// recorded: they may hold secrets and they are a task's own business.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Created    time.Time       `json:"created"`
}

// Result is a task or flow result handed to the recorder with the run's
// Completed state, so that both become durable together.
type Result struct {
	// FlowRunID and TaskKey identify the result for reuse when the flow run
	// is retried or resumed: FlowRunID is the top-level flow run (whose
	// subflows' tasks' results it owns too), TaskKey the run's identity
	// within it. A flow run's own result has an empty TaskKey and is kept
	// for the run's record, not for reuse.
	FlowRunID string
	TaskKey   string
	// CacheKey, when set, also stores the result in the cache until
	// CacheExpires (zero: never expires).
	CacheKey     string
	CacheExpires time.Time
	Value        json.RawMessage
	// Sensitive marks a value that must not be kept in plaintext (private
	// keys, passwords of a configuration snapshot): a store encrypts it
	// at rest with its secrets' key, and refuses it when it has none.
	Sensitive bool
}

// LogRecord is one log line of a run, produced through [Logger].
type LogRecord struct {
	RunID     string          `json:"run_id"`
	FlowRunID string          `json:"flow_run_id"`
	Time      time.Time       `json:"time"`
	Level     slog.Level      `json:"level"`
	Message   string          `json:"message"`
	Attrs     json.RawMessage `json:"attrs,omitempty"`
}

// Recorder receives every run, state change, result and log record the
// engine produces. The runtime implements it on its durable store; the
// default is an in-memory [MemoryStore].
//
// The durability contract, which every implementation must keep:
//
//   - CreateRun, SetState and Log may buffer and batch.
//   - Flush returns only when everything recorded before the call is
//     durable. The engine calls Flush after a task run's final state (with
//     its result) and before the task's Run returns to its caller, and
//     after a flow run's final state before the flow returns. Concurrent
//     Flush calls should share one write (group commit).
//   - A lost Completed state would run a network change twice, so an error
//     from Flush is returned to the caller of Run, never swallowed.
//
// CreateRun for an ID that already exists (a flow run created by the
// runtime's scheduler, then executed) must update it, not fail. The engine
// checks every state change against [CheckTransition] before calling
// SetState.
type Recorder interface {
	CreateRun(ctx context.Context, run *RunRecord) error
	// SetState records a run's new state; res is non-nil only with a
	// Completed state whose result may be reused.
	SetState(ctx context.Context, runID string, s State, res *Result) error
	// Log records a log line. It must not block for long and cannot fail:
	// an implementation that drops records must count them.
	Log(ctx context.Context, rec LogRecord)
	Flush(ctx context.Context) error
}

// ResultStore reads back the results a [Recorder] was given.
type ResultStore interface {
	// RunResults returns the results of the completed task runs of a
	// top-level flow run and of every subflow in it, by task key (results
	// are recorded with the top-level run's ID as FlowRunID). The engine
	// calls it when a flow run resumes after a crash and before each retry
	// of a flow run, never on a fresh run's first attempt.
	RunResults(ctx context.Context, flowRunID string) (map[string]json.RawMessage, error)
	// CachedResult returns the unexpired cached result under key.
	CachedResult(ctx context.Context, key string, now time.Time) (json.RawMessage, bool, error)
}
