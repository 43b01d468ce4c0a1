package infrahubtest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/netauto-dev/netauto/infrahub"
)

// pendingEvent is an event of the log, sent by webhook once the mutation
// is done. id and at are set when it is recorded.
type pendingEvent struct {
	id     string
	at     time.Time
	typ    string
	branch *string
	data   map[string]any
}

// mutate answers a root mutation field. The caller holds s.mu.
func (ec *execContext) mutate(f *ast.Field) (any, error) {
	s := ec.s
	args := f.ArgumentMap(ec.vars)
	data, _ := args["data"].(map[string]any)
	switch f.Name {
	case "BranchCreate":
		return ec.branchCreate(f, data)
	case "BranchMerge", "BranchRebase", "BranchDelete":
		return ec.branchOp(f, data)
	case "RelationshipAdd", "RelationshipRemove":
		return ec.relationship(f, data)
	case "__typename":
		return "Mutation", nil
	}
	for _, op := range []string{"Create", "Update", "Upsert", "Delete"} {
		kind, ok := strings.CutSuffix(f.Name, op)
		if !ok || s.reg.kinds[kind] == nil {
			continue
		}
		b := s.branches[ec.branch]
		var (
			n   *node
			err error
		)
		switch op {
		case "Create":
			n, err = ec.write(b, kind, nil, data, false)
		case "Update":
			old, ferr := s.findByRef(b, kind, data)
			if ferr != nil {
				return nil, ferr
			}
			n, err = ec.write(b, kind, old, data, false)
		case "Upsert":
			n, err = ec.upsert(b, kind, data)
		case "Delete":
			old, ferr := s.findByRef(b, kind, data)
			if ferr != nil {
				return nil, ferr
			}
			deleted, err := s.deleteNode(b, old)
			if err != nil {
				return nil, err
			}
			for _, d := range deleted {
				ec.nodeEvent(b, infrahub.EventNodeDeleted, "deleted", d, nil)
			}
			return ec.object(f.SelectionSet, f.Name, map[string]any{"ok": true}), nil
		}
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, sf := range ec.fields(f.SelectionSet, "") {
			switch sf.Name {
			case "ok":
				out[alias(sf)] = true
			case "object":
				rendered, err := ec.renderNode(b, n, sf.SelectionSet)
				if err != nil {
					return nil, err
				}
				out[alias(sf)] = rendered
			case "__typename":
				out[alias(sf)] = f.Name
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("mutation %s is not supported by the fake", f.Name)
}

// upsert is <Kind>Upsert as InfrahubMutationMixin.mutate_upsert in
// opsmill/infrahub backend/infrahub/graphql/mutations/main.py does it: with
// an id, the node must exist (NodeNotFoundError otherwise) and is updated;
// with an hfid, the node having it is updated; otherwise (or when no node
// has that hfid) the node is created without the hfid, and when only its
// human-friendly id's uniqueness constraint is violated
// (HFIDViolatedError) the node holding it is updated instead, without
// checking uniqueness again.
func (ec *execContext) upsert(b *branchState, kind string, data map[string]any) (*node, error) {
	s := ec.s
	if id, _ := data["id"].(string); id != "" {
		old, err := s.findByRef(b, kind, map[string]any{"id": id})
		if err != nil {
			return nil, err
		}
		return ec.write(b, kind, old, data, false)
	}
	if _, ok := data["hfid"].([]any); ok {
		if old, err := s.findByRef(b, kind, map[string]any{"hfid": data["hfid"]}); err == nil {
			return ec.write(b, kind, old, data, false)
		}
	}
	create := maps.Clone(data)
	delete(create, "hfid")
	n, err := ec.write(b, kind, nil, create, false)
	var hv *errHFIDViolated
	if errors.As(err, &hv) {
		return ec.write(b, kind, b.nodes[hv.other], data, true)
	}
	return n, err
}

// write creates (old == nil) or updates a node from mutation data; nothing
// is stored when it fails. skipUnique is an upsert's update of the node
// that holds the human-friendly id.
func (ec *execContext) write(b *branchState, kind string, old *node, data map[string]any, skipUnique bool) (*node, error) {
	s := ec.s
	if s.reg.kinds[kind].generic {
		// InfrahubMutationMixin.mutate_create_object.
		return nil, inputErrorf("Node of generic schema `%s` can not be instantiated.", kind)
	}
	var n *node
	if old == nil {
		id, err := s.newNodeID(data)
		if err != nil {
			return nil, err
		}
		n = &node{id: id, kind: kind, attrs: map[string]any{}, rels: map[string][]string{}}
	} else {
		n = old.clone()
	}
	if err := s.applyData(b, n, data); err != nil {
		return nil, err
	}
	if err := s.checkRequired(n, old, data); err != nil {
		return nil, err
	}
	if !skipUnique {
		// A create checks every constraint; an update those naming a field
		// it sets, and optional unique attributes
		// (mutate_update_object; _should_implicitly_check_uniqueness).
		var fields map[string]bool
		if old != nil {
			fields = map[string]bool{}
			for name := range data {
				fields[name] = true
			}
			for _, a := range s.reg.kinds[kind].Attributes {
				if a.Unique && a.Optional {
					fields[a.Name] = true
				}
			}
		}
		if err := s.checkUnique(b, n, fields); err != nil {
			return nil, err
		}
	}
	s.commit(b, old, n)
	if old == nil {
		ec.nodeEvent(b, infrahub.EventNodeCreated, "created", nil, n)
	} else {
		ec.nodeEvent(b, infrahub.EventNodeUpdated, "updated", old, n)
	}
	return n, nil
}

// newNodeID is the id of a node to create: the one the data gives, which
// must be a UUID no node of any branch has (Node.new in opsmill/infrahub
// backend/infrahub/core/node/__init__.py), or a new one.
func (s *Server) newNodeID(data map[string]any) (string, error) {
	id, _ := data["id"].(string)
	if id == "" {
		return newID(), nil
	}
	if !validUUID(id) {
		return "", attrErrorf("id", "%s is not a valid UUID", id)
	}
	for _, b := range s.branches {
		if b.nodes[id] != nil {
			return "", attrErrorf("id", "%s is already in use", id)
		}
	}
	return id, nil
}

// validUUID reports whether Python's uuid.UUID accepts s (what
// infrahub_sdk.utils.is_valid_uuid checks): 32 hex digits, with hyphens
// anywhere, optionally in braces or after "urn:uuid:".
func validUUID(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// nodeEvent queues a node event with a changelog like Infrahub's.
func (ec *execContext) nodeEvent(b *branchState, typ, action string, old, n *node) {
	subject := n
	if subject == nil {
		subject = old
	}
	empty := &node{attrs: map[string]any{}, rels: map[string][]string{}}
	before, after := old, n
	if before == nil {
		before = empty
	}
	if after == nil {
		after = empty
	}
	k := ec.s.reg.kinds[subject.kind]
	attrs := map[string]any{}
	rels := map[string]any{}
	var fields []string
	for _, a := range k.Attributes {
		prev, now := before.attrs[a.Name], after.attrs[a.Name]
		_, had := before.attrs[a.Name]
		_, has := after.attrs[a.Name]
		if fmt.Sprint(prev) == fmt.Sprint(now) && had == has {
			continue
		}
		status := "updated"
		switch {
		case !had:
			status = "added"
		case !has:
			status = "removed"
		}
		fields = append(fields, a.Name)
		attrs[a.Name] = map[string]any{"kind": a.Kind, "name": a.Name, "value": now, "properties": map[string]any{},
			"value_previous": prev, "value_update_status": status}
	}
	for _, rl := range k.Relationships {
		prev, now := before.rels[rl.Name], after.rels[rl.Name]
		if slices.Equal(prev, now) {
			continue
		}
		fields = append(fields, rl.Name)
		kindOf := func(id string) any {
			if p := b.nodes[id]; p != nil {
				return p.kind
			}
			return nil
		}
		if rl.Cardinality == "one" {
			ch := map[string]any{"name": rl.Name, "cardinality": "one", "properties": map[string]any{},
				"peer_id": nil, "peer_kind": nil, "peer_id_previous": nil, "peer_kind_previous": nil}
			if len(now) > 0 {
				ch["peer_id"], ch["peer_kind"] = now[0], kindOf(now[0])
			}
			if len(prev) > 0 {
				ch["peer_id_previous"], ch["peer_kind_previous"] = prev[0], kindOf(prev[0])
			}
			rels[rl.Name] = ch
			continue
		}
		var peers []any
		for _, id := range now {
			if !slices.Contains(prev, id) {
				peers = append(peers, map[string]any{"peer_id": id, "peer_kind": kindOf(id), "peer_status": "added", "properties": map[string]any{}})
			}
		}
		for _, id := range prev {
			if !slices.Contains(now, id) {
				peers = append(peers, map[string]any{"peer_id": id, "peer_kind": kindOf(id), "peer_status": "removed", "properties": map[string]any{}})
			}
		}
		rels[rl.Name] = map[string]any{"name": rl.Name, "cardinality": "many", "peers": peers}
	}
	branch := ec.branch
	ec.events = append(ec.events, pendingEvent{typ: typ, branch: &branch, data: map[string]any{
		"kind": subject.kind, "action": action, "fields": orEmptyStrings(fields), "node_id": subject.id,
		"changelog": map[string]any{"node_id": subject.id, "node_kind": subject.kind, "attributes": attrs,
			"display_label": ec.s.displayLabel(b, subject), "relationships": rels},
	}})
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// relationship is RelationshipAdd and RelationshipRemove as
// opsmill/infrahub 1.0 backend/infrahub/graphql/mutations/relationship.py
// checks them: the relationship must exist and be of cardinality many,
// every peer must exist and be of the peer kind, and RelationshipAdd
// refuses a peer already attached to another node through a relationship
// of cardinality one on its side.
func (ec *execContext) relationship(f *ast.Field, data map[string]any) (any, error) {
	s := ec.s
	b := s.branches[ec.branch]
	id, _ := data["id"].(string)
	name, _ := data["name"].(string)
	old := b.nodes[id]
	if old == nil {
		return nil, inputErrorf("Unable to find the node %s in the database.", id)
	}
	rl := s.reg.kinds[old.kind].rels[name]
	if rl == nil {
		return nil, attrErrorf("name", "'%s' is not a valid relationship for '%s'", name, old.kind)
	}
	if rl.Cardinality != "many" {
		return nil, attrErrorf("name", "'%s' must be a relationship of cardinality Many", name)
	}
	n := old.clone()
	refs, _ := data["nodes"].([]any)
	var peers []*node
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		pid, _ := ref["id"].(string)
		peer := b.nodes[pid]
		if peer == nil {
			var err error
			if peer, err = s.findByRef(b, rl.Peer, ref); err != nil {
				return nil, inputErrorf("'%s': Unable to find the node in the database.", pid)
			}
		}
		if !s.reg.kinds[peer.kind].is(rl.Peer) {
			return nil, inputErrorf("'%s' '%s' is not a valid peer for '%s'", peer.id, peer.kind, rl.Peer)
		}
		if f.Name == "RelationshipAdd" {
			for _, prl := range s.reg.kinds[peer.kind].Relationships {
				if prl.Identifier == rl.Identifier && prl.Cardinality == "one" {
					if cur := peer.rels[prl.Name]; len(cur) > 0 && cur[0] != id {
						return nil, inputErrorf("'%s' '%s' is already related to another peer on '%s'", peer.id, peer.kind, prl.Name)
					}
				}
			}
		}
		peers = append(peers, peer)
	}
	for _, peer := range peers {
		if f.Name == "RelationshipAdd" && !slices.Contains(n.rels[name], peer.id) {
			n.rels[name] = append(n.rels[name], peer.id)
		}
		if f.Name == "RelationshipRemove" {
			n.rels[name] = slices.DeleteFunc(n.rels[name], func(x string) bool { return x == peer.id })
		}
	}
	s.commit(b, old, n)
	ec.nodeEvent(b, infrahub.EventNodeUpdated, "updated", old, n)
	return ec.object(f.SelectionSet, f.Name, map[string]any{"ok": true}), nil
}

func branchMap(b *branchState) map[string]any {
	i := b.info
	return map[string]any{"id": i.ID, "name": i.Name, "description": i.Description, "origin_branch": i.OriginBranch,
		"branched_from": i.BranchedFrom, "status": i.Status, "created_at": i.BranchedFrom, "sync_with_git": i.SyncWithGit,
		"is_default": i.IsDefault, "has_schema_changes": false}
}

func (ec *execContext) branchCreate(f *ast.Field, data map[string]any) (any, error) {
	s := ec.s
	name, _ := data["name"].(string)
	// BranchCreate.mutate in opsmill/infrahub
	// backend/infrahub/graphql/mutations/branch.py checks that the branch
	// does not exist, then the Branch model validates the name.
	if s.branches[name] != nil {
		return nil, inputErrorf("The branch %s, already exist", name)
	}
	if err := validateBranchName(name); err != nil {
		return nil, err
	}
	nb := s.branches[s.opts.DefaultBranch].cloneData(name)
	nb.info.Description, _ = data["description"].(string)
	nb.info.SyncWithGit, _ = data["sync_with_git"].(bool)
	s.branches[name] = nb
	s.branchOrder = append(s.branchOrder, name)
	ec.events = append(ec.events, pendingEvent{typ: infrahub.EventBranchCreated, data: map[string]any{
		"branch_id": nb.info.ID, "branch_name": name, "sync_with_git": nb.info.SyncWithGit}})
	return ec.branchAnswer(f, nb), nil
}

func (ec *execContext) branchAnswer(f *ast.Field, b *branchState) map[string]any {
	out := map[string]any{}
	for _, sf := range ec.fields(f.SelectionSet, "") {
		switch sf.Name {
		case "ok":
			out[alias(sf)] = true
		case "object":
			out[alias(sf)] = ec.object(sf.SelectionSet, "Branch", branchMap(b))
		case "task":
			out[alias(sf)] = nil // wait_until_completion: done
		case "__typename":
			out[alias(sf)] = f.Name
		}
	}
	return out
}

// validateBranchName checks a new branch's name as the Branch model of
// opsmill/infrahub backend/infrahub/core/branch.py does: 3 to 250
// characters (pydantic's message, as BranchCreate reports it) and git's
// ref-name rules (validate_branch_name).
func validateBranchName(n string) error {
	switch l := utf8.RuneCountInString(n); {
	case l < 3:
		return inputErrorf("invalid field name: String should have at least 3 characters")
	case l > 250:
		return inputErrorf("invalid field name: String should have at most 250 characters")
	}
	checks := []struct {
		bad  func(string) bool
		what string
	}{
		{func(s string) bool { return strings.Contains(s, "/.") }, "/."},
		{func(s string) bool { return strings.Contains(s, "..") }, ".."},
		{func(s string) bool { return strings.HasPrefix(s, "/") }, "starts with /"},
		{func(s string) bool { return strings.Contains(s, "//") }, "//"},
		{func(s string) bool { return strings.Contains(s, "@{") }, "@{"},
		{func(s string) bool { return strings.Contains(s, `\`) }, "backslash (\\)"},
		{func(s string) bool {
			return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[", r) })
		}, "disallowed ASCII characters/patterns"},
		{func(s string) bool { return strings.HasSuffix(s, ".lock") }, "ends with .lock"},
		{func(s string) bool { return strings.HasSuffix(s, "/") }, "ends with /"},
		{func(s string) bool { return strings.HasSuffix(s, ".") }, "ends with ."},
	}
	var bad []string
	for _, c := range checks {
		if c.bad(n) {
			bad = append(bad, c.what)
		}
	}
	if len(bad) > 0 && n != "-global-" {
		return inputErrorf("Branch name contains invalid patterns or characters: %s", strings.Join(bad, ", "))
	}
	return nil
}

func (ec *execContext) branchOp(f *ast.Field, data map[string]any) (any, error) {
	s := ec.s
	name, _ := data["name"].(string)
	b := s.branches[name]
	if b == nil {
		return nil, inputErrorf("Branch: %s not found.", name)
	}
	if name == s.opts.DefaultBranch {
		// BranchMerger.merge (opsmill/infrahub 1.0 backend/infrahub/core/merge.py)
		// and Branch.delete (backend/infrahub/core/branch.py); the fake
		// refuses rebasing the default branch too.
		switch f.Name {
		case "BranchMerge":
			return nil, inputErrorf("Unable to merge the branch '%s' into itself", name)
		case "BranchDelete":
			return nil, inputErrorf("Unable to delete %s it is the default branch.", name)
		}
		return nil, inputErrorf("Unable to rebase the default branch %s", name)
	}
	main := s.branches[s.opts.DefaultBranch]
	switch f.Name {
	case "BranchMerge":
		for id := range b.changed {
			if n := b.nodes[id]; n != nil {
				s.put(main, n.clone())
			} else {
				s.drop(main, id)
			}
		}
		b.changed = map[string]bool{}
		ec.events = append(ec.events, pendingEvent{typ: infrahub.EventBranchMerged, data: map[string]any{
			"branch_id": b.info.ID, "branch_name": name, "proposed_change_id": nil}})
	case "BranchRebase":
		nb := main.cloneData(name)
		nb.info = b.info
		nb.info.BranchedFrom = time.Now().UTC().Format(time.RFC3339Nano)
		for id := range b.changed {
			if n := b.nodes[id]; n != nil {
				s.put(nb, n.clone())
			} else {
				s.drop(nb, id)
			}
		}
		s.branches[name] = nb
		b = nb
		ec.events = append(ec.events, pendingEvent{typ: infrahub.EventBranchRebased, data: map[string]any{
			"branch_id": b.info.ID, "branch_name": name}})
	case "BranchDelete":
		delete(s.branches, name)
		s.branchOrder = slices.DeleteFunc(s.branchOrder, func(x string) bool { return x == name })
		ec.events = append(ec.events, pendingEvent{typ: infrahub.EventBranchDeleted, data: map[string]any{
			"branch_id": b.info.ID, "branch_name": name, "sync_with_git": b.info.SyncWithGit}})
	}
	return ec.branchAnswer(f, b), nil
}
