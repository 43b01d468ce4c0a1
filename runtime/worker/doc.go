// Package worker executes the orchestrator's runs: a [Worker] claims the
// due runs of a work pool from the store and hands each to a [Launcher].
//
// # Usage
//
// An in-process worker, the embedded default, runs the flows compiled into
// the binary:
//
//	reg, err := worker.NewRegistry(backupFlow, inventoryFlow)
//	l := worker.NewInProcess(st, reg, store.RecorderOptions{}, store.LimiterOptions{})
//	defer l.Close()
//	w, err := worker.New(st, worker.Options{Pool: "default", Launcher: l, LauncherType: "in-process"})
//	err = w.Run(ctx) // until ctx is done; w.Shutdown(ctx) drains instead
//
// A process worker starts each run as a child process of the same binary
// (`execute --run-id ID`, which reports back over the API); [Process.Env]
// hands the child the API URL and its run-scoped token:
//
//	l := &worker.Process{Logs: st, Env: tokenEnv, Grace: 10 * time.Second}
//
// # Claims, leases and limits
//
// A worker claims with [store.Runs.ClaimRuns] (exactly one worker gets each
// run) while it has a free slot out of Options.Concurrency, asking for as
// many runs as it has free slots (at most 16) in one claim, polling every
// Options.Poll when nothing is due ([Worker.Wake] claims at once). Each
// claim is a lease renewed every heartbeat: the pool's Lease and Heartbeat
// ([store.Pool.Timing]; 10s and Lease/3 by default), read again at every
// heartbeat, unless Options override them. The store's deployment
// concurrency limits apply at claim time, and the in-process launcher's
// engine takes tag slots from the store ([store.Limiter]), as a child's
// does through the API, so task tag limits hold across all workers.
// Heartbeats record the worker in the store.
//
// # Store outages
//
// A store that is unavailable for a while (a database restart or
// failover: [store.IsUnavailable]) fails no run: the worker keeps its
// attempts alive, the in-process recorder commits again with backoff, and
// the launchers' own reads retry, for as long as the lease holds
// ([store.WithLease]; a task's Completed state is still durable before
// the next task starts). Renewals that fail are tried again every half
// heartbeat; once none passed for 4/5 of the lease, the lease is lost
// ([ErrLeaseExpired]) and the attempt stops, before the reaper may retry
// the run elsewhere.
//
// # Children die with their worker
//
// The process launcher starts each child in a process group of its own,
// kills the group when the run stops or ends, has the kernel kill the
// child when the worker dies (Linux), and hands the child its [Lease] on
// a pipe ([FeedLease]): an `execute` child kills its group at once when
// the pipe ends, says stop, or the lease runs out unrenewed. The Docker
// launcher gives a container the same lease on its stdin. A retry can
// therefore not start a step while an earlier attempt of it still runs.
//
// # Hooks of runs the runtime ended
//
// A run that ends Crashed (or Cancelled) because its process, container
// or worker died could not run its flow's hooks. The store marks them
// owed; a worker with a [HookRunner] (by default its launcher, when it is
// one) claims and runs them ([store.Runs.ClaimHooks]), logging failures on
// the run.
//
// # Ends of a run
//
// The run records its own states: the in-process engine through a
// [store.Recorder], a child over the API. When the launcher returns and
// the run has no final state, the worker records one: Cancelled when the
// run was being cancelled, Failed when its flow is not compiled in or its
// parameters do not decode, otherwise Crashed with the launcher's error
// (for a child: its exit status and last lines of output) through
// store.Runs.CrashRun, which retries it per the run's policy exactly as the
// reaper does (AwaitingRetry, attempt+1, after RetryDelay).
//
// Cancel: a run moved to Cancelling (store.Runs.CancelRun) is seen at the
// next renewal; its context is cancelled, a child's process group gets
// SIGTERM and, after Process.Grace, SIGKILL; the run ends Cancelled.
//
// Lost leases: when a renewal finds the lease gone (the worker stalled
// longer than the lease and the reaper crashed the run), or the lease
// expires while the store cannot be reached, the run is fenced — the
// in-process engine records nothing more for it — and stopped at once (a
// child's process group killed, no grace: it must record nothing). The store
// enforces the same: a launcher's context carries the execution's
// store.Fence, and every write made with it after the run was reaped and
// claimed again fails with store.ErrFenced. Its retry
// (attempt+1, reusing completed task results) may already run elsewhere.
// A worker whose Run context ends abandons its runs the same way, leaving
// them to the reaper as if it had died; [Worker.Shutdown] drains instead.
package worker
