package netsynctest_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// A fresh fleet passes inventory sync and validation on every platform.
func TestFleetPassesEveryFlow(t *testing.T) {
	fake, err := infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	if _, err := fake.Create("", "LocationSite", map[string]any{"name": "Lab", "shortname": "lab1"}); err != nil {
		t.Fatal(err)
	}
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	fleet := netsynctest.Fleet("lab1", 8)
	if fleet[0].Name != "lab1-r01" || fleet[7].Name != "lab1-r08" || fleet[3].Platform != "juniper_junos" {
		t.Errorf("fleet = %+v", fleet)
	}
	lab, err := netsynctest.Start(t.Context(), fake, fleet)
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	deps := netsync.Deps{
		Infrahub:       func(context.Context, string) (*infrahub.Client, error) { return client, nil },
		Secrets:        lab.Secrets(),
		DeviceDefaults: lab.DeviceDefaults(),
	}
	inv, err := netsync.InventorySync(deps).Run(t.Context(), netsync.Params{Environment: "lab", Site: "lab1"})
	if err != nil || inv.Reachable != 8 || len(inv.Failed) != 0 {
		t.Errorf("inventory: %+v, %v", inv, err)
	}
	for _, d := range inv.Devices {
		if d.Facts.Serial == "" || d.Facts.OSVersion == "" || d.Facts.Model == "" {
			t.Errorf("%s: facts %+v", d.Device, d.Facts)
		}
	}
	val, err := netsync.Validation(deps).Run(t.Context(), netsync.Params{Environment: "lab"})
	if err != nil || val.Passed != 8 {
		t.Errorf("validation: %+v, %v", val, err)
	}
	if _, err := netsynctest.Spec(netsynctest.Device{Device: netsync.Device{Name: "x", Platform: "nokia_sros"}}); err == nil {
		t.Error("Spec of an unsupported platform: no error")
	}
}
