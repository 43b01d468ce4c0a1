package f5test

import (
	"encoding/json"
	"reflect"
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
		props := map[string]any{}
		collectProps(defs, schema, x, props, 0)
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

// collectProps gathers the property schemas that apply to obj.
func collectProps(defs, schema map[string]any, obj map[string]any, out map[string]any, depth int) {
	if schema == nil || depth > 8 {
		return
	}
	if ref, ok := schema["$ref"].(string); ok {
		collectProps(defs, resolve(defs, map[string]any{"$ref": ref}), obj, out, depth+1)
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
	for _, key := range []string{"allOf"} {
		subs, _ := schema[key].([]any)
		for _, sub := range subs {
			collectProps(defs, asMap(sub), obj, out, depth+1)
		}
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		if subs, _ := schema[key].([]any); len(subs) == 1 {
			collectProps(defs, asMap(subs[0]), obj, out, depth+1)
		}
	}
	if cond, ok := schema["if"].(map[string]any); ok {
		branch := "else"
		if ifHolds(cond, obj) {
			branch = "then"
		}
		collectProps(defs, asMap(schema[branch]), obj, out, depth+1)
	}
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
			if present && !reflect.DeepEqual(normalize(got), normalize(c)) {
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
