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
// The fake models AS3 3.56 as its source says it behaves
// (github.com/F5Networks/f5-appsvcs-extension at the commit in
// schema/SOURCE.md); each behaviour names its origin beside its code. What
// it leaves out is listed at the end.
//
// # Taking a write in
//
// Before any answer, AS3 checks only the request envelope: the body is
// wrapped in an AS3 request and validated against as3-request-schema.json,
// where an ADC declaration is just {"class": "ADC"} (src/lib/as3request.js).
// A bad envelope answers 422 {"code": 422, "message": "Invalid request:
// <path>: <reason>"}; so does a JSON Patch without "op".
//
// Every write then gets a task record. With ?async=true the answer is 202
// with the task id at once; otherwise the outcome, or 202 with the task
// when processing outlasts Options.AsyncSwitchAfter (AS3: 45 s). GET
// /task/{id} answers 200 in every state: {code 0, "in progress"} while
// pending, then the declaration's results or the error body as the only
// result; the 25 most recent finished records are kept, pending ones
// always (src/lib/asyncHandler.js).
//
// POST /declare/T1,T2 deploys the named tenants the body declares, drops
// the body's other tenants and skips a named tenant the body lacks without
// a word (src/lib/declareHandler.js parsePerTenantPath). GET /declare/T1,T2
// answers 404 "specified Tenant(s) 'T2' not found in declaration" naming
// every missing tenant, and 204 when nothing is stored.
//
// # Processing, in the task
//
// In the order AS3 follows (src/lib/declarationHandler.js):
//
//  1. JSON Patch: "test" is refused with 422 "invalid patch - op 'test' is
//     not supported", a non-selective updateMode likewise; a patched tenant
//     that does not exist answers 404.
//  2. The device lock (src/lib/mutex.js). All writes share it; a write that
//     meets it answers code 503 "Error: Configuration operation in progress
//     on device localhost, please try again in 2 minutes", inside the task
//     (HTTP 200) when async. With burstHandlingEnabled in /settings (off by
//     default) writes wait in a queue of Options.BurstQueueSize (AS3: 10);
//     a write finding it full answers 503 "Error: Too many configuration
//     operations ..." and its record says "task cancelled" for ever.
//  3. Full validation against the real AS3 3.56.0 JSON Schema
//     (schema/as3-schema.json, compiled once per process), with schema
//     defaults filled in first, as AS3 does. Errors use AS3's wording and
//     path, e.g. "/T/A/web_pool: should NOT have additional properties",
//     `/T/A/service/virtualAddresses/0: should match format "f5ip"`,
//     "/: should have required property 'schemaVersion'".
//  4. The checks AS3's schema attaches with f5PostProcess: AS3 pointers
//     (a plain name, {"use": ...}, absolute, "@" and relative JSON pointer
//     forms) must lead to an object of the required class in the same
//     application, /T/Shared or /Common/Shared ("/T/A/service/pool:
//     contains path to non-existent object p", src/lib/tag/pointerTag.js);
//     {"bigip": path} must name an existing object ("Unable to find path
//     for /T/A/service/pool", src/lib/tag/bigComponentTag.js) for the
//     kinds the fake keeps: ltm pool, node and virtual, sys file ssl-cert
//     and ssl-key, with BIG-IP's built-in /Common/default.crt,
//     /Common/ca-bundle.crt and /Common/default.key.
//  5. Each tenant is compared with the device and deployed (src/lib/audit.js).
//
// Errors of steps 1 to 4 are one body {code, message, errors, host, tenant,
// declarationId} in which "tenant" is an ARRAY of names (AS3 3.51 and
// later): the declaration's tenant when it has one; with several, those the
// errors' paths start with for a 422 with errors, and no "tenant" at all
// otherwise (a 503 for two tenants has none).
//
// # Deploying: the device's live objects
//
// AS3 decides "no change" against the device, not against the declaration
// it stored. The fake renders each tenant into iControl REST objects of its
// partition: pools (load-balancing mode, monitors, description) with their
// members and nodes, one virtual server per Service (destination from its
// first address, ipProtocol, pool) and monitors. They are visible and
// writable through /mgmt/tm. A tenant is "no change" only when its
// declaration (defaults filled in) and these live objects both match; a
// change made by hand (another load-balancing mode, a disabled member, an
// extra pool in the partition) makes the next identical declaration
// "success" and is overwritten. ?unchecked=true compares with the previous
// declaration only, as AS3 does. Deleting a tenant removes its objects.
//
// A tenant the device refuses fails alone with code 422, message
// "declaration failed" and the device's reason in "response"; the others
// deploy (HTTP 207 when some succeed, 422 when none does). The fake's
// device refuses a virtual address and port already used by another tenant
// (01070333), a pool monitor {"bigip": ...} it does not have ("01020036:3:
// The requested monitor (/Common/nope) was not found."), and what
// [Server.FailTenant] injects. Each tenant posted replaces the stored one
// (applications missing from it are removed), a tenant with no
// applications is deleted, updateMode "complete" deletes unnamed tenants,
// controls.dryRun changes nothing.
//
// # Formats
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
// # Faults and observation
//
// [Server.FailNext] injects answers (503s, 404s, malformed JSON) for the
// next matching requests; [Server.HoldLock] holds the device lock as
// another configuration operation would; [Server.CancelTasks] makes the
// next async tasks end "task cancelled", as a restnoded restart leaves
// them; [Server.ExpireTokens] expires every token; [Server.FailTenant]
// makes a tenant fail on the device. [Server.Applied] lists tenant changes
// in order, [Server.Overlaps] counts requests that arrived for a tenant
// still being processed, [Server.Tenant] returns a stored tenant,
// [Server.Upload] an uploaded file and [Server.SaveCount] the number of
// config saves.
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
//
// # Not modelled
//
//   - Live objects for classes other than Pool, Service_* and Monitor (TLS
//     profiles, iRules, policies, ...): they are compared through the
//     stored declaration only. Members with shareNodes, FQDN and
//     service-discovery members and the second and later virtual addresses
//     of a Service have no live object.
//   - {"bigip": ...} references to kinds the fake does not keep (profiles,
//     iRules, policies, data groups, ...) are accepted unchecked; a device
//     answers "Unable to find" for a missing one. Pool monitors are looked
//     up among the built-in /Common monitors AS3 maps its names to
//     (src/lib/map_as3.js setMonitors) and those created under
//     /mgmt/tm/ltm/monitor.
//   - AS3 keywords other than pointer and bigComponent (fetching URLs,
//     secrets encryption, minimum versions, provisioned modules, service
//     discovery), the duplicate-value and path-length checks, and
//     declaration ids that AS3 refuses.
//   - Arrays of declarations are always processed synchronously, under one
//     lock. GET ?age, filterClass, showHash and webhooks are not served.
//   - The lock is one per fake device; there is no second AS3 instance or
//     service-discovery script racing for it, and a restnoded restart is
//     only what CancelTasks leaves behind.
package f5test
