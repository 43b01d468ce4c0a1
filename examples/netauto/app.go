package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/common"
	"github.com/netauto-dev/netauto/examples/netauto/events"
	nf5 "github.com/netauto-dev/netauto/examples/netauto/f5"
	"github.com/netauto-dev/netauto/examples/netauto/routing"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	nsync "github.com/netauto-dev/netauto/examples/netauto/sync"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// Environments are the environments the example deploys to.
var Environments = []string{"production", "staging", "dev"}

// DockerPool is the work pool of every deployment: a Docker pool in
// production configuration (runs start in containers of the worker image),
// an in-process pool in the demo.
const DockerPool = "netauto-docker-pool"

// Wiring is what the flows need from the program: configuration, device
// credentials and where backups go.
type Wiring struct {
	// Config loads an environment's NetAutoConfig.
	Config common.Loader
	// Secrets and DeviceDefaults log in to devices.
	Secrets        device.SecretResolver
	DeviceDefaults device.Params
	// BackupDir is the backup repository ("{environment}" is replaced).
	BackupDir string
	// FanOut bounds device fan-outs.
	FanOut device.FanOut
	// Notifier sends failure notifications.
	Notifier events.Notifier
	// RoutingPostCheckTimeout and RoutingPostCheckInterval are how long
	// routing-deploy waits for the BGP sessions after a push and how
	// often it reads them (routing.Deps; 0: 3 minutes and 5 seconds).
	RoutingPostCheckTimeout, RoutingPostCheckInterval time.Duration
}

// Flows returns every flow of the example wired to w, each with the
// notification hooks.
func Flows(w Wiring) []flow.Definition {
	hooks := events.FailureHooks(w.Config, w.Notifier)
	f5 := nf5.New(nf5.Deps{Config: w.Config}, hooks...)
	var mu sync.Mutex
	clients := map[string]*infrahub.Client{}
	deps := nsync.Deps{
		Infrahub: func(ctx context.Context, env string) (*infrahub.Client, error) {
			mu.Lock()
			defer mu.Unlock()
			if c, ok := clients[env]; ok {
				return c, nil
			}
			cfg, err := w.Config(ctx, env)
			if err != nil {
				return nil, err
			}
			c, err := common.Infrahub(cfg)
			if err == nil {
				clients[env] = c
			}
			return c, err
		},
		Secrets: w.Secrets, DeviceDefaults: w.DeviceDefaults, FanOut: w.FanOut, BackupDir: w.BackupDir,
	}
	return []flow.Definition{
		f5.AS3, f5.LTM, f5.Cert,
		routing.New(routing.Deps{
			Config: w.Config, Secrets: w.Secrets, DeviceDefaults: w.DeviceDefaults,
			PostCheckTimeout: w.RoutingPostCheckTimeout, PostCheckInterval: w.RoutingPostCheckInterval,
		}, hooks...),
		nsync.InventorySync(deps, hooks...),
		nsync.ConfigBackup(deps, hooks...),
		nsync.Validation(deps, hooks...),
	}
}

// deploymentSpec is one row of the deployment table, for every environment.
type deploymentSpec struct {
	base, flow, desc string
	tags             []string
	cron             string // production's; staging and dev have none
}

var deploymentTable = []deploymentSpec{
	{"f5-as3", nf5.FlowAS3, "Deploy an F5 AS3 application from its Infrahub artifact (event-driven)", []string{"f5", "as3"}, ""},
	{"f5-ltm", nf5.FlowLTM, "Deploy F5 LTM pools and members from their Infrahub artifact (event-driven)", []string{"f5", "ltm"}, ""},
	{"f5-cert", nf5.FlowCert, "Deploy certificates to F5 from their Infrahub artifact, expiry checked before and after (event-driven)", []string{"f5", "certificates"}, ""},
	{"routing-deploy", routing.FlowName, "Render, diff, push and check device routing configuration; roll back on failure (event-driven)", []string{"routing", "ssh"}, ""},
	{"inventory-sync", nsync.FlowInventorySync, "Sync the device inventory from Infrahub and write facts back, every 6 hours", []string{"inventory", "sync"}, "0 */6 * * *"},
	{"config-backup", nsync.FlowConfigBackup, "Back up every device's configuration into Git, daily at 02:00", []string{"backup", "git"}, "0 2 * * *"},
	{"validation-processor", nsync.FlowValidation, "Compare device state with Infrahub's intended state and write the result back (validator events)", []string{"validation"}, ""},
}

// Deployments returns the deployments of every environment: for each row
// of the table "<name>-<environment>", with its tags plus the environment,
// parameters {"environment": ...}, on pool. Production's sync deployments
// run on their cron; staging and dev carry the same schedules, paused when
// pauseNonProduction is set (as NewApp does).
func Deployments(pool string, pauseNonProduction bool) []store.Deployment {
	var out []store.Deployment
	for _, env := range Environments {
		for _, s := range deploymentTable {
			d := store.Deployment{
				Name:        s.base + "-" + env,
				Flow:        s.flow,
				Description: s.desc + " [" + env + "]",
				Tags:        append(append([]string{}, s.tags...), env),
				Parameters:  json.RawMessage(fmt.Sprintf(`{"environment":%q}`, env)),
				Pool:        pool,
				Retries:     1,
				RetryDelay:  30 * time.Second,
				LatePolicy:  store.LateRunLatest,
			}
			if s.cron != "" {
				d.Schedules = []store.Schedule{{Cron: s.cron, Timezone: "UTC"}}
				d.Paused = env != "production" && pauseNonProduction
			}
			if s.flow == nsync.FlowConfigBackup {
				d.ConcurrencyLimit = 1
			}
			out = append(out, d)
		}
	}
	return out
}

// Pools returns the work pool: a Docker pool with the worker image's job
// template when docker is true, else an in-process pool of the same name.
func Pools(docker bool) []store.Pool {
	if !docker {
		return []store.Pool{{Name: DockerPool, Type: "in-process", Description: "in-process pool (demo): runs execute in the server's worker"}}
	}
	image := os.Getenv("NETAUTO_IMAGE")
	if image == "" {
		image = "netauto-worker:latest"
	}
	tmpl, _ := json.Marshal(map[string]any{
		"image":             image,
		"image_pull_policy": "IfNotPresent",
		"networks":          []string{"netauto"},
		"auto_remove":       true,
		"env":               map[string]string{"NETAUTO_API_URL": "http://server:4200"},
		"volumes":           []string{"netauto-backups:/var/lib/netauto/backups"},
		// What deployments and runs may change (runtime/docker.Policy):
		// env values and resources; no other image, command, volume or
		// network, no host networking, never the Docker socket.
		"allow": map[string]any{"override": []string{"env", "cpu_limit", "cpu_request", "memory_limit", "memory_request"}},
	})
	return []store.Pool{{Name: DockerPool, Type: "docker", Description: "Docker work pool: each run in a container of the worker image", JobTemplate: tmpl}}
}

// Triggers is the dispatcher's table: Infrahub event × target kind →
// production deployment, the whole event passed as the flow's "event"
// parameter.
func Triggers() []trigger.Trigger {
	row := func(event, kind, dep string) trigger.Trigger {
		return trigger.Trigger{Event: event, Kind: kind, Deployment: dep + "-production", EventParameter: "event"}
	}
	const artifactUpdated = "infrahub.artifact.updated"
	return []trigger.Trigger{
		row(artifactUpdated, schema.KindNetautoFlexApplication, "f5-as3"),
		row(artifactUpdated, schema.KindNetautoLTMConfig, "f5-ltm"),
		row(artifactUpdated, schema.KindNetautoCertificate, "f5-cert"),
		row(artifactUpdated, schema.KindNetautoRoutingConfig, "routing-deploy"),
		row("infrahub.node.created", schema.KindNetworkDevice, "inventory-sync"),
		row(infrahub.EventValidatorStarted, "*", "validation-processor"),
		row(infrahub.EventValidatorPassed, "*", "validation-processor"),
		row(infrahub.EventValidatorFailed, "*", "validation-processor"),
	}
}

// TagLimits keep two runs off one device and serialise each BIG-IP.
var TagLimits = map[string]int{"device:*": 1, "bigip:*": 1}

// Sources returns the event sources: Infrahub webhooks signed with key.
func Sources(key []byte) (map[string]api.Verifier, error) {
	v, err := infrahub.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("infrahub webhook key: %w", err)
	}
	return map[string]api.Verifier{"infrahub": api.InfrahubVerifier{Verifier: v}}, nil
}

// NewApp returns the orchestrator of the example for runtime.Main: the
// flows wired to w, the deployments on the Docker pool (or in-process
// when docker is false), the trigger table and the Infrahub source.
func NewApp(w Wiring, webhookKey []byte, docker bool) (*runtime.App, error) {
	app := &runtime.App{
		Name:        "netauto",
		Flows:       Flows(w),
		Deployments: Deployments(DockerPool, true),
		Pools:       Pools(docker),
		TagLimits:   TagLimits,
		Triggers:    Triggers(),
	}
	if len(webhookKey) > 0 {
		src, err := Sources(webhookKey)
		if err != nil {
			return nil, err
		}
		app.Sources = src
	}
	return app, nil
}
