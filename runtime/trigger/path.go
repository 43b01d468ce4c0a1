package trigger

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Path addresses a value inside a JSON document: keys separated by dots,
// a segment of digits indexing an array ("data.fields.0"). It is parsed
// once, when a [Table] is built.
type path []string

// parsePath parses a dot path, rejecting empty segments.
func parsePath(s string) (path, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty path")
	}
	segs := strings.Split(s, ".")
	for i, seg := range segs {
		if seg == "" {
			return nil, fmt.Errorf("path %q: empty segment %d", s, i)
		}
	}
	return segs, nil
}

// lookup returns the value at p in doc (decoded with json.Decoder.UseNumber),
// and false when a segment is missing or the value is JSON null.
func (p path) lookup(doc any) (any, bool) {
	v := doc
	for _, seg := range p {
		switch c := v.(type) {
		case map[string]any:
			e, ok := c[seg]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}

// lookupString returns the value at p as a string: a JSON string as it is,
// a number or boolean in its JSON form, "" for anything else.
func (p path) lookupString(doc any) string {
	v, ok := p.lookup(doc)
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// normalize gives a JSON value one Go representation (numbers as float64),
// so that values from Go literals and from decoded payloads compare equal.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}
