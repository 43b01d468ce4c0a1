package netsync

import (
	"context"
	"testing"

	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// Every query filter and every attribute the flows read or write exists
// in the schema: the fake validates each request against the GraphQL
// schema generated from it and answers a misspelt field with an error.
func TestQueriesAndWritesMatchSchema(t *testing.T) {
	fake, srv := infrahubtest.NewTestServer(t, infrahubtest.Options{Schemas: schema.FakeSchemas()})
	if _, err := fake.Create("", "LocationSite", map[string]any{"name": "Atlanta", "shortname": "atl1"}); err != nil {
		t.Fatal(err)
	}
	id, err := fake.Create("", schema.KindNetworkDevice, map[string]any{
		"name": "r1", "management_address": "127.0.0.1", "platform": "arista_eos", "role": "edge", "site": map[string]any{"hfid": []any{"atl1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sel := selection{Environment: "test", Names: []string{"r1"}, IDs: []string{id}, Role: "edge", Site: "atl1"}
	devs, err := loadDevices(ctx, c, sel)
	if err != nil || len(devs) != 1 || devs[0].Site != "atl1" || devs[0].Role != "edge" {
		t.Fatalf("load with every filter: %+v, %v", devs, err)
	}
	if _, err := writeFacts(ctx, c, writeFactsInput{SeenAt: "2026-11-26T12:00:00Z", Results: []DeviceFacts{{
		Device: "r1", ID: id, Reachable: true, Facts: confparse.Facts{Hostname: "r1", Model: "m", Serial: "s", OSVersion: "v"},
	}}}); err != nil {
		t.Errorf("write facts: %v", err)
	}
	if _, err := writeValidation(ctx, c, writeValidationInput{CheckedAt: "2026-11-26T12:00:00Z", Results: []DeviceValidation{{
		Device: "r1", ID: id, Status: StatusFailed, Mismatches: []Mismatch{{Device: "r1", Object: "interface Ethernet1", Field: "presence", Intended: "configured", Observed: "missing"}},
	}}}); err != nil {
		t.Errorf("write validation: %v", err)
	}
	if _, err := writeValidation(ctx, c, writeValidationInput{Results: []DeviceValidation{{Device: "r1", ID: id, Status: "maybe"}}}); err == nil {
		t.Error("a status outside the dropdown choices was written")
	}
}
