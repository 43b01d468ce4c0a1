package device

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
)

func simRunningConfig(t testing.TB, platform, sim string) string {
	t.Helper()
	dir := "devicetest/testdata/"
	if _, err := os.Stat("testdata/" + sim); err == nil {
		dir = "testdata/"
	}
	spec, err := devicetest.LoadSimulation(platform, dir+sim)
	if err != nil {
		t.Fatal(err)
	}
	if spec.RunningConfig == "" {
		t.Fatalf("%s: no running configuration", sim)
	}
	return spec.RunningConfig
}

var testSecrets = StaticSecrets{"pw": "admin", "wrong": "nope", "enable": "en-secret"}

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
// host key checking against a known_hosts file written for the lab. The
// timeouts are generous: CI machines under -race can be very slow, and
// tests of timeouts set their own.
func hostFor(t testing.TB, lab *devicetest.Lab, name string) Host {
	t.Helper()
	d := lab.Device(name)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(lab.KnownHosts()), 0o600); err != nil {
		t.Fatal(err)
	}
	return Host{Name: name, Address: "127.0.0.1", Params: Params{
		Platform: d.Platform(), Port: d.Port(), Username: "admin", PasswordSecret: "pw",
		KnownHostsFile: kh, ConnectTimeout: 30 * time.Second, OperationTimeout: 30 * time.Second,
	}}
}

func simSpec(t testing.TB, name, platform, sim string) devicetest.Spec {
	t.Helper()
	spec, err := devicetest.LoadSimulation(platform, "devicetest/testdata/"+sim)
	if err != nil {
		t.Fatal(err)
	}
	spec.Name = name
	if spec.Hostname == "" {
		spec.Hostname = name
	}
	return spec
}

// settleGoroutines waits (bounded) for the goroutine count to drop to at
// most want and returns the final count.
func settleGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// closedPort returns a local port nothing listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
