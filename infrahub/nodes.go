package infrahub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// DefaultPageSize is the page size of List when ListOptions.PageSize is 0.
const DefaultPageSize = 50

// Filters are Infrahub query filters, passed as arguments of the kind's
// query: "name__value": "x", "name__values": []string{...}, "ids":
// []string{...}, "hfid": []string{...}, relationship filters such as
// "platform__name__value" or "site__ids".
type Filters map[string]any

// ListOptions select and page the nodes of a read.
type ListOptions struct {
	// Branch to read; "" means the client's default branch.
	Branch string
	// Filters restrict the nodes.
	Filters Filters
	// PageSize is the limit of each page request (default 50).
	PageSize int
	// Parallel is how many pages are fetched at once after the first
	// (default 1).
	Parallel int
	// Offset skips that many nodes; Limit stops after that many (0: all).
	Offset, Limit int
	// Selection overrides the selection derived from the node type, for
	// example one built with SelectionFromPaths.
	Selection string
}

type page[T any] struct {
	Count int `json:"count"`
	Edges []struct {
		Node T `json:"node"`
	} `json:"edges"`
}

func validateKind(kind string) error {
	if !validName(kind) || kind[0] < 'A' || kind[0] > 'Z' {
		return fmt.Errorf("infrahub: kind %q is not a valid kind name", kind)
	}
	return nil
}

func (o ListOptions) args(offset, limit int) (string, error) {
	parts := []string{fmt.Sprintf("offset: %d", offset), fmt.Sprintf("limit: %d", limit)}
	keys := make([]string, 0, len(o.Filters))
	for k := range o.Filters {
		keys = append(keys, k)
	}
	// Sorted so identical reads produce identical documents.
	slices.Sort(keys)
	for _, k := range keys {
		if !validName(k) || k == "offset" || k == "limit" {
			return "", fmt.Errorf("filter %q is not a valid filter name", k)
		}
		lit, err := literal(o.Filters[k])
		if err != nil {
			return "", fmt.Errorf("filter %q: %w", k, err)
		}
		parts = append(parts, k+": "+lit)
	}
	return strings.Join(parts, ", "), nil
}

func fetchPage[T any](ctx context.Context, c *Client, kind, sel string, o ListOptions, offset, limit int) (page[T], error) {
	var out map[string]page[T]
	args, err := o.args(offset, limit)
	if err != nil {
		return page[T]{}, fmt.Errorf("infrahub list %s: %w", kind, err)
	}
	q := fmt.Sprintf("query { %s(%s) { count edges { node %s } } }", kind, args, sel)
	if err := c.Query(ctx, o.Branch, q, nil, &out); err != nil {
		return page[T]{}, err
	}
	p, ok := out[kind]
	if !ok {
		return page[T]{}, fmt.Errorf("infrahub list %s: answer has no %s field", kind, kind)
	}
	return p, nil
}

// List reads the nodes of kind into T, page by page (see ListOptions). T
// is usually a struct with Attr, Rel and RelMany fields; its selection is
// derived by SelectionFor unless o.Selection is set.
func List[T any](ctx context.Context, c *Client, kind string, o ListOptions) ([]T, error) {
	if err := validateKind(kind); err != nil {
		return nil, err
	}
	sel := o.Selection
	if sel == "" {
		var err error
		if sel, err = SelectionFor[T](); err != nil {
			return nil, err
		}
	}
	size := o.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	if o.Limit > 0 {
		size = min(size, o.Limit)
	}
	first, err := fetchPage[T](ctx, c, kind, sel, o, o.Offset, size)
	if err != nil {
		return nil, err
	}
	total := max(first.Count-o.Offset, 0)
	if o.Limit > 0 {
		total = min(total, o.Limit)
	}
	out := make([]T, 0, total)
	for _, e := range first.Edges {
		out = append(out, e.Node)
	}
	if len(first.Edges) < size || len(out) >= total {
		return trim(out, total), nil
	}
	var offsets []int
	for off := len(out); off < total; off += size {
		offsets = append(offsets, off)
	}
	pages := make([][]T, len(offsets))
	workers := max(o.Parallel, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan int)
	)
	for range min(workers, len(offsets)) {
		wg.Go(func() {
			for i := range next {
				p, err := fetchPage[T](ctx, c, kind, sel, o, o.Offset+offsets[i], min(size, total-offsets[i]))
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					continue
				}
				nodes := make([]T, len(p.Edges))
				for j, e := range p.Edges {
					nodes[j] = e.Node
				}
				pages[i] = nodes
			}
		})
	}
feed:
	for i := range offsets {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, p := range pages {
		out = append(out, p...)
	}
	return trim(out, total), nil
}

func trim[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Count returns how many nodes of kind match o.Filters on o.Branch.
func (c *Client) Count(ctx context.Context, kind string, o ListOptions) (int, error) {
	if err := validateKind(kind); err != nil {
		return 0, err
	}
	args, err := o.args(0, 1)
	if err != nil {
		return 0, fmt.Errorf("infrahub count %s: %w", kind, err)
	}
	var out map[string]struct {
		Count int `json:"count"`
	}
	if err := c.Query(ctx, o.Branch, fmt.Sprintf("query { %s(%s) { count } }", kind, args), nil, &out); err != nil {
		return 0, err
	}
	return out[kind].Count, nil
}

// Get reads the node of kind with id. No match is a *NotFoundError
// (errors.Is(err, ErrNotFound)).
func Get[T any](ctx context.Context, c *Client, kind, id, branch string) (T, error) {
	var zero T
	if id == "" {
		return zero, fmt.Errorf("infrahub get %s: id is empty", kind)
	}
	nodes, err := List[T](ctx, c, kind, ListOptions{Branch: branch, Filters: Filters{"ids": []string{id}}, Limit: 1})
	if err != nil {
		return zero, err
	}
	if len(nodes) == 0 {
		return zero, &NotFoundError{Kind: kind, ID: id, Branch: c.branchOr(branch)}
	}
	return nodes[0], nil
}

// GetByHFID reads the node of kind with the human-friendly id hfid. No
// match is a *NotFoundError.
func GetByHFID[T any](ctx context.Context, c *Client, kind string, hfid []string, branch string) (T, error) {
	var zero T
	if len(hfid) == 0 {
		return zero, fmt.Errorf("infrahub get %s: hfid is empty", kind)
	}
	nodes, err := List[T](ctx, c, kind, ListOptions{Branch: branch, Filters: Filters{"hfid": hfid}, Limit: 1})
	if err != nil {
		return zero, err
	}
	if len(nodes) == 0 {
		return zero, &NotFoundError{Kind: kind, HFID: hfid, Branch: c.branchOr(branch)}
	}
	return nodes[0], nil
}

// Data is the input of a write: attribute names map to Value(v) and
// relationship names to PeerID/PeerHFID (or a slice of them for
// cardinality many).
type Data map[string]any

// Value is the input form of an attribute: {value: v}.
func Value(v any) map[string]any { return map[string]any{"value": v} }

// PeerID is the input form of a related node given by id.
func PeerID(id string) map[string]any { return map[string]any{"id": id} }

// PeerHFID is the input form of a related node given by its human-friendly
// id.
func PeerHFID(hfid ...string) map[string]any { return map[string]any{"hfid": hfid} }

// WriteOptions apply to Create, Update, Upsert and Delete.
type WriteOptions struct {
	// Branch to write to; "" means the client's default branch.
	Branch string
}

type mutationAnswer struct {
	OK     bool  `json:"ok"`
	Object *Peer `json:"object"`
}

func (c *Client) mutateNode(ctx context.Context, kind, op string, data Data, branch string) (Peer, error) {
	if err := validateKind(kind); err != nil {
		return Peer{}, err
	}
	lit, err := literal(map[string]any(data))
	if err != nil {
		return Peer{}, fmt.Errorf("infrahub %s%s: data %w", kind, op, err)
	}
	name := kind + op
	sel := "{ ok object " + peerSelection + " }"
	if op == "Delete" {
		sel = "{ ok }"
	}
	var out map[string]mutationAnswer
	if err := c.Mutate(ctx, branch, fmt.Sprintf("mutation { %s(data: %s) %s }", name, lit, sel), nil, &out); err != nil {
		return Peer{}, err
	}
	ans, ok := out[name]
	if !ok || !ans.OK {
		return Peer{}, fmt.Errorf("infrahub %s: server answered ok=false", name)
	}
	if ans.Object != nil {
		return *ans.Object, nil
	}
	return Peer{}, nil
}

// Create creates a node of kind and returns its identity. data may give
// the node's "id": Infrahub takes a UUID that no node has and refuses
// anything else ("<id> is not a valid UUID at id", "<id> is already in use
// at id", Node.new in opsmill/infrahub backend/infrahub/core/node/__init__.py);
// otherwise Infrahub chooses it. A node whose unique values another node
// has is refused with an error matching ErrAlreadyExists.
func (c *Client) Create(ctx context.Context, kind string, data Data, o WriteOptions) (Peer, error) {
	return c.mutateNode(ctx, kind, "Create", data, o.Branch)
}

// Update changes the node of kind with id; fields absent from data are left
// as they are.
func (c *Client) Update(ctx context.Context, kind, id string, data Data, o WriteOptions) (Peer, error) {
	if id == "" {
		return Peer{}, fmt.Errorf("infrahub %sUpdate: id is empty", kind)
	}
	d := Data{"id": id}
	for k, v := range data {
		if k != "id" {
			d[k] = v
		}
	}
	return c.mutateNode(ctx, kind, "Update", d, o.Branch)
}

// Upsert creates the node or updates an existing one, as Infrahub's
// <Kind>Upsert decides (mutate_upsert in opsmill/infrahub
// backend/infrahub/graphql/mutations/main.py): with "id" in data, the node
// with that id, which must exist (else ErrNotFound); with "hfid", the node
// with that human-friendly id, or a new one; otherwise a new node, unless
// another has the human-friendly id data gives it, which is then updated.
func (c *Client) Upsert(ctx context.Context, kind string, data Data, o WriteOptions) (Peer, error) {
	return c.mutateNode(ctx, kind, "Upsert", data, o.Branch)
}

// Delete deletes the node of kind with id.
func (c *Client) Delete(ctx context.Context, kind, id string, o WriteOptions) error {
	if id == "" {
		return fmt.Errorf("infrahub %sDelete: id is empty", kind)
	}
	_, err := c.mutateNode(ctx, kind, "Delete", Data{"id": id}, o.Branch)
	return err
}

// AddRelationship adds peers (by id) to the cardinality-many relationship
// rel of node id.
func (c *Client) AddRelationship(ctx context.Context, id, rel string, peerIDs []string, o WriteOptions) error {
	return c.relationship(ctx, "RelationshipAdd", id, rel, peerIDs, o.Branch)
}

// RemoveRelationship removes peers (by id) from the relationship rel of
// node id.
func (c *Client) RemoveRelationship(ctx context.Context, id, rel string, peerIDs []string, o WriteOptions) error {
	return c.relationship(ctx, "RelationshipRemove", id, rel, peerIDs, o.Branch)
}

func (c *Client) relationship(ctx context.Context, op, id, rel string, peerIDs []string, branch string) error {
	switch {
	case id == "":
		return fmt.Errorf("infrahub %s: id is empty", op)
	case !validName(rel):
		return fmt.Errorf("infrahub %s: relationship name %q is invalid", op, rel)
	case len(peerIDs) == 0:
		return fmt.Errorf("infrahub %s: no peers", op)
	}
	nodes := make([]map[string]any, len(peerIDs))
	for i, p := range peerIDs {
		nodes[i] = PeerID(p)
	}
	lit, err := literal(map[string]any{"id": id, "name": rel, "nodes": nodes})
	if err != nil {
		return fmt.Errorf("infrahub %s: %w", op, err)
	}
	var out map[string]struct {
		OK bool `json:"ok"`
	}
	if err := c.Mutate(ctx, branch, fmt.Sprintf("mutation { %s(data: %s) { ok } }", op, lit), nil, &out); err != nil {
		return err
	}
	if !out[op].OK {
		return errors.New("infrahub " + op + ": server answered ok=false")
	}
	return nil
}
