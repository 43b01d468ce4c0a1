package api

import (
	"bytes"
	"fmt"
	"net/http"

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
