// Package flowext is the engine machinery of package flow, for packages
// that add their own kinds of steps to flows (package task is one; a
// package of approval steps or device fan-outs could be another) and for
// runtimes that record and resume runs. Flow authors do not need it:
// their API is packages flow and task.
//
// A step is a run of kind task inside the flow run of a context:
//
//	key := flowext.TaskKey(ctx, "render", inputHash)
//	if prior, ok := flowext.PriorResult(ctx, key); ok {
//		return flowext.Reuse[Out](ctx, rec, prior) // state Cached
//	}
//	ctx, run, err := flowext.StartRun(ctx, rec) // state Pending
//	out, final, err := flowext.Attempt(ctx, run, cfg, fn) // Running, retries
//	flowext.Finish(ctx, run, final, &flow.Result{TaskKey: key, Value: v})
//
// [Attempt] applies the retry policy, timeouts, panics and cancellation
// as flows do; [Finish] records the final state and the result durably,
// and seals the run. [AddCompensation] registers an undo, [Go] starts
// goroutines the flow run waits for, [CacheKeyPrefix] scopes cache keys
// to the top-level flow.
package flowext

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/internal/extapi"
	"github.com/netauto-dev/netauto/flow/retry"
)

// engine is what package flow stores in extapi.Impl.
type engine interface {
	StartRun(ctx context.Context, rec flow.RunRecord) (context.Context, *flow.Run, error)
	SetState(run *flow.Run, s flow.State) error
	Finish(ctx context.Context, run *flow.Run, s flow.State, res *flow.Result) error
	RunHooks(ctx context.Context, run *flow.Run, which string, hooks []flow.Hook, st flow.State, err error)
	Attempt(ctx context.Context, run *flow.Run, cfg extapi.AttemptConfig, fn func(context.Context) (any, error)) (any, flow.State, error)
	FlowRunFrom(ctx context.Context) *flow.Run
	TaskKey(ctx context.Context, name, inputKey string) string
	PriorResult(ctx context.Context, key string) (json.RawMessage, bool)
	AddCompensation(ctx context.Context, c extapi.Compensation)
	Go(ctx context.Context, fn func())
	CacheNamespace(flowName string) string
	CacheKeyPrefix(ctx context.Context) string
	ErrFinished() error
	OptionError(option string, err error) error
	ValidateConfig(kind flow.RunKind, name string, fn any, policy retry.Policy, errs ...error) error
	NilHook(option string, hooks []flow.Hook) error
}

// impl is set before this package's variables: package flow, imported
// here, is initialised first.
var impl = extapi.Impl.(engine)

// ErrFinished is returned (wrapped) for a state change of a run that
// already finished.
var ErrFinished = impl.ErrFinished()

// StartRun creates a run under the run in ctx, if any, records it with its
// first state (Pending) and returns a context carrying it. The record's ID
// is generated when empty; Created, FlowRunID and ParentID are filled in.
// A record of kind flow gets a fresh scope for the tasks it will run.
func StartRun(ctx context.Context, rec flow.RunRecord) (context.Context, *flow.Run, error) {
	return impl.StartRun(ctx, rec)
}

// SetState moves run to s, after checking the move against
// [flow.CheckTransition]. The state's Timestamp is set from the engine's
// clock when zero. An illegal move returns a *[flow.TransitionError] and
// records nothing; so does any move after [Finish] (wrapping
// [ErrFinished]).
func SetState(_ context.Context, run *flow.Run, s flow.State) error {
	return impl.SetState(run, s)
}

// Finish moves run to its final state s with the result to keep (nil for
// none), seals the handle, and returns once both are durable (the
// recorder's Flush). A result with a task key is what later attempts of
// the same top-level flow run reuse, read back through the engine's
// ResultStore; its FlowRunID is set to that top-level run's ID.
func Finish(ctx context.Context, run *flow.Run, s flow.State, res *flow.Result) error {
	return impl.Finish(ctx, run, s, res)
}

// RunHooks calls hooks in order for run's state st, each bounded by the
// engine's HookTimeout; which names them in the log ("OnFailure"). A
// hook's error or panic is logged on the run and changes nothing.
func RunHooks(ctx context.Context, run *flow.Run, which string, hooks []flow.Hook, st flow.State, err error) {
	impl.RunHooks(ctx, run, which, hooks, st, err)
}

// AttemptConfig configures [Attempt].
type AttemptConfig struct {
	// Label names the run in errors and messages, e.g. `task "render"`.
	Label string
	// Retry says how many times and when a failed attempt is tried again
	// (package retry); the zero Policy never retries.
	Retry retry.Policy
	// RetryIf, when set, must also return true for a failed attempt's
	// error to be retried. It narrows, never widens: errors marked with
	// [flow.NonRetryable], panics (state Crashed: a bug, not a blip) and
	// runs whose context ended are never retried.
	RetryIf func(error) bool
	Timeout time.Duration // per attempt; 0 for none
	// Execution is the runtime's number of this execution of the run,
	// from 1: more than 1 when the run crashed before (its process or
	// worker died) and the runtime runs it again; Executions is how many
	// executions the runtime makes at most (0 when unknown). They are a
	// budget of their own, apart from Retry's: they only tell the first
	// state's message, and the policy's attempts count from 1 in every
	// execution.
	Execution, Executions int
	// Slots, when set, is called before each attempt to take the run's
	// tag concurrency slots (the run waits in its current state, Pending
	// or AwaitingRetry); they are released when the attempt ends, so a run
	// holds no slot while it waits to retry.
	Slots func(ctx context.Context) (release func(), err error)
	// OnRunning is called each time the run enters Running or Retrying.
	OnRunning func(ctx context.Context)
}

// Attempt calls fn, retrying it as cfg.Retry says, and records on run
// every state but the last: Running, then for each failed attempt that
// will be retried AwaitingRetry and Retrying. It returns fn's result, the
// final state for the caller to record with [Finish] (so that a result
// can go with it), and the run's error:
//
//   - fn returned nil: Completed.
//   - fn panicked: Crashed with the stack, and a *[flow.PanicError].
//   - the attempt's timeout expired and fn returned an error: TimedOut and
//     a *[flow.TimeoutError] (retried).
//   - ctx's deadline passed: TimedOut and a *[flow.TimeoutError] (not
//     retried: the time the caller gave is spent).
//   - ctx was cancelled: Cancelled and a *[flow.CancelledError] (not
//     retried).
//   - otherwise: Failed and fn's error.
//
// fn gets a context that is cancelled when the attempt times out or ctx is
// cancelled; Attempt always waits for fn to return. A function that
// ignores its context therefore delays the run's end, but an abandoned
// attempt can never apply a change after its retry has started.
func Attempt[O any](ctx context.Context, run *flow.Run, cfg AttemptConfig, fn func(context.Context) (O, error)) (O, flow.State, error) {
	v, st, err := impl.Attempt(ctx, run, extapi.AttemptConfig(cfg), func(ctx context.Context) (any, error) {
		return fn(ctx)
	})
	out, _ := v.(O) // nil when the engine returns no result
	return out, st, err
}

// FlowRunFrom returns the flow run executing in ctx (the flow run a task
// run belongs to, inside a task), or nil.
func FlowRunFrom(ctx context.Context) *flow.Run { return impl.FlowRunFrom(ctx) }

// TaskKey returns the stable identity of a call within the flow run in ctx:
// the enclosing subflows' keys, name, the caller's key for the input, and
// an occurrence number for repeated calls with the same name and key
// ("render/ab12", then "render/ab12#1"). Occurrences count in call order
// and restart with each attempt of the flow run, so the n-th identical
// call of every attempt has the same key. Calls made concurrently from
// several goroutines with the same name and input key get their
// occurrence numbers in whatever order they arrive: where the input key
// is a hash of the input, their inputs are equal and any of their results
// serves; a caller-chosen input key must keep that property. Outside a
// flow run TaskKey returns "".
func TaskKey(ctx context.Context, name, inputKey string) string {
	return impl.TaskKey(ctx, name, inputKey)
}

// PriorResult returns the result of an earlier completed run with the task
// key in the top-level flow run of ctx: from an earlier attempt in this
// process, or persisted before a crash and loaded when the flow run
// resumed.
func PriorResult(ctx context.Context, key string) (json.RawMessage, bool) {
	return impl.PriorResult(ctx, key)
}

// Reuse records a run that completes (state Cached) with a result from an
// earlier attempt of its flow run, found with [PriorResult], and returns
// that result decoded.
func Reuse[R any](ctx context.Context, rec flow.RunRecord, prior json.RawMessage) (R, error) {
	var out R
	ctx, run, err := StartRun(ctx, rec)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(prior, &out); err != nil {
		err = fmt.Errorf("%s %q: decode result reused from an earlier attempt: %w", rec.Kind, rec.Name, err)
		return out, errors.Join(err, Finish(ctx, run, flow.Failed(err.Error()), nil))
	}
	return out, Finish(ctx, run, flow.Cached("result reused from an earlier attempt"), nil)
}

// Compensation undoes one completed step of a flow run; see
// [AddCompensation].
type Compensation struct {
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

// AddCompensation registers c to undo a completed step of the flow run in
// ctx; a compensation with the same key replaces the earlier one. If the
// flow run ends Failed, Crashed or Cancelled after its last attempt, its
// compensations run newest first, each recorded as a task run. When a
// subflow completes, its compensations pass to its parent, so a later
// failure of the parent undoes the subflow's steps too. Outside a flow run
// AddCompensation does nothing.
func AddCompensation(ctx context.Context, c Compensation) {
	impl.AddCompensation(ctx, extapi.Compensation(c))
}

// Go runs fn in a new goroutine that the flow run in ctx waits for before
// it finishes. Outside a flow run it is a plain go statement.
func Go(ctx context.Context, fn func()) { impl.Go(ctx, fn) }

// CacheNamespace returns the prefix of the cache keys of the flow named
// flowName: "flow/" and the escaped name and "/". Task results cached
// inside a flow run are keyed under the namespace of its top-level flow
// (see [CacheKeyPrefix]), so that a run of one flow can neither read nor
// poison another flow's cache entries: the runtime refuses a run token
// any key outside its run's namespace.
func CacheNamespace(flowName string) string { return impl.CacheNamespace(flowName) }

// CacheKeyPrefix returns the cache namespace of the top-level flow run
// executing in ctx ([CacheNamespace]), or "" outside any flow run.
func CacheKeyPrefix(ctx context.Context) string { return impl.CacheKeyPrefix(ctx) }

// OptionError returns the error an option of a kind of step returns for a
// bad value: a *[flow.ConfigError] naming the option ("WithTimeout"),
// whose Kind and Name [ValidateConfig] fills in.
func OptionError(option string, err error) error { return impl.OptionError(option, err) }

// ValidateConfig checks a definition as flow.New does, when it is made:
// its name (not blank), its function (not nil), its options' errors (errs,
// in the order the options were given; the first counts) and its retry
// policy (a bad field is reported as the option that sets it:
// WithRetries, WithBackoff, WithJitter). It returns a *[flow.ConfigError]
// of kind and name, or nil. Package task validates with it, so that flows
// and tasks report bad definitions alike.
func ValidateConfig(kind flow.RunKind, name string, fn any, policy retry.Policy, errs ...error) error {
	return impl.ValidateConfig(kind, name, fn, policy, errs...)
}

// NilHook returns the *[flow.ConfigError] of an option adding hooks
// (OnFailure, say) one of which is nil, or nil.
func NilHook(option string, hooks []flow.Hook) error { return impl.NilHook(option, hooks) }
