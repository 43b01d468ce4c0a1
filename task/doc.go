// Package task defines typed tasks: the steps of a flow, each run with
// retries, backoff and jitter, a timeout, caching, tag concurrency limits,
// hooks and an optional compensation, and recorded with its state history
// in the flow run's engine (see package flow for the run model).
//
//	var render = task.New("render-as3",
//		func(ctx context.Context, app App) (as3.Declaration, error) { ... },
//		task.WithRetries(3),
//		task.WithBackoff(retry.Exponential(time.Second, 2, 30*time.Second)),
//		task.WithJitter(0.2),
//		task.WithTimeout(20*time.Second),
//		task.WithTags("f5"))
//
// The waits come from package flow/retry (retry.Fixed, retry.Delays,
// retry.Exponential), the retry vocabulary flows and the Infrahub and F5
// clients share.
//
// [Task.Run] blocks; [Submit] returns a [Future]; [Map] runs a task over a
// slice with a bound on concurrency; [Then] chains a task on a future's
// output; [Collect] and [Wait] gather futures. A flow run does not finish
// before the tasks it submitted.
//
// # Identity and reuse
//
// Inside a flow run, each call gets a task key: the task's name, a hash of
// the input's JSON (or [WithKey]'s key) and an occurrence number, fixed in
// call order (Map fixes them in input order before starting anything).
// When the flow run is retried or resumed after a crash, a call whose key
// completed before returns that result without running, in state Cached.
// Outputs must therefore encode as JSON; one that does not is simply not
// persisted (and the task runs again on retry), and
// [WithoutResultPersistence] opts out deliberately.
//
// # Caching
//
// [WithCache] serves a run from the engine's result store when a run with
// the same cache key (default: the input hash; [WithCacheKey]) completed
// within the expiration; such a run ends Cached without calling the
// function. [WithCacheRefresh] always runs and refreshes the entry.
//
// # Tag concurrency limits
//
// Tags ([WithTags], and [WithTagsFrom] for tags computed from the input)
// are limited by the engine's Limiter. [NewLimiter] enforces [Limits]
// in-process, with patterns for dynamic keys: {"ssh": 20, "device:*": 1}
// allows twenty SSH tasks at once and one task per device. The runtime
// provides a Limiter that enforces the same limits across workers. A run
// waits for its slots in state Pending (AwaitingRetry before a retry) and
// holds them for one attempt at a time, never while waiting to retry. A
// task that runs another task with the same limited tag from inside its
// function waits for a slot it holds itself: don't.
//
// # Compensation
//
// [WithCompensation] registers an undo for each completed run. If the
// flow run ends Failed, Crashed or Cancelled, compensations run newest
// first (saga style), each recorded as a task run "<task>.compensate".
//
// # Testing
//
// [WithStub] replaces a task's function in a context, so a flow can be
// tested against fakes; package flowtest asserts on state histories.
package task
