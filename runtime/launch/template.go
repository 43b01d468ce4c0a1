package launch

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// AllowField is the job template field holding the pool's policy: only
// the pool's own template (the first layer) may set it.
const AllowField = "allow"

// field is a JSON field of a template struct.
type field struct {
	name  string
	index []int
	isMap bool
}

// fieldsOf lists the JSON fields of struct type t in declaration order,
// those of embedded structs without a tag in place.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if tag == "-" || (!sf.IsExported() && !sf.Anonymous) {
			continue
		}
		if sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct {
			for _, f := range fieldsOf(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if tag == "" {
			tag = sf.Name
		}
		out = append(out, field{name: tag, index: []int{i}, isMap: sf.Type.Kind() == reflect.Map})
	}
	return out
}

func structOf(dst any) (reflect.Value, error) {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, errors.New("launch: a template must be a pointer to a struct")
	}
	return v.Elem(), nil
}

// Fields returns the JSON names of the fields of template (a struct or a
// pointer to one) that job variables may name, in declaration order: all
// but [AllowField].
func Fields(template any) []string {
	t := reflect.TypeOf(template)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for _, f := range fieldsOf(t) {
		if f.name != AllowField {
			out = append(out, f.name)
		}
	}
	return out
}

// Layer decodes JSON layers — a pool's job template, then a deployment's
// job variables, then a run's — into dst, a pointer to a launcher's
// template struct whose JSON tags name the fields. Empty and null layers
// are skipped. A later layer replaces a field of an earlier one, except
// fields of map type (env, labels), which are merged key by key (a null
// value removes a key). [AllowField] is accepted in the first layer only
// and decoded strictly. Unknown fields and wrong types are a
// *[fielderr.Error] naming the field; dst's own checks are the caller's.
// On error dst may be partly set: decode into a fresh value.
func Layer(dst any, layers ...json.RawMessage) error {
	v, err := structOf(dst)
	if err != nil {
		return err
	}
	fields := fieldsOf(v.Type())
	known := Fields(dst)
	byName := map[string]field{}
	for _, f := range fields {
		byName[f.name] = f
	}
	merged := map[string]json.RawMessage{}
	for i, raw := range layers {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return &fielderr.Error{Field: layerName(i), Reason: "not a JSON object: " + JSONReason(err)}
		}
		for _, k := range sortedKeys(m) {
			val := m[k]
			f, ok := byName[k]
			switch {
			case k == AllowField && ok:
				if i > 0 {
					return &fielderr.Error{Field: k, Reason: "only the pool's job template says what it allows"}
				}
				merged[k] = val
			case !ok:
				return &fielderr.Error{Field: k, Reason: "unknown field (known: " + strings.Join(known, ", ") + ")"}
			case f.isMap:
				nv, err := mergeMap(k, merged[k], val)
				if err != nil {
					return err
				}
				merged[k] = nv
			default:
				merged[k] = val
			}
		}
	}
	for _, f := range fields {
		raw, ok := merged[f.name]
		if !ok || string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		ptr := v.FieldByIndex(f.index).Addr().Interface()
		if f.name == AllowField {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(ptr); err != nil {
				reason := strictReason(err)
				if strings.HasPrefix(reason, "unknown field ") {
					reason += " (known: " + strings.Join(Fields(ptr), ", ") + ")"
				}
				return &fielderr.Error{Field: AllowField, Reason: reason}
			}
			continue
		}
		if err := json.Unmarshal(raw, ptr); err != nil {
			var fe *fielderr.Error
			if errors.As(err, &fe) {
				return fielderr.Under(f.name, fe)
			}
			return &fielderr.Error{Field: f.name, Reason: JSONReason(err)}
		}
	}
	return nil
}

func layerName(i int) string {
	if i == 0 {
		return "job_template"
	}
	return "job_variables"
}

// JSONReason says what is wrong with a JSON document without quoting it.
func JSONReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "want " + te.Type.String() + ", got " + te.Value
	}
	return "invalid JSON"
}

// strictReason names an unknown field of a strictly decoded object.
func strictReason(err error) string {
	var fe *fielderr.Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + f
	}
	return JSONReason(err)
}

func mergeMap(name string, base, over json.RawMessage) (json.RawMessage, error) {
	m := map[string]*string{}
	if len(base) > 0 {
		_ = json.Unmarshal(base, &m) // base came from a previous merge
	}
	if string(bytes.TrimSpace(over)) == "null" {
		return nil, nil
	}
	var o map[string]*string
	if err := json.Unmarshal(over, &o); err != nil {
		return nil, &fielderr.Error{Field: name, Reason: "want an object of strings: " + JSONReason(err)}
	}
	for k, v := range o {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
