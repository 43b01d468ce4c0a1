// Package store is the orchestrator's durable state: flows, deployments,
// flow runs with their full state history, task runs, results, logs, work
// pools and queues, workers, tag concurrency slots, config blocks,
// secrets, variables and received events.
//
// [Store] is the interface; the drivers implement it with identical
// semantics, checked by the conformance suite in storetest:
//
//   - sqlite: a file, pure Go (modernc.org/sqlite), the default; nothing to
//     install. WAL mode, one writer connection and a pool of readers.
//   - postgres: github.com/jackc/pgx/v5, for several servers and many
//     workers on one database.
//
// This package imports neither driver, so a binary that only reports to
// the API server (a flow run executed in a child process) stays small.
// Both apply their embedded, versioned schema migrations at Open.
//
// # Guarantees
//
// Every write is one transaction. Every state change of a run, whichever
// method makes it, is checked with [flow.CheckTransition] inside that
// transaction; an illegal one returns the *[flow.TransitionError] and
// writes nothing. Bad input returns a *[InvalidError] naming the field,
// a missing object a *[NotFoundError] (errors.Is [ErrNotFound]).
//
// # The write path of runs
//
// A [Recorder] buffers what the engine records (runs created, states,
// results, logs) and writes it in group commits: one [Runs.Record] call
// holds everything every flow run of the process buffered since the last
// commit, so that concurrent task runs flushing together share one
// transaction. Record, written once for both drivers, reads the stored
// task runs the batch moves with one query per 64, applies every state in
// memory through [flow.CheckTransition] and writes the task runs with
// multi-row statements: a task run created, started and completed within
// one batch is one inserted row holding its three states and its result.
// An op that fails on its own (an illegal move, a stale [Fence], bad
// input) is not written and its error is returned at its index in
// Record's []error while the others commit; any other failure fails the
// whole transaction, nothing written.
//
// On SQLite Record's statements are prepared once per connection, and
// the write transactions of concurrent callers (Record, run creations,
// claims, every other write) run as one database transaction, each in a
// savepoint of its own: SQLite has one writer, so they waited for each
// other anyway, and one commit costs what twenty do. Each caller's
// outcome is what it would be alone (its own error rolls back its
// savepoint only; a failed commit is every caller's error). Workers claim
// as many runs as they have free slots in one [Runs.ClaimRuns]. On
// PostgreSQL a batch of task-run events only (the common case: no flow
// run's own state, no cached result) is sent as a pipeline on one
// connection: BEGIN, every write, COMMIT, in one round trip. What the
// batch would otherwise read first is assumed and checked in that
// transaction: each fence by a statement that locks the run's row and
// fails the transaction unless the execution is current, each task run
// that this store wrote last by an update that fails it unless the stored
// history is still the one written. Only task runs it does not know
// (written by another process, or by the other way) are read first, with
// the fences, in one more round trip. When an assumption fails, or the
// batch holds a flow run's state, a cached result or a task run created
// again, nothing was written and the batch takes a database/sql
// transaction, one round trip per statement, as do all the other methods;
// so an op's own failure is still reported for that op alone.
//
// # Who uses what
//
// The scheduler calls [Runs.PlanSchedules] with the upcoming runs of each
// deployment's schedules: unique per (deployment, scheduled time), and
// written in one transaction with the deployment's planned-through state,
// compare-and-set on it, so replicas and restarts neither duplicate a run
// nor leave a gap ([Runs.ScheduleStates] reads the state). When a
// deployment changed ([Deployment.Generation]), the first plan of its new
// generation deletes, in its transaction, the runs planned before that did
// not start and no longer fit (see [SchedulePlan]); until then they are
// not claimed. Every run records what created it ([Origin]). It also calls
// [Runs.ReapExpiredLeases] periodically: the runs of workers that stopped
// renewing their lease become Crashed and, with retries left,
// AwaitingRetry with their attempt number incremented. [Runs.PruneRuns]
// deletes finished runs older than a retention period, with their task
// runs and logs, so that the database does not grow without bound.
//
// A worker calls [Workers.Heartbeat], then [Runs.ClaimRun] for its pool: a
// due run goes to exactly one worker, Pending with a lease, honouring the
// deployment's concurrency limit and collision strategy. While the run
// executes the worker calls [Runs.RenewLease]; when it returns Cancelling
// the worker stops the run and records Cancelled; a run that ended without
// a final state goes through [Runs.CrashRun], retried like a reaped one.
// A run ended that way (Crashed with no retry left, or Cancelled) owes
// its flow's state hooks, which a worker of its pool claims and runs
// ([Runs.ClaimHooks], [Runs.HooksRun]).
// Every write of an execution is fenced by its attempt and worker
// ([Fence], [WithFence]): once the run was reaped and claimed again, a late
// write of the old execution fails with [ErrFenced] and stores nothing. It
// executes the flow
// with [flow.Definition.Execute], passing the claimed run's State and
// Attempt and Resume for attempts after the first, on an engine whose
// Recorder is a [Recorder] (batched, group-committed writes of task runs,
// states, results and logs) and whose Limiter is a [Limiter] (tag limits
// across all workers).
//
// The API server creates runs with [Runs.CreateRun] (an idempotency key
// makes retries of a request safe), lists them with [Runs.ListRuns] (cursor
// pagination), shows [Runs.RunHistory], [Runs.TaskRuns] and [Runs.Logs]
// (a cursor that also follows a live run), cancels with [Runs.CancelRun],
// applies deployments with [Deployments.ApplyDeployment] (which reports
// the changed fields), and stores webhook events with [Events.AcceptEvent]:
// the event, deduplicated by its ID, and the runs it triggers are written
// in one transaction, so an answer of 202 means the runs exist. Its
// readiness check calls [Store.Ping].
//
// # Outages
//
// An error saying the database could not be reached or refused work for
// a while (a restart, a failover, a connection refused) matches
// [ErrUnavailable] ([IsUnavailable]); its message names only the root
// cause, not the run of a batch it failed on. [RetryUnavailable] waits
// such errors out with backoff while the lease of its context holds
// ([WithLease]): the [Recorder] and [Limiter] do, so that a database
// blink fails no run while a worker holds its lease.
//
// # Secrets
//
// Secrets and the secret fields of blocks are encrypted at rest with
// AES-256-GCM under the key in [Options.Key] (see [KeyFromEnv]). A store
// holding encrypted values refuses to open without a key
// (*[KeyRequiredError]); a wrong key gives a *[DecryptError] when a value
// is read, never an empty value. [Secret] never prints its value.
// [SaveConfig] and [LoadConfig] map Go structs with Secret fields onto
// blocks, falling back to a default block only when the named one does
// not exist.
//
// Results marked sensitive ([flow.Result].Sensitive, from
// task.WithSensitiveResult) are sealed the same way wherever they are
// kept (reusable results, cache), and refused without a key. Each sealed
// value names its key ([Key.ID]); [Options.PreviousKeys] open values of
// keys rotated out, and a driver implementing [KeyRotator] seals
// everything again under a new key. [KeyFromEnv] refuses a key that is a
// placeholder or not random ([CheckSecretValue], [CheckKeyBytes]).
//
// Received events are pruned with [Events.PruneEvents]. The SQLite driver
// creates its files readable by their owner only.
package store
