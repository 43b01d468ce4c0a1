package trigger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

// FuzzMatch feeds arbitrary payloads (webhook bodies are outside input) to
// a table using every feature: matching must never panic, and every spec
// it returns must carry valid JSON parameters.
func FuzzMatch(f *testing.F) {
	for _, name := range []string{artifactUpdated, nodeCreated, nodeUpdated, branchCreated} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add("infrahub.node.updated", b)
	}
	f.Add("infrahub.artifact.created", []byte(`{"data": {"target_kind": 5, "fields": [null]}}`))
	f.Add("x", []byte(`[1, {"data": "kind"}]`))
	tab, err := New(
		Trigger{Event: "infrahub.artifact.*", Kind: "NetautoFlexApplication", Deployment: "a", Parameters: map[string]string{"id": "data.node_id"}},
		Trigger{Event: "*", Kind: "InfraInterfaceL3", Deployment: "b", Conditions: []Condition{{Path: "data.fields.0", OneOf: []any{"role", 1.5}}},
			EventParameter: "event", Throttle: &Throttle{Key: "data.node_id", Within: time.Second}},
		Trigger{Event: "*", Deployment: "c", Conditions: []Condition{{Path: "data.kind"}}, Parameters: map[string]string{"kind": "data.kind", "x": "data.fields.1"}},
	)
	if err != nil {
		f.Fatal(err)
	}
	match := tab.Matcher([]store.Deployment{{Name: "a"}, {Name: "b", Parameters: json.RawMessage(`{"n": 1}`)}, {Name: "c"}})
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		specs, err := match(store.Event{ID: "1", Source: "fuzz", Type: typ, Payload: payload})
		if err != nil {
			if json.Valid(payload) {
				t.Fatalf("valid payload rejected: %v", err)
			}
			return
		}
		for _, s := range specs {
			if !json.Valid(s.Parameters) {
				t.Fatalf("invalid parameters %q", s.Parameters)
			}
		}
	})
}
