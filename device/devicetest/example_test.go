package devicetest_test

import (
	"context"
	"fmt"

	"github.com/netauto-dev/netauto/device/devicetest"
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
