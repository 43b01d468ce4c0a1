package f5

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// rewrittenByAS3 are ADC-level properties AS3 sets or rewrites on its own;
// they say nothing about the configuration and are ignored by Compare.
var rewrittenByAS3 = []string{"$schema", "id", "label", "remark", "schemaVersion", "updateMode", "controls"}

// secretKeys are masked in diffs.
var secretKeys = map[string]bool{"privateKey": true, "passphrase": true, "ciphertext": true, "secret": true, "password": true, "pkcs12": true}

// Change is one difference between the desired and the current
// declaration, at a JSON Pointer path such as "/T1/App/web_pool/members/0".
type Change struct {
	Path    string
	Kind    string // "add", "remove" or "change"
	Current any    // nil for add
	Desired any    // nil for remove
}

// Diff is the list of changes that posting a declaration would make, in
// path order. An empty Diff means "no change".
type Diff []Change

// Empty reports whether nothing would change.
func (d Diff) Empty() bool { return len(d) == 0 }

// String renders one line per change: "+ path: value", "- path: value",
// "~ path: old -> new". Secrets (private keys, passphrases) are masked.
func (d Diff) String() string {
	if d.Empty() {
		return "no change"
	}
	var b strings.Builder
	for _, c := range d {
		switch c.Kind {
		case "add":
			fmt.Fprintf(&b, "+ %s: %s\n", c.Path, render(c.Path, c.Desired))
		case "remove":
			fmt.Fprintf(&b, "- %s: %s\n", c.Path, render(c.Path, c.Current))
		default:
			fmt.Fprintf(&b, "~ %s: %s -> %s\n", c.Path, render(c.Path, c.Current), render(c.Path, c.Desired))
		}
	}
	return b.String()
}

// Compare returns what posting desired would change relative to current,
// for the tenants named in desired only (AS3's selective update mode).
// Properties AS3 rewrites on its own ($schema, id, label, remark,
// schemaVersion, updateMode, controls at the ADC level) are ignored.
func Compare(desired, current *Declaration) (Diff, error) {
	want, err := comparable(desired)
	if err != nil {
		return nil, fmt.Errorf("compare: desired: %w", err)
	}
	have, err := comparable(current)
	if err != nil {
		return nil, fmt.Errorf("compare: current: %w", err)
	}
	var diff Diff
	for _, tenant := range slices.Sorted(maps.Keys(want)) {
		diffValues(&diff, "/"+escapePointer(tenant), have[tenant], want[tenant], have[tenant] != nil)
	}
	return diff, nil
}

// Plan reads the device's current declaration for the tenants in desired
// and compares. Use it to skip a post that would change nothing, or to show
// a reviewer what will change.
func (c *Client) Plan(ctx context.Context, desired *Declaration) (Diff, error) {
	current, err := c.Read(ctx, "", desired.TenantNames()...)
	if err != nil {
		var apiErr *Error
		if !errors.As(err, &apiErr) || !apiErr.NotFound() {
			return nil, fmt.Errorf("plan: %w", err)
		}
		current = &Declaration{}
	}
	return Compare(desired, current)
}

// comparable turns a declaration into generic JSON without the ignored
// ADC-level properties.
func comparable(d *Declaration) (map[string]any, error) {
	if d == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "class")
	for _, k := range rewrittenByAS3 {
		delete(m, k)
	}
	return m, nil
}

func diffValues(diff *Diff, path string, have, want any, present bool) {
	if !present {
		*diff = append(*diff, Change{Path: path, Kind: "add", Desired: want})
		return
	}
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			break
		}
		keys := slices.Sorted(maps.Keys(w))
		for _, k := range slices.Sorted(maps.Keys(h)) {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/" + escapePointer(k)
			hv, inHave := h[k]
			wv, inWant := w[k]
			if !inWant {
				*diff = append(*diff, Change{Path: p, Kind: "remove", Current: hv})
				continue
			}
			diffValues(diff, p, hv, wv, inHave)
		}
		return
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			break
		}
		for i := range w {
			diffValues(diff, fmt.Sprintf("%s/%d", path, i), h[i], w[i], true)
		}
		return
	}
	if !reflect.DeepEqual(have, want) {
		*diff = append(*diff, Change{Path: path, Kind: "change", Current: have, Desired: want})
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// render prints a value compactly, masking secrets anywhere inside it.
func render(path string, v any) string {
	last := path[strings.LastIndex(path, "/")+1:]
	if secretKeys[last] {
		return `"****"`
	}
	b, err := json.Marshal(mask(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func mask(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if secretKeys[k] {
				out[k] = "****"
			} else {
				out[k] = mask(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = mask(e)
		}
		return out
	default:
		return v
	}
}
