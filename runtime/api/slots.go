package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// maxSlotLease bounds the lease of a run's slot holding: a child that
// dies frees its slots after at most that long (or at once, when its run
// is crashed).
const maxSlotLease = 10 * time.Minute

// slotHolder returns the store's name of a run's slot holding: the run's
// prefix keeps the holdings of different runs apart (a token may touch
// its run's only) and lets the store free them when the run is crashed.
func slotHolder(runID, holder string) (string, error) {
	switch {
	case strings.TrimSpace(holder) == "":
		return "", badRequest("holder", "empty")
	case len(holder) > 128:
		return "", badRequest("holder", "longer than 128 bytes")
	}
	return store.SlotHolderPrefix(runID) + holder, nil
}

// checkExecution refuses (409, field fence) a run token whose execution
// is no longer the run's current one: a stale child takes no slot.
func (s *Server) checkExecution(r *http.Request, runID string) error {
	p := PrincipalFrom(r.Context())
	if p.Run == "" {
		return nil
	}
	run, err := s.st.GetRun(r.Context(), runID)
	if err != nil {
		return err
	}
	// A final run still takes slots: its compensations run after its
	// final state.
	f := p.fence
	if run.Attempt != f.Attempt || (f.Worker != "" && run.Worker != f.Worker) {
		return &store.FencedError{Fence: f, Worker: run.Worker, Attempt: run.Attempt}
	}
	return nil
}

// runTagLimits answers the tag limits to a run's child.
func (s *Server) runTagLimits(w http.ResponseWriter, r *http.Request) error {
	limits, err := s.st.TagLimits(r.Context())
	if err != nil {
		return err
	}
	if limits == nil {
		limits = map[string]int{}
	}
	return writeJSON(w, http.StatusOK, wire.TagLimits{Limits: limits})
}

// acquireSlots takes slots of the tags in the body for a holding of the
// run in the path: how a run in a child process or container honours tag
// limits, across every worker.
func (s *Server) acquireSlots(w http.ResponseWriter, r *http.Request) error {
	var req wire.AcquireSlots
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	holder, err := slotHolder(id, req.Holder)
	if err != nil {
		return err
	}
	if req.Lease <= 0 || req.Lease > maxSlotLease {
		return badRequest("lease", "want a positive duration (nanoseconds) of at most %s", maxSlotLease)
	}
	if len(req.Tags) == 0 {
		return badRequest("tags", "empty")
	}
	if err := s.checkExecution(r, id); err != nil {
		return err
	}
	ok, err := s.st.AcquireSlots(r.Context(), holder, req.Tags, s.opts.Now().Add(req.Lease))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.SlotsAnswer{Acquired: ok})
}

// renewSlots extends a holding of the run in the path.
func (s *Server) renewSlots(w http.ResponseWriter, r *http.Request) error {
	var req wire.RenewSlots
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	holder, err := slotHolder(id, r.PathValue("holder"))
	if err != nil {
		return err
	}
	if req.Lease <= 0 || req.Lease > maxSlotLease {
		return badRequest("lease", "want a positive duration (nanoseconds) of at most %s", maxSlotLease)
	}
	if err := s.checkExecution(r, id); err != nil {
		return err
	}
	if err := s.st.RenewSlots(r.Context(), holder, s.opts.Now().Add(req.Lease)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.SlotsAnswer{Acquired: true})
}

// releaseSlots frees a holding of the run in the path.
func (s *Server) releaseSlots(w http.ResponseWriter, r *http.Request) error {
	holder, err := slotHolder(r.PathValue("id"), r.PathValue("holder"))
	if err != nil {
		return err
	}
	if err := s.st.ReleaseSlots(r.Context(), holder); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
