package infrahubtest

import (
	"crypto/md5" //nolint:gosec // Infrahub's artifact checksum is an MD5 hex digest
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/netauto-dev/netauto/infrahub"
)

// SetArtifactContent sets what the artifact's transformation renders from
// now on, since the fake cannot run transformations. The next generation
// of the artifact (POST /api/artifact/generate/<definition>) stores it
// under a new storage id and sends infrahub.artifact.updated, unless its
// checksum equals the artifact's: then, as in Infrahub, nothing changes
// and no event is sent. Until it is called, an artifact renders its
// current content.
func (s *Server) SetArtifactContent(artifactID string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renders[artifactID] = slices.Clone(content)
}

// artifactContent answers GET /api/artifact/<id> (opsmill/infrahub
// backend/infrahub/api/artifact.py get_artifact): the stored object, or
// NodeNotFoundError (404) when the branch has no such artifact.
func (s *Server) artifactContent(w http.ResponseWriter, r *http.Request, id string) {
	if !s.restBranch(w, r) {
		return
	}
	branch := r.URL.Query().Get("branch")
	if branch == "" {
		branch = s.opts.DefaultBranch
	}
	s.mu.Lock()
	b := s.branches[branch]
	var (
		content     []byte
		contentType string
		found       bool
	)
	if n := b.nodes[id]; n != nil && n.kind == "CoreArtifact" {
		sid, _ := n.attrs["storage_id"].(string)
		contentType, _ = n.attrs["content_type"].(string)
		content, found = s.storage[sid]
	}
	s.mu.Unlock()
	if !found {
		writeErrors(w, http.StatusNotFound, nodeNotFound(id, "CoreArtifact"))
		return
	}
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	_, _ = w.Write(content)
}

// generateArtifacts answers POST /api/artifact/generate/<definition id>
// as Infrahub does (backend/infrahub/api/artifact.py generate_artifact):
// it checks the branch and the definition, queues the generation and
// answers 200 with a null body at once. "nodes" in the body limits the
// generation to those artifact ids (not target ids: the SDK's
// artifact_generate sends [artifact.id], and
// generate_request_artifact_definition in backend/infrahub/git/tasks.py
// skips members whose artifact id is not in the limit).
//
// The generation runs afterwards, as Infrahub's workers do
// (InfrahubRepository.render_artifact in backend/infrahub/git/integrator.py):
// the content is rendered, its MD5 checksum compared with the artifact's,
// and when equal nothing is stored, saved or sent. Otherwise the content
// is uploaded under a new storage id, the artifact saved (an
// infrahub.node.updated event for CoreArtifact, as any mutation) and
// infrahub.artifact.updated sent with the previous and new checksum and
// storage id.
func (s *Server) generateArtifacts(w http.ResponseWriter, r *http.Request, defID string) {
	var in struct {
		Nodes []string `json:"nodes"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": "invalid body: " + err.Error()})
		return
	}
	if !s.restBranch(w, r) {
		return
	}
	branch := r.URL.Query().Get("branch")
	if branch == "" {
		branch = s.opts.DefaultBranch
	}
	s.mu.Lock()
	b := s.branches[branch]
	if def := b.nodes[defID]; def == nil || def.kind != "CoreArtifactDefinition" {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, nodeNotFound(defID, "CoreArtifactDefinition"))
		return
	}
	if s.ctx.Err() == nil {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.generate(branch, defID, in.Nodes)
		}()
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, nil)
}

// generate renders the definition's artifacts on branch (those in limit
// when it is not empty) and saves those whose content changed.
func (s *Server) generate(branch, defID string, limit []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.branches[branch]
	if b == nil || s.ctx.Err() != nil {
		return // the branch went away meanwhile, or the fake closed
	}
	def := b.nodes[defID]
	if def == nil {
		return
	}
	ec := &execContext{s: s, branch: branch}
	for _, n := range s.nodesOf(b, "CoreArtifact") {
		if firstOf(n.rels["definition"]) != defID || len(limit) > 0 && !slices.Contains(limit, n.id) {
			continue
		}
		oldSID, _ := n.attrs["storage_id"].(string)
		oldSum, _ := n.attrs["checksum"].(string)
		content, staged := s.renders[n.id]
		if !staged {
			content = s.storage[oldSID]
		}
		sum := md5.Sum(content) //nolint:gosec // Infrahub's checksum format
		checksum := hex.EncodeToString(sum[:])
		if checksum == oldSum {
			continue // unchanged: no upload, no save, no event
		}
		sid := newID()
		s.storage[sid] = content
		updated := n.clone()
		updated.attrs["storage_id"], updated.attrs["checksum"], updated.attrs["status"] = sid, checksum, "Ready"
		s.commit(b, n, updated)
		ec.nodeEvent(b, infrahub.EventNodeUpdated, "updated", n, updated)
		target := firstOf(n.rels["object"])
		targetKind := ""
		if t := b.nodes[target]; t != nil {
			targetKind = t.kind
		}
		br := branch
		ec.events = append(ec.events, pendingEvent{typ: infrahub.EventArtifactUpdated, branch: &br, data: map[string]any{
			"node_id": n.id, "artifact_definition_id": defID, "artifact_definition_name": def.attrs["name"],
			"target_id": target, "target_kind": targetKind, "checksum": checksum, "checksum_previous": oldSum,
			"storage_id": sid, "storage_id_previous": oldSID,
		}})
	}
	s.enqueue(ec.events)
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
