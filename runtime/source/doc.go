// Package source runs flows whose code comes from Git: a deployment with
// a [store.Source] names a repository, a ref (branch, tag or commit), an
// optional sub-directory holding the Go module and the package of the
// flow binary (its entrypoint), and optionally credentials taken from a
// store secret.
//
// At run start the worker's [Launcher] resolves the ref to a commit,
// fetches it into a [Cache] (go-git, no git binary needed for https and
// ssh), checks it out once per commit, builds the entrypoint once per
// commit with the worker's Go toolchain (CGO_ENABLED=0, GOTOOLCHAIN=local,
// the worker's module and build caches, build log kept), runs the
// binary's `describe`, registers the deployment's flow (and no other name
// the binary describes) in the store with the commit hash as its version,
// validates the run's parameters against
// that commit's schema, records the commit on the run and hands the
// binary to the next launcher (the process launcher runs it as the child;
// a Docker launcher runs it in an image derived per commit). Rolling back
// is deploying an older ref.
//
// The flow binary is a main package calling
// [github.com/netauto-dev/netauto/runtime/agent.Main] with its flows: it
// links the flow engine and the API client, no store driver. Its
// `describe` reports the protocol its library speaks; a build speaking
// another protocol than the worker's is refused, and its `execute`
// refuses a server speaking another protocol.
//
// # Safety
//
// Everything from a deployment is hostile input until checked by
// [Validate]: the repository URL must be https:// or ssh:// (file:// only
// when [Cache.AllowFile] is set; http:// only to a loopback test server)
// and carry no password or token; the ref follows git's ref-name rules
// (no "..", no leading "-", only branches, tags or full hashes); the
// sub-directory and entrypoint are relative, without "..", and must
// resolve, symbolic links followed, inside the checkout. Tree entries and
// symbolic links of the fetched commit are checked too. Secrets (the
// token, passwords in URLs) are masked in every error, log line and build
// log ([MaskURL]).
//
// # Trust
//
// A Git source's code runs with the privileges of the launcher that runs
// it: as a child process of the worker (the process launcher), it is the
// worker's user on the worker's host, and may read what that user reads
// (files, the Docker socket if the user may use it); the child's
// environment holds only what any program needs and the variables the
// worker passes on purpose (worker.Process.PassEnv), plus its run token,
// which execute removes from the environment once read. The build runs
// no code of the repository. Whoever may push to a deployment's
// repository (or deploy another ref) therefore runs code as the worker:
// grant it as you would a shell on that host. The Docker pool is the
// isolation: there each run's binary runs in its own container, with
// only what the pool's job template and its policy allow (see
// runtime/docker.Policy). A source registers only its deployment's flow:
// its describe naming another flow cannot replace that flow's schema.
//
// # Concurrency
//
// Each step (fetching a repository, writing a checkout, building a
// commit) runs under an exclusive flock in the cache directory and is
// published by an atomic rename, so runs of one commit share one build,
// also across worker processes sharing the directory. A ref pinned to a
// commit hash whose build is cached touches neither git nor the network.
//
// # Failures
//
// A fetch, build, describe or protocol failure, a flow missing from the
// commit or parameters that do not fit its schema fail the run (a
// *[worker.FailedError]: Failed, not Crashed), with the error and the
// build log appended to the run's logs.
package source
