// Package api is the netauto orchestrator's HTTP JSON API: an
// [http.Handler] over a [store.Store], served by the `server` command and
// used by the CLI, the workers and the `execute` processes that report a
// flow run (through runtime/client and runtime/remote).
//
// # Endpoints
//
// Every path is under /api/v1 except the probes and metrics. Bodies are
// JSON (the documents of package wire), limited to Options.MaxBodyBytes
// (1 MiB; record batches Options.MaxRecordBytes, 16 MiB): a larger body is
// answered 413. Errors are {"error": "...", "field": "..."} with the bad
// field named: 400 bad input, 401 no or bad credentials, 403 a role
// without the permission or a run token used outside its run, 404
// unknown resource, 409 an illegal state
// transition, a lost lease, or a write from a stale execution (field
// "fence"), 413 body too large, 422 parameters that do
// not match the flow's schema, 503 with Retry-After while the store is
// unavailable (a database restart or failover: clients retry). A failed
// request writes nothing. Every path element, query parameter, the
// Idempotency-Key header and every text field of a body is checked
// before the handler runs: a NUL character, invalid UTF-8 or a value
// over 1,024 bytes (names, IDs, keys) is answered 400 naming the field,
// as is an integer out of its column's range.
//
//	GET    /healthz, /readyz (store reachable), /metrics (Prometheus text)
//	GET    /flows, /flows/{name}           PUT /flows/{name}
//	GET    /deployments, /deployments/{name}
//	PUT    /deployments/{name}             apply: 201 created, 200 updated or unchanged, with the diff
//	POST   /deployments/{name}/pause, /unpause
//	POST   /deployments/{name}/runs        201 new run, 200 existing run of the idempotency key
//	GET    /runs?state=&deployment=&flow=&tag=&parent=&created_after=&created_before=&limit=&cursor=
//	GET    /whoami                         who the server takes the caller for
//	GET    /runs/{id}?tasks_limit=&tasks_after=   the run, its state history and a page of task runs
//	GET    /runs/{id}/state                current state (the cancel check of execute);
//	                                       ?from=NAME&wait=20s answers when it is no longer NAME
//	                                       (client.WaitRunState), woken by the store's announcements;
//	                                       ?until=final&wait=20s answers at the run's end (client.WaitRunFinal)
//	POST   /runs/{id}/state                set a state through the transition table
//	POST   /runs/{id}/cancel
//	POST   /runs/{id}/retry                a Failed or Crashed run to AwaitingRetry, due now (runs.create)
//	POST   /runs/bulk                      cancel, retry or set-state on the runs a filter or ID list selects (at most 1000;
//	                                       the action's permission checked; never deletes: states kept in history)
//	GET    /runs/{id}/result
//	GET    /runs/{id}/logs?after=&limit=&run=
//	GET    /runs/{id}/logs/follow          Server-Sent Events, resumable with Last-Event-ID
//	POST   /runs/{id}/token                mint a run token
//	POST   /runs/{id}/token/renew          renew the run token the request carries
//	POST   /runs/{id}/lease                renew a worker's lease
//	POST   /runs/{id}/record               engine events in one transaction, per-op errors
//	GET    /runs/{id}/results              results of completed task runs, by task key
//	GET    /runs/{id}/tag-limits           the tag limits, for a run's child
//	POST   /runs/{id}/slots                take tag slots for a holding of the run's child
//	PUT    /runs/{id}/slots/{holder}       renew them   DELETE /runs/{id}/slots/{holder} free them
//	GET    /cache/{key}?now=               a cached task result
//	GET    /pools, /pools/{name}, /pools/{name}/queues   PUT /pools/{name}, /pools/{name}/queues/{queue}
//	POST   /pools/{name}/claim             claim a due run for a worker
//	GET    /workers?pool=                  PUT /workers/{name} (heartbeat)
//	GET    /blocks, /blocks/{name}         secret fields masked; PUT, DELETE /blocks/{name}
//	GET    /tag-limits                     PUT /tag-limits/{tag} {"limit": n} (0 removes; "prefix*" patterns)
//	GET    /variables, /variables/{name}   PUT, DELETE /variables/{name}
//	GET    /secrets                        names and times only; PUT {"value": ...}, DELETE /secrets/{name} (admin)
//	GET    /events?source=&type=&unmatched=&limit=&cursor=
//	POST   /events/{source}                202 new event with run IDs, 200 duplicate
//	GET    /events/deliveries?limit=       this server's last refused and duplicate deliveries (memory only, newest first)
//
// # Authentication
//
// API keys ([KeySet]) are bearer tokens, each with a name and a [Role]:
// viewer (read), operator (create and cancel runs, pause deployments),
// approver (resume runs waiting for approval), worker (claim, heartbeat,
// renew leases and mint run tokens, for its pools) and admin (everything).
// Every route needs a [Permission] a role grants; a refusal is 403 naming
// the key and its role. [ParseKeys] reads the NAME:ROLE:KEY format,
// [ReadKeysFile] a file of hashes. Keys are kept as SHA-256 hashes and
// compared in constant time. [Identity] gives the caller's name and role to
// whatever records what a request does (a cancelled run's state says who);
// GET /whoami answers it.
//
// A worker launching an `execute` process mints a run token for the run
// (POST /runs/{id}/token, or [Server.MintRunToken] in-process): an
// HMAC-signed token carrying the run ID, the execution it is for (the
// attempt and worker of the claim) and an expiry (Options.TokenTTL, 15
// minutes), renewed by its holder (POST /runs/{id}/token/renew) while the
// run's lease is live and the run not final. It is accepted only by
// /runs/{id}, /state, /result, /record, /results, /tag-limits and /slots
// of that run (and its
// subflow and task runs in record batches) and by /cache, for its run's
// flow's keys only ([github.com/netauto-dev/netauto/flow/flowext.CacheNamespace]).
// Every write made with it is
// fenced by its execution ([store.Fence]): once the run was reaped or
// claimed again, a batch is refused as a whole with 409 (field "fence"),
// so a child of a reaped attempt cannot report over its successor. A
// token may not create a task run under another run's ID, and once its
// run is final it may record only the run's compensations and log lines.
//
// Without keys every request is allowed as admin; the server must then
// listen on loopback only, which [CheckListenAddr] and
// [Server.HTTPServer] enforce (the latter also logs that it runs without
// keys and sets the server's timeouts). Whatever the keys, a
// state-changing request from another origin (Origin, Sec-Fetch-Site) is
// refused 403; without keys, a Host that is not localhost, a loopback
// address or the listen address is 421 (DNS rebinding) and a
// state-changing request that is not application/json 415 (CSRF). The
// probes are public; /metrics needs a key. Event sources authenticate
// with their own [Verifier].
//
// The web UI (package runtime/ui) runs in the same process: it checks a
// key once at sign-in ([Server.Authenticate]) and then calls the routes
// in-process as that key's principal ([Server.ServeAs]), so that its
// actions are authorised and validated as a bearer key's; [Server.Mount]
// serves its pages beside the routes, [Server.CheckBrowser] applies the
// origin and host checks to them.
//
// Log streams are capped (Options.MaxFollowers, MaxFollowersPerCaller:
// 503) and each of their writes has a deadline. Task runs of GET
// /runs/{id} come a page at a time (tasks_limit, tasks_after).
//
// # Engine reports
//
// POST /runs/{id}/record applies a batch of engine events (runs created,
// states set with results, log records) through [store.Runs.Record] in
// one transaction. Ops that fail alone (an illegal transition, an unknown
// run, a run outside the token's run) are answered in "errors" with their
// index; the others are committed. Each batch carries a batch ID: the
// answer is remembered for 15 minutes (4096 batches), so a client that
// retries a batch whose answer it lost gets the same answer and nothing is
// applied twice; a retry arriving while the batch is applied waits for
// it. A batch the server no longer remembers (after a restart) is applied
// again: run creations are upserts, and a state op whose state is already
// the run's current state (same name and timestamp) counts as applied;
// its log records would be stored twice.
//
// # Events
//
// POST /events/{source} verifies the request with the source's
// [Verifier] (401 and nothing stored when it fails), then stores the
// event, deduplicated by its ID, and creates the runs the [Matcher] finds
// in the same transaction ([store.Events.AcceptEvent]) before answering.
// 202 means the event and its runs are durable. A duplicate answers 200
// with the run IDs of the first delivery, so a sender retrying after a
// lost answer sees the same outcome. [HMACVerifier] (a shared-secret
// HMAC-SHA256 of the body) and [BearerVerifier] (an API key of the
// source) are built in; other sources (Infrahub) plug in their own.
// Several secrets may be valid at once (rotation). Each source is limited
// to Options.EventRate events a second (bursts of EventBurst): beyond,
// 429 with Retry-After. Events are pruned after Options.EventRetention
// ([Server.PruneEvents]), which must exceed twice the timestamp tolerance
// of each source that has one ([ReplayWindow]). The
// event type is the body's "event" or "type" field unless the verifier
// implements [EventTyper]; a verifier implementing [EventKinder] says
// where its events carry their target's kind, for the trigger table. A
// source (NetBox, GitLab...) is thus one value in Options.Sources. Runs the Matcher returns are created as given:
// their parameters are not checked against the flow's schema here (the
// matcher runs inside the transaction and cannot read flows).
//
// Job templates of pools and job variables of deployments and runs are
// checked through the launcher of the pool's type (Options.Launchers, a
// runtime/launch.Registry): the API knows no launcher and links none (a
// test keeps it free of the Docker client and OpenTelemetry).
package api
