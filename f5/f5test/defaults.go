package f5test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
)

var (
	definitionsOnce sync.Once
	definitions     map[string]any
)

// schemaDefinitions returns the AS3 schema's definitions as generic JSON,
// parsed once.
func schemaDefinitions() map[string]any {
	definitionsOnce.Do(func() {
		b, err := schemaFS.ReadFile("schema/as3-schema.json")
		if err != nil {
			return
		}
		var root map[string]any
		if json.Unmarshal(b, &root) == nil {
			definitions, _ = root["definitions"].(map[string]any)
		}
	})
	return definitions
}

// fillDefaults adds schema defaults to v in place, as AS3 does while
// validating (ajv's useDefaults): required properties that have a default
// may therefore be omitted, and the result is what show=full returns.
//
// The schema of an object is the one its parent property names, or else the
// definition of its "class". Its properties are gathered through $ref,
// allOf, a single-alternative oneOf/anyOf and if/then/else whose "if" is a
// plain "required" list or a "const" on a property; other conditional
// schemas are not followed, so defaults that only they introduce are not
// added.
func fillDefaults(v any) {
	walkDefaults(schemaDefinitions(), v, nil)
}

func walkDefaults(defs map[string]any, v any, schema map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if schema == nil {
			if class, ok := x["class"].(string); ok {
				schema, _ = defs[definitionName(class)].(map[string]any)
			}
		}
		props := propsFor(defs, schema, x)
		for name, ps := range props {
			if _, present := x[name]; present {
				continue
			}
			if d, ok := ps.(map[string]any)["default"]; ok {
				x[name] = deepCopy(d)
			}
		}
		for name, child := range x {
			walkDefaults(defs, child, resolve(defs, props[name]))
		}
	case []any:
		items, _ := schema["items"].(map[string]any)
		for _, e := range x {
			walkDefaults(defs, e, resolve(defs, items))
		}
	}
}

// propsCache holds the gathered properties of schemas whose gathering did
// not depend on the object (no if/then/else on the way), keyed by the
// schema map's identity. The schema is never modified, so entries stay valid.
var propsCache sync.Map

// propsFor returns the property schemas that apply to obj; the result is
// shared and must not be modified.
func propsFor(defs, schema, obj map[string]any) map[string]any {
	if schema == nil {
		return nil
	}
	key := reflect.ValueOf(schema).Pointer()
	if p, ok := propsCache.Load(key); ok {
		return p.(map[string]any)
	}
	out := map[string]any{}
	if !collectProps(defs, schema, obj, out, 0) {
		propsCache.Store(key, out)
	}
	return out
}

// collectProps gathers the property schemas that apply to obj. It reports
// whether the result depended on obj (an if/then/else was evaluated).
func collectProps(defs, schema map[string]any, obj map[string]any, out map[string]any, depth int) (conditional bool) {
	if schema == nil || depth > 8 {
		return false
	}
	if ref, ok := schema["$ref"].(string); ok {
		conditional = collectProps(defs, resolve(defs, map[string]any{"$ref": ref}), obj, out, depth+1)
	}
	if props, ok := schema["properties"].(map[string]any); ok {
		for k, p := range props {
			if _, seen := out[k]; !seen {
				if pm, ok := p.(map[string]any); ok {
					out[k] = pm
				}
			}
		}
	}
	subs, _ := schema["allOf"].([]any)
	for _, key := range []string{"oneOf", "anyOf"} {
		if alt, _ := schema[key].([]any); len(alt) == 1 {
			subs = append(slices.Clip(subs), alt[0])
		}
	}
	for _, sub := range subs {
		if collectProps(defs, asMap(sub), obj, out, depth+1) {
			conditional = true
		}
	}
	if cond, ok := schema["if"].(map[string]any); ok {
		branch := "else"
		if ifHolds(cond, obj) {
			branch = "then"
		}
		collectProps(defs, asMap(schema[branch]), obj, out, depth+1)
		conditional = true
	}
	return conditional
}

// ifHolds evaluates the simple "if" schemas AS3 uses for defaults; any
// other condition counts as not holding.
func ifHolds(cond, obj map[string]any) bool {
	decided := false
	if req, ok := cond["required"].([]any); ok {
		for _, k := range req {
			if _, present := obj[k.(string)]; !present {
				return false
			}
		}
		decided = true
	}
	if props, ok := cond["properties"].(map[string]any); ok {
		for k, p := range props {
			c, hasConst := asMap(p)["const"]
			if !hasConst {
				return false
			}
			got, present := obj[k]
			if present && !sameJSON(got, c) {
				return false
			}
		}
		decided = true
	}
	return decided
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// resolve follows a local "$ref" to its definition.
func resolve(defs map[string]any, s any) map[string]any {
	m := asMap(s)
	if ref, ok := m["$ref"].(string); ok && len(m) == 1 {
		return asMap(defs[strings.TrimPrefix(ref, "#/definitions/")])
	}
	return m
}

// definitionName maps a class to its schema definition where they differ.
func definitionName(class string) string {
	if class == "iRule" {
		return "IRule"
	}
	return class
}
