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
// A worker claims with [store.Runs.ClaimRun] (exactly one worker gets each
// run) while it has a free slot out of Options.Concurrency, polling every
// Options.Poll when nothing is due ([Worker.Wake] claims at once). Each
// claim is a lease renewed every Lease/3; the store's deployment
// concurrency limits apply at claim time, and the in-process launcher's
// engine takes tag slots from the store ([store.Limiter]), so task tag
// limits hold across all workers. Heartbeats record the worker in the
// store every Options.Heartbeat.
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
// next renewal; its context is cancelled, a child gets SIGTERM and, after
// Process.Grace, SIGKILL; the run ends Cancelled.
//
// Lost leases: when a renewal finds the lease gone (the worker stalled
// longer than the lease and the reaper crashed the run), or the lease
// expires while the store cannot be reached, the run is fenced — the
// in-process engine records nothing more for it — and stopped. The store
// enforces the same: a launcher's context carries the execution's
// store.Fence, and every write made with it after the run was reaped and
// claimed again fails with store.ErrFenced. Its retry
// (attempt+1, reusing completed task results) may already run elsewhere.
// A worker whose Run context ends abandons its runs the same way, leaving
// them to the reaper as if it had died; [Worker.Shutdown] drains instead.
package worker
