package f5test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests hold the fake to AS3's real behaviour: each names its origin
// in github.com/F5Networks/f5-appsvcs-extension (commit in
// schema/SOURCE.md) or the DERIVED fixture built from it
// (../testdata/responses, from /work/shared/fixtures/f5/responses).

// fixtureResult reads results[0] of a fixture response.
func fixtureResult(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "responses", name))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &body); err != nil || len(body.Results) == 0 {
		t.Fatalf("%s: %v", name, err)
	}
	return body.Results[0]
}

// sameKeys fails unless got has exactly the properties of want, leaving
// out those named in except.
func sameKeys(t *testing.T, what string, got, want map[string]any, except ...string) {
	t.Helper()
	g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))
	g = slices.DeleteFunc(g, func(k string) bool { return slices.Contains(except, k) })
	w = slices.DeleteFunc(w, func(k string) bool { return slices.Contains(except, k) })
	if !slices.Equal(g, w) {
		t.Errorf("%s: properties %v, want %v (as in the fixture)", what, g, w)
	}
}

// awaitTask polls GET /task/{id} until the record is no longer pending.
func awaitTask(t *testing.T, base, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := call(t, http.MethodGet, base+as3Prefix+"/task/"+id, "")
		if status != http.StatusOK {
			t.Fatalf("task %s: HTTP %d %v", id, status, body)
		}
		r0 := body["results"].([]any)[0].(map[string]any)
		if r0["message"] != "in progress" {
			return r0
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still in progress", id)
		}
		time.Sleep(time.Millisecond)
	}
}

// postAsync posts with ?async=true, expects 202 and returns the task id.
func postAsync(t *testing.T, url, body string) string {
	t.Helper()
	status, resp := call(t, http.MethodPost, url+"?async=true", body)
	if status != http.StatusAccepted {
		t.Fatalf("POST %s: HTTP %d %v, want 202", url, status, resp)
	}
	return resp["id"].(string)
}

func asStrings(v any) []string { return toStrings(v) }

// The declaration AS3's own test posts (test/integration/bigip/misc/
// restResponse.js "Should print host, declarationID and tenant information
// in response body"): the service points at a pool that does not exist.
const danglingPool = `{"class":"ADC","schemaVersion":"3.51.0","sample_02":{"class":"Tenant","app":{"class":"Application",
 "service":{"class":"Service_HTTP","virtualAddresses":["192.0.3.1"],"pool":"testPool4"},
 "testpool":{"class":"Pool","members":[{"addressDiscovery":"static","serverAddresses":["192.0.2.1"],"servicePort":443}],"monitors":["http"]}}}}`

// In async mode only the envelope is checked before the 202; the
// declaration is validated inside the task, whose only result is the error
// body with "tenant" as an array (src/lib/declareHandler.js processAsync,
// declarationHandler.js; DERIVED-as3-task-422-invalid-tenant-array.json).
func TestAsyncValidationRunsInsideTheTask(t *testing.T) {
	s, base := startPlain(t, Options{})
	id := postAsync(t, base+as3Prefix+"/declare", danglingPool)
	got := awaitTask(t, base, id)
	want := fixtureResult(t, "DERIVED-as3-task-422-invalid-tenant-array.json")
	sameKeys(t, "task result", got, want)
	if got["code"] != 422.0 || got["message"] != "declaration is invalid" || got["host"] != "localhost" {
		t.Fatalf("result %v", got)
	}
	if !slices.Equal(asStrings(got["tenant"]), []string{"sample_02"}) {
		t.Fatalf("tenant = %#v, want [sample_02]", got["tenant"])
	}
	if errs := asStrings(got["errors"]); len(errs) != 1 || errs[0] != asStrings(want["errors"])[0] {
		t.Fatalf("errors %q, want %q", errs, want["errors"])
	}
	if id, _ := got["declarationId"].(string); !strings.HasPrefix(id, "autogen_") {
		t.Fatalf("declarationId %q, want autogen_<uuid> (declareHandler.js assignBodyDefaults)", id)
	}
	if len(s.Applied()) != 0 {
		t.Fatal("invalid declaration applied")
	}
	// Synchronously the same body is the answer, with HTTP 422.
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", danglingPool)
	if status != http.StatusUnprocessableEntity || !slices.Equal(asStrings(body["tenant"]), []string{"sample_02"}) {
		t.Fatalf("sync: %d %v", status, body)
	}
}

// The envelope is checked before any answer and refused with 422 "Invalid
// request: ..." and no task (src/lib/as3request.js validateAndWrap against
// src/schema/latest/as3-request-schema.json).
func TestEnvelopeIsCheckedBeforeTheTask(t *testing.T) {
	s, base := startPlain(t, Options{})
	for _, tc := range []struct{ body, want string }{
		{`{"schemaVersion":"3.50.0"}`, "Invalid request: /declaration: should have required property 'class'"},
		{`{"class":"AS3","action":"deploy","declaration":{"class":"ADC"},"historyLimit":1}`, "Invalid request: /historyLimit: should be >= 2"},
		{`[]`, "Invalid request: "},
	} {
		status, body := call(t, http.MethodPost, base+as3Prefix+"/declare?async=true", tc.body)
		if status != http.StatusUnprocessableEntity || body["id"] != nil || !strings.HasPrefix(body["message"].(string), tc.want) {
			t.Errorf("%s: %d %v, want 422 %q", tc.body, status, body, tc.want)
		}
	}
	status, body := call(t, http.MethodPatch, base+as3Prefix+"/declare", `[{"path":"/T"}]`)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body["message"].(string), "should have required property 'op'") {
		t.Errorf("patch without op: %d %v", status, body)
	}
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/declare?async=maybe", simpleApp); status != http.StatusBadRequest {
		t.Errorf("async=maybe: %d %v (declareHandler.js parseAsyncParam)", status, body)
	}
	s.mu.Lock()
	n := len(s.as3.tasks)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d task records for refused requests", n)
	}
}

// A declaration that meets the device lock inside its task ends with code
// 503 in the task (HTTP 200), with the tenant array
// (src/lib/mutex.js; test/integration/bigip/misc/mutex.js;
// DERIVED-as3-task-503-locked-in-task.json). With two tenants the body
// has no "tenant" (declarationHandler.js).
func TestLockMetInsideTheTask(t *testing.T) {
	s, base := startPlain(t, Options{})
	release := s.HoldLock() // another configuration operation is running
	defer release()
	id := postAsync(t, base+as3Prefix+"/declare", strings.ReplaceAll(simpleApp, `"T"`, `"T1"`))
	got := awaitTask(t, base, id)
	want := fixtureResult(t, "DERIVED-as3-task-503-locked-in-task.json")
	sameKeys(t, "locked task", got, want)
	if got["code"] != 503.0 || got["message"] != want["message"] || !slices.Equal(asStrings(got["tenant"]), []string{"T1"}) {
		t.Fatalf("locked task result %v, want %v", got, want)
	}
	two := strings.Replace(simpleApp, `"T":`, `"T2":{"class":"Tenant"},"T1":`, 1)
	got = awaitTask(t, base, postAsync(t, base+as3Prefix+"/declare", two))
	if got["code"] != 503.0 || got["tenant"] != nil {
		t.Fatalf("two tenants: %v, want code 503 and no tenant", got)
	}
	if len(s.Applied()) != 0 {
		t.Fatal("applied under somebody else's lock")
	}
}

// Two async declarations for different tenants sent together: one gets
// the lock, the other meets it inside its task (burst handling is off by
// default: as3-settings-default.json, src/lib/declareHandler.js).
func TestSecondAsyncDeclarationMeetsTheLock(t *testing.T) {
	_, base := startPlain(t, Options{TaskDuration: 500 * time.Millisecond})
	if _, settings := call(t, http.MethodGet, base+as3Prefix+"/settings", ""); settings["burstHandlingEnabled"] != false {
		t.Fatalf("settings %v: burst handling must be off by default", settings)
	}
	a := postAsync(t, base+as3Prefix+"/declare", strings.ReplaceAll(simpleApp, `"T"`, `"T1"`))
	b := postAsync(t, base+as3Prefix+"/declare", strings.ReplaceAll(strings.ReplaceAll(simpleApp, `"T"`, `"T2"`), "192.0.2.10", "192.0.2.20"))
	codes := []any{awaitTask(t, base, a)["code"], awaitTask(t, base, b)["code"]}
	slices.SortFunc(codes, func(x, y any) int { return int(x.(float64) - y.(float64)) })
	if codes[0] != 200.0 || codes[1] != 503.0 {
		t.Fatalf("task codes %v, want one 200 and one 503", codes)
	}
}

// With burst handling enabled, an async request that finds the queue full
// has been answered 202 already; its record is cancelled and answers
// "task cancelled" for ever (src/lib/queue.js enqueue, declareHandler.js
// reportError; DERIVED-as3-task-cancelled.json).
func TestBurstQueueFullCancelsTheTask(t *testing.T) {
	s, base := startPlain(t, Options{BurstQueueSize: 1})
	if status, _ := call(t, http.MethodPost, base+as3Prefix+"/settings", `{"burstHandlingEnabled":true}`); status != http.StatusOK {
		t.Fatal("settings")
	}
	release := s.HoldLock()
	queued := postAsync(t, base+as3Prefix+"/declare", simpleApp)
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		w := s.waiting
		s.mu.Unlock()
		if w == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first request never queued")
		}
		time.Sleep(time.Millisecond)
	}
	id := postAsync(t, base+as3Prefix+"/declare", strings.ReplaceAll(simpleApp, `"T"`, `"U"`))
	got := awaitTask(t, base, id)
	// The record of a plain ADC body has no declarationId (see TestCancelTasks).
	sameKeys(t, "cancelled task", got, fixtureResult(t, "DERIVED-as3-task-cancelled.json"), "declarationId")
	if got["code"] != 0.0 || got["message"] != "task cancelled" {
		t.Fatalf("full queue: %v", got)
	}
	release()
	if r := awaitTask(t, base, queued); r["code"] != 200.0 {
		t.Fatalf("queued request: %v", r)
	}
	if r := awaitTask(t, base, id); r["message"] != "task cancelled" {
		t.Fatalf("a cancelled task changed: %v", r)
	}
	if s.Tenant("U") != nil {
		t.Fatal("cancelled declaration applied")
	}
}

// CancelTasks leaves records as a restnoded restart does
// (asyncHandler.js updatePending): code 0 "task cancelled", nothing applied.
// The record carries a declarationId only when the request was an AS3
// wrapper whose declaration has an id (asyncHandler.js handleRecord reads
// request.body.declaration.id), so a plain ADC body's record has none.
func TestCancelTasks(t *testing.T) {
	s, base := startPlain(t, Options{})
	s.CancelTasks(2)
	wrapped := `{"class":"AS3","action":"deploy","declaration":` + simpleApp + `}`
	got := awaitTask(t, base, postAsync(t, base+as3Prefix+"/declare", wrapped))
	sameKeys(t, "cancelled task", got, fixtureResult(t, "DERIVED-as3-task-cancelled.json"))
	if got["message"] != "task cancelled" || got["code"] != 0.0 || got["declarationId"] != "x" || s.Tenant("T") != nil {
		t.Fatalf("cancelled: %v, tenant %v", got, s.Tenant("T"))
	}
	got = awaitTask(t, base, postAsync(t, base+as3Prefix+"/declare", simpleApp))
	sameKeys(t, "cancelled task", got, fixtureResult(t, "DERIVED-as3-task-cancelled.json"), "declarationId")
	if got["message"] != "task cancelled" || got["declarationId"] != nil {
		t.Fatalf("cancelled plain body: %v", got)
	}
	if got = awaitTask(t, base, postAsync(t, base+as3Prefix+"/declare", simpleApp)); got["code"] != 200.0 {
		t.Fatalf("the next task: %v", got)
	}
}

// A tenant the device refuses says "declaration failed" with the device's
// reason in "response"; the others deploy (src/lib/audit.js updateTenant;
// DERIVED-as3-task-tenant-failed-response.json). A pool monitor
// {"bigip": ...} that the device lacks is such a refusal.
func TestTenantFailureGivesTheDeviceReason(t *testing.T) {
	s, base := startPlain(t, Options{})
	bad := strings.Replace(simpleApp, `"T":`, `"Bad":`, 1)
	bad = strings.Replace(bad, `"monitors":["http"]`, `"monitors":[{"bigip":"/Common/nope"}]`, 1)
	good := strings.Replace(strings.Replace(simpleApp, `"T":`, `"Good":`, 1), "192.0.2.10", "192.0.2.20", 1)
	var g map[string]any
	if err := json.Unmarshal([]byte(good), &g); err != nil {
		t.Fatal(err)
	}
	var both map[string]any
	if err := json.Unmarshal([]byte(bad), &both); err != nil {
		t.Fatal(err)
	}
	both["Good"] = g["Good"]
	b, _ := json.Marshal(both)
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", string(b))
	if status != http.StatusMultiStatus {
		t.Fatalf("HTTP %d %v, want 207", status, body)
	}
	want := fixtureResult(t, "DERIVED-as3-task-tenant-failed-response.json")
	for _, r := range body["results"].([]any) {
		r := r.(map[string]any)
		if r["tenant"] != "Bad" {
			continue
		}
		// Per-tenant results also carry declarationId (src/lib/audit.js
		// auditTenant sets it), which the hand-made fixture leaves out.
		sameKeys(t, "failed tenant", r, want, "declarationId")
		if r["code"] != 422.0 || r["message"] != "declaration failed" || r["response"] != want["response"] {
			t.Fatalf("failed tenant %v, want %v", r, want)
		}
	}
	if s.Tenant("Good") == nil || s.Tenant("Bad") != nil {
		t.Fatal("the good tenant must deploy, the bad one not")
	}
	// Once the monitor exists, the tenant deploys.
	if status, body := call(t, http.MethodPost, base+"/mgmt/tm/ltm/monitor/http", `{"name":"nope","partition":"Common"}`); status != http.StatusOK {
		t.Fatalf("create monitor: %d %v", status, body)
	}
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", string(b)); status != http.StatusOK {
		t.Fatalf("after creating the monitor: %d %v", status, body)
	}
}

// POST /declare/T1,T2 deploys the named tenants the body declares and skips
// the others without a word; the body's other tenants are dropped
// (src/lib/declareHandler.js parsePerTenantPath; unit test "should allow
// POST when tenants in decl dont exactly match tenants in URI" in
// test/unit/lib/declareHandler.js). GET answers 404 naming every missing
// tenant, 204 when nothing is stored (declarationHandler.js
// filterTenantsInDeclaration, getFilteredDeclaration;
// test/integration/bigip/misc/tenantTests.js).
func TestTenantsInTheURL(t *testing.T) {
	s, base := startPlain(t, Options{})
	if status, _ := call(t, http.MethodGet, base+as3Prefix+"/declare/T1", ""); status != http.StatusNoContent {
		t.Fatalf("GET with nothing stored: %d, want 204", status)
	}
	two := strings.Replace(strings.Replace(simpleApp, `"T":`, `"T1":`, 1), `"id":"x",`, `"id":"x","Other":{"class":"Tenant"},`, 1)
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare/T1,T2", two)
	results, _ := body["results"].([]any)
	if status != http.StatusOK || len(results) != 1 || results[0].(map[string]any)["tenant"] != "T1" {
		t.Fatalf("POST /declare/T1,T2: %d %v, want T1 deployed alone", status, body)
	}
	if s.Tenant("T1") == nil || s.Tenant("T2") != nil || s.Tenant("Other") != nil {
		t.Fatal("wrong tenants stored")
	}
	status, body = call(t, http.MethodGet, base+as3Prefix+"/declare/T1,T2,T3", "")
	if status != http.StatusNotFound || body["message"] != "specified Tenant(s) 'T2,T3' not found in declaration" {
		t.Fatalf("GET /declare/T1,T2,T3: %d %v", status, body)
	}
}

// AS3 pointers must lead to an object of the required class inside the
// declaration (src/lib/tag/pointerTag.js, src/lib/util/extractUtil.js).
func TestPointersAreResolved(t *testing.T) {
	_, base := startPlain(t, Options{})
	tests := []struct {
		name, from, to, want string
	}{
		{"dangling name", `"pool":"web_pool"`, `"pool":"nope"`, "/T/A/service/pool: contains path to non-existent object nope"},
		{"dangling use", `"pool":"web_pool"`, `"pool":{"use":"/T/A/nope"}`, "/T/A/service/pool/use: contains path to non-existent object nope"},
		{"wrong class", `"pool":"web_pool"`, `"pool":"service"`, "/T/A/service/pool: AS3 pointer service does not point to required object type"},
		{"other application", `"pool":"web_pool"`, `"pool":"/T/B/web_pool"`, "/T/A/service/pool: contains path to non-existent object B"},
		{"other tenant", `"pool":"web_pool"`, `"pool":"/U/A/web_pool"`, "/T/A/service/pool: contains path to non-existent object U"},
		{"monitor use", `"monitors":["http"]`, `"monitors":[{"use":"mon"}]`, "/T/A/web_pool/monitors/0/use: contains path to non-existent object mon"},
	}
	for _, tc := range tests {
		status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", strings.Replace(simpleApp, tc.from, tc.to, 1))
		if errs := asStrings(body["errors"]); status != http.StatusUnprocessableEntity || len(errs) != 1 || errs[0] != tc.want {
			t.Errorf("%s: %d %v, want 422 %q", tc.name, status, body, tc.want)
		}
	}
	// Cross-tenant pointers are refused even when the target exists.
	two := strings.Replace(simpleApp, `"T":`, `"U":{"class":"Tenant","A":{"class":"Application","other_pool":{"class":"Pool"}}},"T":`, 1)
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", strings.Replace(two, `"pool":"web_pool"`, `"pool":"/U/A/other_pool"`, 1))
	if errs := asStrings(body["errors"]); status != http.StatusUnprocessableEntity || len(errs) != 1 ||
		errs[0] != "/T/A/service/pool: must contain path pointing into same Application (or /same-Tenant/Shared or /Common/Shared)" {
		t.Errorf("cross-tenant: %d %v", status, body)
	}
	// /Common/Shared is shared: a pointer there resolves, also when Common
	// was declared before (declarationHandler.js merges the stored Common).
	common := `{"class":"ADC","schemaVersion":"3.50.0","Common":{"class":"Tenant","Shared":{"class":"Application","template":"shared","shared_pool":{"class":"Pool"}}}}`
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", common); status != http.StatusOK {
		t.Fatalf("Common: %d %v", status, body)
	}
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", strings.Replace(simpleApp, `"pool":"web_pool"`, `"pool":{"use":"/Common/Shared/shared_pool"}`, 1)); status != http.StatusOK {
		t.Fatalf("pointer into /Common/Shared: %d %v", status, body)
	}
}

// {"bigip": path} references are looked up on the device for the kinds the
// fake models (src/lib/tag/bigComponentTag.js: 422 "Unable to find <path>
// for <where>", no errors array); other kinds are accepted unchecked, a
// documented relaxation.
func TestBigIPReferences(t *testing.T) {
	_, base := startPlain(t, Options{})
	ref := strings.Replace(simpleApp, `"pool":"web_pool"`, `"pool":{"bigip":"/Common/legacy"}`, 1)
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", ref)
	if status != http.StatusUnprocessableEntity || body["message"] != "Unable to find /Common/legacy for /T/A/service/pool" || body["errors"] != nil ||
		!slices.Equal(asStrings(body["tenant"]), []string{"T"}) {
		t.Fatalf("missing BIG-IP pool: %d %v", status, body)
	}
	if status, body := call(t, http.MethodPost, base+"/mgmt/tm/ltm/pool", `{"name":"legacy","partition":"Common"}`); status != http.StatusOK {
		t.Fatalf("create pool: %d %v", status, body)
	}
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", ref); status != http.StatusOK {
		t.Fatalf("existing BIG-IP pool: %d %v", status, body)
	}
	// Built-in objects exist: /Common/default.crt and default.key (AS3's own
	// src/lib/map_as3.js refers to them).
	tls := `{"class":"ADC","schemaVersion":"3.50.0","C":{"class":"Tenant","A":{"class":"Application",
	  "cert":{"class":"Certificate","certificate":{"bigip":"/Common/default.crt"},"privateKey":{"bigip":"/Common/default.key"}}}}}`
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", tls); status != http.StatusOK {
		t.Fatalf("built-in certificate: %d %v", status, body)
	}
	// Relaxation: a kind the fake does not model (a TCP profile) is not
	// looked up; a device would answer "Unable to find".
	relaxed := strings.Replace(simpleApp, `"pool":"web_pool"`, `"pool":"web_pool","profileTCP":{"bigip":"/Common/no-such-profile"}`, 1)
	if status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", relaxed); status != http.StatusOK {
		t.Fatalf("relaxed kind: %d %v", status, body)
	}
}

// "no change" is decided against the device's live objects: a change made
// by hand is re-applied by the next, identical declaration
// (src/lib/audit.js: current config from fetch.getTenantConfig), unless
// ?unchecked=true, which compares with the previous declaration
// (audit.js fetchCurrentConfigFromPrev).
func TestHandChangesAreReapplied(t *testing.T) {
	s, base := startPlain(t, Options{})
	message := func(query string) string {
		t.Helper()
		status, body := call(t, http.MethodPost, base+as3Prefix+"/declare"+query, simpleApp)
		if status != http.StatusOK {
			t.Fatalf("declare: %d %v", status, body)
		}
		return body["results"].([]any)[0].(map[string]any)["message"].(string)
	}
	if m := message(""); m != "success" {
		t.Fatalf("first: %s", m)
	}
	pool := base + "/mgmt/tm/ltm/pool/~T~A~web_pool"
	status, live := call(t, http.MethodGet, pool, "")
	if status != http.StatusOK || live["monitor"] != "/Common/http" || live["loadBalancingMode"] != "round-robin" {
		t.Fatalf("live pool: %d %v", status, live)
	}
	if m := message(""); m != "no change" {
		t.Fatalf("identical: %s", m)
	}
	// By hand: another load-balancing mode, a member disabled.
	if status, _ := call(t, http.MethodPatch, pool, `{"loadBalancingMode":"least-connections-member"}`); status != http.StatusOK {
		t.Fatal("patch pool")
	}
	if status, _ := call(t, http.MethodPatch, pool+"/members/~T~192.0.2.11:80", `{"session":"user-disabled"}`); status != http.StatusOK {
		t.Fatal("disable member")
	}
	if m := message("?unchecked=true"); m != "no change" {
		t.Fatalf("unchecked: %s, want no change (compared with the previous declaration)", m)
	}
	applied := len(s.Applied())
	if m := message(""); m != "success" {
		t.Fatalf("after a hand change: %s, want success", m)
	}
	if len(s.Applied()) != applied+1 {
		t.Fatal("hand change not re-applied")
	}
	_, live = call(t, http.MethodGet, pool, "")
	_, member := call(t, http.MethodGet, pool+"/members/~T~192.0.2.11:80", "")
	if live["loadBalancingMode"] != "round-robin" || member["session"] != "user-enabled" {
		t.Fatalf("not restored: pool %v, member %v", live, member)
	}
	// An object created by hand in the tenant's partition goes too.
	if status, body := call(t, http.MethodPost, base+"/mgmt/tm/ltm/pool", `{"name":"extra","partition":"T"}`); status != http.StatusOK {
		t.Fatalf("create: %d %v", status, body)
	}
	if m := message(""); m != "success" {
		t.Fatalf("after an object was added by hand: %s", m)
	}
	if status, _ := call(t, http.MethodGet, base+"/mgmt/tm/ltm/pool/~T~extra", ""); status != http.StatusNotFound {
		t.Fatal("hand-made object left in the tenant's partition")
	}
	// Deleting the tenant removes its live objects.
	if status, _ := call(t, http.MethodDelete, base+as3Prefix+"/declare/T", ""); status != http.StatusOK {
		t.Fatal("delete")
	}
	if status, _ := call(t, http.MethodGet, pool, ""); status != http.StatusNotFound {
		t.Fatal("pool left after the tenant was deleted")
	}
}

// JSON Patch "test" and a non-selective updateMode are refused with 422
// (src/lib/declarationHandler.js handlePatch), inside the task when async.
func TestPatchRefusals(t *testing.T) {
	s, base := startPlain(t, Options{})
	if status, _ := call(t, http.MethodPost, base+as3Prefix+"/declare", simpleApp); status != http.StatusOK {
		t.Fatal("seed")
	}
	testOp := `[{"op":"test","path":"/T/A/web_pool/members/0/servicePort","value":80}]`
	status, body := call(t, http.MethodPatch, base+as3Prefix+"/declare", testOp)
	if status != http.StatusUnprocessableEntity || body["message"] != "invalid patch - op 'test' is not supported" {
		t.Fatalf("sync: %d %v", status, body)
	}
	status, body = call(t, http.MethodPatch, base+as3Prefix+"/declare?async=true", testOp)
	if status != http.StatusAccepted {
		t.Fatalf("async: %d %v", status, body)
	}
	if r := awaitTask(t, base, body["id"].(string)); r["code"] != 422.0 || r["message"] != "invalid patch - op 'test' is not supported" {
		t.Fatalf("async task: %v", r)
	}
	status, body = call(t, http.MethodPatch, base+as3Prefix+"/declare", `[{"op":"replace","path":"/updateMode","value":"complete"}]`)
	if status != http.StatusUnprocessableEntity || body["message"] != "invalid patch - updateMode value can only be 'selective'" {
		t.Fatalf("updateMode: %d %v", status, body)
	}
	status, body = call(t, http.MethodPatch, base+as3Prefix+"/declare", `[{"op":"add","path":"/Nope/A/x","value":1}]`)
	if status != http.StatusNotFound || body["message"] != "specified Tenant(s) 'Nope' not found in declaration" {
		t.Fatalf("patch of a missing tenant: %d %v", status, body)
	}
	if len(s.Applied()) != 1 {
		t.Fatal("a refused patch changed the device")
	}
}

// With several tenants, a 422 names the tenants its errors' paths start
// with (src/lib/util/extractUtil.js getAffectedTenant).
func TestAffectedTenantsOfAMultiTenantError(t *testing.T) {
	_, base := startPlain(t, Options{})
	two := strings.Replace(simpleApp, `"T":`, `"Z":{"class":"Tenant","A":{"class":"Application","p":{"class":"Pool"}}},"T":`, 1)
	status, body := call(t, http.MethodPost, base+as3Prefix+"/declare", strings.Replace(two, `"pool":"web_pool"`, `"pool":"nope"`, 1))
	if status != http.StatusUnprocessableEntity || !slices.Equal(asStrings(body["tenant"]), []string{"T"}) {
		t.Fatalf("%d %v, want tenant [T]", status, body)
	}
}
