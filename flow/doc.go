// Package flow defines typed flows and the run model that flows and tasks
// share.
//
// # Flows
//
// A flow is a Go function of typed parameters to a typed result, given a
// name and options:
//
//	var Deploy = flow.New("deploy-f5-as3",
//		func(ctx context.Context, p Params) (Report, error) {
//			decl, err := render.Run(ctx, p.App)   // a task, see package task
//			...
//		},
//		flow.WithRetries(1),
//		flow.WithTimeout(15*time.Minute),
//		flow.OnFailure(notify))
//
// New checks the name, the function and every option when it is called
// (so does task.New): a bad definition is a *[ConfigError] naming the
// option, reported by [Flow.Err] and returned by every run, which records
// nothing. Checking at definition rather than at the first run finds the
// mistake in a test or at start-up, not when a schedule first fires.
//
// [Flow.Run] runs it in-process; [Flow.Execute] is how the runtime runs it
// from JSON parameters. Parameters and results must round-trip through
// JSON: the runtime stores them, and [SchemaFor] derives the JSON Schema
// the runtime validates parameters against and the UI renders.
//
// # States
//
// Every flow and task run moves through the states of one model: types
// Scheduled, Pending, Running, Paused, Cancelling, Completed, Failed,
// Cancelled and Crashed, refined by names (Late, AwaitingRetry, Retrying,
// Cached, TimedOut). [CheckTransition] holds the one transition table;
// every state change the engine, the runtime's store or its API makes goes
// through it, and an illegal move is rejected with a *[TransitionError]
// and not recorded. A typical history:
//
//	Pending → Running → AwaitingRetry → Retrying → Completed
//
// How a run ends:
//
//   - its function returns nil: Completed;
//   - it returns an error: Failed, or AwaitingRetry if its retry policy
//     allows another attempt ([NonRetryable] errors never do);
//   - its attempt timeout expires: TimedOut (a Failed state; retried).
//     Timeouts are timed by the engine's [Clock], so a test's fake clock
//     times them out when moved;
//   - its context is cancelled: Cancelled (never retried);
//   - it panics: Crashed, with the panic value and stack recorded; the
//     process does not crash, and the run is not retried.
//
// The retry policy is a retry.Policy (package flow/retry, the one retry
// vocabulary the Infrahub and F5 clients use too), set with [WithRetries],
// [WithBackoff] (retry.Fixed, retry.Delays, retry.Exponential) and
// [WithJitter]; [WithRetryIf] and [NonRetryable] decide which errors are
// retried.
//
// A function whose attempt timed out or was cancelled gets a cancelled
// context, and the engine waits for it to return before retrying or
// ending the run: an abandoned attempt could otherwise still apply a
// network change after its retry started.
//
// # Recording and durability
//
// Runs, states, results and log records go to the [Engine]'s [Recorder],
// and results are read back through its [ResultStore]. The default is an
// in-memory [MemoryStore]; the runtime plugs in its durable store. The
// contract every Recorder keeps: logs and intermediate states may be
// batched, but a task run's final state and its result are durable before
// the task's Run returns, and a flow run's final state is durable before
// the flow returns ([Recorder.Flush]; concurrent flushes share one write).
// A lost Completed state would run a network change twice.
//
// # Result reuse
//
// Each task run (and subflow run) inside a flow run has a stable identity,
// its task key (flowext.TaskKey): the enclosing subflows' keys, the task's name,
// a hash of its input (or a key the task computes), and an occurrence
// number for repeated identical calls, counted in call order. Results are
// owned by the top-level flow run. When it is retried in-process, or
// resumed by the runtime after its worker died ([Execution].Resume), a call
// whose key already completed returns the persisted result without running
// (state Cached); a subflow called again runs its function again and
// reuses each task it completed. Task keys do not depend on goroutine
// scheduling: Submit, Map and Then fix them when called.
//
// What is not reused: a task with WithoutResultPersistence, an output
// that does not encode as JSON (a warning is logged), and cache hits
// (they are looked up in the cache again).
//
// # Hooks, compensations, subflows, logs
//
// State hooks ([OnRunning], [OnCompletion], [OnFailure], [OnCancellation],
// [OnCrashed]) are plain functions of the run's record and state, told
// which attempt (and runtime execution) the event belongs to ([HookEvent],
// [Run.Attempt]), so one notifier
// serves every flow; a failing hook is logged on the run and never changes
// its state (a finished run's handle is sealed). Tasks may register
// compensations (saga-style rollback): when a flow run ends Failed,
// Crashed or Cancelled, the compensations of its completed steps run
// newest first, each once (however many attempts reused the step), each
// recorded as a task run and holding its step's tag slots. A completed
// subflow hands its compensations to its parent. A flow run started
// inside another is a subflow with its parent recorded.
//
// A flow run timed out by its own timeout ends TimedOut and its running
// tasks Cancelled, with the timeout as the reason; a run whose caller's
// context deadline passed ends TimedOut too, without retrying.
// [Logger] returns a *slog.Logger whose records carry the run's IDs and go
// to the recorder.
//
// # Approval gates
//
// [WaitForInput] stops a top-level flow run until a human answers a
// [Prompt] with a typed input (checked against its type's schema), rejects
// (the run ends Cancelled) or lets it time out. The engine's
// [InputBroker] stores requests and answers; under a runtime that sets
// [Engine.SuspendAfter], a long wait ends the attempt and a later
// execution resumes the run, reusing its completed tasks' results.
//
// # Which package is for whom
//
//   - Flow authors: this package (New, the options, Run, RunFrom, Logger,
//     NonRetryable, the states and errors) and package task for the steps.
//     Tests: package flowtest (a Harness with a fake clock and memory
//     store) for the state histories.
//   - Programs that run flows: [Engine], [WithEngine], [MemoryStore], and
//     [Definition]/[Execution] for a runtime that stores runs itself;
//     [Recorder] and [ResultStore] for a store of one's own.
//   - Packages that add their own kinds of steps to flows (task is one),
//     and runtimes that record and resume runs: package flow/flowext, the
//     engine machinery (StartRun, Attempt, Finish, TaskKey, PriorResult,
//     Reuse, AddCompensation, Go, RunHooks). It is kept out of this
//     package so that its documentation is the flow author's API.
//
// Package flowtest runs flows against a fake clock and asserts on
// recorded state histories.
package flow
