// Package infrahubtest is a fake Infrahub for tests and demos: an
// in-memory node store with branches behind Infrahub's GraphQL and REST
// endpoints, loaded from Infrahub schema YAML and seed data. It models
// Infrahub 1.10 (its generated GraphQL schema is checked against a 1.10.6
// dump) with the webhook signing of 1.7.5 and later. Each behaviour below
// names, in the code beside it, the place in opsmill/infrahub (or Prefect,
// which Infrahub runs on) it follows.
//
// # What it serves
//
//   - GraphQL at /graphql and /graphql/<branch>: queries of any loaded kind
//     (and generic) with offset/limit, ids, hfid, attribute filters
//     (name__value, name__values, name__isnull, partial_match) and
//     relationship filters (rel__ids, rel__isnull, rel__attr__value,
//     rel__attr__values); <Kind>Create/Update/Upsert/Delete; RelationshipAdd
//     and RelationshipRemove; Branch, BranchCreate, BranchMerge,
//     BranchRebase, BranchDelete; InfrahubEvent.
//   - REST: /api/auth/login, /api/auth/refresh, /api/schema,
//     /schema.graphql, /api/storage/object/<id>, /api/artifact/<id> and
//     /api/artifact/generate/<definition id>.
//
// Every GraphQL request is parsed and validated (gqlparser) against a
// schema generated from the loaded kinds with Infrahub's naming rules
// (<Kind>, Paginated<Kind>, NestedEdged<Kind>, <Kind>CreateInput,
// TextAttribute, ...), so a misspelt field or filter gets Infrahub's
// "errors" answer instead of data. The generator is tested against real
// Infrahub schema dumps for the kinds both contain. Mutations check and
// store values as Infrahub does: the type and format of each attribute
// kind ("1.5 is not a valid Number at mtu"), regex, lengths, dropdown
// choices and the 4096-byte limit of indexed strings; IPHost and IPNetwork
// values are stored with their prefix length and MAC addresses upper-case;
// left-out attributes take their default. A create names every missing
// mandatory field; null for a mandatory attribute is refused. Uniqueness is
// Infrahub's: unique attributes, uniqueness_constraints, the constraint
// derived from the human-friendly id, and generics' constraints across the
// kinds inheriting them ("Violates uniqueness constraint 'device-name'").
// Upsert finds the node by id (which must exist), by hfid, or creates it
// and falls back to the node holding its human-friendly id. A create may
// give the id, a UUID not in use. A delete takes the node's components
// (on_delete cascade) with it and is refused while another node has a
// mandatory relationship to it. RelationshipAdd refuses a peer attached
// elsewhere. Mutations keep both sides of a relationship in step, and
// write nothing when they fail. Paging follows
// Infrahub's queries: limit 0 returns every node, a negative offset or
// limit is refused, and with an hfid filter count is the page's size.
// Branch names follow git's ref rules, 3 to 250 characters.
//
// Errors have Infrahub's shapes: an unknown branch is 404 with {"errors":
// ["Branch: <name> not found."]} on /graphql/<name> and 400 in the REST
// envelope {"data": null, "errors": [{"message", "extensions": {"code"}}]}
// on REST endpoints; a missing object, artifact or definition is 404 with
// NodeNotFoundError's message; an unknown route is FastAPI's {"detail":
// "Not Found"}.
//
// Auth accepts the X-INFRAHUB-KEY token (Options.APIToken, default
// DefaultAPIToken) or Bearer tokens from a login with Options.Username and
// Options.Password (defaults DefaultUsername, DefaultPassword); that
// account is a super administrator. Options.Accounts adds accounts
// without the edit_default_branch or merge_branch permissions: their
// mutations on the default branch, or their merges, get Infrahub's 403.
// A login with an unknown user is 404, a wrong password 401, as in
// Infrahub; a wrong or expired token is 401 "Invalid token" or "Expired
// Signature".
//
// # Webhooks
//
// Options.Webhooks receive events after each mutation (node
// created/updated/deleted with a changelog, branch
// created/merged/rebased/deleted, artifact updated), signed like Infrahub
// 1.7.5 and later: the body is compact JSON with raw UTF-8, the signature
// covers the same JSON with non-ASCII escaped as \uXXXX. Delivery is
// Infrahub's: each event is delivered on its own (deliveries overlap and
// may arrive out of order); an attempt that errs, times out
// (Options.WebhookTimeout, default Infrahub's 10 s) or is answered with
// anything but 2xx (a redirect is not followed) is repeated up to 3 times
// (Options.WebhookRetries), at once as up to Infrahub 1.10 or after
// Options.WebhookRetryDelay (Infrahub 1.11 waits 2 minutes). Every attempt
// has a new webhook-id, timestamp and signature; the body, and its "id",
// stay the same. [Server.Deliveries] lists the attempts and
// Options.OnDelivery reports each one; [Server.SendEvent] delivers any
// event; [Server.Wait] waits for background work, [Server.Close] stops it.
//
// # Artifacts
//
// POST /api/artifact/generate/<definition> answers at once (200, null)
// and generates afterwards, as Infrahub's workers do. Its "nodes" are
// artifact ids; an empty list means every artifact of the definition. The
// fake cannot run transformations: an artifact renders its current content
// until [Server.SetArtifactContent] gives it another. A generation whose
// content has the artifact's MD5 checksum stores, saves and sends nothing;
// changed content gets a new storage id, an infrahub.node.updated event for
// the CoreArtifact and infrahub.artifact.updated with the previous and new
// checksum and storage id.
//
// # Event log
//
// The InfrahubEvent query reads every event, sorted by the time it
// occurred (limit 10 by default, at most 50, DESC unless asked). Infrahub
// stores events in batches, so one can appear after later ones were read:
// [Server.LogEvent] adds an event with any time, to test readers of the log
// such as infrahub.Poller.
//
// # Faults
//
// [Server.InjectFault] makes the next requests under a path fail (429 with
// Retry-After, 503, ...); [Server.ExpireAccessTokens] expires login
// tokens; [Server.Requests] counts requests per path.
//
// # Use
//
// In tests:
//
//	fake, srv := infrahubtest.NewTestServer(t, infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
//	client, _ := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
//
// Standalone (what a `sim infrahub` command wraps):
//
//	err := infrahubtest.Serve(ctx, "127.0.0.1:8000", infrahubtest.Options{Seed: infrahubtest.DemoSeed()}, nil)
//
// The schema-library files (DCIM, IPAM, location, organization, routing,
// BGP, VLAN, VRF, LAG, circuit, cable) and the core kinds they use are
// embedded ([DefaultSchemas]), so the fake works from any directory.
//
// # Not imitated
//
// Object permissions and anonymous read access (the fake asks every
// request for credentials), node metadata and attribute properties
// (source, owner, is_protected are answered with defaults), regexes Go's
// RE2 cannot compile (look-around; such values are not checked), the
// derived fields of MacAddress, ordering (order:), hierarchical locations,
// resource pools, proposed changes, computed attributes, running
// transformations (see Artifacts), creating artifacts for targets that
// have none, infrahub.artifact.created, webhook custom headers and custom
// (transform) webhooks, webhook filters by node kind, signing as releases
// before 1.7.5 did (the infrahub package verifies those; its tests use
// vectors made with each release's code), the GraphQL error envelope with
// catalogue codes (1.11) for errors other than an unknown branch, and
// httpx's timeout per phase (connect, write, each read): the fake bounds
// each whole attempt.
package infrahubtest
