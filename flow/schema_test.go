package flow_test

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

type node struct {
	Name     string  `json:"name"`
	Children []*node `json:"children,omitempty"`
}

type inner struct {
	Site string `json:"site"`
}

type kitchenSink struct {
	inner                      // embedded: fields inlined
	Name       string          `json:"name" doc:"device name"`
	Port       uint16          `json:"port"`
	Ratio      float64         `json:"ratio,omitempty"`
	Enabled    bool            `json:"enabled"`
	When       time.Time       `json:"when"`
	Wait       time.Duration   `json:"wait"`
	Addr       netip.Addr      `json:"addr"`
	Raw        json.RawMessage `json:"raw,omitempty"`
	Blob       []byte          `json:"blob,omitempty"`
	Tags       []string        `json:"tags"`
	Labels     map[string]int  `json:"labels,omitempty"`
	Parent     *node           `json:"parent"`
	Tree       node            `json:"tree"`
	Fixed      [2]int          `json:"fixed"`
	Any        any             `json:"any,omitempty"`
	Mode       string          `json:"mode" enum:"a, b"`
	Skipped    string          `json:"-"`
	unexported string
	Default    string           // no tag: Go name
	ZeroTime   time.Time        `json:"zero,omitzero"`
	Nested     struct{ X int }  `json:"nested"`
	ByName     map[string]inner `json:"by_name,omitempty"`
}

func TestSchemaFor(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(flow.SchemaFor[kitchenSink](), &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	prop := func(name string) map[string]any {
		t.Helper()
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Fatalf("no property %q in %v", name, props)
		}
		return p
	}
	check := func(name, key string, want any) {
		t.Helper()
		got, _ := json.Marshal(prop(name)[key])
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("%s.%s = %s, want %s", name, key, got, w)
		}
	}
	check("site", "type", "string")
	check("name", "description", "device name")
	check("port", "minimum", 0)
	check("ratio", "type", "number")
	check("enabled", "type", "boolean")
	check("when", "format", "date-time")
	check("wait", "type", "integer")
	check("addr", "type", "string")
	check("blob", "contentEncoding", "base64")
	check("tags", "type", []string{"array", "null"})
	check("labels", "type", []string{"object", "null"})
	check("tree", "$ref", "#/$defs/node")
	check("fixed", "maxItems", 2)
	check("mode", "enum", []string{"a", "b"})
	check("Default", "type", "string")
	if _, ok := props["Skipped"]; ok {
		t.Error(`a json:"-" field is in the schema`)
	}
	if len(prop("raw")) != 0 || len(prop("any")) != 0 {
		t.Error("raw JSON and interface fields must accept any value")
	}
	if _, ok := prop("parent")["anyOf"]; !ok {
		t.Errorf("a pointer to a struct must allow null: %v", prop("parent"))
	}
	req, _ := json.Marshal(s["required"])
	if want := `["site","name","port","enabled","when","wait","addr","tags","tree","fixed","mode","Default","nested"]`; string(req) != want {
		t.Errorf("required = %s\nwant       %s", req, want)
	}
	defs := s["$defs"].(map[string]any)
	nodeDef, _ := json.Marshal(defs["node"])
	if !regexp.MustCompile(`"items":\{"anyOf":\[\{"\$ref":"#/\$defs/node"\}`).Match(nodeDef) {
		t.Errorf("recursive type not referenced through $defs: %s", nodeDef)
	}
	if s["additionalProperties"] != false {
		t.Error("structs must reject unknown properties, as DecodeParams does")
	}
}

func TestSchemaForRecursiveRoot(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(flow.SchemaFor[node](), &s); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(s["properties"])
	if !regexp.MustCompile(`"\$ref":"#"`).Match(raw) {
		t.Fatalf("recursive root not referenced as #: %s", raw)
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	prev := ""
	for range 10000 {
		id := flow.NewID()
		if !re.MatchString(id) {
			t.Fatalf("%q is not a UUIDv7", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if id[:13] < prev[:min(13, len(prev))] {
			t.Fatalf("time prefix went backwards: %s after %s", id, prev)
		}
		prev = id
	}
}

func FuzzDecodeParams(f *testing.F) {
	for _, s := range []string{`{"tenant":"a","count":2}`, `{"tenant":5}`, `null`, ``, `{"x":1}`, `[`, `{"tenant":"a"}{}`, `{"count":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := flow.DecodeParams[params]("f", raw)
		if err != nil {
			var pe *flow.ParamsError
			if !isParamsError(err, &pe) {
				t.Fatalf("error %T is not a *ParamsError", err)
			}
			return
		}
		// What decodes re-encodes and decodes to the same value.
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := flow.DecodeParams[params]("f", again)
		if err != nil || q != p {
			t.Fatalf("round trip: %+v → %s → %+v, %v", p, again, q, err)
		}
	})
}
