package main

import (
	"encoding/json"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// TestTriggerTable matches Infrahub-shaped events against the table and the
// example's deployments.
func TestTriggerTable(t *testing.T) {
	tab, err := trigger.New(Triggers()...)
	if err != nil {
		t.Fatal(err)
	}
	match := tab.Matcher(Deployments(DockerPool, true))
	for _, c := range []struct {
		event string
		data  map[string]any
		want  string // "" for no run
	}{
		{"infrahub.artifact.updated", map[string]any{"target_kind": "NetautoFlexApplication", "node_id": "a"}, "f5-as3-production"},
		{"infrahub.artifact.updated", map[string]any{"target_kind": "NetautoLTMConfig"}, "f5-ltm-production"},
		{"infrahub.artifact.updated", map[string]any{"target_kind": "NetautoCertificate"}, "f5-cert-production"},
		{"infrahub.artifact.updated", map[string]any{"target_kind": "NetautoRoutingConfig"}, "routing-deploy-production"},
		{"infrahub.artifact.updated", map[string]any{"target_kind": "DcimDevice"}, ""},
		{"infrahub.node.created", map[string]any{"kind": "NetworkDevice", "node_id": "d"}, "inventory-sync-production"},
		{"infrahub.node.updated", map[string]any{"kind": "NetworkDevice", "node_id": "d"}, ""},
		{"infrahub.validator.failed", map[string]any{"kind": "CoreDataValidator"}, "validation-processor-production"},
		{"infrahub.validator.passed", map[string]any{}, "validation-processor-production"},
		// One cycle, one run: the start of a validator dispatches nothing.
		{"infrahub.validator.started", map[string]any{"kind": "CoreArtifactValidator"}, ""},
	} {
		body, _ := json.Marshal(map[string]any{"id": "e", "event": c.event, "branch": "main", "data": c.data})
		specs, err := match(store.Event{ID: "e", Source: "infrahub", Type: c.event, Payload: body})
		if err != nil {
			t.Fatalf("%s %v: %v", c.event, c.data, err)
		}
		switch {
		case c.want == "" && len(specs) != 0:
			t.Errorf("%s %v: runs %+v, want none", c.event, c.data, specs)
		case c.want != "" && (len(specs) != 1 || specs[0].Deployment != c.want):
			t.Errorf("%s %v: runs %+v, want one of %s", c.event, c.data, specs, c.want)
		case c.want != "":
			var p struct {
				Environment string          `json:"environment"`
				Event       json.RawMessage `json:"event"`
			}
			if err := json.Unmarshal(specs[0].Parameters, &p); err != nil || p.Environment != "production" || len(p.Event) == 0 {
				t.Errorf("%s: parameters %s, want the environment and the whole event", c.event, specs[0].Parameters)
			}
		}
	}
}
