package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Change windows (runtime/window): read the deployments' calendars (next
// openings, freezes) and let a run waiting for its window start at once,
// with a reason. Overriding needs runs.override-window, which the
// approver role holds (and admin): letting a change out of its window is
// an approval of that change, not an operation, so an operator who
// creates a run cannot also push it past change control alone.

func (s *Server) windowRoutes() {
	s.handle("GET /api/v1/windows", need(PermRead), s.listWindows)
	s.handle("POST /api/v1/runs/{id}/override-window", need(PermRunsOverrideWindow), s.overrideWindow)
}

// maxOpenings bounds the openings listed per deployment.
const maxOpenings = 20

func (s *Server) listWindows(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	count := 3
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > maxOpenings {
			return &Error{Status: http.StatusBadRequest, Field: "count", Msg: "want a number from 1 to " + strconv.Itoa(maxOpenings)}
		}
		count = n
	}
	var deps []store.Deployment
	if name := q.Get("deployment"); name != "" {
		d, err := s.st.GetDeployment(r.Context(), name)
		if err != nil {
			return err
		}
		deps = []store.Deployment{d}
	} else {
		all, err := s.st.ListDeployments(r.Context())
		if err != nil {
			return err
		}
		for _, d := range all {
			if d.Calendar != nil && !d.Calendar.IsZero() {
				deps = append(deps, d)
			}
		}
	}
	// Blocks are read once, only when a calendar names one; their data
	// holds no secret values (ListBlocks).
	var blocks map[string]json.RawMessage
	for _, d := range deps {
		if d.Calendar != nil && d.Calendar.Block != "" && blocks == nil {
			list, err := s.st.ListBlocks(r.Context())
			if err != nil {
				return err
			}
			blocks = make(map[string]json.RawMessage, len(list))
			for _, b := range list {
				blocks[b.Name] = b.Data
			}
		}
	}
	now := s.opts.Now()
	out := wire.Windows{Items: []wire.DeploymentWindows{}}
	for _, d := range deps {
		item := wire.DeploymentWindows{Deployment: d.Name, Calendar: d.Calendar, At: now}
		var data json.RawMessage
		if d.Calendar != nil && d.Calendar.Block != "" {
			data = blocks[d.Calendar.Block]
		}
		cal, err := store.EffectiveCalendar(d, data)
		switch {
		case err != nil:
			item.Error = err.Error()
		case cal == nil:
			item.Status.Open = true
		default:
			item.Status = cal.Open(now)
			item.Next = cal.Openings(now, count)
			item.Freezes = cal.Freezes(now)
		}
		out.Items = append(out.Items, item)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) overrideWindow(w http.ResponseWriter, r *http.Request) error {
	ov, ok := store.As[store.WindowOverrider](s.st)
	if !ok {
		return &Error{Status: http.StatusNotImplemented, Msg: "this store has no change windows"}
	}
	var req wire.OverrideWindow
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return &Error{Status: http.StatusBadRequest, Field: "reason", Msg: "required: say why the run may start outside its change window"}
	}
	id := r.PathValue("id")
	by, _ := Identity(r.Context())
	run, err := ov.OverrideWindow(r.Context(), id, by, req.Reason)
	if errors.Is(err, store.ErrNotAwaitingWindow) {
		return &Error{Status: http.StatusConflict, Field: "state", Msg: err.Error()}
	}
	if err != nil {
		return err
	}
	s.log.Info("change window overridden", "run_id", id, "by", by)
	return writeJSON(w, http.StatusOK, run)
}
