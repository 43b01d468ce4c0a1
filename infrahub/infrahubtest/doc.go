// Package infrahubtest is a fake Infrahub for tests and demos: an
// in-memory node store with branches behind Infrahub's GraphQL and REST
// endpoints, loaded from Infrahub schema YAML and seed data.
//
// # What it serves
//
//   - GraphQL at /graphql and /graphql/<branch>: queries of any loaded kind
//     (and generic) with offset/limit, ids, hfid, attribute filters
//     (name__value, name__values, name__isnull, partial_match) and
//     relationship filters (rel__ids, rel__isnull, rel__attr__value,
//     rel__attr__values); <Kind>Create/Update/Upsert/Delete; RelationshipAdd
//     and RelationshipRemove; Branch, BranchCreate, BranchMerge,
//     BranchRebase, BranchDelete.
//   - REST: /api/auth/login, /api/auth/refresh, /api/schema,
//     /schema.graphql, /api/storage/object/<id>, /api/artifact/<id> and
//     /api/artifact/generate/<definition id>.
//
// Every GraphQL request is parsed and validated (gqlparser) against a
// schema generated from the loaded kinds with Infrahub's naming rules
// (<Kind>, Paginated<Kind>, NestedEdged<Kind>, <Kind>CreateInput,
// TextAttribute, ...), so a misspelt field or filter gets Infrahub's
// "errors" answer instead of data. The generator is tested against real
// Infrahub schema dumps for the kinds both contain. Mutations check
// mandatory attributes and relationships, unique attributes and dropdown
// choices, keep both sides of a relationship in step, and write nothing
// when they fail.
//
// Auth accepts the X-INFRAHUB-KEY token (Options.APIToken, default
// DefaultAPIToken) or Bearer tokens from a login with Options.Username and
// Options.Password (defaults DefaultUsername, DefaultPassword).
//
// # Faults and webhooks
//
// [Server.InjectFault] makes the next requests under a path fail (429 with
// Retry-After, 503, ...); [Server.ExpireAccessTokens] expires login
// tokens; [Server.Requests] counts requests per path. Options.Webhooks
// receive events after each mutation (node created/updated/deleted with a
// changelog, branch created/merged/rebased/deleted, artifact updated),
// signed exactly like Infrahub: the body is compact JSON with raw UTF-8,
// the signature covers the same JSON with non-ASCII escaped as \uXXXX.
// [Server.SendEvent] sends any event; [Server.Wait] waits for deliveries.
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
// Not imitated: permissions, node metadata and attribute properties
// (source, owner, is_protected are answered with defaults), hierarchical
// locations, resource pools, proposed changes, computed attributes and
// running transformations (regenerating an artifact stores its content
// again under a new storage id).
package infrahubtest
