package infrahubtest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/netauto-dev/netauto/infrahub"
)

// gqlRequest is a GraphQL POST body.
type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// gqlResponse is a GraphQL answer.
type gqlResponse struct {
	Data   any               `json:"data"`
	Errors []*gqlerror.Error `json:"errors,omitempty"`
}

// execContext carries one request's state.
type execContext struct {
	s      *Server
	branch string
	vars   map[string]any
	doc    *ast.QueryDocument
	events []pendingEvent
}

// execute parses, validates and runs a request against branch for acct,
// and returns the HTTP status and body of the answer. It holds the server
// lock for the whole operation, so a mutation is atomic.
func (s *Server) execute(branch string, req gqlRequest, acct Account) (int, any) {
	doc, perr := parser.ParseQuery(&ast.Source{Input: req.Query})
	if perr != nil {
		var ge *gqlerror.Error
		if errors.As(perr, &ge) {
			return http.StatusOK, gqlResponse{Errors: []*gqlerror.Error{ge}}
		}
		return http.StatusOK, gqlResponse{Errors: []*gqlerror.Error{gqlerror.Wrap(perr)}}
	}
	op := doc.Operations.ForName(req.OperationName)
	if op != nil {
		if msg := s.permission(branch, op, acct); msg != "" {
			// PermissionDeniedError escapes the GraphQL app and is answered
			// by the API's exception handler (opsmill/infrahub
			// backend/infrahub/graphql/app.py _evaluate_permissions;
			// backend/infrahub/api/exception_handlers.py).
			return http.StatusForbidden, map[string]any{"data": nil, "errors": []any{
				map[string]any{"message": msg, "extensions": map[string]any{"code": http.StatusForbidden}}}}
		}
	}
	return http.StatusOK, s.run(branch, req, doc)
}

// permission returns why acct may not run op on branch, or "": a mutation
// on the default branch needs edit_default_branch unless all its root
// fields are exempt (DefaultBranchPermissionChecker in opsmill/infrahub
// backend/infrahub/graphql/auth/query_permission_checker/default_branch_checker.py),
// and BranchMerge needs merge_branch (merge_operation_checker.py). The
// messages are GLOBAL_PERMISSION_DENIAL_MESSAGE's
// (backend/infrahub/permissions/constants.py).
func (s *Server) permission(branch string, op *ast.OperationDefinition, acct Account) string {
	if op.Operation != ast.Mutation {
		return ""
	}
	exempt := true
	merge := false
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		exempt = exempt && slices.Contains([]string{"BranchCreate", "BranchDelete", "BranchRebase", "__typename"}, f.Name)
		merge = merge || f.Name == "BranchMerge"
	}
	if branch == s.opts.DefaultBranch && !exempt && !acct.EditDefaultBranch {
		return "You are not allowed to change data in the default branch"
	}
	if merge && !acct.MergeBranch {
		return "You are not allowed to merge a branch"
	}
	return ""
}

// run validates and executes a parsed request.
func (s *Server) run(branch string, req gqlRequest, doc *ast.QueryDocument) gqlResponse {
	if errs := validator.Validate(s.schema, doc); len(errs) > 0 {
		return gqlResponse{Errors: errs}
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		return gqlResponse{Errors: []*gqlerror.Error{gqlerror.Errorf("operation %q not found", req.OperationName)}}
	}
	vars, verr := validator.VariableValues(s.schema, op, req.Variables)
	if verr != nil {
		var ge *gqlerror.Error
		if errors.As(verr, &ge) {
			return gqlResponse{Errors: []*gqlerror.Error{ge}}
		}
		return gqlResponse{Errors: []*gqlerror.Error{gqlerror.Wrap(verr)}}
	}
	ec := &execContext{s: s, branch: branch, vars: vars, doc: doc}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.branches[branch]
	if b == nil {
		return gqlResponse{Errors: []*gqlerror.Error{gqlerror.Errorf("Branch: %s not found.", branch)}}
	}
	roots := ec.fields(op.SelectionSet, "")
	var snapshot *branchState
	if op.Operation == ast.Mutation && len(roots) > 1 {
		snapshot = b.snapshot()
	}
	data := map[string]any{}
	var errs []*gqlerror.Error
	for _, f := range roots {
		key := alias(f)
		var (
			v   any
			err error
		)
		if op.Operation == ast.Mutation {
			v, err = ec.mutate(f)
		} else {
			v, err = ec.query(b, f)
		}
		if err != nil {
			ge := gqlerror.ErrorPosf(f.Position, "%s", err.Error())
			ge.Path = ast.Path{ast.PathName(key)}
			errs = append(errs, ge)
			data[key] = nil
			continue
		}
		data[key] = v
	}
	if len(errs) > 0 {
		// Infrahub runs a request's node mutations in one transaction: an
		// error undoes the others (branch operations are not undone), and
		// no event is sent.
		if snapshot != nil && s.branches[branch] == b {
			s.branches[branch] = snapshot
		}
		return gqlResponse{Data: data, Errors: errs}
	}
	s.enqueue(ec.events)
	return gqlResponse{Data: data}
}

func alias(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// fields flattens a selection set (fragments included) for an object of
// type typename ("" for the root types).
func (ec *execContext) fields(set ast.SelectionSet, typename string) []*ast.Field {
	var out []*ast.Field
	for _, sel := range set {
		switch t := sel.(type) {
		case *ast.Field:
			out = append(out, t)
		case *ast.InlineFragment:
			if ec.typeMatches(t.TypeCondition, typename) {
				out = append(out, ec.fields(t.SelectionSet, typename)...)
			}
		case *ast.FragmentSpread:
			if fd := ec.doc.Fragments.ForName(t.Name); fd != nil && ec.typeMatches(fd.TypeCondition, typename) {
				out = append(out, ec.fields(fd.SelectionSet, typename)...)
			}
		}
	}
	return out
}

func (ec *execContext) typeMatches(cond, typename string) bool {
	if cond == "" || typename == "" || cond == typename {
		return true
	}
	def := ec.s.schema.Types[cond]
	if def == nil || def.Kind != ast.Interface {
		return false
	}
	for _, impl := range ec.s.schema.GetPossibleTypes(def) {
		if impl.Name == typename {
			return true
		}
	}
	return false
}

// query answers a root query field.
func (ec *execContext) query(b *branchState, f *ast.Field) (any, error) {
	args := f.ArgumentMap(ec.vars)
	if f.Name == "Branch" {
		var out []any
		for _, name := range ec.s.branchOrder {
			br := ec.s.branches[name]
			if n, ok := args["name"].(string); ok && n != name {
				continue
			}
			if ids, ok := args["ids"].([]any); ok && !slices.Contains(ids, any(br.info.ID)) {
				continue
			}
			out = append(out, ec.object(f.SelectionSet, "Branch", branchMap(br)))
		}
		return orEmpty(out), nil
	}
	if f.Name == "__typename" {
		return "Query", nil
	}
	if f.Name == "InfrahubEvent" {
		return ec.eventLog(f, args)
	}
	nodes, err := ec.s.filter(b, f.Name, args)
	if err != nil {
		return nil, err
	}
	return ec.paginated(b, f, nodes, args)
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// paginated renders {count edges{node}} for nodes, honouring offset/limit
// as Infrahub's queries do (Query.get_query in opsmill/infrahub
// backend/infrahub/core/query/__init__.py): SKIP and LIMIT are only added
// when truthy, so limit 0 (or none) returns every node; a negative one is
// refused by Neo4j. With an hfid filter, count is the number of nodes
// returned, not of nodes matching (default_paginated_list_resolver in
// backend/infrahub/graphql/resolvers/resolver.py).
func (ec *execContext) paginated(b *branchState, f *ast.Field, nodes []*node, args map[string]any) (map[string]any, error) {
	total := len(nodes)
	off, _ := toInt(args["offset"])
	lim, _ := toInt(args["limit"])
	for name, v := range map[string]int{"SKIP": off, "LIMIT": lim} {
		if v < 0 {
			return nil, inputErrorf("%s: Invalid input. '%d' is not a valid value. Must be a non-negative integer.", name, v)
		}
	}
	if off > 0 {
		nodes = nodes[min(off, len(nodes)):]
	}
	if lim > 0 && lim < len(nodes) {
		nodes = nodes[:lim]
	}
	if args["hfid"] != nil {
		total = len(nodes)
	}
	out := map[string]any{}
	for _, sf := range ec.fields(f.SelectionSet, "") {
		switch sf.Name {
		case "count":
			out[alias(sf)] = total
		case "edges":
			edges := make([]any, len(nodes))
			for i, n := range nodes {
				edge := map[string]any{}
				for _, ef := range ec.fields(sf.SelectionSet, "") {
					switch ef.Name {
					case "node":
						rendered, err := ec.renderNode(b, n, ef.SelectionSet)
						if err != nil {
							return nil, err
						}
						edge[alias(ef)] = rendered
					case "properties":
						edge[alias(ef)] = map[string]any{"is_protected": false, "updated_at": nil}
					case "__typename":
						edge[alias(ef)] = "Edged" + n.kind
					}
				}
				edges[i] = edge
			}
			out[alias(sf)] = edges
		case "__typename":
			out[alias(sf)] = "Paginated" + f.Name
		}
	}
	return out, nil
}

func toInt(v any) (int, bool) {
	switch t := v.(type) {
	case int64:
		return int(t), true
	case int:
		return t, true
	case float64:
		return int(t), true
	}
	return 0, false
}

// renderNode renders one node for a selection set.
func (ec *execContext) renderNode(b *branchState, n *node, set ast.SelectionSet) (map[string]any, error) {
	if n == nil {
		return nil, nil
	}
	k := ec.s.reg.kinds[n.kind]
	out := map[string]any{}
	for _, f := range ec.fields(set, n.kind) {
		key := alias(f)
		switch {
		case f.Name == "id":
			out[key] = n.id
		case f.Name == "hfid":
			if h := ec.s.hfid(b, n); h != nil {
				out[key] = h
			} else {
				out[key] = nil
			}
		case f.Name == "display_label":
			out[key] = ec.s.displayLabel(b, n)
		case f.Name == "__typename":
			out[key] = n.kind
		case k.attrs[f.Name] != nil:
			a := k.attrs[f.Name]
			v, ok := n.attrs[f.Name]
			values, err := attrExtras(a, v)
			if err != nil {
				return nil, err
			}
			values["value"], values["is_default"], values["is_protected"], values["is_from_profile"] = v, !ok, false, false
			values["id"], values["updated_at"] = nil, nil
			out[key] = ec.object(f.SelectionSet, typeOfAttr(a.Kind).out, values)
		case k.rels[f.Name] != nil:
			rl := k.rels[f.Name]
			var peers []*node
			for _, id := range n.rels[f.Name] {
				if p := b.nodes[id]; p != nil {
					peers = append(peers, p)
				}
			}
			if rl.Cardinality == "one" {
				var peer *node
				if len(peers) > 0 {
					peer = peers[0]
				}
				rel := map[string]any{}
				for _, rf := range ec.fields(f.SelectionSet, "") {
					switch rf.Name {
					case "node":
						if peer == nil {
							rel[alias(rf)] = nil
						} else {
							rendered, err := ec.renderNode(b, peer, rf.SelectionSet)
							if err != nil {
								return nil, err
							}
							rel[alias(rf)] = rendered
						}
					case "properties":
						rel[alias(rf)] = map[string]any{"is_protected": false, "updated_at": nil}
					case "__typename":
						rel[alias(rf)] = "NestedEdged" + rl.Peer
					}
				}
				out[key] = rel
			} else {
				rendered, err := ec.nested(b, f, rl, peers)
				if err != nil {
					return nil, err
				}
				out[key] = rendered
			}
		default:
			out[key] = nil
		}
	}
	return out, nil
}

// nested renders a relationship of cardinality many. Its filters are those
// of many_relationship_resolver (opsmill/infrahub
// backend/infrahub/graphql/resolvers/resolver.py): "ids", and the arguments
// holding "__" whose value is truthy in Python (false, 0, "" and [] filter
// nothing); "isnull" and "order" are ignored.
func (ec *execContext) nested(b *branchState, f *ast.Field, rl *infrahub.RelationshipSchema, peers []*node) (map[string]any, error) {
	args := f.ArgumentMap(ec.vars)
	if ids, ok := args["ids"].([]any); ok {
		peers = slices.DeleteFunc(peers, func(p *node) bool { return !slices.Contains(ids, any(p.id)) })
	}
	pk := ec.s.reg.kinds[rl.Peer]
	for name, v := range args {
		if !strings.Contains(name, "__") || !pyTruthy(v) {
			continue
		}
		keep, err := ec.s.fieldFilter(b, pk, name, v, false)
		if err != nil {
			return nil, err
		}
		peers = slices.DeleteFunc(peers, func(p *node) bool { return !keep(p) })
	}
	return ec.paginated(b, f, peers, map[string]any{"offset": args["offset"], "limit": args["limit"]})
}

// pyTruthy is Python's truth value of a decoded GraphQL value.
func pyTruthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case int64:
		return t != 0
	case int:
		return t != 0
	case float64:
		return t != 0
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

// object renders a plain object (attribute values, branches) from a map.
func (ec *execContext) object(set ast.SelectionSet, typename string, values map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range ec.fields(set, typename) {
		if f.Name == "__typename" {
			out[alias(f)] = typename
			continue
		}
		out[alias(f)] = values[f.Name]
	}
	return out
}

// filter returns the nodes of kind matching a query field's arguments.
func (s *Server) filter(b *branchState, kind string, args map[string]any) ([]*node, error) {
	k := s.reg.kinds[kind]
	if k == nil {
		return nil, fmt.Errorf("unknown kind %s", kind)
	}
	partial, _ := args["partial_match"].(bool)
	nodes := slices.Clone(s.nodesOf(b, kind))
	for name, v := range args {
		if v == nil {
			continue
		}
		var keep func(*node) bool
		switch {
		case name == "offset" || name == "limit" || name == "partial_match":
			continue
		case name == "ids":
			ids, _ := v.([]any)
			keep = func(n *node) bool { return slices.Contains(ids, any(n.id)) }
		case name == "hfid":
			want := fmt.Sprint(v)
			keep = func(n *node) bool { return fmt.Sprint(toAnySlice(s.hfid(b, n))) == want }
		default:
			pred, err := s.fieldFilter(b, k, name, v, partial)
			if err != nil {
				return nil, err
			}
			keep = pred
		}
		nodes = slices.DeleteFunc(nodes, func(n *node) bool { return !keep(n) })
	}
	return nodes, nil
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// fieldFilter builds the predicate of an attribute or relationship filter
// (name__value, name__values, name__isnull, rel__ids, rel__isnull,
// rel__attr__value, rel__attr__values). Property filters (__source__id,
// __owner__id, __is_protected) match nothing set, as the fake stores no
// properties.
func (s *Server) fieldFilter(b *branchState, k *kindSchema, name string, v any, partial bool) (func(*node) bool, error) {
	parts := strings.Split(name, "__")
	match := func(have, want any) bool {
		if partial {
			return strings.Contains(fmt.Sprint(have), fmt.Sprint(want))
		}
		return fmt.Sprint(have) == fmt.Sprint(want)
	}
	values := func(have any, want any) bool {
		list, _ := want.([]any)
		return slices.ContainsFunc(list, func(w any) bool { return match(have, w) })
	}
	switch {
	case len(parts) == 2 && k.attrs[parts[0]] != nil:
		attr := parts[0]
		switch parts[1] {
		case "value":
			return func(n *node) bool { return n.attrs[attr] != nil && match(n.attrs[attr], v) }, nil
		case "values":
			return func(n *node) bool { return values(n.attrs[attr], v) }, nil
		case "isnull":
			want, _ := v.(bool)
			return func(n *node) bool { return (n.attrs[attr] == nil) == want }, nil
		}
	case len(parts) == 3 && k.attrs[parts[0]] != nil:
		return func(*node) bool { return false }, nil // property filters
	case len(parts) == 2 && k.rels[parts[0]] != nil:
		rel := parts[0]
		switch parts[1] {
		case "ids":
			ids, _ := v.([]any)
			return func(n *node) bool {
				return slices.ContainsFunc(n.rels[rel], func(id string) bool { return slices.Contains(ids, any(id)) })
			}, nil
		case "isnull":
			want, _ := v.(bool)
			return func(n *node) bool { return (len(n.rels[rel]) == 0) == want }, nil
		}
	case len(parts) == 3 && k.rels[parts[0]] != nil:
		rel, attr, op := parts[0], parts[1], parts[2]
		return func(n *node) bool {
			for _, id := range n.rels[rel] {
				p := b.nodes[id]
				if p == nil {
					continue
				}
				if op == "value" && p.attrs[attr] != nil && match(p.attrs[attr], v) || op == "values" && values(p.attrs[attr], v) {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, fmt.Errorf("filter %s is not supported by the fake", name)
}

// eventLog answers the InfrahubEvent query from the event log, as
// Events.resolve in opsmill/infrahub backend/infrahub/graphql/queries/event.py
// does: limit defaults to 10 and may not exceed 50 (Prefect's own limit),
// order defaults to DESC, events are sorted by the time they occurred
// (not the order they were stored in), since and until are inclusive.
func (ec *execContext) eventLog(f *ast.Field, args map[string]any) (any, error) {
	limit := 10
	if lim, ok := toInt(args["limit"]); ok {
		limit = lim
	}
	if limit > 50 {
		return nil, inputErrorf("The parameter 'limit' can't be above 50")
	}
	inList := func(key, v string) bool {
		list, ok := args[key].([]any)
		return !ok || slices.Contains(list, any(v))
	}
	var since, until time.Time
	for key, dst := range map[string]*time.Time{"since": &since, "until": &until} {
		if s, ok := args[key].(string); ok {
			t, err := infrahub.ParseTime(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", key, err)
			}
			*dst = t
		}
	}
	var matched []pendingEvent
	for _, ev := range ec.s.eventLog {
		branch := ""
		if ev.branch != nil {
			branch = *ev.branch
		}
		nodeID, _ := ev.data["node_id"].(string)
		if !inList("event_type", ev.typ) || !inList("branches", branch) || !inList("ids", ev.id) || !inList("primary_node__ids", nodeID) ||
			!since.IsZero() && ev.at.Before(since) || !until.IsZero() && ev.at.After(until) {
			continue
		}
		matched = append(matched, ev)
	}
	slices.SortStableFunc(matched, func(a, b pendingEvent) int { return a.at.Compare(b.at) })
	if order, _ := args["order"].(string); order != "ASC" {
		slices.Reverse(matched)
	}
	total := len(matched)
	if off, ok := toInt(args["offset"]); ok && off > 0 {
		matched = matched[min(off, len(matched)):]
	}
	if limit >= 0 && limit < len(matched) {
		matched = matched[:limit]
	}
	out := map[string]any{}
	for _, sf := range ec.fields(f.SelectionSet, "") {
		switch sf.Name {
		case "count":
			out[alias(sf)] = total
		case "edges":
			edges := make([]any, len(matched))
			for i, ev := range matched {
				edge := map[string]any{}
				for _, ef := range ec.fields(sf.SelectionSet, "") {
					if ef.Name == "node" {
						edge[alias(ef)] = ec.eventNode(ev, ef.SelectionSet)
					}
				}
				edges[i] = edge
			}
			out[alias(sf)] = edges
		case "__typename":
			out[alias(sf)] = "Events"
		}
	}
	return out, nil
}

func (ec *execContext) eventNode(ev pendingEvent, set ast.SelectionSet) map[string]any {
	typename := "StandardEvent"
	if strings.HasPrefix(ev.typ, "infrahub.node.") {
		typename = "NodeMutatedEvent"
	}
	var primary any
	if id, ok := ev.data["node_id"].(string); ok {
		kind, _ := ev.data["kind"].(string)
		if strings.HasPrefix(ev.typ, "infrahub.artifact.") {
			kind = "CoreArtifact"
		}
		primary = map[string]any{"id": id, "kind": kind}
	}
	values := map[string]any{
		"id": ev.id, "event": ev.typ, "branch": ev.branch, "account_id": ec.s.accountID(),
		"occurred_at": ev.at.UTC().Format(time.RFC3339Nano), "level": 0, "related_nodes": []any{},
		"has_children": false, "parent_id": nil, "payload": ev.data,
	}
	out := map[string]any{}
	for _, f := range ec.fields(set, typename) {
		switch f.Name {
		case "__typename":
			out[alias(f)] = typename
		case "primary_node":
			if primary == nil {
				out[alias(f)] = nil
			} else {
				out[alias(f)] = ec.object(f.SelectionSet, "RelatedNode", primary.(map[string]any))
			}
		case "related_nodes":
			out[alias(f)] = []any{}
		default:
			out[alias(f)] = values[f.Name]
		}
	}
	return out
}
