package infrahub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Attr is an Infrahub attribute as GraphQL returns it: {"value": ...}.
// Use it for attribute fields of your node structs:
//
//	type Device struct {
//		ID   string                `json:"id"`
//		Name infrahub.Attr[string] `json:"name"`
//		ASN  infrahub.Attr[int64]  `json:"asn"`
//	}
//
// A JSON null value (or a null attribute) leaves Value at its zero value
// and sets Null.
type Attr[T any] struct {
	Value T
	Null  bool
}

// UnmarshalJSON decodes {"value": v} or null.
func (a *Attr[T]) UnmarshalJSON(b []byte) error {
	*a = Attr[T]{}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		a.Null = true
		return nil
	}
	var w struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.Value) == 0 || bytes.Equal(w.Value, []byte("null")) {
		a.Null = true
		return nil
	}
	return json.Unmarshal(w.Value, &a.Value)
}

// MarshalJSON encodes {"value": v}, with null when Null is set.
func (a Attr[T]) MarshalJSON() ([]byte, error) {
	if a.Null {
		return []byte(`{"value":null}`), nil
	}
	return json.Marshal(struct {
		Value T `json:"value"`
	}{a.Value})
}

func (Attr[T]) selection() string { return "{ value }" }

// Peer identifies a related node: {id hfid display_label __typename}.
type Peer struct {
	ID           string   `json:"id"`
	HFID         []string `json:"hfid,omitempty"`
	DisplayLabel string   `json:"display_label,omitempty"`
	Typename     string   `json:"__typename,omitempty"`
}

const peerSelection = "{ id hfid display_label __typename }"

// Rel is a cardinality-one relationship: {"node": {...}} or {"node": null}.
// Node is nil when the relationship is not set.
type Rel struct {
	Node *Peer `json:"node"`
}

func (Rel) selection() string { return "{ node " + peerSelection + " }" }

// RelMany is a cardinality-many relationship: {"edges": [{"node": {...}}]}.
type RelMany []Peer

// UnmarshalJSON decodes {"edges": [{"node": ...}]}.
func (r *RelMany) UnmarshalJSON(b []byte) error {
	var w struct {
		Edges []struct {
			Node *Peer `json:"node"`
		} `json:"edges"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := make(RelMany, 0, len(w.Edges))
	for _, e := range w.Edges {
		if e.Node != nil {
			out = append(out, *e.Node)
		}
	}
	*r = out
	return nil
}

// MarshalJSON encodes {"edges": [{"node": ...}]}.
func (r RelMany) MarshalJSON() ([]byte, error) {
	type edge struct {
		Node Peer `json:"node"`
	}
	edges := make([]edge, len(r))
	for i, p := range r {
		edges[i] = edge{p}
	}
	return json.Marshal(struct {
		Edges []edge `json:"edges"`
	}{edges})
}

func (RelMany) selection() string { return "{ edges { node " + peerSelection + " } }" }

// IDs returns the peers' ids.
func (r RelMany) IDs() []string {
	ids := make([]string, len(r))
	for i, p := range r {
		ids[i] = p.ID
	}
	return ids
}

// selector is implemented by types that know their GraphQL selection.
type selector interface{ selection() string }

var selectionCache sync.Map // reflect.Type -> string or error

// SelectionFor returns the GraphQL selection set for node struct T, derived
// from its json tags: plain fields are scalars (id, hfid, display_label,
// __typename), Attr fields select {value}, Rel and RelMany select their
// peer's id/hfid/display_label/__typename, and nested structs (with a json
// tag) select their own fields, so {node {name {value}}} shapes can be
// written as Go structs too. Fields tagged "-" or unexported are skipped.
func SelectionFor[T any]() (string, error) {
	return selectionOf(reflect.TypeFor[T]())
}

func selectionOf(t reflect.Type) (string, error) {
	if v, ok := selectionCache.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return "", err
		}
		return v.(string), nil
	}
	s, err := buildSelection(t, 0)
	if err != nil {
		selectionCache.Store(t, err)
		return "", err
	}
	selectionCache.Store(t, s)
	return s, nil
}

var selectorType = reflect.TypeFor[selector]()

func buildSelection(t reflect.Type, depth int) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", fmt.Errorf("infrahub selection: %s is not a struct", t)
	}
	if depth > 8 {
		return "", fmt.Errorf("infrahub selection: %s nests too deep", t)
	}
	var parts []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !validName(name) {
			return "", fmt.Errorf("infrahub selection: field %s.%s: %q is not a GraphQL name", t, f.Name, name)
		}
		ft := f.Type
		switch {
		case ft.Implements(selectorType):
			parts = append(parts, name+" "+reflect.Zero(ft).Interface().(selector).selection())
		case ft.Kind() == reflect.Struct || ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			sub, err := buildSelection(ft, depth+1)
			if err != nil {
				return "", err
			}
			parts = append(parts, name+" "+sub)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			sub, err := buildSelection(ft.Elem(), depth+1)
			if err != nil {
				return "", err
			}
			parts = append(parts, name+" "+sub)
		default:
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("infrahub selection: %s has no fields", t)
	}
	return "{ " + strings.Join(parts, " ") + " }", nil
}

// SelectionFromPaths builds a selection set from dotted field paths, for
// callers that decode into maps instead of structs:
//
//	SelectionFromPaths("id", "name.value", "platform.node.name.value")
//	// { id name { value } platform { node { name { value } } } }
func SelectionFromPaths(paths ...string) (string, error) {
	type tree struct {
		order    []string
		children map[string]*tree
	}
	root := &tree{children: map[string]*tree{}}
	for _, p := range paths {
		cur := root
		for seg := range strings.SplitSeq(p, ".") {
			if !validName(seg) {
				return "", fmt.Errorf("infrahub selection: path %q: %q is not a GraphQL name", p, seg)
			}
			next, ok := cur.children[seg]
			if !ok {
				next = &tree{children: map[string]*tree{}}
				cur.children[seg] = next
				cur.order = append(cur.order, seg)
			}
			cur = next
		}
	}
	if len(root.order) == 0 {
		return "", fmt.Errorf("infrahub selection: no paths")
	}
	var render func(*tree) string
	render = func(t *tree) string {
		parts := make([]string, len(t.order))
		for i, name := range t.order {
			parts[i] = name
			if c := t.children[name]; len(c.order) > 0 {
				parts[i] += " " + render(c)
			}
		}
		return "{ " + strings.Join(parts, " ") + " }"
	}
	return render(root), nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// literal renders a Go value as a GraphQL input literal. Map keys become
// object field names and must be GraphQL names; strings are quoted.
func literal(v any) (string, error) {
	var b strings.Builder
	if err := writeLiteral(&b, reflect.ValueOf(v), ""); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeLiteral(b *strings.Builder, v reflect.Value, field string) error {
	if !v.IsValid() {
		b.WriteString("null")
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return writeLiteral(b, v.Elem(), field)
	case reflect.String:
		q, _ := json.Marshal(v.String())
		b.Write(q)
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("field %s: %v is not a valid number", fieldName(field), f)
		}
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeLiteral(b, v.Index(i), field); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("field %s: map keys must be strings", fieldName(field))
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			path := k
			if field != "" {
				path = field + "." + k
			}
			if !validName(k) {
				return fmt.Errorf("field %s: %q is not a GraphQL name", fieldName(path), k)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + ": ")
			if err := writeLiteral(b, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), path); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("field %s: cannot send a %s", fieldName(field), v.Type())
	}
	return nil
}

func fieldName(f string) string {
	if f == "" {
		return "(value)"
	}
	return strconv.Quote(f)
}
