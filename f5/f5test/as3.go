package f5test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

const as3Prefix = "/mgmt/shared/appsvcs"

// as3State is everything AS3 keeps: the current declaration split into
// tenants, ADC-level metadata, the declaration history, tasks, settings and
// what the test hooks observe.
type as3State struct {
	meta     map[string]any            // class, schemaVersion, id, label, remark, updateMode, controls
	tenants  map[string]map[string]any // tenant name → Tenant object as posted
	filled   map[string]map[string]any // the same with schema defaults, to decide "no change"
	history  []map[string]any          // most recent first, at most 15
	tasks    map[string]*task
	order    []string // task ids, oldest first
	settings map[string]any
	failing  map[string]string // tenant → injected failure message
	applied  []Applied
	inflight map[string]int
	overlaps int
	// cancelNext is how many of the next async tasks end "task cancelled".
	cancelNext int
}

func (a *as3State) init() {
	a.meta = map[string]any{}
	a.tenants = map[string]map[string]any{}
	a.filled = map[string]map[string]any{}
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

// Task record states, as AS3 keeps them (src/lib/asyncHandler.js).
const (
	taskPending   = "pending"
	taskComplete  = "complete"
	taskCancelled = "cancelled"
)

// task is an AS3 task record as GET /task/{id} shows it: while pending,
// one result {code 0, "in progress"}; once complete, the results of the
// declaration or the error body AS3 answered; once cancelled, {code 0,
// "task cancelled"} for ever (src/lib/asyncHandler.js getResults).
type task struct {
	ID          string         `json:"id"`
	Results     []any          `json:"results"`
	Declaration map[string]any `json:"declaration"`
	SelfLink    string         `json:"selfLink,omitempty"`
	status      string
	declID      string
}

// result is one tenant's entry in a declaration's results (src/lib/audit.js
// and declarationHandler.js): "tenant" is a string here; bodies for a
// declaration refused as a whole are built by failBody.
type result struct {
	Code          int      `json:"code"`
	Message       string   `json:"message"`
	Response      string   `json:"response,omitempty"`
	Errors        []string `json:"errors,omitempty"`
	LineCount     int      `json:"lineCount,omitempty"`
	Host          string   `json:"host"`
	Tenant        string   `json:"tenant,omitempty"`
	RunTime       int64    `json:"runTime"`
	DeclarationID string   `json:"declarationId,omitempty"`
	DryRun        bool     `json:"dryRun,omitempty"`
}

// FailTenant makes every later deployment of tenant fail on the device
// with message as BIG-IP's reason: the tenant's result is code 422,
// "declaration failed", with message in "response" (src/lib/audit.js);
// other tenants of the same declaration still succeed (HTTP 207). An empty
// message clears it.
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

// CancelTasks makes the next n asynchronous tasks end "task cancelled"
// without being processed: what AS3 leaves behind when restnoded restarts
// while they are pending (src/lib/asyncHandler.js updatePending, called at
// start-up by src/nodejs/restWorker.js). Their records answer code 0
// "task cancelled" for ever; nothing of them is applied.
func (s *Server) CancelTasks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.as3.cancelNext = max(n, 0)
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

// newTask records a pending task. Beyond maxTaskRecords the oldest
// finished records are dropped; pending ones are never dropped (AS3's
// cleanRecords in src/lib/asyncHandler.js).
func (s *Server) newTask() *task {
	id := newID()
	t := &task{ID: id, Declaration: map[string]any{}, status: taskPending,
		SelfLink: "https://" + s.opts.Host + as3Prefix + "/task/" + id}
	t.Results = []any{placeholder("in progress", t)}
	s.mu.Lock()
	s.as3.tasks[id] = t
	s.as3.order = append(s.as3.order, id)
	for i := 0; len(s.as3.order) > maxTaskRecords && i < len(s.as3.order); {
		old := s.as3.tasks[s.as3.order[i]]
		if old.status == taskPending {
			i++
			continue
		}
		delete(s.as3.tasks, old.ID)
		s.as3.order = slices.Delete(s.as3.order, i, i+1)
	}
	s.mu.Unlock()
	return t
}

// placeholder is the result a pending or cancelled record answers.
func placeholder(message string, t *task) map[string]any {
	r := map[string]any{"message": message, "tenant": "", "host": "", "runTime": 0, "code": 0}
	if t.declID != "" {
		r["declarationId"] = t.declID
	}
	return r
}

// finishTask publishes a task's outcome: the results of the declaration,
// or the error body as the only result (getResults). The task's tenants
// leave the in-flight set in the same step, so a client that saw the
// outcome and sends the next request for the tenant is not counted as
// overlapping.
func (s *Server) finishTask(t *task, tenants []string, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if res, ok := body["results"]; ok {
		t.Results = toAnySlice(res)
		t.Declaration, _ = body["declaration"].(map[string]any)
	} else {
		t.Results = []any{body}
		t.Declaration = map[string]any{}
	}
	if t.Declaration == nil {
		t.Declaration = map[string]any{}
	}
	t.status = taskComplete
	for _, name := range tenants {
		s.as3.inflight[name]--
	}
}

// cancelTask marks a record cancelled for ever; nothing of it is applied.
func (s *Server) cancelTask(t *task, tenants []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.status = taskCancelled
	t.Results = []any{placeholder("task cancelled", t)}
	for _, name := range tenants {
		s.as3.inflight[name]--
	}
}

func toAnySlice(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []result:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out
	}
	return nil
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
