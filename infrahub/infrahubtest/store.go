package infrahubtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
)

// node is one stored node.
type node struct {
	id    string
	kind  string
	attrs map[string]any      // attribute name -> value (nil: null)
	rels  map[string][]string // relationship name -> peer ids
}

func (n *node) clone() *node {
	c := &node{id: n.id, kind: n.kind, attrs: maps.Clone(n.attrs), rels: make(map[string][]string, len(n.rels))}
	for k, v := range n.rels {
		c.rels[k] = slices.Clone(v)
	}
	return c
}

// branchState is the data of one branch.
type branchState struct {
	info    infrahub.Branch
	nodes   map[string]*node
	order   []string        // ids in creation order
	changed map[string]bool // ids created, updated or deleted on this branch
	// unique indexes unique attribute values: uniqueKey -> node id.
	unique map[string]string
	// byKind caches nodesOf answers until the next write.
	byKind map[string][]*node
}

func (b *branchState) cloneData(name string) *branchState {
	c := &branchState{nodes: make(map[string]*node, len(b.nodes)), order: slices.Clone(b.order), changed: map[string]bool{}, unique: maps.Clone(b.unique)}
	for id, n := range b.nodes {
		c.nodes[id] = n.clone()
	}
	c.info = infrahub.Branch{ID: newID(), Name: name, OriginBranch: b.info.Name, Status: "OPEN",
		BranchedFrom: time.Now().UTC().Format(time.RFC3339Nano)}
	return c
}

// snapshot returns a deep copy of the branch, to restore after a failed
// multi-mutation request.
func (b *branchState) snapshot() *branchState {
	c := b.cloneData(b.info.Name)
	c.info = b.info
	c.changed = maps.Clone(b.changed)
	return c
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// inputError is a client mistake reported as a GraphQL error.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func inputErrorf(format string, a ...any) error { return &inputError{fmt.Sprintf(format, a...)} }

// nodesOf returns the nodes of kind (or implementing generic kind) in
// creation order. The slice is shared until the next write: callers must
// not modify it.
func (s *Server) nodesOf(b *branchState, kind string) []*node {
	if cached, ok := b.byKind[kind]; ok {
		return cached
	}
	out := []*node{}
	for _, id := range b.order {
		n := b.nodes[id]
		if n != nil && s.reg.kinds[n.kind].is(kind) {
			out = append(out, n)
		}
	}
	if b.byKind == nil {
		b.byKind = map[string][]*node{}
	}
	b.byKind[kind] = out
	return out
}

// attrValue reads an attribute, or a path such as device__name__value.
func (s *Server) pathValue(b *branchState, n *node, path string) (any, bool) {
	parts := strings.Split(path, "__")
	cur := n
	for len(parts) > 2 {
		peers := cur.rels[parts[0]]
		if len(peers) == 0 {
			return nil, false
		}
		cur = b.nodes[peers[0]]
		if cur == nil {
			return nil, false
		}
		parts = parts[1:]
	}
	if len(parts) != 2 || parts[1] != "value" {
		return nil, false
	}
	v, ok := cur.attrs[parts[0]]
	return v, ok
}

// hfid computes the human-friendly id of a node, or nil when its kind has
// none.
func (s *Server) hfid(b *branchState, n *node) []string {
	k := s.reg.kinds[n.kind]
	if len(k.HumanFriendlyID) == 0 {
		return nil
	}
	out := make([]string, len(k.HumanFriendlyID))
	for i, p := range k.HumanFriendlyID {
		v, _ := s.pathValue(b, n, p)
		out[i] = fmt.Sprint(deref(v))
	}
	return out
}

func (s *Server) displayLabel(b *branchState, n *node) string {
	k := s.reg.kinds[n.kind]
	paths := k.DisplayLabels
	if k.DisplayLabel != "" && !strings.Contains(k.DisplayLabel, "{") {
		paths = []string{k.DisplayLabel}
	}
	var parts []string
	for _, p := range paths {
		if !strings.Contains(p, "__") {
			p += "__value"
		}
		if v, ok := s.pathValue(b, n, p); ok && v != nil {
			parts = append(parts, fmt.Sprint(v))
		}
	}
	if len(parts) == 0 {
		if v, ok := n.attrs["name"]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return n.kind + "(ID: " + n.id + ")"
	}
	return strings.Join(parts, " ")
}

func deref(v any) any {
	if v == nil {
		return "None"
	}
	return v
}

// findByRef resolves a RelatedNodeInput/DeleteInput-like map {id} or
// {hfid} to a node of kind (or any kind when kind is "").
func (s *Server) findByRef(b *branchState, kind string, ref map[string]any) (*node, error) {
	if id, _ := ref["id"].(string); id != "" {
		n := b.nodes[id]
		if n == nil || kind != "" && !s.reg.kinds[n.kind].is(kind) {
			return nil, inputErrorf("Unable to find the node %s / %s in the database.", id, kind)
		}
		return n, nil
	}
	if raw, ok := ref["hfid"].([]any); ok && len(raw) > 0 {
		want := make([]string, len(raw))
		for i, v := range raw {
			want[i] = fmt.Sprint(v)
		}
		target := kind
		if k, _ := ref["kind"].(string); k != "" {
			target = k
		}
		if target == "" {
			return nil, inputErrorf("kind is required to look a node up by hfid")
		}
		for _, n := range s.nodesOf(b, target) {
			if slices.Equal(s.hfid(b, n), want) {
				return n, nil
			}
		}
		return nil, inputErrorf("Unable to find the node %v / %s in the database.", want, target)
	}
	return nil, inputErrorf("either id or hfid must be provided")
}

// applyData writes mutation input onto n, a copy that is not stored yet
// (attributes and relationships), validating names and peers. Nothing is
// stored until commit, so a rejected mutation writes nothing.
func (s *Server) applyData(b *branchState, n *node, data map[string]any) error {
	k := s.reg.kinds[n.kind]
	for name, v := range data {
		if name == "id" || name == "hfid" {
			continue
		}
		if a := k.attrs[name]; a != nil {
			m, ok := v.(map[string]any)
			if !ok {
				return inputErrorf("%s: expected an object with value", name)
			}
			if val, has := m["value"]; has {
				if err := checkAttrValue(a, val); err != nil {
					return err
				}
				n.attrs[name] = val
			}
			continue
		}
		rl := k.rels[name]
		if rl == nil {
			return inputErrorf("%s is not a valid field of %s", name, n.kind)
		}
		var refs []map[string]any
		switch t := v.(type) {
		case nil:
		case map[string]any:
			refs = []map[string]any{t}
		case []any:
			for _, e := range t {
				m, ok := e.(map[string]any)
				if !ok {
					return inputErrorf("%s: expected related node objects", name)
				}
				refs = append(refs, m)
			}
		}
		ids := make([]string, 0, len(refs))
		for _, ref := range refs {
			peer, err := s.findByRef(b, rl.Peer, ref)
			if err != nil {
				return err
			}
			ids = append(ids, peer.id)
		}
		n.rels[rl.Name] = ids
	}
	return nil
}

// commit saves n (the new version; old is the stored one or nil) and
// keeps the reverse side of changed relationships (the peer's relationship
// with the same identifier) in step.
func (s *Server) commit(b *branchState, old, n *node) {
	s.put(b, n)
	for rel, ids := range n.rels {
		var before []string
		if old != nil {
			before = old.rels[rel]
		}
		for _, id := range before {
			if !slices.Contains(ids, id) {
				s.reverse(b, n, rel, id, false)
			}
		}
		for _, id := range ids {
			if !slices.Contains(before, id) {
				s.reverse(b, n, rel, id, true)
			}
		}
	}
}

func (s *Server) reverse(b *branchState, n *node, rel, peerID string, add bool) {
	peer := b.nodes[peerID]
	if peer == nil {
		return
	}
	ident := s.reg.kinds[n.kind].rels[rel].Identifier
	pk := s.reg.kinds[peer.kind]
	for _, prl := range pk.Relationships {
		if prl.Identifier != ident || !s.reg.kinds[n.kind].is(prl.Peer) {
			continue
		}
		cur := peer.rels[prl.Name]
		switch {
		case add && prl.Cardinality == "one":
			if len(cur) == 1 && cur[0] != n.id {
				// The peer moves away from its former owner.
				if prev := b.nodes[cur[0]]; prev != nil {
					prev.rels[rel] = slices.DeleteFunc(prev.rels[rel], func(x string) bool { return x == peerID })
				}
			}
			peer.rels[prl.Name] = []string{n.id}
		case add && !slices.Contains(cur, n.id):
			peer.rels[prl.Name] = append(cur, n.id)
		case !add:
			peer.rels[prl.Name] = slices.DeleteFunc(slices.Clone(cur), func(x string) bool { return x == n.id })
		}
		b.changed[peer.id] = true
		return
	}
}

// checkRequired reports a missing mandatory attribute or relationship.
func (s *Server) checkRequired(n *node) error {
	k := s.reg.kinds[n.kind]
	for _, a := range k.Attributes {
		if v, ok := n.attrs[a.Name]; (!ok || v == nil) && !a.Optional {
			if a.DefaultValue != nil {
				n.attrs[a.Name] = a.DefaultValue
				continue
			}
			return inputErrorf("%s is mandatory for %s at %s", a.Name, n.kind, a.Name)
		}
	}
	for _, rl := range k.Relationships {
		if !rl.Optional && rl.Cardinality == "one" && len(n.rels[rl.Name]) == 0 {
			return inputErrorf("%s is mandatory for %s at %s", rl.Name, n.kind, rl.Name)
		}
	}
	return nil
}

// uniqueKeys lists the unique-index keys of n's unique attributes.
func (s *Server) uniqueKeys(n *node) []string {
	var keys []string
	for _, a := range s.reg.kinds[n.kind].Attributes {
		if v := n.attrs[a.Name]; a.Unique && v != nil {
			keys = append(keys, n.kind+"\x00"+a.Name+"\x00"+fmt.Sprint(v))
		}
	}
	return keys
}

// checkUnique reports another node of the kind with the same unique
// attribute value.
func (s *Server) checkUnique(b *branchState, n *node) error {
	for _, key := range s.uniqueKeys(n) {
		if other, ok := b.unique[key]; ok && other != n.id {
			parts := strings.SplitN(key, "\x00", 3)
			return inputErrorf("Violates uniqueness constraint '%s' with '%s'", parts[1], parts[2])
		}
	}
	return nil
}

// put stores n on the branch (a new node or a new version).
func (s *Server) put(b *branchState, n *node) {
	if old, ok := b.nodes[n.id]; ok {
		for _, key := range s.uniqueKeys(old) {
			delete(b.unique, key)
		}
	} else {
		b.order = append(b.order, n.id)
	}
	b.nodes[n.id] = n
	b.byKind = nil
	for _, key := range s.uniqueKeys(n) {
		b.unique[key] = n.id
	}
	b.changed[n.id] = true
}

// drop deletes node id from the branch (no relationship bookkeeping).
func (s *Server) drop(b *branchState, id string) {
	old, ok := b.nodes[id]
	if !ok {
		return
	}
	for _, key := range s.uniqueKeys(old) {
		delete(b.unique, key)
	}
	delete(b.nodes, id)
	b.byKind = nil
	b.order = slices.DeleteFunc(b.order, func(x string) bool { return x == id })
	b.changed[id] = true
}

func (s *Server) remove(b *branchState, n *node) {
	for rel, ids := range n.rels {
		for _, id := range ids {
			s.reverse(b, n, rel, id, false)
		}
	}
	s.drop(b, n.id)
}

// checkAttrValue rejects a value outside a dropdown's choices or an enum.
func checkAttrValue(a *infrahub.AttributeSchema, v any) error {
	if v == nil {
		return nil
	}
	if len(a.Choices) > 0 {
		for _, c := range a.Choices {
			if fmt.Sprint(c["name"]) == fmt.Sprint(v) {
				return nil
			}
		}
		return inputErrorf("%s: %v must be one of the dropdown choices", a.Name, v)
	}
	if len(a.Enum) > 0 && !slices.ContainsFunc(a.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return inputErrorf("%s: %v must be one of %v", a.Name, v, a.Enum)
	}
	return nil
}
