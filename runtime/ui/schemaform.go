package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// field is one input of a run-now form, made from a property of the
// flow's parameter JSON Schema.
type field struct {
	Name, Label, Type, Description string
	// Input is the HTML control: text, number, checkbox, select, json.
	Input    string
	Step     string
	Enum     []string
	Required bool
	// Value is what the input shows: the submitted value, else the
	// deployment's default, else the schema's.
	Value string
	Error string
}

// schemaProp is the part of a JSON Schema property the form uses.
type schemaProp struct {
	Type        any               `json:"type"`
	Description string            `json:"description"`
	Title       string            `json:"title"`
	Default     json.RawMessage   `json:"default"`
	Enum        []json.RawMessage `json:"enum"`
}

// formFields lays out a form for a parameter schema (an object schema;
// anything else gives one JSON field for every parameter), with the
// deployment's defaults as values.
func formFields(schema, defaults json.RawMessage) []field {
	var s struct {
		Type       any                   `json:"type"`
		Properties map[string]schemaProp `json:"properties"`
		Required   []string              `json:"required"`
	}
	if json.Unmarshal(schema, &s) != nil || len(s.Properties) == 0 {
		return nil
	}
	var defs map[string]json.RawMessage
	_ = json.Unmarshal(defaults, &defs)
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	// Required parameters first, then by name.
	slices.SortFunc(names, func(a, b string) int {
		ra, rb := slices.Contains(s.Required, a), slices.Contains(s.Required, b)
		if ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var out []field
	for _, n := range names {
		p := s.Properties[n]
		f := field{Name: n, Label: cmpOr(p.Title, n), Description: p.Description, Required: slices.Contains(s.Required, n), Type: typeOf(p.Type)}
		switch f.Type {
		case "integer":
			f.Input, f.Step = "number", "1"
		case "number":
			f.Input, f.Step = "number", "any"
		case "boolean":
			f.Input = "checkbox"
		case "string":
			f.Input = "text"
		default:
			f.Input = "json"
		}
		if len(p.Enum) > 0 && (f.Type == "string" || f.Type == "integer" || f.Type == "number") {
			f.Input = "select"
			for _, e := range p.Enum {
				f.Enum = append(f.Enum, scalarText(e))
			}
		}
		if v, ok := defs[n]; ok {
			f.Value = inputText(f, v)
		} else if len(p.Default) > 0 {
			f.Value = inputText(f, p.Default)
		}
		out = append(out, f)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// typeOf reads a schema's type: a name, or the first non-null name of a
// list (["string", "null"]).
func typeOf(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

func scalarText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

func inputText(f field, raw json.RawMessage) string {
	if f.Input == "json" {
		return indentJSON(raw)
	}
	return scalarText(raw)
}

// readForm converts the submitted form to parameters as the schema types
// them. An empty optional input is left out (the deployment's default
// applies). Inputs that do not convert get an error beside their field.
func readForm(fields []field, get func(string) string, has func(string) bool) (map[string]any, bool) {
	params := map[string]any{}
	ok := true
	for i := range fields {
		f := &fields[i]
		v := get("p." + f.Name)
		f.Value = v
		if f.Input == "checkbox" {
			on := has("p." + f.Name)
			params[f.Name] = on
			f.Value = strconv.FormatBool(on)
			continue
		}
		if strings.TrimSpace(v) == "" {
			continue // the API says whether it was required
		}
		switch f.Type {
		case "integer":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				f.Error, ok = "want a whole number", false
				continue
			}
			params[f.Name] = n
		case "number":
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				f.Error, ok = "want a number", false
				continue
			}
			params[f.Name] = x
		case "string":
			params[f.Name] = v
		default:
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				f.Error, ok = fmt.Sprintf("want JSON: %v", err), false
				continue
			}
			params[f.Name] = x
		}
	}
	return params, ok
}
