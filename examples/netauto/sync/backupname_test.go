package sync

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/netauto-dev/netauto/device"
)

// backupName accepts exactly the names device.Backup accepts.
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
		run, runErr := (&device.Backup{Dir: t.TempDir()}).Run(context.Background(), inv, "run")
		deviceAccepts := run != nil
		if ours := backupName(name) == nil; ours != deviceAccepts {
			t.Errorf("name %q: backupName accepts=%v, device.Backup accepts=%v (%v)", name, ours, deviceAccepts, runErr)
		}
	}
}
