package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxParamBytes bounds a path element or query value: no name, ID or key
// the store keeps is longer.
const maxParamBytes = 1024

// wildcardRE finds the wildcards of a route pattern: {name} and {name...}.
var wildcardRE = regexp.MustCompile(`\{([^}.]+)(?:\.\.\.)?\}`)

// wildcards returns the names of the wildcards of pattern.
func wildcards(pattern string) []string {
	var out []string
	for _, m := range wildcardRE.FindAllStringSubmatch(pattern, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkURL checks what a request carries outside its body before its
// handler sees it: every path value of the route's wildcards, every query
// parameter and the Idempotency-Key header must be text a store keeps
// (valid UTF-8, no NUL character, at most maxParamBytes) and the query
// must parse. PostgreSQL refuses such text with an error, which would
// otherwise surface as a 500; it is the caller's mistake, answered 400
// naming the field.
func checkURL(r *http.Request, names []string) error {
	for _, name := range names {
		if err := checkParam(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("query", "malformed query string: %v", err)
	}
	for k, vs := range q {
		if err := checkParam("query", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := checkParam(k, v); err != nil {
				return err
			}
		}
	}
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if err := checkParam("Idempotency-Key", h); err != nil {
			return err
		}
	}
	return nil
}

func checkParam(field, v string) error {
	switch {
	case !utf8.ValidString(v):
		return badRequest(field, "not valid UTF-8")
	case strings.ContainsRune(v, 0):
		return badRequest(field, "holds a NUL character")
	case len(v) > maxParamBytes:
		return badRequest(field, "%d bytes long; at most %d", len(v), maxParamBytes)
	}
	return nil
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// checkText walks a decoded request body and refuses text a store cannot
// keep: a string holding a NUL character (JSON's \u0000), a raw JSON value
// that is not valid UTF-8 (decoding passes such bytes through). The error
// names the field by its JSON path.
func checkText(v any) error {
	return checkValue(reflect.ValueOf(v), "")
}

func checkValue(v reflect.Value, path string) error {
	field := func() string {
		if path == "" {
			return "body"
		}
		return path
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkValue(v.Elem(), path)
	case reflect.String:
		if strings.ContainsRune(v.String(), 0) {
			return badRequest(field(), "holds a NUL character")
		}
		if !utf8.ValidString(v.String()) {
			return badRequest(field(), "not valid UTF-8")
		}
	case reflect.Slice:
		if v.Type() == rawMessageType {
			if !utf8.Valid(v.Bytes()) {
				return badRequest(field(), "not valid UTF-8")
			}
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := checkValue(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			p := joinPath(path, k.String())
			if k.Kind() == reflect.String {
				if err := checkValue(k, p); err != nil {
					return err
				}
			}
			if err := checkValue(iter.Value(), p); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			p := path
			if !sf.Anonymous || name != "" {
				if name == "" {
					name = sf.Name
				}
				p = joinPath(path, name)
			}
			if err := checkValue(v.Field(i), p); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinPath(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}
