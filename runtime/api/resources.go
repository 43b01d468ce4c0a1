package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.st.ListFlows(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(fs))
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) error {
	f, err := s.st.GetFlow(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

// registerFlow registers a flow version with its parameter schema, which
// must compile: a schema that does not would reject every run.
func (s *Server) registerFlow(w http.ResponseWriter, r *http.Request) error {
	var f store.Flow
	if err := decode(w, r, s.opts.MaxBodyBytes, &f); err != nil {
		return err
	}
	if f.Name == "" {
		f.Name = r.PathValue("name")
	}
	if f.Name != r.PathValue("name") {
		return badRequest("name", "%q does not match the path's %q", f.Name, r.PathValue("name"))
	}
	if _, err := s.schemas.validator(f); err != nil {
		return badRequest("parameters", "%v", err)
	}
	if err := s.st.RegisterFlow(r.Context(), f); err != nil {
		return err
	}
	got, err := s.st.GetFlow(r.Context(), f.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, got)
}

func (s *Server) listPools(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.st.ListPools(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(ps))
}

func (s *Server) getPool(w http.ResponseWriter, r *http.Request) error {
	p, err := s.st.GetPool(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) applyPool(w http.ResponseWriter, r *http.Request) error {
	var p store.Pool
	if err := decode(w, r, s.opts.MaxBodyBytes, &p); err != nil {
		return err
	}
	if p.Name == "" {
		p.Name = r.PathValue("name")
	}
	if p.Name != r.PathValue("name") {
		return badRequest("name", "%q does not match the path's %q", p.Name, r.PathValue("name"))
	}
	if err := s.opts.Launchers.CheckJobTemplate(p); err != nil {
		return fieldRequest("job_template", err)
	}
	if err := s.st.ApplyPool(r.Context(), p); err != nil {
		return err
	}
	got, err := s.st.GetPool(r.Context(), p.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, got)
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) error {
	qs, err := s.st.ListQueues(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(qs))
}

func (s *Server) applyQueue(w http.ResponseWriter, r *http.Request) error {
	var q store.Queue
	if err := decode(w, r, s.opts.MaxBodyBytes, &q); err != nil {
		return err
	}
	pool, name := r.PathValue("name"), r.PathValue("queue")
	if (q.Pool != "" && q.Pool != pool) || (q.Name != "" && q.Name != name) {
		return badRequest("name", "pool and queue names must match the path")
	}
	q.Pool, q.Name = pool, name
	if err := s.st.ApplyQueue(r.Context(), q); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}

// claimRun gives a due run of the pool to the worker named in the body.
func (s *Server) claimRun(w http.ResponseWriter, r *http.Request) error {
	var c wire.Claim
	if err := decode(w, r, s.opts.MaxBodyBytes, &c); err != nil {
		return err
	}
	if c.Worker == "" {
		return badRequest("worker", "empty")
	}
	if c.Lease <= 0 {
		return badRequest("lease", "want a positive duration (nanoseconds)")
	}
	if err := requirePool(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	run, ok, err := s.st.ClaimRun(r.Context(), store.Claim{Pool: r.PathValue("name"), Queues: c.Queues, Worker: c.Worker, Lease: c.Lease, Now: s.opts.Now()})
	if err != nil {
		return err
	}
	if !ok {
		return writeJSON(w, http.StatusOK, wire.Claimed{})
	}
	s.notify.wake(run.ID)
	return writeJSON(w, http.StatusOK, wire.Claimed{Run: &run})
}

func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.st.ListWorkers(r.Context(), r.URL.Query().Get("pool"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(ws))
}

// heartbeat records that the worker in the path is alive.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) error {
	var wk store.Worker
	if err := decode(w, r, s.opts.MaxBodyBytes, &wk); err != nil {
		return err
	}
	if wk.Name == "" {
		wk.Name = r.PathValue("name")
	}
	if wk.Name != r.PathValue("name") {
		return badRequest("name", "%q does not match the path's %q", wk.Name, r.PathValue("name"))
	}
	if err := requirePool(r.Context(), wk.Pool); err != nil {
		return err
	}
	if err := s.st.Heartbeat(r.Context(), wk); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wk)
}

// masked replaces every secret value of a block.
const masked = "********"

func (s *Server) listBlocks(w http.ResponseWriter, r *http.Request) error {
	bs, err := s.st.ListBlocks(r.Context())
	if err != nil {
		return err
	}
	out := make([]maskedBlock, len(bs))
	for i := range bs {
		out[i] = maskBlock(bs[i])
	}
	return writeJSON(w, http.StatusOK, out)
}

// getBlock answers a block with its secret fields named and masked: the
// API never sends a secret value.
func (s *Server) getBlock(w http.ResponseWriter, r *http.Request) error {
	b, err := s.st.GetBlock(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, maskBlock(b))
}

// maskedBlock is a block as the API shows it.
type maskedBlock struct {
	store.Block
	Secrets map[string]string `json:"secrets,omitempty"`
}

func maskBlock(b store.Block) maskedBlock {
	out := maskedBlock{Block: b}
	out.Block.Secrets = nil
	names := b.SecretFields
	for k := range b.Secrets {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	out.SecretFields = names
	if len(names) > 0 {
		out.Secrets = make(map[string]string, len(names))
		for _, k := range names {
			out.Secrets[k] = masked
		}
	}
	return out
}

// saveBlock creates or replaces a block, secret values included (they
// are encrypted by the store and never sent back).
func (s *Server) saveBlock(w http.ResponseWriter, r *http.Request) error {
	var b store.Block
	if err := decode(w, r, s.opts.MaxBodyBytes, &b); err != nil {
		return err
	}
	if b.Name == "" {
		b.Name = r.PathValue("name")
	}
	if b.Name != r.PathValue("name") {
		return badRequest("name", "%q does not match the path's %q", b.Name, r.PathValue("name"))
	}
	if err := s.st.SaveBlock(r.Context(), b); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, maskBlock(b))
}

func (s *Server) deleteBlock(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteBlock(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listVariables(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.st.ListVariables(r.Context())
	if err != nil {
		return err
	}
	if vs == nil {
		vs = map[string]json.RawMessage{}
	}
	return writeJSON(w, http.StatusOK, vs)
}

func (s *Server) getVariable(w http.ResponseWriter, r *http.Request) error {
	v, err := s.st.GetVariable(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.Value{Value: v})
}

// setVariable stores the body's value: {"value": <any JSON>}.
func (s *Server) setVariable(w http.ResponseWriter, r *http.Request) error {
	var v wire.Value
	if err := decode(w, r, s.opts.MaxBodyBytes, &v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(v.Value)) == 0 {
		return badRequest("value", "missing")
	}
	if err := s.st.SetVariable(r.Context(), r.PathValue("name"), v.Value); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteVariable(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteVariable(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listTagLimits answers every tag concurrency limit, by tag or pattern.
func (s *Server) listTagLimits(w http.ResponseWriter, r *http.Request) error {
	limits, err := s.st.TagLimits(r.Context())
	if err != nil {
		return err
	}
	if limits == nil {
		limits = map[string]int{}
	}
	return writeJSON(w, http.StatusOK, wire.TagLimits{Limits: limits})
}

// setTagLimit sets the limit of the tag (or "prefix*" pattern) in the
// path; a limit of 0 removes it.
func (s *Server) setTagLimit(w http.ResponseWriter, r *http.Request) error {
	var req wire.TagLimit
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Limit == nil {
		return badRequest("limit", "missing")
	}
	if *req.Limit < 0 {
		return badRequest("limit", "negative")
	}
	tag := r.PathValue("tag")
	if err := s.st.SetTagLimit(r.Context(), tag, *req.Limit); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.TagLimit{Tag: tag, Limit: req.Limit})
}

// nonNil makes an empty list encode as [], not null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// whoami answers who the server takes the caller for.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	return writeJSON(w, http.StatusOK, wire.Principal{Name: p.Name, Role: string(p.Role), Pools: p.Pools, Run: p.Run})
}
