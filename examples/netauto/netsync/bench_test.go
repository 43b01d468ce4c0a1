package netsync_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// Each flow over a 40-device fleet (10 per platform), 20 at once:
//
//	go test ./examples/netauto/netsync -run '^$' -bench Flows -benchtime 3x -count 5
func BenchmarkFlows40Devices(b *testing.B) {
	fake, err := infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas()})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		b.Fatal(err)
	}
	lab, err := netsynctest.Start(b.Context(), fake, netsynctest.Fleet("", 40))
	if err != nil {
		b.Fatal(err)
	}
	defer lab.Close()
	deps := netsync.Deps{
		Infrahub:       func(context.Context, string) (*infrahub.Client, error) { return client, nil },
		Secrets:        lab.Secrets(),
		DeviceDefaults: lab.DeviceDefaults(),
		FanOut:         device.FanOut{Concurrency: 20},
		BackupDir:      filepath.Join(b.TempDir(), "backup.git"),
	}
	p := netsync.Params{Environment: "bench"}
	b.Run("inventory", func(b *testing.B) {
		f := netsync.InventorySync(deps)
		for b.Loop() {
			if rep, err := f.Run(b.Context(), p); err != nil || rep.Reachable != 40 {
				b.Fatal(rep, err)
			}
		}
	})
	b.Run("backup", func(b *testing.B) {
		f := netsync.ConfigBackup(deps)
		for b.Loop() {
			if rep, err := f.Run(b.Context(), p); err != nil || rep.Devices != 40 {
				b.Fatal(rep, err)
			}
		}
	})
	b.Run("validation", func(b *testing.B) {
		f := netsync.Validation(deps)
		for b.Loop() {
			if rep, err := f.Run(b.Context(), p); err != nil || rep.Passed != 40 {
				b.Fatal(rep, err)
			}
		}
	})
}
