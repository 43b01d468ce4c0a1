package routing_test

import (
	"fmt"

	"github.com/netauto-dev/netauto/examples/netauto/routing"
)

// Plan what makes a device match the intent (an NX-OS device, whose
// neighbours are sub-modes), and the lines that would undo the push.
func ExampleNewPlan() {
	running := "router bgp 65000\n  neighbor 10.0.0.1\n    remote-as 65100\n  neighbor 10.0.0.7\n    remote-as 65107\n    description old\n"
	plan, err := routing.NewPlan(routing.Intent{Device: "n1", Platform: "cisco_nxos", LocalAS: 65000, Neighbors: []routing.Neighbor{
		{Address: "10.0.0.1", RemoteAS: 65100, Enabled: true},
		{Address: "10.0.0.9", RemoteAS: 65109, Description: "new", Enabled: true},
	}}, running, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("added %q removed %q\n", plan.Added, plan.Removed)
	for _, l := range plan.Lines() {
		fmt.Println(" ", l)
	}
	fmt.Println("undo:")
	for _, l := range plan.UndoLines(len(plan.Lines())) {
		fmt.Println(" ", l)
	}
	// Output:
	// added ["10.0.0.9"] removed ["10.0.0.7"]
	//   router bgp 65000
	//   neighbor 10.0.0.9
	//   remote-as 65109
	//   description new
	//   exit
	//   no neighbor 10.0.0.7
	// undo:
	//   router bgp 65000
	//   neighbor 10.0.0.7
	//   remote-as 65107
	//   description old
	//   exit
	//   no neighbor 10.0.0.9
}
