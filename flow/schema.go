package flow

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SchemaProvider is implemented by types that describe their own JSON
// Schema, for encodings reflection cannot see (a custom MarshalJSON).
type SchemaProvider interface {
	JSONSchema() json.RawMessage
}

var schemaCache sync.Map // reflect.Type → json.RawMessage

// SchemaFor returns the JSON Schema (draft 2020-12) of T's JSON encoding,
// derived by reflection and cached per type:
//
//   - struct fields by their json names; fields without omitempty or
//     omitzero, and not pointers, are required; unknown properties are
//     rejected (additionalProperties false), as [DecodeParams] does;
//   - a field's `doc:"..."` tag becomes its description and an
//     `enum:"a,b,c"` tag its allowed values;
//   - time.Time is a date-time string, time.Duration an integer of
//     nanoseconds, []byte a base64 string; slices, maps and pointers also
//     allow null (Go encodes nil as null);
//   - encoding.TextMarshaler types are strings, [SchemaProvider] types give
//     their own schema, other json.Marshaler types and interfaces allow
//     any value;
//   - named struct types are placed under $defs, so recursive types work.
func SchemaFor[T any]() json.RawMessage {
	return schemaOf(reflect.TypeFor[T]())
}

func schemaOf(t reflect.Type) json.RawMessage {
	if v, ok := schemaCache.Load(t); ok {
		return v.(json.RawMessage)
	}
	g := &schemaGen{defs: map[string]any{}, names: map[reflect.Type]string{}, root: t}
	s := g.schema(t)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	if len(g.defs) > 0 {
		s["$defs"] = g.defs
	}
	raw, err := json.Marshal(s)
	if err != nil { // every value above is a plain map, slice or string
		raw = json.RawMessage(`{}`)
	}
	schemaCache.Store(t, json.RawMessage(raw))
	return raw
}

type schemaGen struct {
	defs  map[string]any
	names map[reflect.Type]string
	root  reflect.Type
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	durationType    = reflect.TypeFor[time.Duration]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	providerType    = reflect.TypeFor[SchemaProvider]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshalerTy = reflect.TypeFor[encoding.TextMarshaler]()
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t.Kind() != reflect.Interface && t.Implements(providerType):
		return providedSchema(t)
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == durationType:
		return map[string]any{"type": "integer", "description": "duration in nanoseconds"}
	case t == rawMessageType:
		return map[string]any{}
	case t.Kind() != reflect.Pointer && t.Implements(jsonMarshaler):
		return map[string]any{}
	case t.Kind() != reflect.Pointer && (t.Implements(textMarshalerTy) || reflect.PointerTo(t).Implements(textMarshalerTy)):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Pointer:
		return nullable(g.schema(t.Elem()))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"}
		}
		return nullable(map[string]any{"type": "array", "items": g.schema(t.Elem())})
	case reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return nullable(map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())})
	case reflect.Struct:
		return g.structRef(t)
	}
	return map[string]any{} // interfaces and anything else: any JSON value
}

// structRef returns a reference to a named struct type's definition (the
// root itself is inlined), or an anonymous struct's schema inline.
func (g *schemaGen) structRef(t reflect.Type) map[string]any {
	if t.Name() == "" {
		return g.structSchema(t)
	}
	if t == g.root {
		if _, busy := g.names[t]; busy {
			return map[string]any{"$ref": "#"}
		}
		g.names[t] = "#"
		return g.structSchema(t)
	}
	if name, ok := g.names[t]; ok {
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	name := t.Name()
	for i := 2; g.defs[name] != nil; i++ {
		name = t.Name() + "_" + strconv.Itoa(i)
	}
	g.names[t] = name
	g.defs[name] = map[string]any{} // reserve the name while recursing
	g.defs[name] = g.structSchema(t)
	return map[string]any{"$ref": "#/$defs/" + name}
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.schema(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			s = withKey(s, "description", d)
		}
		if e := f.Tag.Get("enum"); e != "" {
			vals := []any{}
			for v := range strings.SplitSeq(e, ",") {
				vals = append(vals, strings.TrimSpace(v))
			}
			s = withKey(s, "enum", vals)
		}
		props[name] = s
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") || f.Type.Kind() == reflect.Pointer
		if !optional {
			*required = append(*required, name)
		}
	}
}

// withKey adds k to s; a $ref schema is wrapped, since siblings of $ref
// describe the reference, not the target.
func withKey(s map[string]any, k string, v any) map[string]any {
	if _, ok := s["$ref"]; ok {
		return map[string]any{"allOf": []any{s}, k: v}
	}
	s[k] = v
	return s
}

// providedSchema asks a SchemaProvider's zero value for its schema; a
// provider that fails (a nil pointer receiver it dereferences, bad JSON)
// gets "any value".
func providedSchema(t reflect.Type) (m map[string]any) {
	defer func() {
		if recover() != nil {
			m = map[string]any{}
		}
	}()
	if err := json.Unmarshal(reflect.Zero(t).Interface().(SchemaProvider).JSONSchema(), &m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}

func nullable(s map[string]any) map[string]any {
	switch typ := s["type"].(type) {
	case string:
		s["type"] = []any{typ, "null"}
		return s
	case nil:
		if len(s) == 0 {
			return s // already any value
		}
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}
