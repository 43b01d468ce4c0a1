package f5test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const as3Prefix = "/mgmt/shared/appsvcs"

// as3State is everything AS3 keeps: the current declaration split into
// tenants, ADC-level metadata, the declaration history, tasks, settings and
// what the test hooks observe.
type as3State struct {
	meta     map[string]any            // class, schemaVersion, id, label, remark, updateMode, controls
	tenants  map[string]map[string]any // tenant name → Tenant object
	history  []map[string]any          // most recent first, at most 15
	tasks    map[string]*task
	order    []string // task ids, oldest first
	settings map[string]any
	failing  map[string]string // tenant → injected failure message
	applied  []Applied
	inflight map[string]int
	overlaps int
}

func (a *as3State) init() {
	a.meta = map[string]any{}
	a.tenants = map[string]map[string]any{}
	a.tasks = map[string]*task{}
	a.settings = map[string]any{"burstHandlingEnabled": false, "perAppDeploymentAllowed": true}
	a.failing = map[string]string{}
	a.inflight = map[string]int{}
}

// Applied records one tenant change the fake made, in order.
type Applied struct {
	Tenant        string
	DeclarationID string
	Deleted       bool
}

type task struct {
	ID          string         `json:"id"`
	Results     []result       `json:"results"`
	Declaration map[string]any `json:"declaration"`
	SelfLink    string         `json:"selfLink,omitempty"`
}

type result struct {
	Code          int      `json:"code"`
	Message       string   `json:"message"`
	Errors        []string `json:"errors,omitempty"`
	LineCount     int      `json:"lineCount,omitempty"`
	Host          string   `json:"host"`
	Tenant        string   `json:"tenant"`
	RunTime       int64    `json:"runTime"`
	DeclarationID string   `json:"declarationId,omitempty"`
	DryRun        bool     `json:"dryRun,omitempty"`
}

// FailTenant makes every later deployment of tenant fail with code 422 and
// message, as BIG-IP would reject a bad configuration; other tenants of the
// same declaration still succeed (HTTP 207). An empty message clears it.
func (s *Server) FailTenant(tenant, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if message == "" {
		delete(s.as3.failing, tenant)
		return
	}
	s.as3.failing[tenant] = message
}

// Applied returns the tenant changes made so far, in order.
func (s *Server) Applied() []Applied {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.as3.applied)
}

// Overlaps counts requests that arrived for a tenant while another request
// for the same tenant was still being processed (a client that serializes
// per tenant keeps this at 0).
func (s *Server) Overlaps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.as3.overlaps
}

// Tenant returns a copy of the stored tenant object, or nil.
func (s *Server) Tenant(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.as3.tenants[name]
	if !ok {
		return nil
	}
	return deepCopy(t).(map[string]any)
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /mgmt/shared/authn/login", s.handleLogin)
	m.HandleFunc("PATCH /mgmt/shared/authz/tokens/{token}", s.handleTokenPatch)
	m.HandleFunc("DELETE /mgmt/shared/authz/tokens/{token}", s.handleTokenDelete)

	m.HandleFunc("GET "+as3Prefix+"/info", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"version": "3.56.0", "release": 10, "schemaCurrent": "3.56.0", "schemaMinimum": "3.0.0"})
	})
	m.HandleFunc("GET "+as3Prefix+"/settings", s.handleSettingsGet)
	m.HandleFunc("POST "+as3Prefix+"/settings", s.handleSettingsPost)
	m.HandleFunc("GET "+as3Prefix+"/task", s.handleTaskList)
	m.HandleFunc("GET "+as3Prefix+"/task/{id}", s.handleTask)
	m.HandleFunc("GET "+as3Prefix+"/declare", s.handleRead)
	m.HandleFunc("GET "+as3Prefix+"/declare/{tenants}", s.handleRead)
	m.HandleFunc("POST "+as3Prefix+"/declare", s.handleDeclare)
	m.HandleFunc("POST "+as3Prefix+"/declare/{tenants}", s.handleDeclare)
	m.HandleFunc("PATCH "+as3Prefix+"/declare", s.handlePatch)
	m.HandleFunc("DELETE "+as3Prefix+"/declare", s.handleDelete)
	m.HandleFunc("DELETE "+as3Prefix+"/declare/{tenants}", s.handleDelete)
	m.HandleFunc("POST "+as3Prefix+"/declare/{tenant}/applications", s.handlePerAppPost)
	m.HandleFunc("GET "+as3Prefix+"/declare/{tenant}/applications", s.handlePerAppGet)
	m.HandleFunc("GET "+as3Prefix+"/declare/{tenant}/applications/{app}", s.handlePerAppGet)
	m.HandleFunc("DELETE "+as3Prefix+"/declare/{tenant}/applications/{app}", s.handlePerAppDelete)
	s.ltmRoutes()
}

func (s *Server) handleTokenPatch(w http.ResponseWriter, r *http.Request) {
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	tok := r.PathValue("token")
	secs, err := strconv.Atoi(fmt.Sprint(field(v, "timeout")))
	if err != nil || secs <= 0 || secs > 36000 {
		writeError(w, http.StatusBadRequest, "timeout must be an integer between 1 and 36000")
		return
	}
	s.mu.Lock()
	_, exists := s.tokens[tok]
	if exists {
		s.tokens[tok] = time.Now().Add(time.Duration(secs) * time.Second)
	}
	s.mu.Unlock()
	if !exists {
		writeError(w, http.StatusNotFound, "Object not found - "+tok)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "timeout": secs})
}

func (s *Server) handleTokenDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delete(s.tokens, r.PathValue("token"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) handleSettingsGet(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.as3.settings)
}

func (s *Server) handleSettingsPost(w http.ResponseWriter, r *http.Request) {
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	if errs, err := validate(docSettings, v); err != nil || errs != nil {
		writeInvalid(w, errs, err)
		return
	}
	s.mu.Lock()
	maps.Copy(s.as3.settings, v.(map[string]any))
	out := maps.Clone(s.as3.settings)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func writeInvalid(w http.ResponseWriter, errs []string, err error) {
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": 500, "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"code": 422, "errors": errs, "message": "declaration is invalid"})
}

func (s *Server) handleTaskList(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := make([]any, 0, len(s.as3.order))
	for _, id := range s.as3.order {
		items = append(items, s.as3.tasks[id])
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	t, ok := s.as3.tasks[id]
	var b []byte
	if ok {
		b, _ = json.Marshal(t)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "No record found with ID of " + id})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// maxTaskRecords is how many task records AS3 keeps.
const maxTaskRecords = 25

// newTask records an in-progress task. Beyond maxTaskRecords the oldest
// finished records are dropped; running tasks are never dropped.
func (s *Server) newTask() *task {
	id := newID()
	t := &task{ID: id, Results: []result{{Code: 0, Message: "in progress", DeclarationID: ""}}, Declaration: map[string]any{},
		SelfLink: "https://" + s.opts.Host + as3Prefix + "/task/" + id}
	s.mu.Lock()
	s.as3.tasks[id] = t
	s.as3.order = append(s.as3.order, id)
	for i := 0; len(s.as3.order) > maxTaskRecords && i < len(s.as3.order); {
		old := s.as3.tasks[s.as3.order[i]]
		if old.Results[0].Code == 0 { // still running
			i++
			continue
		}
		delete(s.as3.tasks, old.ID)
		s.as3.order = slices.Delete(s.as3.order, i, i+1)
	}
	s.mu.Unlock()
	return t
}

// request is a parsed AS3 write.
type as3Request struct {
	decl    map[string]any // the ADC declaration to apply (nil for retrieve)
	only    []string       // tenants named in the URL
	dryRun  bool
	remove  bool // delete the tenants in decl / only
	show    string
	patched []string
}

// handleDeclare is POST /declare[/tenants]: an ADC, an AS3 request, or an
// array of either (answered with "items").
func (s *Server) handleDeclare(w http.ResponseWriter, r *http.Request) {
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	var only []string
	if t := r.PathValue("tenants"); t != "" {
		only = strings.Split(t, ",")
	}
	q := r.URL.Query()
	if arr, isArray := v.([]any); isArray {
		s.handleContainer(w, r, arr)
		return
	}
	req, status, body := s.parseRequest(v, only, q.Get("controls.dryRun") == "true", q.Get("show"))
	if body != nil {
		writeJSON(w, status, body)
		return
	}
	s.run(w, r, req)
}

// parseRequest validates one ADC or AS3 body. A non-nil body is the answer
// to give instead of running it.
func (s *Server) parseRequest(v any, only []string, dryRun bool, show string) (*as3Request, int, any) {
	obj, _ := v.(map[string]any)
	doc := docADC
	if obj != nil && obj["class"] == "AS3" {
		doc = docAS3
	}
	if errs, err := validate(doc, v); err != nil || errs != nil {
		return nil, http.StatusUnprocessableEntity, invalidBody(errs, err)
	}
	req := &as3Request{only: only, dryRun: dryRun, show: show}
	if doc == docADC {
		req.decl = obj
		return req, 0, nil
	}
	decl, _ := obj["declaration"].(map[string]any)
	switch action, _ := obj["action"].(string); action {
	case "", "deploy":
		req.decl = decl
	case "dry-run":
		req.decl, req.dryRun = decl, true
	case "remove":
		req.decl, req.remove = decl, true
	case "retrieve":
		return nil, http.StatusOK, s.snapshot(only, show)
	case "redeploy":
		age := 0
		if n, ok := obj["redeployAge"].(json.Number); ok {
			a, _ := n.Int64()
			age = int(a)
		}
		s.mu.Lock()
		var old map[string]any
		if age < len(s.as3.history) {
			old = deepCopy(s.as3.history[age]).(map[string]any)
		}
		s.mu.Unlock()
		if old == nil {
			return nil, http.StatusNotFound, map[string]any{"code": 404, "message": fmt.Sprintf("declaration with age %d not found", age)}
		}
		req.decl = old
	case "patch":
		ops, _ := obj["patchBody"].([]any)
		decl, tenants, status, body := s.patched(ops)
		if body != nil {
			return nil, status, body
		}
		req.decl, req.patched = decl, tenants
	}
	if req.decl == nil {
		return nil, http.StatusUnprocessableEntity, invalidBody([]string{"/declaration: should have required property 'declaration'"}, nil)
	}
	return req, 0, nil
}

func invalidBody(errs []string, err error) map[string]any {
	if err != nil {
		return map[string]any{"code": 500, "message": err.Error()}
	}
	return map[string]any{"code": 422, "errors": errs, "message": "declaration is invalid"}
}

// handleContainer answers an array of declarations with one item each.
func (s *Server) handleContainer(w http.ResponseWriter, r *http.Request, arr []any) {
	doc := docADCArray
	if len(arr) > 0 {
		if o, ok := arr[0].(map[string]any); ok && o["class"] == "AS3" {
			doc = docAS3Array
		}
	}
	if errs, err := validate(doc, arr); err != nil || errs != nil {
		writeInvalid(w, errs, err)
		return
	}
	if busy, ok := s.tryLock(r.Context()); !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(busy))
		return
	}
	defer s.unlock()
	items := make([]any, 0, len(arr))
	for _, v := range arr {
		req, status, body := s.parseRequest(v, nil, false, r.URL.Query().Get("show"))
		if body != nil {
			if m, ok := body.(map[string]any); ok && m["code"] == nil {
				m["code"] = status
			}
			items = append(items, body)
			continue
		}
		code, out := s.execute(req)
		out["code"] = code
		items = append(items, out)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// run executes a write synchronously, as a task (?async=true), or switches
// a synchronous request to a task after AsyncSwitchAfter, like AS3.
func (s *Server) run(w http.ResponseWriter, r *http.Request, req *as3Request) {
	tenants := s.requestTenants(req)
	s.enter(tenants)
	if r.URL.Query().Get("async") != "true" {
		if busy, ok := s.tryLock(r.Context()); !ok {
			s.leave(tenants)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(busy))
			return
		}
		if s.opts.TaskDuration <= s.opts.AsyncSwitchAfter {
			code, body := s.processLocked(r.Context(), req)
			s.leave(tenants)
			writeJSON(w, code, body)
			return
		}
		t := s.newTask()
		s.startTask(t, req, tenants, true)
		timer := time.NewTimer(s.opts.AsyncSwitchAfter)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
		}
		s.writeTask(w, http.StatusAccepted, t)
		return
	}
	t := s.newTask()
	s.startTask(t, req, tenants, false)
	s.writeTask(w, http.StatusAccepted, t)
}

func (s *Server) writeTask(w http.ResponseWriter, status int, t *task) {
	s.mu.Lock()
	b, err := json.Marshal(map[string]any{"id": t.ID, "results": []result{{Message: "Declaration successfully submitted", Code: 0}}, "declaration": map[string]any{}, "selfLink": t.SelfLink})
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// startTask runs req in the background; locked says the lock is held.
func (s *Server) startTask(t *task, req *as3Request, tenants []string, locked bool) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		if !locked {
			if busy, ok := s.tryLock(ctx); !ok {
				var b result
				_ = json.Unmarshal([]byte(busy), &b)
				s.finishTask(t, tenants, []result{{Code: http.StatusServiceUnavailable, Message: b.Message}}, map[string]any{})
				return
			}
		}
		_, body := s.processLocked(ctx, req)
		res, _ := body["results"].([]result)
		decl, _ := body["declaration"].(map[string]any)
		if res == nil { // validation failure inside the task
			res = []result{{Code: http.StatusUnprocessableEntity, Message: fmt.Sprint(body["message"]), Errors: toStrings(body["errors"])}}
			decl = map[string]any{}
		}
		s.finishTask(t, tenants, res, decl)
	}()
}

// finishTask publishes a task's outcome; its tenants leave the in-flight
// set in the same step, so a client that saw the outcome and sends the
// next request for the tenant is not counted as overlapping.
func (s *Server) finishTask(t *task, tenants []string, res []result, decl map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Results, t.Declaration = res, decl
	for _, name := range tenants {
		s.as3.inflight[name]--
	}
}

// processLocked waits TaskDuration, applies req and releases the lock.
func (s *Server) processLocked(ctx context.Context, req *as3Request) (int, map[string]any) {
	defer s.unlock()
	if s.opts.TaskDuration > 0 {
		timer := time.NewTimer(s.opts.TaskDuration)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return http.StatusServiceUnavailable, map[string]any{"code": 503, "message": "processing interrupted"}
		}
	}
	return s.execute(req)
}

// execute applies a request to the stored state.
func (s *Server) execute(req *as3Request) (int, map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	decl := req.decl
	names := tenantNames(decl)
	if len(req.patched) > 0 {
		names = req.patched
	}
	if len(req.only) > 0 {
		names = intersect(names, req.only)
		if req.remove || decl == nil {
			names = req.only
		}
	}
	if decl != nil && decl["updateMode"] == "complete" && !req.remove && len(req.only) == 0 {
		for name := range s.as3.tenants {
			if _, ok := decl[name]; !ok {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	id, _ := decl["id"].(string)
	if ctl, ok := decl["controls"].(map[string]any); ok && ctl["dryRun"] == true {
		req.dryRun = true
	}
	var results []result
	changed := false
	for _, name := range names {
		res := result{Host: s.opts.Host, Tenant: name, DeclarationID: id, DryRun: req.dryRun}
		want, _ := decl[name].(map[string]any)
		if req.remove {
			want = nil
		}
		have, exists := s.as3.tenants[name]
		switch msg, failing := s.as3.failing[name]; {
		case failing && want != nil:
			res.Code, res.Message = http.StatusUnprocessableEntity, msg
		case want != nil && !isEmptyTenant(want) && s.conflict(name, want) != "":
			res.Code, res.Message = http.StatusUnprocessableEntity, s.conflict(name, want)
		case want == nil || isEmptyTenant(want):
			res.Code, res.Message = http.StatusOK, "success"
			if !exists {
				res.Message = "no change"
			} else if !req.dryRun {
				delete(s.as3.tenants, name)
				s.as3.applied = append(s.as3.applied, Applied{Tenant: name, DeclarationID: id, Deleted: true})
				changed = true
			}
		case exists && sameJSON(have, want):
			res.Code, res.Message = http.StatusOK, "no change"
		default:
			res.Code, res.Message = http.StatusOK, "success"
			res.LineCount = countProperties(want)
			if !req.dryRun {
				s.as3.tenants[name] = deepCopy(want).(map[string]any)
				s.as3.applied = append(s.as3.applied, Applied{Tenant: name, DeclarationID: id})
				changed = true
			}
		}
		res.RunTime = time.Since(start).Milliseconds()
		results = append(results, res)
	}
	if changed {
		s.updateMeta(decl)
	}
	if len(results) == 0 {
		results = []result{{Code: http.StatusOK, Message: "no change", Host: s.opts.Host, DeclarationID: id}}
	}
	return overall(results), map[string]any{"results": results, "declaration": s.snapshotLocked(nil, req.show)}
}

// conflict reports a virtual server that would share its destination with
// one in another tenant, which BIG-IP refuses; "" when there is none.
func (s *Server) conflict(name string, want map[string]any) string {
	mine := destinations(name, want)
	for other, t := range s.as3.tenants {
		if other == name {
			continue
		}
		for dest, vs := range destinations(other, t) {
			if mineVS, ok := mine[dest]; ok {
				return fmt.Sprintf("01070333:3: Virtual Server %s illegally shares destination address, source address, service port, ip-protocol, and route domain with Virtual Server %s.", mineVS, vs)
			}
		}
	}
	return ""
}

// destinations maps "address:port" of every service in a tenant to its
// BIG-IP path.
func destinations(tenant string, t map[string]any) map[string]string {
	out := map[string]string{}
	for app, av := range t {
		a, ok := av.(map[string]any)
		if !ok || a["class"] != "Application" {
			continue
		}
		for obj, ov := range a {
			o, ok := ov.(map[string]any)
			if !ok {
				continue
			}
			class, _ := o["class"].(string)
			if !strings.HasPrefix(class, "Service_") {
				continue
			}
			port := fmt.Sprint(o["virtualPort"])
			if o["virtualPort"] == nil {
				port = defaultPort(class)
			}
			addrs, _ := o["virtualAddresses"].([]any)
			for _, ad := range addrs {
				if s, ok := ad.(string); ok {
					out[s+":"+port] = "/" + tenant + "/" + app + "/" + obj
				}
			}
		}
	}
	return out
}

func defaultPort(class string) string {
	if class == "Service_HTTPS" {
		return "443"
	}
	if class == "Service_HTTP" {
		return "80"
	}
	return "0"
}

// isEmptyTenant is AS3's way to delete a tenant: only its class (and
// descriptive properties), no applications.
func isEmptyTenant(t map[string]any) bool {
	for _, v := range t {
		if m, ok := v.(map[string]any); ok && m["class"] == "Application" {
			return false
		}
	}
	return true
}

func (s *Server) updateMeta(decl map[string]any) {
	meta := map[string]any{"class": "ADC"}
	for _, k := range []string{"schemaVersion", "id", "label", "remark", "updateMode"} {
		if v, ok := decl[k]; ok {
			meta[k] = v
		}
	}
	if meta["schemaVersion"] == nil { // a DELETE carries none: keep the last one
		meta["schemaVersion"] = s.as3.meta["schemaVersion"]
		if meta["schemaVersion"] == nil {
			meta["schemaVersion"] = "3.56.0"
		}
	}
	if meta["updateMode"] == nil {
		meta["updateMode"] = "selective"
	}
	if meta["id"] == nil {
		meta["id"] = "autogen_" + newID()
	}
	controls := map[string]any{}
	if c, ok := decl["controls"].(map[string]any); ok {
		controls = deepCopy(c).(map[string]any)
	}
	controls["archiveTimestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	meta["controls"] = controls
	s.as3.meta = meta
	full := s.snapshotLocked(nil, "")
	s.as3.history = append([]map[string]any{full}, s.as3.history...)
	if len(s.as3.history) > 15 {
		s.as3.history = s.as3.history[:15]
	}
}

// snapshot returns the stored declaration (all or some tenants).
func (s *Server) snapshot(only []string, show string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked(only, show)
}

func (s *Server) snapshotLocked(only []string, show string) map[string]any {
	out := deepCopy(s.as3.meta).(map[string]any)
	if len(out) == 0 {
		out = map[string]any{"class": "ADC", "schemaVersion": "3.56.0", "id": "autogen_" + newID(), "updateMode": "selective"}
	}
	for name, t := range s.as3.tenants {
		if len(only) == 0 || slices.Contains(only, name) {
			out[name] = deepCopy(t)
		}
	}
	if show == "full" || show == "expanded" {
		fillDefaults(out)
	}
	return out
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	var only []string
	if t := r.PathValue("tenants"); t != "" {
		only = strings.Split(t, ",")
	}
	s.mu.Lock()
	n := len(s.as3.tenants)
	found := 0
	for _, t := range only {
		if _, ok := s.as3.tenants[t]; ok {
			found++
		}
	}
	s.mu.Unlock()
	switch {
	case len(only) > 0 && found == 0:
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "specified Tenant(s) '" + strings.Join(only, ",") + "' not found in declaration"})
	case n == 0:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, s.snapshot(only, r.URL.Query().Get("show")))
	}
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	var only []string
	if t := r.PathValue("tenants"); t != "" {
		only = strings.Split(t, ",")
	} else {
		s.mu.Lock()
		only = slices.Sorted(maps.Keys(s.as3.tenants))
		s.mu.Unlock()
	}
	req := &as3Request{only: only, remove: true, decl: map[string]any{"class": "ADC"}, show: r.URL.Query().Get("show")}
	s.run(w, r, req)
}

func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	v, ok := readJSON(w, r)
	if !ok {
		return
	}
	if errs, err := validate(docPatch, v); err != nil || errs != nil {
		writeInvalid(w, errs, err)
		return
	}
	ops, _ := v.([]any)
	decl, tenants, status, body := s.patched(ops)
	if body != nil {
		writeJSON(w, status, body)
		return
	}
	s.run(w, r, &as3Request{decl: decl, patched: tenants, show: r.URL.Query().Get("show")})
}

// patched applies JSON Patch ops to a copy of the stored declaration and
// validates the result. It returns the new declaration and the tenants the
// ops touched, or an answer to give.
func (s *Server) patched(ops []any) (map[string]any, []string, int, any) {
	decl := s.snapshot(nil, "")
	// archiveTimestamp is AS3's own bookkeeping, not part of the schema.
	if c, ok := decl["controls"].(map[string]any); ok {
		delete(c, "archiveTimestamp")
		if len(c) == 0 {
			delete(decl, "controls")
		}
	}
	var tenants []string
	for i, o := range ops {
		op, _ := o.(map[string]any)
		path, _ := op["path"].(string)
		seg := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0]
		tenants = append(tenants, unescape(seg))
		if err := applyPatch(decl, op); err != nil {
			return nil, nil, http.StatusUnprocessableEntity, map[string]any{"code": 422, "message": fmt.Sprintf("patch operation %d: %v", i, err)}
		}
	}
	if errs, err := validate(docADC, decl); err != nil || errs != nil {
		return nil, nil, http.StatusUnprocessableEntity, invalidBody(errs, err)
	}
	return decl, tenants, 0, nil
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
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"code": 422, "message": "Per-application deployment has been disabled in the settings endpoint"})
		return
	}
	if errs, err := validate(docPerApp, v); err != nil || errs != nil {
		writeInvalid(w, errs, err)
		return
	}
	body := v.(map[string]any)
	tenant := r.PathValue("tenant")
	t := s.Tenant(tenant)
	if t == nil {
		t = map[string]any{"class": "Tenant"}
	}
	decl := map[string]any{"class": "ADC"}
	for k, val := range body {
		switch k {
		case "id", "schemaVersion", "controls":
			decl[k] = val
		default:
			t[k] = val
		}
	}
	decl[tenant] = t
	s.run(w, r, &as3Request{decl: decl, only: []string{tenant}, show: r.URL.Query().Get("show")})
}

func (s *Server) handlePerAppGet(w http.ResponseWriter, r *http.Request) {
	t := s.Tenant(r.PathValue("tenant"))
	if t == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": "specified tenant not found in declaration"})
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
	delete(t, app)
	decl := map[string]any{"class": "ADC", tenant: t}
	s.run(w, r, &as3Request{decl: decl, only: []string{tenant}})
}

// requestTenants is what a request touches, for overlap detection.
func (s *Server) requestTenants(req *as3Request) []string {
	if len(req.only) > 0 {
		return req.only
	}
	if len(req.patched) > 0 {
		return req.patched
	}
	return tenantNames(req.decl)
}

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

func (s *Server) leave(tenants []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tenants {
		s.as3.inflight[t]--
	}
}

func tenantNames(decl map[string]any) []string {
	var out []string
	for k, v := range decl {
		if m, ok := v.(map[string]any); ok && m["class"] == "Tenant" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// overall mirrors AS3: one code for all tenants is the HTTP status, a mix
// is 207.
func overall(rs []result) int {
	for _, r := range rs[1:] {
		if r.Code != rs[0].Code {
			return http.StatusMultiStatus
		}
	}
	return rs[0].Code
}

// countProperties stands in for AS3's lineCount (the number of BIG-IP
// configuration lines), which the fake cannot know: it counts properties.
func countProperties(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := len(x)
		for _, e := range x {
			n += countProperties(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += countProperties(e)
		}
		return n
	}
	return 0
}

// sameJSON compares generic JSON values, treating numbers by value whether
// they are json.Number or float64.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number, float64:
		fa, oka := number(a)
		fb, okb := number(b)
		return oka && okb && fa == fb
	default:
		return a == b
	}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

func field(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}

func toStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}
