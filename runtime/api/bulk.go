package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// maxBulk bounds the runs one bulk request may act on; a caller with
// more repeats the request (the runs acted on no longer match a filter
// on their state) or narrows the filter.
const maxBulk = 1000

// bulkRuns answers POST /api/v1/runs/bulk: one action on every run that
// a filter (or a list of run IDs) selects, at most maxBulk of them. The
// action's permission is checked against the caller's role before any
// run is touched: cancel needs runs.cancel, retry runs.create, set-state
// admin. Nothing is deleted: every change is a state transition recorded
// in the run's history with the reason and who asked. A run the action
// does not apply to (a Completed run to cancel, a Running one to retry)
// is reported as skipped with why; the others go on.
func (s *Server) bulkRuns(w http.ResponseWriter, r *http.Request) error {
	var req wire.BulkRuns
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	var perm Permission
	switch req.Action {
	case wire.BulkCancel:
		perm = PermRunsCancel
	case wire.BulkRetry:
		perm = PermRunsCreate
	case wire.BulkSetState:
		perm = PermAdmin
		if req.State == nil {
			return badRequest("state", "set-state needs the state to set")
		}
		if err := req.State.Validate(); err != nil {
			return badRequest("state.name", "%v", err)
		}
	default:
		return badRequest("action", "%q: want cancel, retry or set-state", req.Action)
	}
	if err := requirePermission(r.Context(), perm, "action"); err != nil {
		return err
	}
	if req.State != nil && req.Action != wire.BulkSetState {
		return badRequest("state", "only set-state takes a state")
	}
	limit := req.Limit
	if limit == 0 {
		limit = maxBulk
	}
	if limit < 0 || limit > maxBulk {
		return badRequest("limit", "want 1 to %d, got %d", maxBulk, limit)
	}
	ids, truncated, err := s.bulkSelect(r.Context(), req, limit)
	if err != nil {
		return err
	}
	by, _ := Identity(r.Context())
	out := wire.BulkResult{Action: req.Action, Matched: len(ids), Truncated: truncated, DryRun: req.DryRun,
		Changed: []wire.BulkItem{}, Skipped: []wire.BulkItem{}}
	for _, id := range ids {
		if req.DryRun {
			out.Changed = append(out.Changed, wire.BulkItem{ID: id})
			continue
		}
		st, err := s.bulkOne(r.Context(), req, id, by)
		if err != nil {
			e := s.classify(r, err)
			if e.Status >= 500 {
				return err // the store failed: stop, and say so
			}
			out.Skipped = append(out.Skipped, wire.BulkItem{ID: id, Error: e.Msg})
			continue
		}
		s.notify.wake(id)
		out.Changed = append(out.Changed, wire.BulkItem{ID: id, State: &st})
	}
	if !req.DryRun {
		s.log.Info("bulk run action", "action", req.Action, "matched", len(ids), "changed", len(out.Changed),
			"skipped", len(out.Skipped), "by", by)
	}
	return writeJSON(w, http.StatusOK, out)
}

// bulkSelect lists the IDs of the runs req selects: its IDs (each must
// exist), or the runs its filter matches, newest first, up to limit.
func (s *Server) bulkSelect(ctx context.Context, req wire.BulkRuns, limit int) (ids []string, truncated bool, err error) {
	if len(req.IDs) > 0 {
		if !filterEmpty(req.Filter) {
			return nil, false, badRequest("ids", "give run IDs or a filter, not both")
		}
		if len(req.IDs) > limit {
			return nil, false, badRequest("ids", "%d runs: at most %d a request", len(req.IDs), limit)
		}
		seen := map[string]bool{}
		for _, id := range req.IDs {
			if strings.TrimSpace(id) == "" {
				return nil, false, badRequest("ids", "empty run ID")
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		return ids, false, nil
	}
	f, err := bulkStoreFilter(req.Filter)
	if err != nil {
		return nil, false, err
	}
	if filterEmpty(req.Filter) {
		// A bulk action over every run is too easy to send by mistake.
		return nil, false, badRequest("filter", "empty: name states, a deployment, a flow, a tag, an origin or a time range (or run IDs)")
	}
	for {
		f.Limit = min(1000, limit-len(ids)+1)
		runs, next, err := s.st.ListRuns(ctx, f)
		if err != nil {
			return nil, false, err
		}
		for _, run := range runs {
			if len(ids) == limit {
				return ids, true, nil
			}
			ids = append(ids, run.ID)
		}
		if next == "" {
			return ids, false, nil
		}
		f.Cursor = next
	}
}

// bulkMessage is the message of a state a bulk action sets: the reason
// given, what was done and who asked, as a single cancel records it.
func bulkMessage(reason, done, by string) string {
	msg := done + " by " + by + " (bulk)"
	if reason != "" {
		msg = reason + " (" + done + " by " + by + ", bulk)"
	}
	return msg
}

// bulkOne applies req's action to one run for by.
func (s *Server) bulkOne(ctx context.Context, req wire.BulkRuns, id, by string) (flow.State, error) {
	switch req.Action {
	case wire.BulkCancel:
		return s.st.CancelRun(ctx, id, bulkMessage(req.Reason, "cancelled", by))
	case wire.BulkRetry:
		run, err := s.st.GetRun(ctx, id)
		if err != nil {
			return flow.State{}, err
		}
		if run.State.Type != flow.TypeFailed && run.State.Type != flow.TypeCrashed {
			return flow.State{}, &Error{Status: http.StatusConflict, Field: "state",
				Msg: fmt.Sprintf("run %s is %s: only Failed and Crashed runs are retried", id, run.State.Name)}
		}
		st := flow.AwaitingRetry(s.opts.Now(), bulkMessage(req.Reason, "retried", by))
		run, err = s.st.SetRunState(ctx, id, st, nil)
		return run.State, err
	case wire.BulkSetState:
		st := *req.State
		if st.Message == "" {
			st.Message = bulkMessage(req.Reason, "set", by)
		}
		run, err := s.st.SetRunState(ctx, id, st, nil)
		return run.State, err
	}
	return flow.State{}, errors.New("unreachable: action checked")
}

func filterEmpty(f wire.BulkFilter) bool {
	return len(f.States) == 0 && f.Deployment == "" && f.Flow == "" && f.Tag == "" && f.Origin == "" &&
		f.CreatedAfter.IsZero() && f.CreatedBefore.IsZero()
}

// bulkStoreFilter checks f as listRuns checks its query.
func bulkStoreFilter(f wire.BulkFilter) (store.RunFilter, error) {
	out := store.RunFilter{Deployment: f.Deployment, Flow: f.Flow, Tag: f.Tag, Origin: store.OriginKind(f.Origin),
		CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore}
	switch out.Origin {
	case "", store.OriginSchedule, store.OriginTrigger, store.OriginAPI, store.OriginSubflow, store.OriginFlow:
	default:
		return out, badRequest("filter.origin", "%q: want schedule, trigger, api, subflow or flow", f.Origin)
	}
	for _, t := range f.States {
		st := flow.StateType(strings.ToUpper(strings.TrimSpace(string(t))))
		if !validType(st) {
			return out, badRequest("filter.states", "%q is not a state type (SCHEDULED, PENDING, RUNNING, ...)", t)
		}
		out.States = append(out.States, st)
	}
	return out, nil
}
