package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/schedule"
	"github.com/netauto-dev/netauto/runtime/store"
)

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.st.ListDeployments(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ds)
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.st.GetDeployment(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// applyDeployment creates or updates the deployment named in the path and
// answers with it and what changed: 201 when created, else 200.
func (s *Server) applyDeployment(w http.ResponseWriter, r *http.Request) error {
	var d store.Deployment
	if err := decode(w, r, s.opts.MaxBodyBytes, &d); err != nil {
		return err
	}
	name := r.PathValue("name")
	if d.Name == "" {
		d.Name = name
	}
	if d.Name != name {
		return badRequest("name", "%q does not match the path's %q", d.Name, name)
	}
	if err := s.checkDeployment(r, d); err != nil {
		return err
	}
	if err := s.checkJobVariables(r, d.Pool, "job_variables", d.JobVariables); err != nil {
		return err
	}
	ch, err := s.st.ApplyDeployment(r.Context(), d)
	if err != nil {
		return err
	}
	got, err := s.st.GetDeployment(r.Context(), name)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if ch.Created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, wire.DeploymentApplied{Deployment: got, Change: ch})
}

// checkDeployment validates what the store cannot: its schedules as the
// scheduler reads them (a schedule it refused would silently never run),
// and its default and schedule parameters against its flow's schema when
// the flow is registered. Those parameters may be partial (a run request
// completes them), so missing required parameters pass.
func (s *Server) checkDeployment(r *http.Request, d store.Deployment) error {
	layers := []struct {
		field string
		raw   json.RawMessage
	}{{"parameters", d.Parameters}}
	for i, sc := range d.Schedules {
		field := fmt.Sprintf("schedules[%d]", i)
		_, err := schedule.Parse(schedule.Schedule{Cron: sc.Cron, Every: sc.Interval, Anchor: sc.Anchor, Timezone: sc.Timezone})
		var fe *fielderr.Error
		if errors.As(err, &fe) {
			name := fe.Field
			if name == "every" { // the scheduler's name for the store's interval
				name = "interval"
			}
			return badRequest(field+"."+name, "%s", fe.Reason)
		}
		if err != nil {
			return badRequest(field, "%v", err)
		}
		layers = append(layers, struct {
			field string
			raw   json.RawMessage
		}{field + ".parameters", sc.Parameters})
	}
	var sch *jsonschema.Schema
	if d.Flow != "" {
		f, err := s.st.GetFlow(r.Context(), d.Flow)
		switch {
		case err == nil:
			if sch, err = s.schemas.validator(f); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	for _, l := range layers {
		if len(bytes.TrimSpace(l.raw)) == 0 {
			continue
		}
		if _, err := paramObject(l.field, l.raw); err != nil {
			return err
		}
		err := validateParams(sch, l.raw, true)
		var e *Error
		if errors.As(err, &e) {
			e.Field = l.field + strings.TrimPrefix(e.Field, "parameters")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// paramObject decodes a parameters document, which must be a JSON object
// (or null or empty).
func paramObject(field string, raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, badRequest(field, "want a JSON object: %v", err)
	}
	return m, nil
}

// createRun creates a run of the deployment in the path: 201 with the new
// run, or 200 with the existing one for an idempotency key seen before.
func (s *Server) createRun(w http.ResponseWriter, r *http.Request) error {
	var req wire.CreateRun
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeBytes(body, &req); err != nil {
			return err
		}
	}
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if req.IdempotencyKey != "" && req.IdempotencyKey != h {
			return badRequest("idempotency_key", "differs from the Idempotency-Key header")
		}
		req.IdempotencyKey = h
	}
	d, err := s.st.GetDeployment(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	defaults, err := paramObject("deployment.parameters", d.Parameters)
	if err != nil {
		return err
	}
	given, err := paramObject("parameters", req.Parameters)
	if err != nil {
		return err
	}
	params, err := json.Marshal(schedule.MergeParameters(defaults, given))
	if err != nil {
		return err
	}
	f, err := s.st.GetFlow(r.Context(), d.Flow)
	if errors.Is(err, store.ErrNotFound) && d.Source != nil {
		// A flow from Git is registered by the worker at its first build:
		// the worker validates against the commit's schema.
		f, err = store.Flow{Name: d.Flow}, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Status: http.StatusUnprocessableEntity, Field: "flow", Msg: "flow " + strconv.Quote(d.Flow) + " of the deployment is not registered: its parameters cannot be validated"}
	}
	if err != nil {
		return err
	}
	sch, err := s.schemas.validator(f)
	if err != nil {
		return err
	}
	if err := validateParams(sch, params, false); err != nil {
		return err
	}
	if len(req.JobVariables) > 0 {
		// A run's own variables referencing secrets could have the run
		// print them: only keys granted that may.
		if refs := launch.SecretReferences(req.JobVariables); len(refs) > 0 {
			if err := requirePermission(r.Context(), PermRunSecrets, "job_variables.env."+refs[0]); err != nil {
				return err
			}
		}
		if err := s.checkJobVariables(r, d.Pool, "job_variables", d.JobVariables, req.JobVariables); err != nil {
			return err
		}
	}
	spec := store.RunSpec{
		Deployment:     d.Name,
		Name:           req.Name,
		Parameters:     params,
		Tags:           req.Tags,
		JobVariables:   req.JobVariables,
		IdempotencyKey: req.IdempotencyKey,
		Origin:         store.Origin{Kind: store.OriginAPI, APIKey: PrincipalFrom(r.Context()).Name},
	}
	if !req.ScheduledAt.IsZero() {
		spec.State = flow.Scheduled(req.ScheduledAt)
	}
	run, created, err := s.st.CreateRun(r.Context(), spec)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.notify.wake(run.ID)
	}
	return writeJSON(w, status, wire.RunCreated{Run: run, Created: created})
}

// listRuns answers GET /api/v1/runs with filters state (a state type,
// repeated or comma-separated), deployment, flow, tag, parent, origin
// (what created the run: schedule, trigger, api, subflow, flow),
// created_after and created_before (RFC 3339), limit and cursor.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.RunFilter{
		Deployment: q.Get("deployment"),
		Flow:       q.Get("flow"),
		Tag:        q.Get("tag"),
		ParentID:   q.Get("parent"),
		Origin:     store.OriginKind(q.Get("origin")),
		Cursor:     q.Get("cursor"),
	}
	switch f.Origin {
	case "", store.OriginSchedule, store.OriginTrigger, store.OriginAPI, store.OriginSubflow, store.OriginFlow:
	default:
		return badRequest("origin", "%q: want schedule, trigger, api, subflow or flow", f.Origin)
	}
	for _, v := range q["state"] {
		for _, t := range strings.Split(v, ",") {
			st := flow.StateType(strings.ToUpper(strings.TrimSpace(t)))
			if !validType(st) {
				return badRequest("state", "%q is not a state type (SCHEDULED, PENDING, RUNNING, ...)", t)
			}
			f.States = append(f.States, st)
		}
	}
	var err error
	if f.CreatedAfter, err = timeParam(q.Get("created_after"), "created_after"); err != nil {
		return err
	}
	if f.CreatedBefore, err = timeParam(q.Get("created_before"), "created_before"); err != nil {
		return err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 1000); err != nil {
		return err
	}
	runs, next, err := s.st.ListRuns(r.Context(), f)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []store.FlowRun{}
	}
	return writeJSON(w, http.StatusOK, wire.RunPage{Runs: runs, Next: next})
}

func validType(t flow.StateType) bool {
	switch t {
	case flow.TypeScheduled, flow.TypePending, flow.TypeRunning, flow.TypePaused, flow.TypeCancelling,
		flow.TypeCompleted, flow.TypeFailed, flow.TypeCancelled, flow.TypeCrashed:
		return true
	}
	return false
}

func timeParam(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badRequest(field, "want an RFC 3339 time, got %q", v)
	}
	return t, nil
}

func intParam(v, field string, maxV int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxV {
		return 0, badRequest(field, "want an integer from 1 to %d, got %q", maxV, v)
	}
	return n, nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := s.st.GetRun(r.Context(), id)
	if err != nil {
		return err
	}
	hist, err := s.st.RunHistory(r.Context(), id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("tasks_limit"), "tasks_limit", 1000)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 200
	}
	after := 0
	if v := q.Get("tasks_after"); v != "" {
		if after, err = strconv.Atoi(v); err != nil || after < 0 {
			return badRequest("tasks_after", "want the tasks_next of the previous page, got %q", v)
		}
	}
	tasks, err := s.st.TaskRuns(r.Context(), id)
	if err != nil {
		return err
	}
	d := wire.RunDetail{Run: run, History: hist, TaskRuns: []store.TaskRun{}, TaskCount: len(tasks)}
	if after < len(tasks) {
		end := min(after+limit, len(tasks))
		d.TaskRuns = tasks[after:end]
		if end < len(tasks) {
			d.TasksNext = strconv.Itoa(end)
		}
	}
	return writeJSON(w, http.StatusOK, d)
}

// runState answers a run's current state: the cancel check of an
// `execute` process (Cancelling means stop).
//
// With ?from=NAME&wait=DURATION (at most MaxStateWait) it answers when
// the run's state is no longer named NAME, or when the wait is over
// (then with the state unchanged): a client waiting for a state asks
// again and again without polling. It wakes on the changes the store
// announces (store.RunNotifier: this process's worker, and PostgreSQL
// replicas) and on those made through this server, else reads the store
// every PollInterval.
func (s *Server) runState(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	q := r.URL.Query()
	from, wait := q.Get("from"), time.Duration(0)
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return badRequest("wait", "want a duration such as 20s, got %q", v)
		}
		wait = min(d, MaxStateWait)
	}
	// until=final answers at the run's end only: a client waiting for it
	// makes one request instead of one per state on the way.
	final := false
	switch v := q.Get("until"); v {
	case "":
	case "final":
		final = true
	default:
		return badRequest("until", "want final, got %q", v)
	}
	answered := func(st flow.State) bool {
		if final {
			return st.Final()
		}
		return st.Name != from
	}
	if wait == 0 || (from == "" && !final) {
		run, err := s.st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, wire.StateAnswer{State: run.State})
	}
	defer s.notify.subscribe(id)()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	poll := time.NewTicker(s.opts.PollInterval)
	defer poll.Stop()
	for {
		// Take the wake channel before reading, so that a change between
		// the read and the wait is not missed.
		woke := s.notify.wait(id)
		run, err := s.st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if answered(run.State) {
			return writeJSON(w, http.StatusOK, wire.StateAnswer{State: run.State})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			return writeJSON(w, http.StatusOK, wire.StateAnswer{State: run.State})
		case <-woke:
		case <-poll.C:
		}
	}
}

// MaxStateWait bounds the wait of a state request (?wait=), under the
// HTTP server's write timeout.
const MaxStateWait = 30 * time.Second

// setState moves a run to the state in the body, through the transition
// table: an illegal move is a 409 naming both states.
func (s *Server) setState(w http.ResponseWriter, r *http.Request) error {
	var req wire.SetState
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := req.State.Validate(); err != nil {
		return badRequest("state.name", "%v", err)
	}
	run, err := s.st.SetRunState(r.Context(), r.PathValue("id"), req.State, nil)
	if err != nil {
		return err
	}
	s.notify.wake(run.ID)
	return writeJSON(w, http.StatusOK, run)
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) error {
	var req wire.Cancel
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeBytes(body, &req); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	// Who cancelled is recorded in the state's message, which the API
	// and the CLI show with the run's history.
	by, _ := Identity(r.Context())
	reason := "cancelled by " + by
	if req.Reason != "" {
		reason = req.Reason + " (" + reason + ")"
	}
	st, err := s.st.CancelRun(r.Context(), id, reason)
	if err != nil {
		return err
	}
	s.log.Info("run cancelled", "run_id", id, "by", by)
	s.notify.wake(id)
	return writeJSON(w, http.StatusOK, wire.StateAnswer{State: st})
}

func (s *Server) runResult(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	v, ok, err := s.st.RunResult(r.Context(), id)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Field: "result", Msg: "run " + id + " has no result (not completed)"}
	}
	return writeJSON(w, http.StatusOK, wire.Value{Value: v})
}

// mintToken answers a run token for the run in the path, which must exist.
func (s *Server) mintToken(w http.ResponseWriter, r *http.Request) error {
	var req wire.MintToken
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeBytes(body, &req); err != nil {
			return err
		}
	}
	if req.TTL < 0 {
		return badRequest("ttl", "negative")
	}
	if err := s.workOn(r, r.PathValue("id"), req.Worker); err != nil {
		return err
	}
	tok, exp, err := s.MintRunToken(r.Context(), store.Fence{RunID: r.PathValue("id"), Worker: req.Worker, Attempt: req.Attempt}, req.TTL)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.RunToken{Token: tok, Expires: exp})
}

// renewToken answers a fresh token for the execution of the run token
// the request carries, while that execution is current, its run not
// final and its lease live: a token lives TokenTTL, renewed by its
// holder as long as its worker renews the lease.
func (s *Server) renewToken(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if p.Run == "" {
		return &Error{Status: http.StatusBadRequest, Field: "Authorization", Msg: "renew takes the run token to renew; a key mints one with POST /runs/{id}/token"}
	}
	run, err := s.st.GetRun(r.Context(), p.Run)
	if err != nil {
		return err
	}
	f := p.fence
	now := s.opts.Now()
	switch {
	case run.Attempt != f.Attempt || (f.Worker != "" && run.Worker != f.Worker):
		return &store.FencedError{Fence: f, Worker: run.Worker, Attempt: run.Attempt}
	case run.State.Final():
		return &Error{Status: http.StatusConflict, Field: "state", Msg: "run " + run.ID + " is final: its token is not renewed"}
	case !run.LeaseExpires.After(now):
		return &Error{Status: http.StatusConflict, Field: "lease", Msg: "run " + run.ID + " has no live lease: its worker no longer renews it"}
	}
	exp := now.Add(min(s.opts.TokenTTL, s.opts.MaxTokenTTL)).Truncate(time.Second)
	return writeJSON(w, http.StatusOK, wire.RunToken{Token: s.tokens.mint(f, exp), Expires: exp})
}

// renewLease extends a worker's lease on a run and answers the run's
// state; 409 when the worker lost the lease.
func (s *Server) renewLease(w http.ResponseWriter, r *http.Request) error {
	var req wire.Lease
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Worker == "" {
		return badRequest("worker", "empty")
	}
	if req.Lease <= 0 {
		return badRequest("lease", "want a positive duration (nanoseconds)")
	}
	if err := s.workOn(r, r.PathValue("id"), req.Worker); err != nil {
		return err
	}
	st, err := s.st.RenewLease(r.Context(), r.PathValue("id"), req.Worker, s.opts.Now().Add(req.Lease))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.StateAnswer{State: st})
}

// workOn checks that a worker key may act for worker on run id: the run
// is in one of the key's pools, and a worker key names the worker (whose
// claim MintRunToken and RenewLease then check). Other roles pass.
func (s *Server) workOn(r *http.Request, id, worker string) error {
	if PrincipalFrom(r.Context()).Role != RoleWorker {
		return nil
	}
	if worker == "" {
		return badRequest("worker", "a worker key must name the worker holding the run")
	}
	run, err := s.st.GetRun(r.Context(), id)
	if err != nil {
		return err
	}
	return requirePool(r.Context(), run.Pool)
}

// pauseDeployment pauses (or unpauses) the deployment in the path: its
// schedules make no runs and its runs are not claimed until unpaused.
func (s *Server) pauseDeployment(paused bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		if err := s.st.SetDeploymentPaused(r.Context(), name, paused); err != nil {
			return err
		}
		by, _ := Identity(r.Context())
		s.log.Info("deployment paused", "deployment", name, "paused", paused, "by", by)
		return writeJSON(w, http.StatusOK, wire.Paused{Deployment: name, Paused: paused, By: by})
	}
}

// checkJobVariables checks job variables against the job template of a
// pool through its launcher, so that a bad field fails the request, not
// the run.
func (s *Server) checkJobVariables(r *http.Request, pool, field string, vars ...json.RawMessage) error {
	if pool == "" {
		return nil
	}
	p, err := s.st.GetPool(r.Context(), pool)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.opts.Launchers.CheckJobTemplate(p, vars...); err != nil {
		return fieldRequest(field, err)
	}
	return nil
}

// fieldRequest is a 400 naming the field of err (a *fielderr.Error)
// under parent, or parent itself.
func fieldRequest(parent string, err error) error {
	var fe *fielderr.Error
	if errors.As(fielderr.Under(parent, err), &fe) {
		return badRequest(fe.Field, "%s", fe.Reason)
	}
	return badRequest(parent, "%v", err)
}
