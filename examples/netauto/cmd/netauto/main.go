// Command netauto is the NetAuto orchestrator of the base image: server,
// worker, deploy and the other commands of runtime.Main, with the
// deployments, work pool, Infrahub trigger table and tag limits of
// examples/netauto/orchestrator — and no flow. Every deployment takes its
// flow from the Git repository NETAUTO_FLOWS_REPO names, at the ref of its
// environment; the worker builds it (examples/netauto/cmd/flows) with the
// image's toolchain and module cache. A flow change is a commit and a
// `deploy` that moves the ref; the image changes only with the
// dependencies.
//
//	netauto configure    save the settings of the environment (NETAUTO_INFRAHUB_URL, ...,
//	                     NETAUTO_DEVICE_USERNAME) as the blocks the runs read
//	netauto deploy       apply the pool and deployments (refs from NETAUTO_FLOWS_REF...)
//	netauto server       API, scheduler, Infrahub webhook intake
//	netauto worker --pool netauto-docker-pool
//
// Configuration: see examples/netauto/README.md and .env.example.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/netauto-dev/netauto/examples/netauto/orchestrator"
	"github.com/netauto-dev/netauto/runtime"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "configure" {
		os.Exit(orchestrator.RunConfigure(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	command := ""
	if len(os.Args) > 1 {
		command = os.Args[1]
	}
	app, err := orchestrator.FromEnv(command, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netauto:", err)
		os.Exit(runtime.ExitFailed)
	}
	runtime.Main(app)
}
