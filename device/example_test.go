package device_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/devicetest"
)

// exampleLab starts fake IOS-XE devices and returns an inventory for them
// with strict host key checking.
func exampleLab(names ...string) (*devicetest.Lab, *device.Inventory, func()) {
	var specs []devicetest.Spec
	for _, n := range names {
		specs = append(specs, devicetest.GeneratedSpec(n))
	}
	lab, err := devicetest.Start(context.Background(), specs)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	knownHosts := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(lab.KnownHosts()), 0o600); err != nil {
		panic(err)
	}
	var hosts []device.Host
	for _, d := range lab.Devices() {
		hosts = append(hosts, device.Host{Name: d.Name(), Address: "127.0.0.1", Groups: []string{"edge"}, Params: device.Params{Port: d.Port()}})
	}
	inv, err := device.NewInventory(hosts, []device.Group{{Name: "edge", Params: device.Params{Platform: "cisco_iosxe"}}}, device.Defaults{Params: device.Params{
		Username: "admin", PasswordSecret: "lab/password", KnownHostsFile: knownHosts,
		ConnectTimeout: 30 * time.Second, OperationTimeout: 30 * time.Second,
	}})
	if err != nil {
		panic(err)
	}
	return lab, inv, func() { lab.Close(); os.RemoveAll(dir) }
}

var secrets = device.StaticSecrets{"lab/password": "admin"}

// Run a command on every host, ten at a time, and look at each result.
func ExampleSendAll() {
	_, inv, stop := exampleLab("r1", "r2", "r3")
	defer stop()

	results := device.SendAll(context.Background(), inv, secrets, device.FanOut{Concurrency: 10, HostTimeout: time.Minute}, "show version")
	for _, r := range results {
		fmt.Println(r.Host, r.Class, strings.Split(r.Value[0].Output, "\n")[1])
	}
	// Output:
	// r1 unchanged r1 uptime is 1 week
	// r2 unchanged r2 uptime is 1 week
	// r3 unchanged r3 uptime is 1 week
}

// Push configuration lines and get the running configuration before and
// after, with a diff in which secrets are masked.
func ExampleSession_Configure() {
	_, inv, stop := exampleLab("r1")
	defer stop()
	host, _ := inv.Host("r1")

	err := device.With(context.Background(), host, secrets, func(s *device.Session) error {
		change, err := s.Configure(context.Background(), []string{
			"interface GigabitEthernet2",
			"description to core",
			"no shutdown",
		})
		if err != nil {
			return err
		}
		fmt.Println("changed:", change.Changed)
		fmt.Print(change.Diff)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// changed: true
	// --- r1 (before)
	// +++ r1 (after)
	// @@ -14,9 +14,8 @@
	//   ip address 192.0.2.1 255.255.255.0
	//  !
	//  interface GigabitEthernet2
	// - description uplink
	// + description to core
	//   no ip address
	// - shutdown
	//  !
	//  snmp-server community <secret-removed> RO
	//  !
}

// A line the device refuses stops the push: the *ChangeError names it and
// the lines applied before it, which stay in force until undone.
func ExampleChangeError() {
	lab, err := devicetest.Start(context.Background(), []devicetest.Spec{{
		Name: "r1", Platform: "cisco_iosxe", RunningConfig: "hostname r1\n!\nend",
		Faults: []devicetest.Fault{{Kind: devicetest.FaultRefuse, Command: "neighbor 10.0.0.2 remote-as 65002",
			Reply: "Error: neighbor 10.0.0.2 conflicts with an existing peer"}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lab.Close()
	insecure := true
	host := device.Host{Name: "r1", Address: "127.0.0.1", Params: device.Params{
		Platform: "cisco_iosxe", Port: lab.Device("r1").Port(), Username: "admin", PasswordSecret: "lab/password",
		InsecureIgnoreHostKey: &insecure,
	}}
	err = device.With(context.Background(), host, secrets, func(s *device.Session) error {
		_, err := s.Configure(context.Background(), []string{
			"router bgp 65000",
			"neighbor 10.0.0.1 remote-as 65001",
			"neighbor 10.0.0.2 remote-as 65002",
			"neighbor 10.0.0.3 remote-as 65003",
		})
		return err
	})
	var ce *device.ChangeError
	if errors.As(err, &ce) {
		fmt.Println(device.ClassOf(err))
		fmt.Printf("refused %q: %s\n", ce.Command, ce.Message)
		fmt.Printf("applied %q\nnot sent %q\n", ce.Applied, ce.NotSent)
	}
	// Output:
	// command_failed
	// refused "neighbor 10.0.0.2 remote-as 65002": Error: neighbor 10.0.0.2 conflicts with an existing peer
	// applied ["router bgp 65000" "neighbor 10.0.0.1 remote-as 65001"]
	// not sent ["neighbor 10.0.0.3 remote-as 65003"]
}

// On Junos the change goes through a private candidate, "commit check" and
// "commit confirmed"; it rolls itself back unless ConfirmCommit confirms it
// after the caller's checks.
func ExampleSession_ConfirmCommit() {
	lab, err := devicetest.Start(context.Background(), []devicetest.Spec{{
		Name: "srx1", Platform: "juniper_junos", RunningConfig: "system {\n    host-name srx1;\n}",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lab.Close()
	insecure := true
	host := device.Host{Name: "srx1", Address: "127.0.0.1", Params: device.Params{
		Platform: "juniper_junos", Port: lab.Device("srx1").Port(), Username: "admin", PasswordSecret: "lab/password",
		InsecureIgnoreHostKey: &insecure,
	}}
	err = device.With(context.Background(), host, secrets, func(s *device.Session) error {
		change, err := s.Configure(context.Background(), []string{"set system location building-7"}, device.WithCommitConfirmed(5))
		if err != nil {
			return err
		}
		fmt.Println("applied:", change.Applied, "confirm pending:", change.ConfirmPending)
		// ... post-checks ...
		return s.ConfirmCommit(context.Background())
	})
	fmt.Println("confirmed:", err == nil, "pending now:", lab.Device("srx1").ConfirmPending())
	// Output:
	// applied: [set system location building-7] confirm pending: true
	// confirmed: true pending now: false
}

// Load an inventory from YAML and select hosts by group, field and function.
func ExampleParseInventory() {
	inv, err := device.ParseInventory([]byte(`
defaults:
  username: netops
  password_secret: devices/password
  known_hosts_file: /etc/netauto/known_hosts
groups:
  core: {platform: arista_eos, data: {role: core}}
  edge: {platform: cisco_iosxe, data: {role: edge}}
hosts:
  core1: {address: 192.0.2.1, groups: [core], data: {site: ams1}}
  edge1: {address: 192.0.2.11, groups: [edge], data: {site: ams1}}
  edge2: {address: 192.0.2.12, groups: [edge], data: {site: fra1}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range inv.Filter(device.InGroup("edge"), device.FieldEquals("site", "ams1")).Hosts() {
		fmt.Println(h.Name, h.Platform, h.Username, h.Data["role"])
	}
	// Output:
	// edge1 cisco_iosxe netops edge
}

// Run any function per host with a device lock, a per-host deadline and a
// failure threshold; the Limiter is where the engine's tag limits plug in.
func ExampleRun() {
	_, inv, stop := exampleLab("r1", "r2")
	defer stop()

	locks := &device.KeyLocks{}
	results := device.Run(context.Background(), inv, device.FanOut{Concurrency: 2, HostTimeout: 30 * time.Second, MaxFailurePercent: 50, Limiter: locks},
		func(ctx context.Context, h device.Host) (int, error) {
			var lines int
			err := device.With(ctx, h, secrets, func(s *device.Session) error {
				cfg, err := s.RunningConfig(ctx)
				lines = strings.Count(cfg, "\n")
				return err
			})
			return lines, err
		})
	for _, r := range results {
		fmt.Println(r.Host, r.Class, r.Value > 20)
	}
	// Output:
	// r1 unchanged true
	// r2 unchanged true
}
