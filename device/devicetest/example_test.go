package devicetest_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/netauto-dev/netauto/flow/flowtest"
)

// Start fake devices from an Oxidized simulation file and a generated spec;
// connect to Addr with any SSH client (user admin, password admin).
func ExampleStart() {
	ios, err := devicetest.LoadSimulation("cisco_iosxe", "testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	lab, err := devicetest.Start(context.Background(), []devicetest.Spec{ios, devicetest.GeneratedSpec("r1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lab.Close()
	for _, d := range lab.Devices() {
		fmt.Println(d.Name(), d.Platform(), d.Addr() != "")
	}
	// Output:
	// LAB-SW123_9200L cisco_iosxe true
	// r1 cisco_iosxe true
}

// Model BGP sessions on a fake clock: two neighbours are added to a device
// whose neighbour 10.0.0.1 is up; the one whose peer answers takes 30
// seconds to come up, the one whose peer never answers stays Active.
// (Clients read the same states from the device's "show ip bgp summary".)
func ExampleBGP() {
	clock := flowtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := "hostname r1\n!\nrouter bgp 65000\n   neighbor 10.0.0.1 remote-as 65001\n!\nend"
	lab, err := devicetest.Start(context.Background(), []devicetest.Spec{{
		Name: "r1", Platform: "arista_eos", RunningConfig: cfg,
		BGP: &devicetest.BGP{
			EstablishPolls: -1, EstablishAfter: 30 * time.Second,
			Peers: map[string]devicetest.BGPPeer{"10.0.0.2": {Down: true}},
		},
	}}, devicetest.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lab.Close()
	d := lab.Device("r1")
	d.SetRunningConfig(strings.Replace(cfg, "!\nend", "   neighbor 10.0.0.2 remote-as 65002\n   neighbor 10.0.0.3 remote-as 65003\n!\nend", 1))
	for range 4 {
		fmt.Println(clock.Now().Format("15:04:05"), d.BGPState("10.0.0.1"), d.BGPState("10.0.0.2"), d.BGPState("10.0.0.3"))
		clock.Advance(10 * time.Second)
	}
	// Output:
	// 00:00:00 Established Idle Idle
	// 00:00:10 Established Connect Connect
	// 00:00:20 Established Active OpenSent
	// 00:00:30 Established Active Established
}
