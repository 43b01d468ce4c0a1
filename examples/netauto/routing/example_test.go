package routing_test

import (
	"fmt"

	"github.com/netauto-dev/netauto/examples/netauto/routing"
)

// Render the intended BGP configuration, find what a device lacks and the
// lines that would undo pushing it.
func ExampleRender() {
	lines, _ := routing.Render(routing.Intent{Platform: "arista_eos", LocalAS: 65000, Neighbors: []routing.Neighbor{
		{Address: "10.0.0.1", RemoteAS: 65100, Enabled: true},
		{Address: "10.0.0.9", RemoteAS: 65109, Description: "new", Enabled: true},
	}})
	running := "router bgp 65000\n   neighbor 10.0.0.1 remote-as 65100\n!\n"
	miss := routing.Missing(running, lines)
	fmt.Printf("%q\n%q\n", miss, routing.Inverse(miss))
	// Output:
	// ["router bgp 65000" "neighbor 10.0.0.9 remote-as 65109" "neighbor 10.0.0.9 description new"]
	// ["router bgp 65000" "no neighbor 10.0.0.9 description new" "no neighbor 10.0.0.9 remote-as 65109"]
}
