// Package f5 drives F5 BIG-IP devices: AS3 declarations, LTM objects and
// SSL certificates, over the iControl REST API, with the behaviour of real
// devices (busy locks, asynchronous tasks, expiring tokens) handled for
// you.
//
// # Client
//
// Create one [Client] per device with [New] and reuse it; it is safe for
// concurrent use and keeps connections alive.
//
//	c, err := f5.New(f5.Config{
//		BaseURL:  "https://bigip1.example.net",
//		Username: "automation",
//		Password: os.Getenv("BIGIP_PASSWORD"),
//		CAFile:   "/etc/netauto/bigip-ca.pem", // or InsecureSkipVerify: true, explicitly
//	})
//
// By default the client logs in (POST /mgmt/shared/authn/login with the
// loginProviderName, "tmos" unless set) and sends the X-F5-Auth-Token
// header; the token is renewed shortly before it expires and again after
// any 401. Close the client when done ([Client.Close] revokes the token):
// BIG-IP lets every user but "admin" hold at most 100 live tokens and
// refuses further logins ([Error.TooManyTokens]) until they expire, 20
// minutes later. Config.BasicAuth sends basic credentials instead. The password
// never appears in errors or in the Config's String output, and no
// credential follows a redirect to another host: such a redirect is
// refused with a [*RedirectError].
//
// Every call takes a context. Each HTTP exchange is bounded by
// Config.RequestTimeout; the context bounds the whole call, retries
// included. Connection errors and device-busy answers (HTTP 503: AS3's
// "Configuration operation in progress on device ..., please try again in 2
// minutes" and a full burst queue) are retried as Config.Retry says (a
// retry.Policy from package flow/retry, the retry vocabulary flows and
// tasks use too; nil for [DefaultRetry]: exponential backoff with jitter
// until the context ends); 4xx answers never are. When the context ends
// first, the error is a [*TimeoutError] that wraps both the context error
// and the last device answer, so errors.Is(err, context.DeadlineExceeded)
// and errors.As(err, &apiErr) both work. Device answers outside 2xx are
// [*Error] values carrying the HTTP status, F5 code, message, errorStack
// and AS3's validation "errors".
//
// # AS3
//
// A [Declaration] is an ADC declaration as Go values. The common classes
// have types — [Tenant], [Application], [Service] (Service_HTTP, _HTTPS,
// _TCP, _UDP), [Pool] with [PoolMember] and monitor [Ref]s, [Monitor],
// [Certificate], [TLSServer] — and every other class is kept verbatim as
// [Raw]. Decoding never loses anything: an object becomes a Go type only if
// that type re-encodes to exactly the same JSON, otherwise it stays Raw, so
// any declaration read from a device can be modified and posted back.
// Declare also accepts any JSON body (json.RawMessage, an AS3 class wrapper,
// an array) for full passthrough.
//
// [Client.Declare] posts to /mgmt/shared/appsvcs/declare (or only to
// DeclareOptions.Tenants, which must be tenants of the body: AS3 skips the
// others without a word), asynchronously by default, and polls /task/<id>
// until no tenant is in progress (the task endpoint answers 200 while
// running; code 0 means running). A synchronous request that AS3 turns
// into a task after about 45 s is followed the same way. Options add
// controls.dryRun, show and unchecked. The [Result] has one [TenantResult]
// per tenant with its [Outcome] (success, no change, failed, task
// cancelled). AS3 validates an async declaration inside the task, so a 422
// and its validation "errors" arrive in the task record; AS3 3.51 and
// later name the tenants of such an entry as an array, older versions and
// per-tenant results as a string: both decode into TenantResult.Tenants. A
// tenant the device refused says "declaration failed" with the device's
// reason in TenantResult.Response. Failures come back as a Result together
// with a [*DeclareError] whose text gives the HTTP status really answered
// (the request's, or the task record's 200), each failed tenant's code,
// message, reason and errors.
//
// A task AS3 cancelled (code 0 "task cancelled", after a restnoded restart
// or a full burst queue) never completes: Declare, DeleteTenants and
// DeclareApplications submit once more, Patch does not (a JSON Patch is
// not idempotent), and a second cancellation is a [*TaskCancelledError].
// A task record AS3 dropped before its outcome was read (it keeps 25) is
// handled the same way. Patch refuses the "test" operation, which AS3
// does not support.
//
// Declarations that touch the same tenant are applied one at a time, in
// the order Declare (or Patch, DeleteTenants) was called: each call queues
// a ticket per tenant and runs when it is first in every queue it joined.
// Declarations for other tenants go ahead in parallel, and the device-wide
// AS3 lock that then answers 503 (inside the task when async) is waited
// out with backoff. (A declaration
// with updateMode "complete" may delete tenants it does not name; it is
// only serialized against the tenants it names.)
//
// [Client.DeclareApplications] posts a per-application declaration
// ([PerApp]) to one tenant. [Client.Read], [Client.DeleteTenants],
// [Client.Patch] (JSON Patch) and [Client.Info] cover the rest of the API. [Compare] and [Client.Plan]
// tell whether posting would change anything, ignoring what AS3 rewrites on
// its own ($schema, id, label, remark, schemaVersion, updateMode, controls),
// and render a readable [Diff] with secrets masked.
//
// # LTM and certificates
//
// Pools, pool members, nodes, virtual servers and monitors are addressed
// by full path ("/Common/web", or just "web" for /Common), sent as
// "~Common~web" ([TildePath]). [Client.SetPoolMemberState] and
// [Client.SetNodeState] write the session/state pair BIG-IP expects for
// [Enabled], [Disabled] and [ForcedOffline]. [Client.BeginTransaction]
// returns a [Transaction] whose Client queues writes under
// X-F5-REST-Coordination-Id; Commit applies them all or none.
//
// [Client.UploadFile] sends files in Content-Range chunks;
// [Client.InstallCertificate] and [Client.InstallKey] upload and install
// ssl-cert and ssl-key objects; [Client.Certificates] lists them with their
// expiration, [Client.ExpiringCertificates] and [ExpiringWithin] flag the
// ones due within N days; [Client.SaveConfig] persists the configuration.
//
// # Testing
//
// Package [github.com/netauto-dev/netauto/f5/f5test] is an in-memory BIG-IP
// modelled on AS3's own source: it validates declarations against the real
// AS3 schema inside the task, resolves pointers, answers with AS3's error
// shapes (tenant arrays, in-task locks, "declaration failed", cancelled
// tasks) and decides "no change" against the objects it deploys, so a
// change made by hand is re-applied. The examples in this package run
// against it.
package f5
