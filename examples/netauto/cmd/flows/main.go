// Command flows is the NetAuto flow binary a worker builds from Git when a
// run starts: every flow of the example (F5, routing, inventory sync,
// config backup, validation) behind runtime/agent's `execute` and
// `describe`. Deployments of the production wiring name this package as
// their Source's entrypoint (see examples/netauto/orchestrator); it links
// no store driver and no server.
//
// Its runs read their settings from their environment (see
// examples/netauto/wiring): the environment's configuration block as
// NETAUTO_CONFIG with NETAUTO_ENVIRONMENT, the device login as
// NETAUTO_DEVICE_USERNAME and NETAUTO_DEVICE_PASSWORD, NETAUTO_BACKUP_DIR
// and NETAUTO_KNOWN_HOSTS.
package main

import (
	"os"

	"github.com/netauto-dev/netauto/examples/netauto/wiring"
	"github.com/netauto-dev/netauto/runtime/agent"
)

func main() {
	agent.Main(wiring.Flows(wiring.FromEnv(os.Getenv))...)
}
