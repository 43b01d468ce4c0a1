package f5test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The checks AS3 runs after JSON Schema validation, on the values the
// schema marks with f5PostProcess (collected by validateCollect). Source:
// github.com/F5Networks/f5-appsvcs-extension at the commit in
// schema/SOURCE.md.
//
//   - "pointer" (src/lib/tag/pointerTag.js, src/lib/util/extractUtil.js
//     getAs3Object): an AS3 pointer ("web_pool", "/T/A/web_pool",
//     "/Common/Shared/x", "@/...", "1/...") must lead to an object of the
//     declaration, inside the same application, /T/Shared or /Common/Shared,
//     and that object must have the class the schema asks for. A failure is
//     a validation error: 422 "declaration is invalid" with
//     "<path>: contains path to non-existent object <name>" (asserted by
//     test/integration/bigip/misc/restResponse.js).
//   - "bigComponent" (src/lib/tag/bigComponentTag.js): {"bigip": "/P/name"}
//     must name an existing BIG-IP object of the queried kind; otherwise 422
//     with message "Unable to find <name> for <path>" and no "errors". The
//     fake can only look up the kinds it models (ltm pool, node and virtual,
//     sys file ssl-cert and ssl-key, plus BIG-IP's built-in /Common objects
//     of those kinds that AS3 itself refers to); a reference to any other
//     kind (profiles, iRules, policies, ...) is accepted unchecked.

// bigipKinds maps AS3's component queries ("query ltm pool") to the
// collections the fake keeps.
var bigipKinds = map[string]string{
	"query ltm pool":          "ltm/pool",
	"query ltm node":          "ltm/node",
	"query ltm virtual":       "ltm/virtual",
	"query sys file ssl-cert": "sys/file/ssl-cert",
	"query sys file ssl-key":  "sys/file/ssl-key",
}

// builtinObjects are objects every BIG-IP has in /Common that AS3 refers
// to on its own (src/lib/map_as3.js: /Common/default.crt, default.key and
// ca-bundle.crt; setMonitors maps the schema's monitor names http, https,
// http2, icmp (gateway_icmp), tcp, tcp-half-open (tcp_half_open) and udp to
// /Common monitors).
var builtinObjects = map[string][]string{
	"sys/file/ssl-cert": {"/Common/default.crt", "/Common/ca-bundle.crt"},
	"sys/file/ssl-key":  {"/Common/default.key"},
	"ltm/monitor":       {"/Common/http", "/Common/https", "/Common/http2", "/Common/gateway_icmp", "/Common/tcp", "/Common/tcp_half_open", "/Common/udp"},
}

// postCheckFailure is AS3's answer to a failed post-validation check:
// Errors for a pointer (a validation error), Message alone otherwise.
type postCheckFailure struct {
	Errors  []string
	Message string
}

// runPostChecks runs the pointer and bigComponent checks on decl (the
// declaration as validated, defaults filled in) and returns the first
// failure, or nil. AS3 reports one error (src/lib/adcParser.js maxerrs = 1).
func (s *Server) runPostChecks(decl map[string]any, checks []postCheck) *postCheckFailure {
	for _, c := range checks {
		if c.tag != "pointer" {
			continue
		}
		ptr, ok := c.value.(string)
		if !ok || ptr == "" { // pointerTag.js skips these
			continue
		}
		src := "/" + strings.Join(escapeAll(c.loc), "/")
		target, err := resolvePointer(decl, ptr, src)
		if err == nil && !matchesPointerSchema(target, c.data) {
			err = fmt.Errorf("AS3 pointer %s does not point to required object type", ptr)
		}
		if err != nil {
			return &postCheckFailure{Errors: []string{src + ": " + err.Error()}, Message: "declaration is invalid"}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range checks {
		if c.tag != "bigComponent" {
			continue
		}
		ref, ok := c.value.(map[string]any)
		if !ok {
			continue
		}
		name, ok := ref["bigip"].(string)
		if !ok {
			continue
		}
		queries, _ := c.data.([]any)
		if len(queries) == 0 {
			continue
		}
		// Any one matching query satisfies AS3 (raceSuccess over the
		// queries); a query the fake does not model might match, so the
		// reference is accepted unchecked then.
		found := false
		for _, q := range queries {
			coll, modelled := bigipKinds[fmt.Sprint(q)]
			if !modelled || s.objectExists(coll, name) {
				found = true
				break
			}
		}
		if !found {
			return &postCheckFailure{Message: fmt.Sprintf("Unable to find %s for %s", name, "/"+strings.Join(escapeAll(c.loc), "/"))}
		}
	}
	return nil
}

// objectExists reports whether the device has the object; s.mu is held.
func (s *Server) objectExists(coll, fullPath string) bool {
	if slices.Contains(builtinObjects[coll], fullPath) {
		return true
	}
	if coll == "ltm/monitor" {
		for c, objs := range s.ltm.objects {
			if strings.HasPrefix(c, "ltm/monitor/") && objs[fullPath] != nil {
				return true
			}
		}
		return false
	}
	return s.ltm.objects[coll][fullPath] != nil
}

// matchesPointerSchema checks the pointed-to object against the small
// schema the f5PostProcess keyword carries: "type": "object", "required"
// and "const"/"enum" on properties (the only keywords AS3's schema uses
// there). As in JSON Schema, required and properties apply to objects only.
func matchesPointerSchema(target any, schema any) bool {
	sch, _ := schema.(map[string]any)
	if sch == nil {
		return true
	}
	obj, isObj := target.(map[string]any)
	if sch["type"] == "object" && !isObj {
		return false
	}
	if !isObj {
		return true
	}
	for _, r := range toStrings(sch["required"]) {
		if _, ok := obj[r]; !ok {
			return false
		}
	}
	props, _ := sch["properties"].(map[string]any)
	for name, ps := range props {
		v, present := obj[name]
		p, _ := ps.(map[string]any)
		if !present || p == nil {
			continue
		}
		if c, ok := p["const"]; ok && !sameJSON(c, v) {
			return false
		}
		if e, ok := p["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return sameJSON(x, v) }) {
			return false
		}
	}
	return true
}

// AS3 pointer syntax (src/lib/util/extractUtil.js getAs3Object): names of
// up to 189 characters, "@" macros, relative JSON pointer prefixes, an
// optional trailing "#". Properties deeper than an Application's item may
// also use "-" inside names.
var (
	pointerSyntax        = regexp.MustCompile(`^((@|[0-9]+)|(([0-9]*/)?((@|[0-9]+|([A-Za-z_][0-9A-Za-z_.]{0,188}))/)*([0-9]+|([A-Za-z_][0-9A-Za-z_.]{0,188}))))?#?$`)
	pointerSyntaxAppProp = regexp.MustCompile(`^((@|[0-9]+)|(([0-9]*/)?((@|[0-9]+|([A-Za-z_][0-9A-Za-z_.-]{0,188}[0-9A-Za-z_.]*))/)*([0-9]+|([A-Za-z_][0-9A-Za-z_.-]{0,188}[0-9A-Za-z_.]))))?#?$`)
)

// resolvePointer follows AS3's rules for the pointer path found at the
// JSON pointer src of root and returns what it points to, or AS3's error.
func resolvePointer(root map[string]any, path, src string) (any, error) {
	v := strings.Split(src, "/")
	origin, _ := lookup(root, v[1:len(v)-1]).(map[string]any)
	syntax := pointerSyntax
	if len(v) > 4 && (origin == nil || origin["class"] != "Constants") {
		syntax = pointerSyntaxAppProp
	}
	if path == "#" || !syntax.MatchString(path) {
		return nil, fmt.Errorf("contains an invalid path (invalid character)")
	}
	path = strings.TrimSuffix(path, "#")
	p := v[len(v)-1]
	if p == "use" || p == "copyFrom" || p == "reuseFrom" {
		v = v[:len(v)-1]
		if len(v) > 0 {
			p = v[len(v)-1]
		}
	}
	if len(v) < 2 || p == "" {
		return nil, fmt.Errorf("cannot ascertain path property name")
	}

	var elems []string
	switch c := path[0]; {
	case c == '@':
		// from the nearest ancestor that has a class
		var obj any = root
		elems = v[:len(v)-1]
		i := 1
		for ; i < len(elems); i++ {
			next, _ := asMap(obj)[unescape(elems[i])].(map[string]any)
			if _, classy := next["class"]; !classy {
				break
			}
			obj = next
		}
		elems = slices.Clone(elems[:i])
		if len(path) > 1 {
			if path[1] != '/' {
				return nil, fmt.Errorf("property name in path may not begin with @")
			}
			path = path[1:]
		}
		if path = path[1:]; path != "" {
			elems = append(elems, strings.Split(path, "/")...)
		}
	case c >= '0' && c <= '9':
		// relative JSON pointer
		pfx, i := 0, 0
		for ; i < len(path) && path[i] >= '0' && path[i] <= '9' && pfx < 100; i++ {
			pfx = pfx*10 + int(path[i]-'0')
		}
		if pfx >= len(v) || pfx > 99 {
			return nil, fmt.Errorf("contains relative JSON pointer with too-big prefix")
		}
		elems = slices.Clone(v[:len(v)-pfx])
		if path = path[i:]; path != "" {
			if path[0] != '/' {
				return nil, fmt.Errorf("contains invalid relative JSON pointer")
			}
			elems = append(elems, strings.Split(path[1:], "/")...)
		}
	case c != '/':
		// relative to the current Application
		if len(v) < 4 {
			return nil, fmt.Errorf("contains relative path valid only within /Tenant/Application")
		}
		elems = append(slices.Clone(v[:3]), strings.Split(path, "/")...)
	default:
		elems = strings.Split(path, "/")
	}

	leaf := elems[len(elems)-1]
	elems = elems[:len(elems)-1]
	if len(elems) < 2 {
		return nil, fmt.Errorf("contains invalid path (cross-/T/A)")
	}
	var obj map[string]any = root
	if len(elems) < 3 {
		// a Tenant, without an Application
		if leaf == "@" {
			leaf = v[1]
		} else if leaf != v[1] && leaf != "Common" {
			return nil, fmt.Errorf("contains invalid path (Tenant without application)")
		}
		t, ok := obj[unescape(leaf)]
		if !ok {
			return nil, fmt.Errorf("contains path to non-existent object %s", leaf)
		}
		return t, nil
	}
	for i := 1; i < len(elems); i++ {
		if elems[i] == "@" {
			if i >= len(v) {
				return nil, fmt.Errorf("contains path with too many @ tokens")
			}
			elems[i] = v[i]
		}
		next, ok := obj[unescape(elems[i])].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("contains path to non-existent object %s", elems[i])
		}
		obj = next
		if (i == 1 && elems[i] != "Common" && elems[i] != v[i]) ||
			(i == 2 && elems[i] != "Shared" && (i >= len(v) || elems[i] != v[i])) {
			return nil, fmt.Errorf("must contain path pointing into same Application (or /same-Tenant/Shared or /Common/Shared)")
		}
	}
	t, ok := obj[unescape(leaf)]
	if !ok {
		return nil, fmt.Errorf("contains path to non-existent object %s", leaf)
	}
	return t, nil
}

// lookup walks escaped JSON pointer segments from root; nil when absent.
func lookup(root any, segs []string) any {
	cur := root
	for _, s := range segs {
		switch x := cur.(type) {
		case map[string]any:
			cur = x[unescape(s)]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			cur = x[i]
		default:
			return nil
		}
	}
	return cur
}
