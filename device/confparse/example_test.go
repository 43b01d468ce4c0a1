package confparse_test

import (
	"fmt"

	"github.com/netauto-dev/netauto/device/confparse"
)

// Read a device's BGP neighbours from its running configuration and their
// session states from its BGP summary.
func ExampleParse() {
	running := `router bgp 65001
  router-id 10.255.0.1
  neighbor 10.0.0.1
    remote-as 65002
    description to core
  neighbor 10.0.0.3
    remote-as 65003
    shutdown
`
	cfg, err := confparse.Parse("cisco_nxos", running)
	if err != nil {
		fmt.Println(err)
		return
	}
	summary := `Neighbor        V    AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
10.0.0.1        4 65002     100     100        1    0    0     1w2d 5
10.0.0.3        4 65003       0       0        0    0    0     1w2d Shut (Admin)`
	states := confparse.ParseBGPSummary(summary)
	fmt.Println(cfg.LocalAS, cfg.RouterID, confparse.SummaryCommands("cisco_nxos", false))
	for _, addr := range []string{"10.0.0.1", "10.0.0.3"} {
		n := cfg.Neighbors[addr]
		fmt.Println(n.Address, n.RemoteAS, n.Enabled, states[addr])
	}
	// Output:
	// 65001 10.255.0.1 [show ip bgp summary]
	// 10.0.0.1 65002 true Established
	// 10.0.0.3 65003 false Idle
}
