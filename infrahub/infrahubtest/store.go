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
	// unique indexes the values of uniqueness constraints: key (see
	// uniqueKeys) -> ids of the nodes holding them.
	unique map[string][]string
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
				if val != nil {
					var err error
					if val, err = normalizeAttr(a, val); err != nil {
						return err
					}
				}
				n.attrs[name] = val
			}
			continue
		}
		rl := k.rels[name]
		if rl == nil {
			// Node._process_fields (opsmill/infrahub backend/infrahub/core/node/__init__.py).
			return attrErrorf(name, "%s is not a valid input for %s", name, n.kind)
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
		// The peer changes in place: its constraint keys may involve the
		// relationship.
		s.unindex(b, peer)
		defer s.index(b, peer)
		switch {
		case add && prl.Cardinality == "one":
			if len(cur) == 1 && cur[0] != n.id {
				// The peer moves away from its former owner.
				if prev := b.nodes[cur[0]]; prev != nil {
					s.unindex(b, prev)
					prev.rels[rel] = slices.DeleteFunc(prev.rels[rel], func(x string) bool { return x == peerID })
					s.index(b, prev)
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

// checkRequired applies defaults and reports missing mandatory fields.
// On create (old == nil) an attribute left out or sent as null takes its
// default value, optional or not (BaseAttribute.__init__ in opsmill/infrahub
// backend/infrahub/core/attribute.py); a mandatory attribute without default
// or a mandatory relationship left out is "<name> is mandatory for <kind> at
// <name>" (Node._process_fields in backend/infrahub/core/node/__init__.py),
// all of them in one error. A mandatory attribute sent as null, on create or
// update, is "A value must be provided for <name> at <name>"
// (BaseAttribute.validate).
func (s *Server) checkRequired(n *node, old *node, data map[string]any) error {
	k := s.reg.kinds[n.kind]
	var missing []string
	for _, a := range k.Attributes {
		v, ok := n.attrs[a.Name]
		if v != nil {
			continue
		}
		if old == nil && a.DefaultValue != nil {
			dv, err := normalizeAttr(k.attrs[a.Name], a.DefaultValue)
			if err != nil {
				return err
			}
			n.attrs[a.Name] = dv
			continue
		}
		if a.Optional {
			continue
		}
		_, sent := data[a.Name]
		switch {
		case ok || sent:
			return attrErrorf(a.Name, "A value must be provided for %s", a.Name)
		case old == nil:
			missing = append(missing, fmt.Sprintf("%s is mandatory for %s at %s", a.Name, n.kind, a.Name))
		}
	}
	if old == nil {
		for _, rl := range k.Relationships {
			if !rl.Optional && len(n.rels[rl.Name]) == 0 {
				missing = append(missing, fmt.Sprintf("%s is mandatory for %s at %s", rl.Name, n.kind, rl.Name))
			}
		}
	}
	if len(missing) > 0 {
		return inputErrorf("%s", strings.Join(missing, ", "))
	}
	return nil
}

// uniqueViolation is another node holding the values of one of n's
// uniqueness constraints.
type uniqueViolation struct {
	c     *uniqueConstraint
	other string
}

// errHFIDViolated is the violation of the constraint that is the kind's
// human-friendly id alone (HFIDViolatedError): Upsert updates that node.
type errHFIDViolated struct {
	msg   string
	other string
}

func (e *errHFIDViolated) Error() string { return e.msg }

// uniqueKeys lists the index keys of n's uniqueness constraints (only those
// whose values are all set: a constraint with a null value cannot be
// violated, as NodeGroupedUniquenessConstraint in opsmill/infrahub 1.0
// backend/infrahub/core/node/constraints/grouped_uniqueness.py decides).
func (s *Server) uniqueKeys(b *branchState, n *node) map[string]*uniqueConstraint {
	keys := map[string]*uniqueConstraint{}
	for _, sc := range s.reg.kinds[n.kind].checked {
		parts := make([]string, 0, len(sc.c.paths)+2)
		parts = append(parts, sc.scope, sc.c.key)
		complete := true
		for _, p := range sc.c.paths {
			var v any
			if p.rel != "" {
				if ids := n.rels[p.rel]; len(ids) > 0 {
					v = ids[0]
				}
			} else {
				v = n.attrs[p.attr]
			}
			if v == nil {
				complete = false
				break
			}
			parts = append(parts, fmt.Sprint(v))
		}
		if complete {
			keys[strings.Join(parts, "\x00")] = sc.c
		}
	}
	return keys
}

// checkUnique checks n against the uniqueness constraints of its kind and
// of the generics it inherits (NodeGroupedUniquenessConstraint.check in
// opsmill/infrahub backend/infrahub/core/node/constraints/grouped_uniqueness.py).
// fields, when not nil, limits the check to the constraints naming one of
// them, as an update does; optional unique attributes are always checked.
// The message is "Violates uniqueness constraint '<field>-<field>'"
// (UniquenessViolationMessageBuilder). A violation of the human-friendly
// id's constraint alone, or with violations it implies, is an
// *errHFIDViolated.
func (s *Server) checkUnique(b *branchState, n *node, fields map[string]bool) error {
	var found []uniqueViolation
	for key, c := range s.uniqueKeys(b, n) {
		if fields != nil && !c.touches(fields) {
			continue
		}
		for _, other := range b.unique[key] {
			if other != n.id {
				found = append(found, uniqueViolation{c: c, other: other})
				break
			}
		}
	}
	slices.SortFunc(found, func(x, y uniqueViolation) int { return strings.Compare(x.c.key, y.c.key) })
	var hfid *uniqueViolation
	for i := range found {
		if found[i].c.typ == constraintHFID {
			hfid = &found[i]
			break
		}
	}
	for _, v := range found {
		switch {
		case v.c.typ == constraintHFID:
			continue
		case hfid != nil && v.c.typ == constraintSubsetOfHFID:
			continue
		case hfid != nil && v.other == hfid.other:
			continue
		}
		return inputErrorf("Violates uniqueness constraint '%s'", strings.Join(v.c.fields, "-"))
	}
	if hfid != nil {
		return &errHFIDViolated{msg: fmt.Sprintf("Violates uniqueness constraint '%s'", strings.Join(hfid.c.fields, "-")), other: hfid.other}
	}
	return nil
}

func (s *Server) index(b *branchState, n *node) {
	for key := range s.uniqueKeys(b, n) {
		if !slices.Contains(b.unique[key], n.id) {
			b.unique[key] = append(slices.Clip(b.unique[key]), n.id) // never share a backing array between branches
		}
	}
}

func (s *Server) unindex(b *branchState, n *node) {
	for key := range s.uniqueKeys(b, n) {
		ids := slices.DeleteFunc(slices.Clone(b.unique[key]), func(x string) bool { return x == n.id })
		if len(ids) == 0 {
			delete(b.unique, key)
		} else {
			b.unique[key] = ids
		}
	}
}

// put stores n on the branch (a new node or a new version).
func (s *Server) put(b *branchState, n *node) {
	if old, ok := b.nodes[n.id]; ok {
		s.unindex(b, old)
	} else {
		b.order = append(b.order, n.id)
	}
	b.nodes[n.id] = n
	b.byKind = nil
	s.index(b, n)
	b.changed[n.id] = true
}

// drop deletes node id from the branch (no relationship bookkeeping).
func (s *Server) drop(b *branchState, id string) {
	old, ok := b.nodes[id]
	if !ok {
		return
	}
	s.unindex(b, old)
	delete(b.nodes, id)
	b.byKind = nil
	b.order = slices.DeleteFunc(b.order, func(x string) bool { return x == id })
	b.changed[id] = true
}

// deleteNode deletes n and what Infrahub deletes with it, and returns
// them (n first). NodeDeleteValidator (opsmill/infrahub 1.0
// backend/infrahub/core/node/delete_validator.py) follows relationships
// whose on_delete is cascade (the default of Component relationships,
// SchemaBranch.process_relationships) from node to node, and refuses when
// a node left in place has a mandatory relationship whose peer is n's kind
// linking it to n: "Cannot delete <kind> '<id>'. It is linked to mandatory
// relationship <rel> on node <kind> '<id>' at <kind>.<rel>".
func (s *Server) deleteNode(b *branchState, n *node) ([]*node, error) {
	order := []*node{n}
	doomed := map[string]bool{n.id: true}
	for i := 0; i < len(order); i++ {
		d := order[i]
		for _, rl := range s.reg.kinds[d.kind].Relationships {
			if rl.OnDelete != "cascade" && (rl.OnDelete != "" || rl.Kind != "Component") {
				continue
			}
			for _, id := range d.rels[rl.Name] {
				if p := b.nodes[id]; p != nil && !doomed[id] {
					doomed[id] = true
					order = append(order, p)
				}
			}
		}
	}
	var refused []string
	for _, kind := range s.reg.order {
		k := s.reg.kinds[kind]
		if k.generic {
			continue
		}
		for _, prl := range k.Relationships {
			if prl.Optional || prl.Peer != n.kind {
				continue
			}
			for _, p := range s.nodesOf(b, kind) {
				if p.kind == kind && !doomed[p.id] && slices.Contains(p.rels[prl.Name], n.id) {
					refused = append(refused, fmt.Sprintf("Cannot delete %s '%s'. It is linked to mandatory relationship %s on node %s '%s' at %s.%s",
						n.kind, n.id, prl.Name, p.kind, p.id, p.kind, prl.Name))
				}
			}
		}
	}
	if len(refused) > 0 {
		return nil, inputErrorf("%s", strings.Join(refused, ", "))
	}
	for _, d := range order {
		if b.nodes[d.id] != nil {
			s.remove(b, b.nodes[d.id])
		}
	}
	return order, nil
}

func (s *Server) remove(b *branchState, n *node) {
	for rel, ids := range n.rels {
		for _, id := range ids {
			s.reverse(b, n, rel, id, false)
		}
	}
	s.drop(b, n.id)
}
