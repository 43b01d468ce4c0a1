package api

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/netauto-dev/netauto/runtime/store"
)

// schemaCache holds compiled parameter schemas by flow name, version and
// schema hash: a schema is compiled once per flow version (and again only
// if a version is re-registered with another schema).
type schemaCache struct {
	mu    sync.Mutex
	max   int
	byKey map[string]*jsonschema.Schema
}

func newSchemaCache(max int) *schemaCache {
	return &schemaCache{max: max, byKey: map[string]*jsonschema.Schema{}}
}

var printer = message.NewPrinter(language.English)

// validator returns the compiled parameter schema of f, or nil when f has
// none.
func (c *schemaCache) validator(f store.Flow) (*jsonschema.Schema, error) {
	if len(bytes.TrimSpace(f.Parameters)) == 0 {
		return nil, nil
	}
	sum := sha256.Sum256(f.Parameters)
	key := fmt.Sprintf("%s\x00%s\x00%x", f.Name, f.Version, sum)
	c.mu.Lock()
	sch := c.byKey[key]
	c.mu.Unlock()
	if sch != nil {
		return sch, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(f.Parameters))
	if err != nil {
		return nil, fmt.Errorf("flow %q parameter schema: %w", f.Name, err)
	}
	comp := jsonschema.NewCompiler()
	url := "netauto:///flows/" + f.Name + ".json"
	if err := comp.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("flow %q parameter schema: %w", f.Name, err)
	}
	sch, err = comp.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("flow %q parameter schema: %w", f.Name, err)
	}
	c.mu.Lock()
	if len(c.byKey) >= c.max {
		clear(c.byKey) // flows are few; a full cache is a registration storm
	}
	c.byKey[key] = sch
	c.mu.Unlock()
	return sch, nil
}

// validateParams checks parameters (a JSON object) against sch and
// returns a 422 naming the first bad field, as "parameters.a.b". With
// partial set, missing required parameters pass (deployment defaults,
// which a run request completes).
func validateParams(sch *jsonschema.Schema, params []byte, partial bool) error {
	if sch == nil {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(params))
	if err != nil {
		return badRequest("parameters", "malformed JSON: %v", err)
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	leaf := firstLeaf(ve, partial)
	if leaf == nil {
		return nil
	}
	path := append([]string{"parameters"}, leaf.InstanceLocation...)
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		path = append(path, req.Missing[0])
		return &Error{Status: http.StatusUnprocessableEntity, Field: strings.Join(path, "."), Msg: "required parameter missing"}
	}
	return &Error{Status: http.StatusUnprocessableEntity, Field: strings.Join(path, "."), Msg: leaf.ErrorKind.LocalizedString(printer)}
}

// firstLeaf returns the first innermost cause of e, skipping missing
// required properties when skipRequired is set (nil if only those remain).
func firstLeaf(e *jsonschema.ValidationError, skipRequired bool) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		if _, ok := e.ErrorKind.(*kind.Required); ok && skipRequired {
			return nil
		}
		return e
	}
	for _, c := range e.Causes {
		if l := firstLeaf(c, skipRequired); l != nil {
			return l
		}
	}
	return nil
}
