// Package runtime turns a program's flows into an orchestrator in one
// binary: API server, scheduler, lease reaper, workers and the command
// line to drive them. Its sub-packages hold the parts (store, schedule,
// scheduler, trigger, worker, api, ui, client, remote); this package wires
// them into a [Server] a program can embed, and the commands of [Main].
//
// # An orchestrator binary
//
// A user's main declares an [App] — the flows compiled in, the
// deployments, pools, tag limits and triggers, all in Go — and hands it
// to [Main]:
//
//	var app = &runtime.App{
//		Name:  "hello",
//		Flows: []flow.Definition{hello},
//		Deployments: []store.Deployment{{
//			Name: "hello", Flow: "hello",
//			Parameters: json.RawMessage(`{"name":"world"}`),
//			Schedules:  []store.Schedule{{Cron: "0 * * * *", Timezone: "UTC"}},
//		}},
//	}
//
//	func main() { runtime.Main(app) }
//
// The App is validated before any command runs: a deployment naming a
// flow that is not compiled in, two flows with one name, a bad trigger,
// each is an error naming the field (deployments[0].flow). A deployment
// with a Git [store.Source] may name a flow that is not compiled in: a
// worker with the process launcher fetches and builds its commit (see
// [github.com/netauto-dev/netauto/runtime/source]) and runs that binary,
// a main package calling [github.com/netauto-dev/netauto/runtime/agent.Main].
//
// # Embedding the orchestrator
//
// [Main] is a thin command line over a Go API that a program may use
// itself: [OpenStore] opens the store a URL names (a SQLite path,
// sqlite:PATH, or postgres://...), [NewServer] builds a [Server] from
// the App and [ServerOptions] (the store, a listen address or none, API
// keys, event sources, embedded workers as [WorkerOptions], scheduler and
// reaper intervals), [Server.Start] bootstraps the store (flows, pools,
// tag limits) and starts everything, [Server.Shutdown] drains the
// workers and stops. Without Listen the program mounts [Server.Handler]
// on its own mux next to its own routes:
//
//	st, err := runtime.OpenStore(ctx, "sqlite:/var/lib/app/netauto.db", store.Options{Key: key})
//	srv, err := runtime.NewServer(app, runtime.ServerOptions{
//		Store:   st,
//		Keys:    keys, // none: an admin key for the program's own client (Server.LocalKey)
//		Workers: []runtime.WorkerOptions{{Pool: runtime.DefaultPool}},
//	})
//	mux.Handle("/api/", srv.Handler())
//	err = srv.Start(ctx)
//	...
//	err = srv.Shutdown(ctx) // on SIGTERM
//
// [Server.Ready] and [Server.Done] report readiness and a component that
// failed; [Server.Scheduler] drives scheduler passes on a chosen clock
// (NoScheduler). Deployments are applied over the API (the `deploy`
// command, or the program's client), as in production.
//
// # Commands
//
//	server   API + scheduler loop + lease reaper (every --reap-interval,
//	         default 2s) + an embedded worker (--no-worker to run none;
//	         --pool, --launcher in-process|process, --concurrency, --lease
//	         and --heartbeat overriding the pool's, --grace). While its
//	         store is unavailable the API answers 503 with Retry-After.
//	         SQLite at ./.netauto/netauto.db
//	         by default, PostgreSQL with --db postgres://...; SIGINT/SIGTERM
//	         stop it gracefully: the API keeps answering while the worker
//	         drains for --grace, then runs still going are abandoned to the
//	         reaper (their lease lapses; another worker retries them).
//	worker   --pool NAME [--launcher in-process|process|docker] [--name N]:
//	         a worker on the store directly; the process and docker
//	         launchers need the API (children report over it) and an API key
//	         to mint their run tokens. Launchers are registered by pool type
//	         (App.Launchers; in-process, process and docker by default), and
//	         --launcher names one. A pool of type docker gets the docker
//	         launcher by default: a container per run from the pool's job
//	         template (package runtime/docker). With a stable --name, a
//	         restarted docker worker removes the containers it left. The
//	         process and docker launchers run Git-sourced deployments
//	         (--source-cache DIR, default .netauto/source; --source-allow-file
//	         to accept file:// URLs): the docker launcher in an image derived
//	         from the pool's image plus the commit's binary.
//	deploy   registers the flows, applies the pools and the deployments
//	         through the API, printing each change (created, updated with
//	         the changed fields, unchanged). Idempotent. --build first
//	         builds App.Image (or --image/--dockerfile/--context/--target/
//	         --build-arg) through the Docker Engine API; a failed build
//	         applies nothing.
//	run      DEPLOYMENT [--param k=v]... [--param-json '{...}'] [--watch]
//	         [--idempotency-key K] [--in DURATION]: create a run (due now,
//	         or --in from now). A --param value is JSON
//	         when it parses as JSON (3, true, "3"), else a string. --watch
//	         prints the run's states, its task runs and its logs live and
//	         exits 1 unless the run completes.
//	runs     [--state S,...] [--deployment D] [--flow F] [--tag T] [--origin KIND]
//	         [--limit N] [--cursor C] [--json]: runs, newest first, each with
//	         what created it (schedule, trigger and event, API key, parent run).
//	show     RUN [--json]: one run: state, origin, source commit, history.
//	logs     RUN [-f] [--json]: a run's logs; -f follows them until the run ends.
//	cancel   RUN [--reason TEXT]
//	approvals [--deployment D] [--json]: runs waiting at an approval gate,
//	         with their prompts; approve RUN [--input JSON | --param k=v]
//	         and reject RUN --reason TEXT answer them (approvalscmd.go).
//	windows  [DEPLOYMENT] [--count N] [--json]: the deployments' change
//	         calendars: open now or why not, the next openings, the freezes;
//	         runs override-window RUN --reason TEXT lets a run waiting for
//	         its window (AwaitingWindow) start now (windowscmd.go).
//	flows    the flows compiled into the binary and their deployments.
//	execute  --run-id ID: the process launcher's child. It first checks
//	         the server's protocol (GET /api/v1/version) and refuses an
//	         incompatible one with a message saying so. It reads the API
//	         URL, its run token and the claimed run from the environment
//	         (without NETAUTO_RUN it reads the run over the API, which a
//	         run token may do for its own run),
//	         runs the compiled flow with a [remote] recorder, stops it when
//	         the run is cancelled ([remote.WatchCancel]), and exits 0 when
//	         the run completed, 1 otherwise (the worker records Crashed for
//	         a child that ended without a final state). It reads its
//	         worker's lease on the lease channel the launcher gives it and
//	         kills its process group at once, recording nothing, when the
//	         worker is gone or lost the run (exit 3); while the lease holds
//	         it waits out an unavailable API.
//	keys     new NAME [--role ROLE] [--pools P,...]: a new API key, printed
//	         once, with its NETAUTO_API_KEYS entry and keys-file line (hash).
//	secrets  rotate --new-key-file F [--generate]: every secret, secret block
//	         field and sensitive result sealed again under a new key, in one
//	         transaction.
//	runs cancel|retry [RUN...] [filter flags] [--reason R] [--dry-run] [--limit N]:
//	         one action over the runs a filter (or the runs named) selects,
//	         at most 1000 a call (POST /api/v1/runs/bulk); nothing deleted.
//	run show, results RUN: a run with history and task runs; its results.
//	         Every command taking RUN accepts any unique prefix or suffix of
//	         a run ID; `runs` shows the shortest unique tails.
//	deployments [list|show|pause|resume NAME]; blocks, variables [list|
//	         show|get|set|delete NAME]; secrets [list|set|delete NAME] over
//	         the API (set reads stdin; secret values are never printed);
//	         version: this binary's and the server's. Reads take --json.
//	         Errors of the API get a hint: start `server`, run `deploy`,
//	         set NETAUTO_API_KEY. [App.Commands] adds a program's commands.
//
// Exit statuses: 0 success, 1 failure (or a watched run that did not
// complete), 2 bad command line, 130 interrupted.
//
// # Configuration
//
// Flags override environment variables:
//
//	NETAUTO_API_URL         API base URL of the client commands (default
//	                        http://$NETAUTO_LISTEN, else http://127.0.0.1:4200)
//	NETAUTO_API_KEY         API key the client commands send (default: the
//	                        local admin key of a server on this machine)
//	NETAUTO_API_KEYS        API keys the server accepts, comma-separated
//	                        NAME:ROLE:KEY or NAME:ROLE:sha256:HEX entries
//	                        (roles viewer, operator, approver, worker,
//	                        worker@POOL+POOL, admin; api.ParseKeys). Bare
//	                        keys of earlier versions are admin, with a
//	                        warning. Without any key the server makes a
//	                        local admin key (NETAUTO_LOCAL_KEY_FILE, mode
//	                        0600, beside the SQLite file) that the client
//	                        commands on the machine use by themselves, and
//	                        listens on loopback only.
//	NETAUTO_API_KEYS_FILE   a keys file: NAME ROLE sha256:HEX [POOL...]
//	NETAUTO_TLS_CERT, NETAUTO_TLS_KEY   serve HTTPS with this pair
//	NETAUTO_TLS_CA          CA certificates the clients trust besides the system's
//	NETAUTO_DB              SQLite file path, sqlite:PATH or postgres:// URL
//	NETAUTO_LISTEN          server listen address (default 127.0.0.1:4200)
//	NETAUTO_TOKEN_SECRET    signs run tokens (≥ 32 bytes); needed for tokens
//	                        to survive a restart or work across replicas
//	NETAUTO_SECRET_KEY      store key for secrets and sensitive results (or
//	                        NETAUTO_SECRET_KEY_FILE); NETAUTO_SECRET_KEY_PREVIOUS
//	                        holds keys rotated out by `secrets rotate`
//	NETAUTO_LOG_LEVEL       debug, info, warn, error
//	NETAUTO_SOURCE_CACHE    a worker's Git source cache (default .netauto/source)
//	NETAUTO_SOURCE_ALLOW_FILE  1: a worker accepts file:// Git sources
//	NETAUTO_CHILD_ENV       variables a process-launcher child gets from the
//	                        worker's environment besides the allow-list
//
// Keys, the token secret, the secret key are refused at start when they
// hold an example's placeholder ("change-me...") or little entropy.
//
// A child of the process launcher (or a container of the docker launcher) gets NETAUTO_API_URL, NETAUTO_RUN_ID,
// NETAUTO_RUN (the claimed run, JSON) and NETAUTO_RUN_TOKEN, a token that
// may report on that run only, and only while the run is at the attempt
// and worker it was minted for (a child of a reaped attempt is refused
// with 409); it lives 15 minutes and execute renews it while the run's
// lease is live, and removes it from its environment once read. A process
// child's environment is an allow-list (PATH, HOME, locale, proxies, CA
// and Go settings, NETAUTO_CHILD_ENV): the worker's keys, database, secret
// key and passwords do not reach it. See SECURITY.md for the threat model.
//
// # Change windows
//
// A deployment with a change calendar (store.Deployment.Calendar, see
// runtime/window; its Block names a config block whose change_calendar
// member adds windows and freezes editable as data) starts its runs only
// when the calendar is open. The store decides, in the shared SQL of both
// drivers: a run created while the calendar is closed moves at once from
// Scheduled to Scheduled (AwaitingWindow), due at the next opening, its
// message saying why (outside every window, frozen by which freeze); the
// claim checks the calendar again for the run's first start (a window may
// have closed, a freeze begun) and pushes the run to the next opening
// instead of starting it. A change of the calendar (the deployment's, or
// the block it names: SaveBlock looks for the deployments naming it) makes
// the runs waiting for it due at once, so that the claim checks them again:
// a lifted freeze brings them forward. Deployments without a calendar pay nothing more:
// the claim already reads the deployment for its concurrency limit. A
// calendar that cannot be used (missing block, bad data) holds the runs
// and is checked again every minute. Decisions: a running run is never
// stopped when its window closes; retries after a lost worker and runs
// resuming after an approval are not held (they continue a change that
// began); runs held for a window are not subject to the late policy;
// overriding (store.WindowOverrider, POST /api/v1/runs/{id}/override-window,
// permission runs.override-window of the approver role) needs a reason and
// records it with the key's name in the run's history (WindowOverridden).
// No migration: the calendar is part of the deployment's stored document,
// and the two state names are Scheduled states of the existing table.
//
// # Limits of this version
//
// Tag limits are set by the server at start and by `deploy` (over the
// API, GET and PUT /api/v1/tag-limits); an `execute` child (which has no
// database) does not take tag slots.
package runtime
