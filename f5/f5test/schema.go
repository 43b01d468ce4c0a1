package f5test

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schema/as3-schema.json schema/settings-schema.json schema/per-app-root.json schema/as3-request-schema.json
var schemaFS embed.FS

const (
	as3SchemaID    = "urn:uuid:85626792-9ee7-46bb-8fc8-4ba708cfdc1d"
	perAppSchemaID = "urn:netauto:f5test:per-app-root"
	settingsURL    = "urn:netauto:f5test:settings"
	// requestURL names the request ("envelope") schema. Its own $id is the
	// same as as3-schema.json's, so it is replaced when loaded.
	requestURL = "urn:netauto:f5test:as3-request"
)

// Request body kinds, each validated against its own definition of the
// AS3 request schema.
const (
	docADC      = "ADC"
	docAS3      = "AS3"
	docPatch    = "AS3_Patch_Body"
	docAS3Array = "AS3_Array"
	docADCArray = "ADC_Array"
	docPerApp   = "per-app"
	docSettings = "settings"
	// docRequest is the request envelope AS3 checks before it answers, and
	// before a task is created (src/lib/as3request.js validateAndWrap
	// against src/schema/latest/as3-request-schema.json, where an ADC is
	// only {"class": "ADC"}): the declaration itself is validated later,
	// inside the task.
	docRequest = "request"
)

type schemas struct {
	byDoc map[string]*jsonschema.Schema
	// byClass validates one Application item of a class; itemChain is the
	// schema's original item rule, for items without a usable class.
	byClass   map[string]*jsonschema.Schema
	itemChain *jsonschema.Schema
	// appProps are the Application properties that are not items.
	appProps map[string]bool
}

var (
	schemaOnce sync.Once
	compiled   *schemas
	compileErr error
)

// loadSchemas compiles the embedded schemas once per process.
func loadSchemas() (*schemas, error) {
	schemaOnce.Do(func() { compiled, compileErr = compileSchemas() })
	return compiled, compileErr
}

func compileSchemas() (*schemas, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.RegisterVocabulary(postProcessVocabulary())
	var dispatch *itemDispatch
	for _, f := range f5Formats {
		c.RegisterFormat(f)
	}
	for _, r := range []struct{ file, url string }{
		{"schema/as3-schema.json", as3SchemaID},
		{"schema/per-app-root.json", perAppSchemaID},
		{"schema/settings-schema.json", settingsURL},
		{"schema/as3-request-schema.json", requestURL},
	} {
		b, err := schemaFS.ReadFile(r.file)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.file, err)
		}
		if r.url == as3SchemaID {
			if dispatch, err = splitItemChain(doc); err != nil {
				return nil, err
			}
		}
		if r.url == requestURL {
			asMap(doc)["$id"] = requestURL
		}
		if err := c.AddResource(r.url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", r.file, err)
		}
	}
	s := &schemas{byDoc: make(map[string]*jsonschema.Schema)}
	locs := map[string]string{
		docADC:      as3SchemaID + "#/definitions/ADC",
		docAS3:      as3SchemaID + "#/definitions/AS3",
		docPatch:    as3SchemaID + "#/definitions/AS3_Patch_Body",
		docAS3Array: as3SchemaID + "#/definitions/AS3_Array",
		docADCArray: as3SchemaID + "#/definitions/ADC_Array",
		docPerApp:   perAppSchemaID,
		docSettings: settingsURL,
		docRequest:  requestURL,
	}
	for doc, loc := range locs {
		sch, err := c.Compile(loc)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", loc, err)
		}
		s.byDoc[doc] = sch
	}
	s.appProps = dispatch.appProps
	s.byClass = make(map[string]*jsonschema.Schema, len(dispatch.refs))
	var err error
	for class, ref := range dispatch.refs {
		if s.byClass[class], err = c.Compile(as3SchemaID + ref); err != nil {
			return nil, fmt.Errorf("compile %s: %w", ref, err)
		}
	}
	if s.itemChain, err = c.Compile(as3SchemaID + "#/definitions/" + itemChainDef); err != nil {
		return nil, fmt.Errorf("compile item chain: %w", err)
	}
	return s, nil
}

// itemChainDef names the Application item rule moved out of Application.
const itemChainDef = "netauto_Application_Item"

type itemDispatch struct {
	refs     map[string]string // class → "#/definitions/X"
	appProps map[string]bool
}

// splitItemChain speeds validation up without changing its outcome. AS3's
// Application checks every item with an allOf of about a hundred
// "if class is X then $ref X"; evaluating them all per item costs
// milliseconds. The chain is moved out of Application (keeping the class
// enum) and applied per item by looking the class up instead: for an item
// object with a string class exactly one "if" holds, so validating against
// its "then" is equivalent. Items without a string class still go through
// the original chain.
func splitItemChain(doc any) (*itemDispatch, error) {
	defs, _ := asMap(doc)["definitions"].(map[string]any)
	app := asMap(defs["Application"])
	items := asMap(app["additionalProperties"])
	chain, ok := items["allOf"].([]any)
	if !ok {
		return nil, fmt.Errorf("AS3 schema: Application.additionalProperties.allOf not found")
	}
	d := &itemDispatch{refs: map[string]string{}, appProps: map[string]bool{}}
	for i, e := range chain {
		class, _ := asMap(asMap(asMap(asMap(e)["if"])["properties"])["class"])["const"].(string)
		ref, _ := asMap(asMap(e)["then"])["$ref"].(string)
		if class == "" || ref == "" || len(asMap(e)) != 2 {
			return nil, fmt.Errorf("AS3 schema: Application item rule %d is not 'if class then $ref'", i)
		}
		d.refs[class] = ref
	}
	for k := range asMap(app["properties"]) {
		d.appProps[k] = true
	}
	defs[itemChainDef] = items
	app["additionalProperties"] = map[string]any{"properties": items["properties"]}
	return d, nil
}

// validateItems applies the per-class item rules to every Application in
// v, in a stable order, returning the first error with its full path.
func (s *schemas) validateItems(v any, path []string) *jsonschema.ValidationError {
	switch x := v.(type) {
	case map[string]any:
		isApp := x["class"] == "Application"
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := append(slices.Clip(path), k)
			if isApp && !s.appProps[k] {
				sch := s.itemChain
				if class, ok := asMap(x[k])["class"].(string); ok {
					if sch, ok = s.byClass[class]; !ok {
						continue // in the class enum (checked already) but without a rule
					}
				}
				collector.base = p
				err := sch.Validate(x[k])
				collector.base = nil
				if err != nil {
					ve, ok := err.(*jsonschema.ValidationError)
					if !ok {
						return &jsonschema.ValidationError{InstanceLocation: p, ErrorKind: &kind.Schema{Location: err.Error()}}
					}
					prefix(ve, p)
					return ve
				}
				continue
			}
			if err := s.validateItems(x[k], p); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := s.validateItems(e, append(slices.Clip(path), strconv.Itoa(i))); err != nil {
				return err
			}
		}
	}
	return nil
}

// prefix makes instance locations of an item's errors absolute.
func prefix(e *jsonschema.ValidationError, p []string) {
	e.InstanceLocation = append(slices.Clip(p), e.InstanceLocation...)
	for _, c := range e.Causes {
		prefix(c, p)
	}
}

// validate checks v (decoded with jsonschema.UnmarshalJSON or encoding/json
// into any) against the schema for doc and returns AS3-style messages
// ("/tenant/app/pool: should NOT have additional properties"), or nil.
func validate(doc string, v any) ([]string, error) {
	errs, _, _, err := validateCollect(doc, v)
	return errs, err
}

// validateCollect is validate that also returns, for a valid document,
// the values AS3 checks after JSON Schema validation (see postCheck) and
// the document as validated: a copy with the schema defaults filled in.
func validateCollect(doc string, v any) ([]string, []postCheck, any, error) {
	s, err := loadSchemas()
	if err != nil {
		return nil, nil, nil, err
	}
	if doc != docRequest {
		// AS3 validates with defaults filled in (ajv useDefaults). The
		// request schema looks no deeper than {"class": "ADC"}, so the
		// declaration's defaults cannot change its outcome.
		v = deepCopy(v)
		fillDefaults(v)
	}
	collector.mu.Lock()
	defer collector.mu.Unlock()
	collector.base, collector.list = nil, nil
	defer func() { collector.base, collector.list = nil, nil }()
	err = s.byDoc[doc].Validate(v)
	if err == nil {
		if doc == docRequest || doc == docSettings || doc == docPatch {
			return nil, nil, v, nil // no Application items there
		}
		if ve := s.validateItems(v, nil); ve != nil {
			return []string{as3Message(bestLeaf(ve))}, nil, nil, nil
		}
		return nil, slices.Clone(collector.list), v, nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return nil, nil, nil, err
	}
	return []string{as3Message(bestLeaf(ve))}, nil, nil, nil
}

// bestLeaf picks the error AS3 would report. AS3's validator (ajv 6,
// stopping at the first error) checks an object's own keywords (required,
// additionalProperties, type, ...) before its composite ones (allOf, if/then,
// oneOf), so a direct error on an object wins over errors inside branches.
// Among the failed branches of oneOf/anyOf the most specific one (deepest in
// the instance) is reported; other composites are followed in order.
func bestLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return e
	}
	for _, c := range e.Causes {
		if len(c.Causes) == 0 {
			return c
		}
	}
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		var best *jsonschema.ValidationError
		for _, c := range e.Causes {
			if l := bestLeaf(c); best == nil || len(l.InstanceLocation) > len(best.InstanceLocation) {
				best = l
			}
		}
		return best
	}
	return bestLeaf(e.Causes[0])
}

var english = message.NewPrinter(language.English)

// as3Message renders an error the way AS3 (ajv 6) words it.
func as3Message(e *jsonschema.ValidationError) string {
	// util.formatAjvErr (src/lib/util/util.js): "<dataPath>: <message>",
	// the root being "/"; enum, const and pattern add what was allowed or
	// given.
	path := "/" + strings.Join(escapeAll(e.InstanceLocation), "/")
	var msg string
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		msg = fmt.Sprintf("should have required property '%s'", k.Missing[0])
	case *kind.AdditionalProperties:
		msg = "should NOT have additional properties"
		if len(k.Properties) > 0 {
			msg += fmt.Sprintf(" (additionalProperty: %q)", k.Properties[0])
		}
	case *kind.Format:
		msg = fmt.Sprintf("should match format %q", k.Want)
	case *kind.Enum:
		msg = "should be equal to one of the allowed values " + compactJSON(k.Want)
	case *kind.Const:
		msg = "should be equal to constant " + compactJSON(k.Want)
	case *kind.Type:
		msg = "should be " + strings.Join(k.Want, ",")
	case *kind.Pattern:
		msg = fmt.Sprintf("data %s should match pattern %q", compactJSON(k.Got), k.Want)
	case *kind.Minimum:
		msg = "should be >= " + k.Want.RatString()
	case *kind.Maximum:
		msg = "should be <= " + k.Want.RatString()
	case *kind.MaxProperties:
		msg = fmt.Sprintf("should NOT have more than %d properties", k.Want)
	case *kind.MinItems:
		msg = fmt.Sprintf("should NOT have fewer than %d items", k.Want)
	case *kind.MaxLength:
		msg = fmt.Sprintf("should NOT be longer than %d characters", k.Want)
	default:
		msg = e.ErrorKind.LocalizedString(english)
	}
	return path + ": " + msg
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func escapeAll(segs []string) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
	}
	return out
}

// F5's custom formats. Their rules are AS3's (src/lib/adcParserFormats.js
// in f5-appsvcs-extension); the code here is written from those rules.
var f5Formats = []*jsonschema.Format{
	{Name: "f5ip", Validate: stringFormat(func(s string) bool { return s == "" || isF5IP(s, true, true) })},
	{Name: "f5ipv4", Validate: stringFormat(func(s string) bool { return s == "" || isF5IP(s, true, false) })},
	{Name: "f5ipv6", Validate: stringFormat(func(s string) bool { return s == "" || isF5IP(s, false, true) })},
	{Name: "f5bigip", Validate: stringFormat(f5BigIPPath.MatchString)},
	{Name: "f5pointer", Validate: stringFormat(f5Pointer.MatchString)},
}

var (
	// f5bigip: an absolute BIG-IP pathname; no control characters nor any of
	// " # ' * < > ? [ \ ] { | } DEL.
	f5BigIPPath = regexp.MustCompile(`^/[^\x00-\x19"#'*<>?\[\\\]{|}\x7f]+$`)
	// f5pointer: an AS3 pointer, i.e. a name, a relative or absolute JSON
	// pointer built from names of up to 64 characters, "@" macros, with an
	// optional trailing "#".
	f5Pointer = regexp.MustCompile(`^((@|[0-9]+)|(([0-9]*/)?((@|[0-9]+|[A-Za-z][0-9A-Za-z_]{0,63})/)*([0-9]+|([A-Za-z][0-9A-Za-z_]{0,63}))))?#?$`)
)

func stringFormat(ok func(string) bool) func(any) error {
	return func(v any) error {
		s, isString := v.(string)
		if !isString || ok(s) {
			return nil
		}
		return fmt.Errorf("%q is not valid", s)
	}
}

// isF5IP accepts an IPv4 or IPv6 address, optionally followed by %<route
// domain id> and/or /<mask length>, e.g. "10.0.0.1%2/24", "2001:db8::1/64".
func isF5IP(s string, v4, v6 bool) bool {
	addr, mask, hasMask := strings.Cut(s, "/")
	if hasMask {
		n, err := strconv.Atoi(mask)
		if err != nil || n < 0 || mask == "" || (len(mask) > 1 && mask[0] == '0') {
			return false
		}
		if !strings.Contains(addr, ":") && n > 32 || n > 128 {
			return false
		}
	}
	ip, rd, hasRD := strings.Cut(addr, "%")
	if hasRD {
		n, err := strconv.Atoi(rd)
		if err != nil || n < 0 || n > 65535 {
			return false
		}
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return false
	}
	if a.Is4() {
		return v4
	}
	return v6
}

// postCheck is one value AS3 checks after JSON Schema validation. The AS3
// schema marks such values with its own keyword f5PostProcess; AS3 collects
// them while validating (src/lib/adcParserKeywords.js) and then runs them
// (src/lib/postProcessor.js): "pointer" resolves an AS3 pointer inside the
// declaration (src/lib/tag/pointerTag.js), "bigComponent" looks a BIG-IP
// object up on the device (src/lib/tag/bigComponentTag.js). Other tags
// (fetch, secret, expand, minVersion, modules, ...) are collected too and
// ignored by the fake.
type postCheck struct {
	tag   string
	data  any      // the keyword's "data": a schema for the target, or component queries
	loc   []string // instance location in the validated document
	value any
}

// collector receives postChecks during one validation. The validator offers
// no per-call state to keyword extensions, so validations are serialized
// (validateCollect holds mu) and the extension appends here.
var collector struct {
	mu   sync.Mutex
	base []string // location of the value being validated on its own (an Application item)
	list []postCheck
}

type postProcessKeyword struct {
	tag  string
	data any
}

// Validate records the value; it never fails validation.
func (k *postProcessKeyword) Validate(ctx *jsonschema.ValidatorContext, v any) {
	loc := append(slices.Clip(collector.base), ctx.ValueLocation()...)
	for _, c := range collector.list {
		if c.tag == k.tag && slices.Equal(c.loc, loc) {
			return
		}
	}
	collector.list = append(collector.list, postCheck{tag: k.tag, data: k.data, loc: slices.Clone(loc), value: v})
}

// postProcessVocabulary makes the compiler keep f5PostProcess keywords.
func postProcessVocabulary() *jsonschema.Vocabulary {
	return &jsonschema.Vocabulary{
		URL: "urn:netauto:f5test:f5PostProcess",
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			pp, ok := obj["f5PostProcess"].(map[string]any)
			if !ok {
				return nil, nil
			}
			tag, _ := pp["tag"].(string)
			if tag == "" {
				return nil, nil
			}
			return &postProcessKeyword{tag: tag, data: pp["data"]}, nil
		},
	}
}
