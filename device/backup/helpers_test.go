package backup

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/devicetest"
)

var testSecrets = device.StaticSecrets{"pw": "admin", "wrong": "nope"}

func startLab(t testing.TB, specs ...devicetest.Spec) *devicetest.Lab {
	t.Helper()
	lab, err := devicetest.Start(context.Background(), specs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	return lab
}

// hostFor returns an inventory host pointing at a fake device, with strict
// host key checking against a known_hosts file written for the lab.
func hostFor(t testing.TB, lab *devicetest.Lab, name string) device.Host {
	t.Helper()
	d := lab.Device(name)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(lab.KnownHosts()), 0o600); err != nil {
		t.Fatal(err)
	}
	return device.Host{Name: name, Address: "127.0.0.1", Params: device.Params{
		Platform: d.Platform(), Port: d.Port(), Username: "admin", PasswordSecret: "pw",
		KnownHostsFile: kh, ConnectTimeout: 30 * time.Second, OperationTimeout: 30 * time.Second,
	}}
}

func simSpec(t testing.TB, name, platform, sim string) devicetest.Spec {
	t.Helper()
	spec, err := devicetest.LoadSimulation(platform, "../devicetest/testdata/"+sim)
	if err != nil {
		t.Fatal(err)
	}
	spec.Name = name
	if spec.Hostname == "" {
		spec.Hostname = name
	}
	return spec
}
