package netsync

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/device/devicetest"
)

// backupName accepts exactly the names backup.Backup accepts.
func TestBackupNameAgreesWithDeviceBackup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: a valid name fails fast at connect
	for _, name := range []string{"r1", "atl1-edge1", "core.sw-1", "a b", "a/b", `a\b`, "a:b", "a..b", "..", ".", "-r1", "r1.lock", "r1~", "r[1]", "ü-switch"} {
		host, port, _ := net.SplitHostPort(addr)
		var p int
		fmt.Sscan(port, &p)
		inv, err := device.NewInventory([]device.Host{{Name: name, Address: host, Params: device.Params{Platform: "arista_eos", Port: p}}}, nil, device.Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		run, runErr := (&backup.Backup{Dir: t.TempDir()}).Run(context.Background(), inv, "run")
		deviceAccepts := run != nil
		if ours := backupName(name) == nil; ours != deviceAccepts {
			t.Errorf("name %q: backupName accepts=%v, backup.Backup accepts=%v (%v)", name, ours, deviceAccepts, runErr)
		}
	}
}

// Real configurations pass checkConfig.
func TestCheckConfigAcceptsRecordedConfigs(t *testing.T) {
	for platform, file := range map[string]string{
		"cisco_iosxe":   "testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml",
		"cisco_nxos":    "testdata/oxidized_nxos_C93180YC_10.4.5_simulation.yaml",
		"juniper_junos": "testdata/oxidized_junos_srx300_22.4_simulation.yaml",
	} {
		spec, err := devicetest.LoadSimulation(platform, file)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkConfig(platform, spec.RunningConfig); err != nil {
			t.Errorf("%s: %v", platform, err)
		}
	}
	if err := checkConfig("cisco_iosxe", "\n  \n"); err == nil {
		t.Error("blank output accepted")
	}
}
