package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// retryRun runs a Failed or Crashed run again: it moves to AwaitingRetry,
// due now, and a worker claims it like any due run. Its history is kept;
// task results it recorded are there for the engine to reuse.
func (s *Server) retryRun(w http.ResponseWriter, r *http.Request) error {
	var req wire.Retry
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeBytes(body, &req); err != nil {
			return err
		}
	}
	run, err := s.retry(r, r.PathValue("id"), req.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.StateAnswer{State: run.State})
}

func (s *Server) retry(r *http.Request, id, reason string) (store.FlowRun, error) {
	run, err := s.st.GetRun(r.Context(), id)
	if err != nil {
		return run, err
	}
	if run.State.Type != flow.TypeFailed && run.State.Type != flow.TypeCrashed {
		return run, &Error{Status: http.StatusConflict, Field: "state",
			Msg: fmt.Sprintf("run %s is %s: only a Failed or Crashed run is retried", id, run.State.Name)}
	}
	by, _ := Identity(r.Context())
	msg := "retried by " + by
	if reason != "" {
		msg = reason + " (" + msg + ")"
	}
	run, err = s.st.SetRunState(r.Context(), id, flow.AwaitingRetry(s.opts.Now(), msg), nil)
	if err != nil {
		return run, err
	}
	s.log.Info("run retried", "run_id", id, "by", by)
	s.notify.wake(id)
	return run, nil
}

// bulkLimit bounds the runs one bulk request acts on.
const bulkLimit = 1000

// bulkRuns applies one action to many runs: those listed, or those a
// filter selects. Each run is moved on its own (one failing does not stop
// the others) and the answer says which moved and why the others did not.
// The action's permission is checked before anything is done: cancel needs
// runs.cancel, retry runs.create, set-state admin.
func (s *Server) bulkRuns(w http.ResponseWriter, r *http.Request) error {
	var req wire.Bulk
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	var target flow.State
	switch req.Action {
	case "cancel":
		if err := requirePermission(r.Context(), PermRunsCancel, "action"); err != nil {
			return err
		}
	case "retry":
		if err := requirePermission(r.Context(), PermRunsCreate, "action"); err != nil {
			return err
		}
	case "set-state":
		if err := requirePermission(r.Context(), PermAdmin, "action"); err != nil {
			return err
		}
		t, ok := flow.NameType(req.State)
		if !ok {
			return badRequest("state", "%q is not a state name (Completed, Failed, Cancelled, Crashed, ...)", req.State)
		}
		target = flow.State{Type: t, Name: req.State, Message: req.Reason}
		if t == flow.TypeScheduled {
			target.ScheduledAt = s.opts.Now()
		}
		if err := target.Validate(); err != nil {
			return badRequest("state", "%v", err)
		}
	default:
		return badRequest("action", "%q: want cancel, retry or set-state", req.Action)
	}
	if req.Limit < 0 || req.Limit > bulkLimit {
		return badRequest("limit", "want 1 to %d, got %d", bulkLimit, req.Limit)
	}
	if req.Limit == 0 {
		req.Limit = bulkLimit
	}
	ids := req.IDs
	switch {
	case len(ids) > bulkLimit:
		return badRequest("ids", "%d runs: at most %d at once", len(ids), bulkLimit)
	case len(ids) > 0 && req.Filter != nil:
		return badRequest("filter", "give ids or a filter, not both")
	case len(ids) == 0 && req.Filter == nil:
		return badRequest("ids", "empty: give the runs' ids or a filter")
	case len(ids) == 0:
		var err error
		if ids, err = s.bulkSelect(r, *req.Filter, req.Limit); err != nil {
			return err
		}
	}
	if len(ids) > req.Limit {
		ids = ids[:req.Limit]
	}
	by, _ := Identity(r.Context())
	res := wire.BulkResult{Done: []wire.BulkDone{}, Failed: []wire.BulkFailed{}}
	for _, id := range ids {
		var st flow.State
		var err error
		switch req.Action {
		case "cancel":
			reason := "cancelled by " + by
			if req.Reason != "" {
				reason = req.Reason + " (" + reason + ")"
			}
			st, err = s.st.CancelRun(r.Context(), id, reason)
		case "retry":
			var run store.FlowRun
			run, err = s.retry(r, id, req.Reason)
			st = run.State
		case "set-state":
			t := target
			t.Message = "set by " + by
			if req.Reason != "" {
				t.Message = req.Reason + " (" + t.Message + ")"
			}
			var run store.FlowRun
			run, err = s.st.SetRunState(r.Context(), id, t, nil)
			st = run.State
		}
		if err != nil {
			if store.IsUnavailable(err) || r.Context().Err() != nil {
				return err
			}
			res.Failed = append(res.Failed, wire.BulkFailed{ID: id, Error: s.classify(r, err).Msg})
			continue
		}
		s.notify.wake(id)
		res.Done = append(res.Done, wire.BulkDone{ID: id, State: st})
	}
	s.log.Info("bulk action", "action", req.Action, "runs", len(res.Done), "failed", len(res.Failed), "by", by)
	return writeJSON(w, http.StatusOK, res)
}

// bulkSelect lists the IDs of the runs a bulk filter selects, newest first,
// at most limit.
func (s *Server) bulkSelect(r *http.Request, bf wire.BulkFilter, limit int) ([]string, error) {
	f := store.RunFilter{Deployment: bf.Deployment, Flow: bf.Flow, Tag: bf.Tag,
		CreatedAfter: bf.CreatedAfter, CreatedBefore: bf.CreatedBefore, Limit: limit}
	for _, v := range bf.States {
		t := flow.StateType(strings.ToUpper(strings.TrimSpace(v)))
		if !validType(t) {
			return nil, badRequest("filter.states", "%q is not a state type (SCHEDULED, PENDING, RUNNING, ...)", v)
		}
		f.States = append(f.States, t)
	}
	runs, _, err := s.st.ListRuns(r.Context(), f)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(runs))
	for i, run := range runs {
		ids[i] = run.ID
	}
	return ids, nil
}
