// Package docker runs flows in containers through the Docker Engine API
// (the Docker launcher) and builds the images they run in ([BuildImage]).
//
// A work pool of type [PoolType] ("docker") has a job template, a JSON
// object parsed by [ParseJobTemplate]: image, image_pull_policy, env,
// cpu_limit, cpu_request, memory_limit, memory_request, networks,
// network_mode, volumes, labels, auto_remove, name, command and
// secret_env. A
// deployment's job variables override the pool's template and a run's
// override the deployment's (env and labels key by key). Unknown fields
// and bad quantities are *[fielderr.Error] values naming the field; the
// API and the app's compile check them at deploy time through [Factory],
// the launcher the runtime registers for the pool type. Layering,
// references, quantities and the neutral part of the policy are
// runtime/launch's, shared with any other launcher; this package keeps
// what is Docker's: its fields, volumes, networks and the socket.
//
// The pool's template also holds its "allow" object ([Policy]): which
// fields job variables may set (by default env values and resources within
// the pool's limits), which volume sources they may mount, whether the
// template or they may use host or container: network modes, and whether
// the Docker socket may be bound (never by default). [ResolveJobTemplate]
// layers and checks; the launcher checks again at launch and fails a run
// its pool refuses.
//
// [Launcher] is the worker's launcher for such a pool (`worker --pool P`
// picks it from the pool's type): it starts each run's container with the
// orchestrator's `execute --run-id ID`, the API URL and a run-scoped
// token, labels it with the run, deployment, worker and pool, streams its
// output into the run's logs, stops it on cancel and reports its exit.
//
// Secret values — env values that resolve a secret ({{ secrets.NAME }}, a
// block's secret field, a block holding secrets), the run token and the
// claimed run — are not put in the container's environment, which the
// engine stores and `docker inspect` shows: the launcher writes them to
// the container's standard input once it started, one JSON object, and
// closes it; `execute` reads them before anything else and sets them in
// its own environment ([SecretEnvStdin]). The job template's secret_env
// "env" turns that off for an image whose netauto predates it. A
// reference to a secret, block or field that does not exist fails the run
// (no retry would find it); a store that cannot be read crashes it, to be
// retried.
// [Launcher.Recover] removes the containers a restarted worker left.
package docker
