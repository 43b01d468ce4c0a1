package main

import (
	"os"

	"github.com/netauto-dev/netauto/examples/netauto/orchestrator"
	"github.com/netauto-dev/netauto/examples/netauto/wiring"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// The orchestrator's declaration lives in examples/netauto/orchestrator
// (no flow code: the base image's binary, cmd/netauto, uses it too) and
// the flows' wiring in examples/netauto/wiring (shared with the flow
// binary built from Git, cmd/flows). The names below are the demo's and
// the tests' short way to them.

// Environments are the environments the example deploys to.
var Environments = orchestrator.Environments

// DockerPool is the work pool of every deployment: a Docker pool in
// production configuration (runs start in containers of the base image),
// an in-process pool in the demo.
const DockerPool = orchestrator.Pool

// Wiring is what the flows need from the program: configuration, device
// credentials and where backups go.
type Wiring = wiring.Wiring

// Flows returns every flow of the example wired to w, each with the
// notification hooks.
func Flows(w Wiring) []flow.Definition { return wiring.Flows(w) }

// Deployments returns the deployments of every environment on pool, with
// the flows of the binary (no Git source) and no Docker job variables:
// the demo's. Staging's and dev's schedules are paused when
// pauseNonProduction is set. The production wiring is
// orchestrator.Deployments with orchestrator.ConfigFromEnv.
func Deployments(pool string, pauseNonProduction bool) []store.Deployment {
	ds := orchestrator.Deployments(orchestrator.Config{PauseNonProduction: pauseNonProduction})
	for i := range ds {
		ds[i].Pool = pool
	}
	return ds
}

// Pools returns the work pool: a Docker pool with the job template of the
// environment's settings (NETAUTO_IMAGE, NETAUTO_RUN_NETWORK, ...) when
// docker is true, else an in-process pool of the same name.
func Pools(docker bool) []store.Pool {
	cfg, _ := orchestrator.ConfigFromEnv(os.Getenv)
	cfg.Docker = docker
	return orchestrator.Pools(cfg)
}

// Triggers is the dispatcher's table: Infrahub event × target kind →
// production deployment, the whole event passed as the flow's "event"
// parameter.
func Triggers() []trigger.Trigger { return orchestrator.Triggers() }

// TagLimits keep two runs off one device and serialise each BIG-IP.
var TagLimits = orchestrator.TagLimits

// Sources returns the event sources: Infrahub webhooks signed with key.
func Sources(key []byte) (map[string]api.Verifier, error) { return orchestrator.Sources(key) }
