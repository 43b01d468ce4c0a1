package netsync_test

import (
	"encoding/json"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

func validatorEvent(t *testing.T, typ, id, kind string) *trigger.Event {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"data": map[string]any{"node_id": id, "kind": kind, "proposed_change_id": "18000000-0000-0000-0000-000000000002"},
		"id":   "ev-" + id, "branch": "main", "account_id": "acc", "occured_at": "2026-11-26T12:00:00Z", "event": typ,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &trigger.Event{ID: "ev-" + id, Source: "infrahub", Type: typ, Payload: payload}
}

// A validator event validates the devices the validator's checks name
// (the targets of its artifact checks' artifacts), not every device of the
// branch; a validator naming none (a data validator) validates nothing.
func TestValidationFromValidatorEvent(t *testing.T) {
	e := newEnv(t, labDevices())
	def, err := e.fake.Create("", "CoreArtifactDefinition", map[string]any{"name": "device-config", "artifact_name": "config", "content_type": "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	art, err := e.fake.Create("", "CoreArtifact", map[string]any{"name": "config", "status": "Ready", "content_type": "text/plain",
		"object": e.lab.IDs["atl1-edge2"], "definition": def})
	if err != nil {
		t.Fatal(err)
	}
	val, err := e.fake.Create("", "CoreArtifactValidator", map[string]any{"label": "Artifact Validator: device-config", "state": "in_progress", "definition": def})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.Create("", "CoreArtifactCheck", map[string]any{"name": "atl1-edge2", "artifact_id": art, "changed": true, "validator": val}); err != nil {
		t.Fatal(err)
	}
	// A routing config's artifact stands for its device.
	rc, err := seed.RoutingConfig(e.fake, "fw1-bgp", e.lab.IDs["atl1-fw1"], 65001, "")
	if err != nil {
		t.Fatal(err)
	}
	art2, err := e.fake.Create("", "CoreArtifact", map[string]any{"name": "bgp", "status": "Ready", "content_type": "text/plain", "object": rc, "definition": def})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.Create("", "CoreArtifactCheck", map[string]any{"name": "fw1-bgp", "artifact_id": art2, "validator": val}); err != nil {
		t.Fatal(err)
	}
	// The event names atl1-edge2 and atl1-fw1; atl1-edge1 is broken and
	// must not be looked at.
	e.lab.Devices.Device("atl1-edge1").SetRunningConfig("hostname atl1-edge1\nend")
	rep, err := netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "test", Event: validatorEvent(t, infrahub.EventValidatorStarted, val, "CoreArtifactValidator")})
	if err != nil || len(rep.Devices) != 2 || rep.Devices[0].Device != "atl1-edge2" || rep.Devices[1].Device != "atl1-fw1" || rep.Passed != 2 {
		t.Fatalf("validation from an artifact validator: %+v, %v", rep, err)
	}

	data, err := e.fake.Create("", "CoreDataValidator", map[string]any{"label": "Data integrity", "state": "completed"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "test", Event: validatorEvent(t, infrahub.EventValidatorPassed, data, "CoreDataValidator")})
	if err != nil || len(rep.Devices) != 0 || rep.Skipped == "" {
		t.Errorf("validation from a data validator: %+v, %v", rep, err)
	}
}
