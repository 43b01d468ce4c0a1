package f5test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// How AS3 takes a write in (github.com/F5Networks/f5-appsvcs-extension at
// the commit in schema/SOURCE.md):
//
//  1. Before any answer, the request is parsed and its envelope checked:
//     the body is wrapped in an AS3 request ({"class": "AS3", "action":
//     "deploy", "declaration": ...}) and validated against
//     src/schema/latest/as3-request-schema.json, in which an ADC is only
//     {"class": "ADC"} (src/lib/context/requestContext.js,
//     src/lib/as3request.js validateAndWrap). A failure answers 422
//     {"code": 422, "message": "Invalid request: <path>: <reason>"}.
//  2. A task record is created for every write; with ?async=true AS3
//     answers 202 with it at once, otherwise it answers when done, or with
//     202 after 45 s (src/lib/declareHandler.js processAsync, processSync).
//  3. With burst handling on, the request waits in a queue of 10; a full
//     queue answers 503 "Error: Too many configuration operations ..." and
//     cancels the record, so an async task then says "task cancelled" for
//     ever (src/lib/queue.js, declareHandler.js reportError).
//  4. Processing (src/lib/declarationHandler.js): tenant filtering and
//     JSON Patch preparation, then the device lock (src/lib/mutex.js; held
//     by another operation: 503 "Error: Configuration operation in
//     progress on device <host>, please try again in 2 minutes"), then full
//     validation: the AS3 schema and the pointer and BIG-IP component
//     checks (src/lib/adcParser.js; 422 "declaration is invalid" with
//     "errors"), then each tenant is compared with the device and deployed
//     (src/lib/audit.js).
//  5. Errors of step 4 come back as one body {code, message, errors, host,
//     tenant, declarationId} where "tenant" is an array (see failBody); in
//     a task, that body is the record's only result
//     (src/lib/asyncHandler.js getResults).

// job is one AS3 write, parsed.
type job struct {
	action    string         // deploy, remove, patch, redeploy, perApp, perAppRemove
	decl      map[string]any // the ADC declaration to process
	only      []string       // tenants named in the URL (after AS3's filtering)
	ops       []any          // patch: the JSON Patch operations
	tenant    string         // per-app: the tenant
	app       string         // per-app DELETE: the application
	age       int            // redeploy: the history entry
	dryRun    bool
	show      string
	unchecked bool
	queryErr  string   // a query parameter AS3 refuses while processing
	touched   []string // tenants the request touches, for Overlaps
	// declID is the declaration id AS3 keeps on the task record: only an
	// AS3 request's declaration.id (src/lib/asyncHandler.js handleRecord).
	// submitID is the one the 202 shows: the posted declaration's own id
	// (asyncHandler.js buildResponseBody).
	declID, submitID string
}

// handleDeclare is POST /declare[/tenants]: an ADC, an AS3 request, or an
// array of either (answered with "items").
func (s *Server) handleDeclare(w http.ResponseWriter, r *http.Request) {
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	if !s.checkEnvelope(w, wrapRequest(v)) || !checkAsyncParam(w, r) {
		return
	}
	if arr, isArray := v.([]any); isArray {
		s.handleContainer(w, r, arr)
		return
	}
	j, status, body := s.parseJob(v, splitTenants(r.PathValue("tenants")), r.URL.Query())
	if body != nil {
		writeJSON(w, status, body)
		return
	}
	s.run(w, r, j)
}

// wrapRequest wraps an ADC declaration (or one without a class) in an AS3
// request, as AS3 does for /declare before validating the envelope
// (src/lib/as3request.js wrapWithAS3Class).
func wrapRequest(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wrapRequest(e)
		}
		return out
	case map[string]any:
		if c, has := x["class"]; (!has || c == "ADC") && x["declaration"] == nil {
			return map[string]any{"class": "AS3", "action": "deploy", "declaration": x}
		}
	}
	return v
}

// checkEnvelope validates a request envelope and answers 422 when it is
// not an AS3 request.
func (s *Server) checkEnvelope(w http.ResponseWriter, v any) bool {
	if m, ok := v.(map[string]any); ok && m["class"] == "AS3" && m["action"] == "deploy" && len(m) == 3 && field(m["declaration"], "class") == "ADC" {
		// An ADC declaration as wrapped by wrapRequest: it matches the
		// schema's "AS3" alternative (class, action, and a declaration
		// whose only requirement is its class) and no other, so it is
		// valid without running the validator.
		return true
	}
	errs, err := validate(docRequest, v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": 500, "message": err.Error()})
		return false
	}
	if errs != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"code": 422, "message": "Invalid request: " + errs[0]})
		return false
	}
	return true
}

// checkAsyncParam answers 400 for an async value other than true or false
// (src/lib/declareHandler.js parseAsyncParam).
func checkAsyncParam(w http.ResponseWriter, r *http.Request) bool {
	if v, ok := r.URL.Query()["async"]; ok {
		if a := strings.ToLower(v[0]); a != "" && a != "true" && a != "false" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": `async must be "true" or "false"`})
			return false
		}
	}
	return true
}

// splitTenants parses the tenant list of /declare/{tenants}
// (src/lib/declareHandler.js parsePerTenantPath).
func splitTenants(p string) []string {
	var out []string
	for t := range strings.SplitSeq(p, ",") {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// queryParams are the query parameters AS3 knows; anything else is refused
// (src/lib/declareHandler.js parseQueryStrings).
var queryParams = []string{"show", "age", "filterClass", "showHash", "async", "unsafe", "unchecked",
	"controls.logLevel", "controls.trace", "controls.traceResponse", "controls.dryRun", "controls.userAgent"}

func queryError(q url.Values) string {
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(queryParams, k) {
			return fmt.Sprintf("unrecognized URL query parameter %q", k)
		}
	}
	if show := strings.ToLower(q.Get("show")); show != "" && show != "base" && show != "full" && show != "expanded" {
		return `show must be "base", "full", or "expanded"`
	}
	return ""
}

// parseJob turns one ADC or AS3 request body into a job. A non-nil body is
// the answer to give instead (AS3 "retrieve", or a refused request).
func (s *Server) parseJob(v any, only []string, q url.Values) (*job, int, map[string]any) {
	obj, _ := v.(map[string]any)
	j := &job{action: "deploy", only: only, dryRun: q.Get("controls.dryRun") == "true", show: strings.ToLower(q.Get("show")),
		unchecked: q.Get("unchecked") == "true", queryErr: queryError(q)}
	decl := obj
	if obj["class"] == "AS3" {
		decl, _ = obj["declaration"].(map[string]any)
		if id, ok := decl["id"].(string); ok {
			j.declID = id
		}
		action, _ := obj["action"].(string)
		switch action {
		case "", "deploy":
		case "dry-run":
			j.dryRun = true
		case "retrieve":
			return nil, http.StatusOK, s.snapshot(only, j.show)
		case "remove", "redeploy", "patch":
			if decl != nil {
				return nil, http.StatusBadRequest, map[string]any{"code": 400, "message": fmt.Sprintf("for action %q, a declaration is not allowed.", action)}
			}
			j.action = action
		}
		switch j.action {
		case "redeploy":
			if len(only) > 0 {
				return nil, http.StatusBadRequest, map[string]any{"code": 400, "message": `action "redeploy" is not allowed for URI /shared/appsvcs/declare/` + strings.Join(only, ",")}
			}
			if n, ok := obj["redeployAge"].(json.Number); ok {
				age, _ := n.Int64()
				j.age = int(age)
			}
		case "patch":
			j.ops, _ = obj["patchBody"].([]any)
			j.touched = patchTenants(j.ops)
		case "remove":
			j.decl = removeStub(only)
			j.touched = only
			if len(only) == 0 {
				j.touched = s.storedTenants()
			}
		}
		if j.action != "deploy" {
			return j, 0, nil
		}
		if decl == nil {
			return nil, http.StatusBadRequest, map[string]any{"code": 400, "message": `for action "deploy", a declaration is required.`}
		}
	}
	// decl belongs to this request (decoded for it): it is changed in place.
	j.submitID, _ = decl["id"].(string)
	// src/lib/declareHandler.js assignBodyDefaults
	if id, _ := decl["id"].(string); id == "" || id == "generate" {
		decl["id"] = "autogen_" + newID()
	}
	if len(only) > 0 {
		// POST /declare/T1,T2 keeps the named tenants the body declares and
		// drops the rest of the body's tenants; a named tenant the body
		// lacks is skipped without a word (parsePerTenantPath; unit test
		// "should allow POST when tenants in decl dont exactly match
		// tenants in URI" in test/unit/lib/declareHandler.js).
		var kept []string
		for _, t := range only {
			if decl[t] != nil {
				kept = append(kept, t)
			}
		}
		for k, val := range decl {
			if m, ok := val.(map[string]any); ok && m["class"] == "Tenant" && !slices.Contains(kept, k) {
				delete(decl, k)
			}
		}
		j.only = kept
	}
	j.decl = decl
	j.touched = tenantNames(decl)
	return j, 0, nil
}

// removeStub is the declaration AS3 builds for a removal
// (assignBodyDefaults): the named tenants emptied, or, with none named,
// updateMode "complete" so that every tenant goes.
func removeStub(only []string) map[string]any {
	decl := map[string]any{"class": "ADC", "schemaVersion": "3.0.0", "id": strconv.FormatInt(time.Now().UnixMilli(), 10), "updateMode": "complete"}
	if len(only) > 0 {
		decl["updateMode"] = "selective"
	}
	for _, t := range only {
		decl[t] = map[string]any{"class": "Tenant"}
	}
	return decl
}

// patchTenants lists the tenants JSON Patch paths start with
// (src/lib/declareHandler.js parsePatchBodies).
func patchTenants(ops []any) []string {
	var out []string
	for _, o := range ops {
		path, _ := field(o, "path").(string)
		seg := unescape(strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0])
		if seg != "" && !slices.Contains(out, seg) {
			out = append(out, seg)
		}
	}
	return out
}

// run processes a job as AS3 does: every write gets a task record; with
// ?async=true the answer is 202 at once, otherwise the outcome, or 202
// when processing outlasts AsyncSwitchAfter (AS3: 45 s).
func (s *Server) run(w http.ResponseWriter, r *http.Request, j *job) {
	s.enter(j.touched)
	t := s.newTask()
	t.declID = j.declID
	if r.URL.Query().Get("async") == "true" {
		s.mu.Lock()
		cancel := s.as3.cancelNext > 0
		if cancel {
			s.as3.cancelNext--
		}
		s.mu.Unlock()
		if cancel {
			s.cancelTask(t, j.touched)
		} else {
			s.startTask(t, j, nil)
		}
		s.writeTask(w, http.StatusAccepted, t, j.submitID)
		return
	}
	s.mu.Lock()
	burst := s.as3.settings["burstHandlingEnabled"] == true
	s.mu.Unlock()
	if !burst && s.opts.TaskDuration < s.opts.AsyncSwitchAfter {
		// Nothing can hold this request past AsyncSwitchAfter (the lock is
		// taken or refused at once): process it here.
		code, body, cancelled := s.process(s.ctx, j)
		if cancelled {
			s.cancelTask(t, j.touched)
		} else {
			s.finishTask(t, j.touched, body)
		}
		writeJSON(w, code, body)
		return
	}
	done := make(chan taskOutcome, 1)
	s.startTask(t, j, done)
	timer := time.NewTimer(s.opts.AsyncSwitchAfter)
	defer timer.Stop()
	select {
	case o := <-done:
		writeJSON(w, o.code, o.body)
	case <-timer.C:
		s.writeTask(w, http.StatusAccepted, t, j.submitID)
	case <-r.Context().Done():
	}
}

type taskOutcome struct {
	code int
	body map[string]any
}

// startTask processes j in the background, as AS3 goes on with a task
// whatever happens to the request that started it; done, when not nil,
// receives the outcome.
func (s *Server) startTask(t *task, j *job, done chan<- taskOutcome) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		code, body, cancelled := s.process(s.ctx, j)
		if cancelled {
			s.cancelTask(t, j.touched)
		} else {
			s.finishTask(t, j.touched, body)
		}
		if done != nil {
			done <- taskOutcome{code, body}
		}
	}()
}

func (s *Server) writeTask(w http.ResponseWriter, status int, t *task, declID string) {
	s.mu.Lock()
	submitted := map[string]any{"message": "Declaration successfully submitted", "tenant": "", "host": "", "runTime": 0, "code": 0}
	if declID != "" {
		submitted["declarationId"] = declID
	}
	b, err := json.Marshal(map[string]any{"id": t.ID, "results": []any{submitted}, "declaration": map[string]any{}, "selfLink": t.SelfLink})
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Messages of the device lock and of a full burst queue (src/lib/mutex.js
// error.toString(); src/lib/queue.js with declareHandler.js reportError).
const (
	lockedMessage    = "Error: Configuration operation in progress on device %s, please try again in 2 minutes"
	burstFullMessage = "Error: Too many configuration operations are in progress on the device. Please try again later"
)

// process runs one write: checks that need no lock, then the lock, the
// processing time, validation and deployment. cancelled says the burst
// queue was full: the record is cancelled.
func (s *Server) process(ctx context.Context, j *job) (code int, body map[string]any, cancelled bool) {
	if code, body := s.prepare(j); body != nil {
		return code, body, false
	}
	full, ok := s.acquire(ctx)
	if !ok {
		if full {
			return http.StatusServiceUnavailable, map[string]any{"code": 503, "message": burstFullMessage}, true
		}
		return http.StatusServiceUnavailable, s.failBody(j.decl, http.StatusServiceUnavailable, fmt.Sprintf(lockedMessage, s.opts.Host), nil), false
	}
	defer s.unlock()
	if s.opts.TaskDuration > 0 {
		timer := time.NewTimer(s.opts.TaskDuration)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return http.StatusServiceUnavailable, s.failBody(j.decl, http.StatusServiceUnavailable, "processing interrupted: the device is shutting down", nil), false
		}
	}
	code, body = s.processLocked(j)
	return code, body, false
}

// prepare does what AS3 does before it takes the lock: query parameters,
// JSON Patch, redeploy and per-app preparation, tenant filtering. It sets
// j.decl, or returns the answer to give.
func (s *Server) prepare(j *job) (int, map[string]any) {
	if j.queryErr != "" {
		return http.StatusBadRequest, map[string]any{"code": 400, "message": j.queryErr}
	}
	switch j.action {
	case "patch":
		return s.preparePatch(j)
	case "redeploy":
		s.mu.Lock()
		var old map[string]any
		if j.age < len(s.as3.history) {
			old = deepCopy(s.as3.history[j.age]).(map[string]any)
		}
		s.mu.Unlock()
		if old == nil {
			return http.StatusNotFound, map[string]any{"code": 404, "message": fmt.Sprintf("cannot retrieve declaration of age %d from %s", j.age, s.opts.Host)}
		}
		if c, ok := old["controls"].(map[string]any); ok {
			delete(c, "archiveTimestamp")
		}
		j.decl = old
		j.touched = tenantNames(old)
	case "perApp":
		// The per-app document is validated on its own first
		// (src/lib/declareHandler.js processDeclInArray): its errors come
		// without host or tenant.
		if errs, err := validate(docPerApp, j.decl); err != nil || errs != nil {
			return http.StatusUnprocessableEntity, invalidBody(errs, err)
		}
		j.decl = s.mergePerApp(j.tenant, j.decl, "")
	case "perAppRemove":
		j.decl = s.mergePerApp(j.tenant, nil, j.app)
	}
	for _, t := range j.only {
		if v, ok := j.decl[t].(map[string]any); j.decl[t] != nil && (!ok || v["class"] != "Tenant") {
			return http.StatusConflict, map[string]any{"code": 409, "message": fmt.Sprintf("specified Tenant name '%s' matches non-Tenant property", t)}
		}
	}
	return 0, nil
}

// mergePerApp builds the per-tenant declaration of a per-app request: the
// stored tenant with the posted applications, or without app
// (src/lib/util/perAppUtil.js mergePreviousTenant, deleteAppsFromTenant).
func (s *Server) mergePerApp(tenant string, apps map[string]any, remove string) map[string]any {
	t := s.Tenant(tenant)
	if t == nil {
		t = map[string]any{"class": "Tenant"}
	}
	decl := map[string]any{"class": "ADC", "schemaVersion": "3.56.0", "id": "autogen_" + newID()}
	for k, val := range apps {
		switch k {
		case "id", "schemaVersion", "controls":
			decl[k] = val
		default:
			t[k] = val
		}
	}
	delete(t, remove)
	decl[tenant] = t
	return decl
}

// preparePatch applies JSON Patch operations to the stored declaration as
// AS3 does (src/lib/declarationHandler.js handlePatch): "test" is refused,
// updateMode may only be patched to "selective", a patched tenant must
// exist unless the operation adds it.
func (s *Server) preparePatch(j *job) (int, map[string]any) {
	for _, o := range j.ops {
		if field(o, "op") == "test" {
			return http.StatusUnprocessableEntity, map[string]any{"code": 422, "message": "invalid patch - op 'test' is not supported"}
		}
		if field(o, "path") == "/updateMode" && field(o, "value") != "selective" {
			return http.StatusUnprocessableEntity, map[string]any{"code": 422, "message": "invalid patch - updateMode value can only be 'selective'"}
		}
	}
	tenants := patchTenants(j.ops)
	decl := s.snapshot(nil, "")
	// archiveTimestamp is AS3's own bookkeeping, not part of the schema.
	if c, ok := decl["controls"].(map[string]any); ok {
		delete(c, "archiveTimestamp")
		if len(c) == 0 {
			delete(decl, "controls")
		}
	}
	var missing []string
	for _, t := range tenants {
		addsIt := slices.ContainsFunc(j.ops, func(o any) bool { return field(o, "op") == "add" && field(o, "path") == "/"+t })
		if _, ok := decl[t]; !ok && !addsIt {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 && len(s.storedTenants()) > 0 {
		return http.StatusNotFound, map[string]any{"code": 404, "message": fmt.Sprintf("specified Tenant(s) '%s' not found in declaration", strings.Join(missing, ","))}
	}
	for k, v := range decl {
		if m, ok := v.(map[string]any); ok && m["class"] == "Tenant" && !slices.Contains(tenants, k) && k != "Common" {
			delete(decl, k)
		}
	}
	for _, o := range j.ops {
		op, _ := o.(map[string]any)
		if err := applyPatch(decl, op); err != nil {
			return http.StatusUnprocessableEntity, map[string]any{"code": 422, "message": "InvalidPatchOperationError: " + err.Error()}
		}
	}
	if id, _ := decl["id"].(string); id == "" {
		decl["id"] = "autogen_" + newID()
	}
	j.decl, j.only, j.touched = decl, tenants, tenants
	return 0, nil
}

func (s *Server) storedTenants() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.as3.tenants))
}

// processLocked validates and deploys j; the device lock is held.
func (s *Server) processLocked(j *job) (int, map[string]any) {
	var filled map[string]any
	if j.action != "remove" {
		errs, checks, doc, err := validateCollect(docADC, j.decl)
		if err != nil {
			return http.StatusInternalServerError, map[string]any{"code": 500, "message": err.Error()}
		}
		if errs != nil {
			return http.StatusUnprocessableEntity, s.failBody(j.decl, http.StatusUnprocessableEntity, "declaration is invalid", errs)
		}
		filled, _ = doc.(map[string]any)
		// Pointers into /Common resolve against the stored Common tenant
		// when the declaration has none (declarationHandler.js: "Make sure
		// we have Common tenant for use-pointers").
		root := filled
		if _, has := filled["Common"]; !has {
			s.mu.Lock()
			common := s.as3.filled["Common"]
			s.mu.Unlock()
			if common != nil {
				root = maps.Clone(filled)
				root["Common"] = common
			}
		}
		if f := s.runPostChecks(root, checks); f != nil {
			return http.StatusUnprocessableEntity, s.failBody(j.decl, http.StatusUnprocessableEntity, f.Message, f.Errors)
		}
	}
	return s.execute(j, filled)
}

// failBody is the answer for a declaration that fails as a whole
// (src/lib/declarationHandler.js, the catch of handleCreateUpdateOrDelete):
// {code, message, errors, host, tenant, declarationId}. "tenant" is the
// array of the declaration's tenants when there is one; with several, a
// 422 with errors names those the errors' paths start with
// (src/lib/util/extractUtil.js getAffectedTenant), anything else has no
// "tenant" at all.
func (s *Server) failBody(decl map[string]any, code int, message string, errs []string) map[string]any {
	body := map[string]any{"code": code, "message": message, "host": s.opts.Host}
	if errs != nil {
		body["errors"] = errs
	}
	tenants := tenantList(decl)
	switch {
	case len(tenants) == 1:
		body["tenant"] = tenants
	case len(tenants) > 1 && code == http.StatusUnprocessableEntity && len(errs) > 0:
		body["tenant"] = affectedTenants(errs, tenants)
	}
	if id, _ := decl["id"].(string); id != "" {
		body["declarationId"] = id
	}
	return body
}

// tenantList is AS3's list of a declaration's tenants: Common first and
// last when present (src/lib/fetch.js tenantList).
func tenantList(decl map[string]any) []string {
	var list []string
	common := false
	for _, t := range tenantNames(decl) {
		if t == "Common" {
			common = true
			continue
		}
		list = append(list, t)
	}
	if common {
		list = append(append([]string{"Common"}, list...), "Common")
	}
	return list
}

// affectedTenants takes, from each error, the first path's tenant.
func affectedTenants(errs, tenants []string) []string {
	var out []string
	for _, e := range errs {
		for word := range strings.FieldsSeq(e) {
			if parts := strings.Split(word, "/"); len(parts) > 1 {
				out = append(out, parts[1])
				break
			}
		}
	}
	if len(out) == 0 {
		return tenants
	}
	return out
}

func invalidBody(errs []string, err error) map[string]any {
	if err != nil {
		return map[string]any{"code": 500, "message": err.Error()}
	}
	return map[string]any{"code": 422, "errors": errs, "message": "declaration is invalid"}
}

// handleContainer answers an array of declarations with one item each,
// processed one after the other, synchronously
// (src/lib/util/restUtil.js buildOpResultMulti: one code for all items is
// the HTTP status, a mix is 207).
func (s *Server) handleContainer(w http.ResponseWriter, r *http.Request, arr []any) {
	full, ok := s.acquire(r.Context())
	if !ok {
		msg := fmt.Sprintf(lockedMessage, s.opts.Host)
		if full {
			msg = burstFullMessage
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"code": 503, "message": msg})
		return
	}
	defer s.unlock()
	items := make([]any, 0, len(arr))
	var codes []int
	for _, v := range arr {
		j, code, body := s.parseJob(v, nil, r.URL.Query())
		if body == nil {
			if code, body = s.prepare(j); body == nil {
				code, body = s.processLocked(j)
			}
		}
		if body["code"] == nil {
			body["code"] = code
		}
		codes = append(codes, code)
		items = append(items, body)
	}
	status := http.StatusOK
	if codes = slices.Compact(slices.Sorted(slices.Values(codes))); len(codes) == 1 {
		status = codes[0]
	} else if len(codes) > 1 {
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"code": status, "items": items})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	if !checkAsyncParam(w, r) {
		return
	}
	only := splitTenants(r.PathValue("tenants"))
	j := &job{action: "remove", decl: removeStub(only), only: only, show: strings.ToLower(r.URL.Query().Get("show")), queryErr: queryError(r.URL.Query())}
	j.touched = only
	if len(only) == 0 {
		j.touched = s.storedTenants()
	}
	s.run(w, r, j)
}

// handlePatch is PATCH /declare: AS3 turns it into an AS3 request with
// action "patch" (src/lib/context/requestContext.js tryConvertToPost).
func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	if !s.checkEnvelope(w, map[string]any{"class": "AS3", "action": "patch", "patchBody": v}) || !checkAsyncParam(w, r) {
		return
	}
	ops, _ := v.([]any)
	j := &job{action: "patch", ops: ops, show: strings.ToLower(r.URL.Query().Get("show")), queryErr: queryError(r.URL.Query())}
	j.touched = patchTenants(ops)
	s.run(w, r, j)
}

// handlePerAppPost is POST /declare/{tenant}/applications: a per-app
// declaration (applications at the top level) merged into the tenant.
func (s *Server) handlePerAppPost(w http.ResponseWriter, r *http.Request) {
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	allowed := s.as3.settings["perAppDeploymentAllowed"] != false
	s.mu.Unlock()
	if !allowed {
		// src/lib/declareHandler.js process: a bad request, answered at once.
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "Error: Per-application deployment has been disabled on the settings endpoint"})
		return
	}
	body, isObj := v.(map[string]any)
	if !isObj {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"code": 422, "message": "declaration should be an object"})
		return
	}
	if !checkAsyncParam(w, r) {
		return
	}
	tenant := r.PathValue("tenant")
	j := &job{action: "perApp", tenant: tenant, decl: body, only: []string{tenant}, touched: []string{tenant},
		show: strings.ToLower(r.URL.Query().Get("show")), queryErr: queryError(r.URL.Query())}
	s.run(w, r, j)
}

func (s *Server) handlePerAppGet(w http.ResponseWriter, r *http.Request) {
	t := s.Tenant(r.PathValue("tenant"))
	if t == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "specified tenant '" + r.PathValue("tenant") + "' not found in declaration"})
		return
	}
	out := map[string]any{}
	for k, v := range t {
		if m, ok := v.(map[string]any); ok && m["class"] == "Application" {
			if app := r.PathValue("app"); app == "" || app == k {
				out[k] = v
			}
		}
	}
	if len(out) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "specified application not found in tenant"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePerAppDelete(w http.ResponseWriter, r *http.Request) {
	tenant, app := r.PathValue("tenant"), r.PathValue("app")
	t := s.Tenant(tenant)
	if t == nil || t[app] == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "specified application not found in tenant"})
		return
	}
	j := &job{action: "perAppRemove", tenant: tenant, app: app, only: []string{tenant}, touched: []string{tenant}}
	s.run(w, r, j)
}

// handleRead is GET /declare[/tenants]: 204 when no declaration is stored,
// 404 naming every requested tenant that is missing
// (src/lib/declarationHandler.js getFilteredDeclaration and
// filterTenantsInDeclaration; test/integration/bigip/misc/tenantTests.js
// "should error when running a GET against non-existing tenant").
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	only := splitTenants(r.PathValue("tenants"))
	s.mu.Lock()
	n := len(s.as3.tenants)
	var missing []string
	for _, t := range only {
		if _, ok := s.as3.tenants[t]; !ok {
			missing = append(missing, t)
		}
	}
	s.mu.Unlock()
	switch {
	case n == 0:
		w.WriteHeader(http.StatusNoContent)
	case len(missing) > 0:
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "specified Tenant(s) '" + strings.Join(missing, ",") + "' not found in declaration"})
	default:
		writeJSON(w, http.StatusOK, s.snapshot(only, strings.ToLower(r.URL.Query().Get("show"))))
	}
}

// enter counts a request for tenants that another request is still
// processing (Overlaps).
func (s *Server) enter(tenants []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tenants {
		if s.as3.inflight[t] > 0 {
			s.as3.overlaps++
		}
		s.as3.inflight[t]++
	}
}
