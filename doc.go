// Package netauto is a library for writing network automation flows as Go
// code and compiling them into one orchestrator binary.
//
// The packages, from the bottom up:
//
//   - [github.com/netauto-dev/netauto/flow]: typed flows (Flow[P, R]), the
//     run model shared by flows and tasks (states, the transition table,
//     state history), the recorder seam that carries every state change, log
//     record and result to a store, hooks, subflows and retries.
//   - [github.com/netauto-dev/netauto/task]: typed tasks (Task[I, O]) with
//     retries, backoff and jitter, timeouts, caching, result reuse after a
//     crash, compensations (rollback), futures (Submit, Map) and tag
//     concurrency limits.
//   - [github.com/netauto-dev/netauto/flow/retry]: the one retry
//     vocabulary (Policy: retries, backoff, jitter) that flows, tasks and
//     the Infrahub and F5 clients share; it imports nothing of ours.
//   - runtime: the orchestrator (store, deployments, schedules, triggers,
//     workers, API, CLI).
//   - infrahub, f5, device: clients for the systems network automation
//     talks to, each with an importable fake for tests.
//
// See README.md for a first flow and ARCHITECTURE.md for the map of
// packages, data flow and where state lives.
package netauto
