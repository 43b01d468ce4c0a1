package netsync_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// Inventory sync, backup and validation against a fake Infrahub and two
// fake devices on 127.0.0.1.
func Example() {
	ctx := context.Background()
	fake, err := infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas()})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		panic(err)
	}
	lab, err := netsynctest.Start(ctx, fake, []netsynctest.Device{
		{Device: netsync.Device{Name: "edge1", Platform: "arista_eos",
			Interfaces:   []netsync.Interface{{Name: "Ethernet1", Enabled: true, IPAddress: "10.0.0.0/31"}},
			BGPNeighbors: []netsync.BGPNeighbor{{PeerAddress: "10.0.0.1", RemoteAS: 65002, Enabled: true}},
		}},
		{Device: netsync.Device{Name: "edge2", Platform: "cisco_iosxe",
			Interfaces: []netsync.Interface{{Name: "GigabitEthernet1", Enabled: true}},
		}},
	})
	if err != nil {
		panic(err)
	}
	defer lab.Close()
	dir, err := os.MkdirTemp("", "backup")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	deps := netsync.Deps{
		Infrahub:       func(context.Context, string) (*infrahub.Client, error) { return client, nil },
		Secrets:        lab.Secrets(),
		DeviceDefaults: lab.DeviceDefaults(),
		BackupDir:      filepath.Join(dir, "{environment}.git"),
	}
	params := netsync.Params{Environment: "dev"}

	inv, err := netsync.InventorySync(deps).Run(ctx, params)
	if err != nil {
		panic(err)
	}
	for _, d := range inv.Devices {
		fmt.Println("inventory:", d.Device, d.Reachable, d.Facts.Model, d.Facts.OSVersion)
	}

	backup, err := netsync.ConfigBackup(deps).Run(ctx, params)
	if err != nil {
		panic(err)
	}
	fmt.Println("backup commits:", backup.Commits, backup.Changed, filepath.Base(backup.Repository))

	// Someone shuts edge2's interface behind Infrahub's back.
	edge2 := lab.Devices.Device("edge2")
	edge2.SetRunningConfig("interface GigabitEthernet1\n shutdown\n!\nend")
	_, err = netsync.Validation(deps).Run(ctx, params)
	fmt.Println(err)
	// Output:
	// inventory: edge1 true DCS-7280SR3-48YC8 4.29.2F
	// inventory: edge2 true C8000V 17.09.04a
	// backup commits: 2 [edge1 edge2] dev.git
	// validation: 1 of 2 devices failed, 0 could not be read
	//   edge2: interface GigabitEthernet1: enabled: intended true, observed false
}
