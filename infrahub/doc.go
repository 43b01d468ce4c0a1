// Package infrahub talks to Infrahub (OpsMill), the source of truth netauto
// flows read devices, applications and artifacts from and write results
// back to, and receives the webhooks Infrahub sends.
//
// # Client
//
// [New] returns a [Client] for one Infrahub instance. It authenticates with
// an API token (X-INFRAHUB-KEY) or with a username and password (login at
// /api/auth/login, refresh at /api/auth/refresh, a new login when both
// tokens expired). GraphQL goes to /graphql, or /graphql/<branch> for other
// branches, through github.com/hasura/go-graphql-client; REST calls use the
// same transport.
//
//	c, err := infrahub.New(infrahub.Config{Address: "https://infrahub:8000", APIToken: token})
//
// Credentials (the API token, bearer tokens, a login's password) are sent
// to Address only: a redirect to another scheme, host or port is refused
// with an error instead of being followed.
//
// Every call takes a context; each HTTP attempt also has Config.Timeout.
// Idempotent calls (queries, GETs) are retried on connection errors, 429
// (honouring Retry-After) and 5xx, as Config.Retry says: a retry.Policy
// (package flow/retry, the retry vocabulary flows and tasks use too), nil
// for [DefaultRetry] (three retries, jittered exponential backoff).
// Mutations are retried only when the connection could not be made or the
// server refused the credentials (401, then re-login), since in both cases
// the server did not run them.
//
// Nodes map onto your own structs. [Attr] is an attribute ({value}), [Rel]
// a cardinality-one relationship ({node{...}}), [RelMany] a
// cardinality-many one ({edges{node{...}}}); the GraphQL selection is
// derived from the struct's json tags ([SelectionFor]) or built from
// dotted paths ([SelectionFromPaths]):
//
//	type Device struct {
//		ID       string                `json:"id"`
//		Name     infrahub.Attr[string] `json:"name"`
//		Platform infrahub.Rel          `json:"platform"`
//	}
//	devs, err := infrahub.List[Device](ctx, c, "DcimDevice", infrahub.ListOptions{
//		Filters: infrahub.Filters{"status__value": "active"}, Parallel: 4,
//	})
//
// [List] pages with offset/limit (default 50) and can fetch pages in
// parallel; [Get] and [GetByHFID] read one node ([NotFoundError] when there
// is none); [Client.Count] counts. Writes: [Client.Create], [Client.Update],
// [Client.Upsert], [Client.Delete] take [Data] built with [Value],
// [PeerID] and [PeerHFID]; [Client.AddRelationship] and
// [Client.RemoveRelationship] edit cardinality-many relationships.
// Branches: [Client.Branches], [Client.CreateBranch] (waits for
// completion), [Client.MergeBranch], [Client.RebaseBranch],
// [Client.DeleteBranch]. Artifacts: [Client.Artifacts],
// [Client.ArtifactContent], [Client.StorageObject],
// [Client.RegenerateArtifacts] (by artifact id; it only queues the work,
// and Infrahub sends infrahub.artifact.updated only when the content
// changed, so never wait for that event). Schema: [Client.Schema],
// [Client.GraphQLSchema]. [Client.Query] and [Client.Mutate] run any
// GraphQL document. The documents the client builds are valid for Infrahub
// 1.0 to 1.10 (its tests validate them against both ends' GraphQL
// schemas); on releases whose Branch has no status, Branch.Status is
// empty.
//
// Errors: a GraphQL "errors" answer (HTTP 200) is a [*GraphQLError] with
// messages, paths and locations; a non-2xx answer is an [*APIError]. An
// unknown branch (Infrahub answers 404 on GraphQL, 400 on REST) is a
// [*NotFoundError] with Kind [KindBranch] wrapping the APIError.
// errors.Is works with [ErrNotFound], [ErrBranchNotFound],
// [ErrAlreadyExists] (a uniqueness violation), [ErrPermissionDenied] (403:
// the account lacks a permission, such as edit_default_branch for writes
// on the default branch) and [ErrUnauthorized] (refused credentials,
// including a login with an unknown user, which Infrahub answers 404; and
// 403). Infrahub 1.11's catalogue codes in extensions.code are understood
// as well as the messages of earlier releases. Secrets never appear in
// errors or in the String forms of [Config] and [Verifier].
//
// The package infrahub/infrahubtest is a fake Infrahub for tests and
// demos.
//
// # Webhooks
//
// Infrahub signs each delivery with three headers: webhook-id,
// webhook-timestamp and webhook-signature ("v1,<base64 HMAC-SHA256>" over
// id + "." + timestamp + "." + body, keyed with the shared key's raw bytes).
// A [Verifier] checks them; [DecodeEvent] turns the body into an [Event]
// with a typed payload ([NodeData], [ArtifactData], [BranchData], ...).
// [WebhookHandler] combines both behind an http.Handler:
//
//	v, err := infrahub.NewVerifier([]byte(os.Getenv("INFRAHUB_WEBHOOK_KEY")))
//	...
//	http.Handle("POST /webhooks/infrahub", &infrahub.WebhookHandler{
//		Verifier: v,
//		OnEvent: func(ctx context.Context, ev *infrahub.Event) error {
//			// store ev keyed on ev.DedupKey(), then return nil
//		},
//	})
//
// Two details of Infrahub's behaviour are handled for you. Infrahub does
// not sign the bytes it sends but a Python serialization of the payload,
// and that changed between releases: Verify rebuilds each signed form from
// the body, so deliveries of every release that signs verify — 1.0 to
// 1.2.9 (the dict's Python repr), 1.2.10 to 1.7.4 (json.dumps with ", "
// and ": "; from 1.7.0 sent as compact JSON) and 1.7.5 and later (compact
// JSON with non-ASCII escaped as \uXXXX, sent with raw UTF-8). And Infrahub
// makes a new webhook-id, timestamp and signature for every retry of the
// same event (up to three retries, on an error answer or after its 10 s
// timeout), so deduplication must use the body's "id" ([Event.DedupKey]),
// never the header.
//
// # Polling the event log
//
// Where Infrahub cannot reach the receiver, a [Poller] reads the event log
// ([Client.Events]) instead. Infrahub stores events in batches, so an event
// can appear after later ones: each poll reads [Poller.Overlap] (default a
// minute) behind its cursor again and skips the events it handed on, by
// id.
//
// # Seam for the runtime's event intake
//
// The runtime owns durability and deduplication; this package owns the
// wire format. An intake that does its own HTTP handling calls
//
//	ev, err := infrahub.ReadWebhook(r, verifier, maxBytes)
//
// and maps errors with errors.Is: [ErrBodyTooLarge] → 413,
// [ErrInvalidSignature] → 401, [ErrMalformedEvent] → 400. It then stores
// the event keyed on ev.DedupKey() in the same transaction that makes it
// durable (ignoring a key it already has), and answers 202. Or it mounts a
// [WebhookHandler] whose OnEvent does that store; the handler keeps no
// state of its own. [Verifier.Verify] (headers + body) and [DecodeEvent]
// are usable on their own as well.
package infrahub
