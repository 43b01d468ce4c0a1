// Package f5test is a fake BIG-IP for tests and labs: token login, AS3
// (declare, tasks, settings, per-app, info) and iControl REST LTM and
// certificate objects, all in memory.
//
// Use it in tests with [NewServer] (an httptest TLS server, closed with
// the test), or build your own listener around [New] (a [Server] is an
// http.Handler), or run it standalone with [Server.Serve]:
//
//	srv, err := f5test.New(f5test.Options{TaskDuration: 2 * time.Second})
//	if err != nil { ... }
//	err = srv.Serve(ctx, "127.0.0.1:8443") // plain HTTP until ctx ends
//
// Credentials default to admin/admin (token login or basic auth).
//
// # AS3 behaviour
//
// Declarations are validated against the real AS3 3.56.0 JSON Schema
// (schema/as3-schema.json, embedded; sources in schema/SOURCE.md),
// compiled once per process. Each request body is checked against the
// definition for its door: an ADC declaration or AS3 request on POST
// /declare, an array of them on POST /declare (answered with "items"), a
// JSON Patch body on PATCH /declare, a per-app declaration on POST
// /declare/{tenant}/applications, settings on POST /settings. Invalid
// bodies get 422 {"code": 422, "errors": [...], "message": "declaration is
// invalid"} with AS3's wording and path, e.g.
// "/T/A/web_pool: should NOT have additional properties" for an unknown
// Pool property, `/T/A/service/virtualAddresses/0: should match format
// "f5ip"` for a bad address, "/T/A/web_pool: should have required property
// 'class'" for a missing class. Like AS3, schema defaults are filled in
// before validation, so properties that are required but have a default may
// be omitted; GET ?show=full returns the declaration with those defaults.
//
// Applying follows AS3: each posted tenant replaces the stored one
// (applications missing from it are removed), a tenant with no
// applications is deleted, an identical tenant answers "no change",
// updateMode "complete" deletes unnamed tenants, controls.dryRun changes
// nothing. Tenants fail individually (HTTP 207 when others succeed) when
// [Server.FailTenant] says so or when a virtual address:port is already
// used by another tenant. All writes hold one device-wide lock for
// Options.TaskDuration: other writes answer 503 "Configuration operation in
// progress" or, with burstHandlingEnabled in /settings, wait in a queue of
// Options.BurstQueueSize (then 503 "Too many configuration operations").
// ?async=true answers 202 with a task that stays "in progress" (code 0)
// while processing; a synchronous request that outlasts
// Options.AsyncSwitchAfter is turned into a task, as AS3 does after 45 s.
// Tasks that cannot get the lock end with code 503.
//
// # Formats and keywords
//
// Every format the schema uses is checked; none is relaxed:
//
//   - f5ip, f5ipv4, f5ipv6: IPv4/IPv6 address with optional %route-domain
//     and /mask length, or "" (F5's rule, registered here).
//   - f5bigip: absolute BIG-IP path without control characters or
//     " # ' * < > ? [ \ ] { | } (F5's rule, registered here).
//   - f5pointer: AS3 pointer: names, relative or absolute JSON pointers,
//     "@" macros, optional trailing "#" (F5's rule, registered here).
//   - hostname, uri, date-time, email: the validator's standard checks.
//
// TestFormats exercises each of them. What the fake ignores are AS3's own
// keywords beyond JSON Schema: f5PostProcess and friends, which make AS3
// resolve pointers between objects, fetch URLs, check that referenced
// BIG-IP objects exist and encrypt secrets. A declaration pointing at a
// missing pool is therefore accepted here; on a device it fails.
//
// # Faults and observation
//
// [Server.FailNext] injects answers (503s, malformed JSON) for the next
// matching requests; [Server.HoldLock] holds the device lock;
// [Server.ExpireTokens] expires every token; [Server.FailTenant] makes a
// tenant fail. [Server.Applied] lists tenant changes in order,
// [Server.Overlaps] counts requests that arrived for a tenant still being
// processed, [Server.Tenant] returns a stored tenant, [Server.Upload] an
// uploaded file and [Server.SaveCount] the number of config saves.
//
// # LTM and certificates
//
// /mgmt/tm/ltm/{pool, pool/~P~name/members, node, virtual, monitor/<type>}
// and /mgmt/tm/sys/file/{ssl-cert, ssl-key} support list, get, create,
// PATCH/PUT and delete with BIG-IP's errors (404 not found, 409 exists,
// 400 when a pool or node is still in use). Pool members create their
// node. Transactions queue writes sent with X-F5-REST-Coordination-Id and
// apply them atomically when PATCHed to VALIDATING without that header.
// Uploads to /mgmt/shared/file-transfer/uploads/<name> must arrive in order
// with Content-Range; POST /mgmt/tm/sys/crypto/{cert,key} {"command":
// "install"} installs them (certificates are parsed for subject, issuer and
// expiration); POST /mgmt/tm/sys/config {"command": "save"} counts saves.
package f5test
