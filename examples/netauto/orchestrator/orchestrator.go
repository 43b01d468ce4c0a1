// Package orchestrator declares the NetAuto orchestrator without its
// flows' code: the work pool, the deployments of every environment, the
// Infrahub trigger table, the tag limits and the event sources, as the
// original plan had them.
//
// In production every deployment takes its flow from Git ([FlowsSource]):
// the worker fetches the repository at the deployment's ref, builds the
// flow binary (examples/netauto/cmd/flows) with the base image's toolchain
// and module cache, and runs it in a container of the pool's image. The
// orchestrator binary itself (examples/netauto/cmd/netauto, the image's
// netauto) links no flow: a flow change is a commit and a `deploy` that
// moves the ref, never an image. Without a flows repository, the
// deployments run the flows compiled into the binary that declares them
// (the demo, the in-process tests).
//
// Containers reach their settings through the pool's job template: the
// environment's configuration block as NETAUTO_CONFIG
// ({{ blocks.netauto-config-ENV }}), the device login from the block
// netauto-device-login; [Configure] saves both from the environment of
// the process that runs it.
package orchestrator

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
	"github.com/netauto-dev/netauto/runtime/window"
)

// Pool is the work pool of every deployment: a Docker pool in production
// (each run in a container of the pool's image), an in-process pool in
// the demo.
const Pool = "netauto-docker-pool"

// Environments are the environments the orchestrator deploys to.
var Environments = []string{"production", "staging", "dev"}

// The flows' names, as their packages (examples/netauto/f5flows, routing
// and netsync) define them; a test of examples/netauto checks they agree. They
// are repeated here so that the orchestrator links no flow code.
const (
	FlowAS3           = "f5-as3"
	FlowLTM           = "f5-ltm"
	FlowCert          = "f5-cert"
	FlowRouting       = "routing-deploy"
	FlowInventorySync = "inventory-sync"
	FlowConfigBackup  = "config-backup"
	FlowValidation    = "validation-processor"
)

// changeFlows are the flows that change the network: the ones a change
// calendar holds (Config.ChangeWindows).
var changeFlows = map[string]bool{FlowAS3: true, FlowLTM: true, FlowCert: true, FlowRouting: true}

// deploymentSpec is one row of the deployment table, for every
// environment.
type deploymentSpec struct {
	base, flow, desc string
	tags             []string
	cron             string // production's; staging and dev carry it paused
	devices          bool   // the flow logs in to devices
}

var deploymentTable = []deploymentSpec{
	{"f5-as3", FlowAS3, "Deploy an F5 AS3 application from its Infrahub artifact (event-driven)", []string{"f5", "as3"}, "", false},
	{"f5-ltm", FlowLTM, "Deploy F5 LTM pools and members from their Infrahub artifact (event-driven)", []string{"f5", "ltm"}, "", false},
	{"f5-cert", FlowCert, "Deploy certificates to F5 from their Infrahub artifact, expiry checked before and after (event-driven)", []string{"f5", "certificates"}, "", false},
	{"routing-deploy", FlowRouting, "Render, diff, push and check device routing configuration; roll back on failure (event-driven)", []string{"routing", "ssh"}, "", true},
	{"inventory-sync", FlowInventorySync, "Sync the device inventory from Infrahub and write facts back, every 6 hours", []string{"inventory", "sync"}, "0 */6 * * *", true},
	{"config-backup", FlowConfigBackup, "Back up every device's configuration into Git, daily at 02:00", []string{"backup", "git"}, "0 2 * * *", true},
	{"validation-processor", FlowValidation, "Compare device state with Infrahub's intended state and write the result back (validator events)", []string{"validation"}, "", true},
}

// FlowNames are the names of the flows the deployments run.
func FlowNames() []string {
	var out []string
	for _, s := range deploymentTable {
		out = append(out, s.flow)
	}
	return out
}

// Config is how the orchestrator is deployed. The zero Config is the
// demo's: an in-process pool, the binary's own flows.
type Config struct {
	// Docker makes the pool a Docker pool; else it is in-process.
	Docker bool
	// Image is the image runs start in (the base image CI publishes);
	// ImagePullPolicy is Always, IfNotPresent (default) or Never.
	Image           string
	ImagePullPolicy string
	// Network is the Docker network runs join, where they reach the API
	// (default "netauto", the compose file's); "host" runs them on the
	// host's network.
	Network string
	// Flows, when set, is where every deployment takes its flow from.
	Flows *FlowsSource
	// PauseNonProduction applies staging's and dev's schedules paused.
	PauseNonProduction bool
	// WebhookKey is Infrahub's webhook key; empty: no event source.
	WebhookKey []byte
	// ChangeWindows gives the change deployments (AS3, LTM, certificates,
	// routing) of every environment the change calendar of the
	// environment's config block (envconfig's change_calendar): their
	// runs then start only inside its windows and outside its freezes,
	// which operators edit as data. Off by default: a deployment naming
	// a block that does not exist holds its runs (the calendar fails
	// closed), and the demo saves some environments only as the default
	// block.
	ChangeWindows bool
}

// FlowsSource is the Git repository of the flows and the ref each
// environment runs.
type FlowsSource struct {
	Repository string
	// Ref is the ref of every environment without its own in Refs.
	Ref  string
	Refs map[string]string
	// Path is the Go module's directory in the repository ("" the root);
	// Entrypoint the flow binary's package ([DefaultEntrypoint]).
	Path, Entrypoint string
	// Credentials, when set, name the store secret to fetch with.
	Credentials *store.SourceCredentials
}

// DefaultEntrypoint is the flow binary's package in this repository.
const DefaultEntrypoint = "./examples/netauto/cmd/flows"

// RefOf returns the ref environment env runs.
func (f *FlowsSource) RefOf(env string) string {
	if r := f.Refs[env]; r != "" {
		return r
	}
	return f.Ref
}

// Environment variables of [ConfigFromEnv].
const (
	EnvPoolType        = "NETAUTO_POOL_TYPE"
	EnvImage           = "NETAUTO_IMAGE"
	EnvImagePullPolicy = "NETAUTO_IMAGE_PULL_POLICY"
	EnvRunNetwork      = "NETAUTO_RUN_NETWORK"
	EnvFlowsRepo       = "NETAUTO_FLOWS_REPO"
	EnvFlowsRef        = "NETAUTO_FLOWS_REF"
	// EnvFlowsRefPrefix + an environment in upper case
	// (NETAUTO_FLOWS_REF_STAGING) is that environment's ref.
	EnvFlowsRefPrefix  = "NETAUTO_FLOWS_REF_"
	EnvFlowsPath       = "NETAUTO_FLOWS_PATH"
	EnvFlowsEntrypoint = "NETAUTO_FLOWS_ENTRYPOINT"
	EnvFlowsSecret     = "NETAUTO_FLOWS_SECRET"
	EnvFlowsUsername   = "NETAUTO_FLOWS_USERNAME"
	EnvWebhookKey      = "NETAUTO_INFRAHUB_WEBHOOK_KEY"
	EnvChangeWindows   = "NETAUTO_CHANGE_WINDOWS"
)

// DefaultImage is the pool's image when NETAUTO_IMAGE is not set.
const DefaultImage = "netauto-worker:latest"

// ConfigFromEnv reads the deployment's settings from the environment
// (getenv, os.Getenv in programs):
//
//	NETAUTO_POOL_TYPE          docker (default) or in-process
//	NETAUTO_IMAGE              image of the runs (default netauto-worker:latest)
//	NETAUTO_IMAGE_PULL_POLICY  Always, IfNotPresent (default) or Never
//	NETAUTO_RUN_NETWORK        Docker network of the runs (default netauto; host)
//	NETAUTO_FLOWS_REPO         Git repository of the flows (https://, ssh://)
//	NETAUTO_FLOWS_REF          ref of every environment (default main)
//	NETAUTO_FLOWS_REF_<ENV>    ref of one environment (NETAUTO_FLOWS_REF_STAGING)
//	NETAUTO_FLOWS_PATH         module directory in the repository (default the root)
//	NETAUTO_FLOWS_ENTRYPOINT   flow binary's package (default ./examples/netauto/cmd/flows)
//	NETAUTO_FLOWS_SECRET       store secret holding a token to fetch with
//	NETAUTO_FLOWS_USERNAME     user name sent with the token (default x-access-token)
//	NETAUTO_INFRAHUB_WEBHOOK_KEY  Infrahub's webhook key (enables the infrahub source)
//	NETAUTO_CHANGE_WINDOWS     1: change deployments follow their environment block's change_calendar
//
// Staging's and dev's schedules are paused. Errors name the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{PauseNonProduction: true, Image: getenv(EnvImage), ImagePullPolicy: getenv(EnvImagePullPolicy), Network: getenv(EnvRunNetwork)}
	switch v := getenv(EnvChangeWindows); v {
	case "", "0", "false":
	case "1", "true":
		cfg.ChangeWindows = true
	default:
		return cfg, fmt.Errorf("%s=%q: want 1 or 0", EnvChangeWindows, v)
	}
	switch t := getenv(EnvPoolType); t {
	case "", docker.PoolType:
		cfg.Docker = true
	case "in-process":
	default:
		return cfg, fmt.Errorf("%s=%q: want docker or in-process", EnvPoolType, t)
	}
	switch cfg.ImagePullPolicy {
	case "", string(docker.PullAlways), string(docker.PullIfNotPresent), string(docker.PullNever):
	default:
		return cfg, fmt.Errorf("%s=%q: want Always, IfNotPresent or Never", EnvImagePullPolicy, cfg.ImagePullPolicy)
	}
	if repo := getenv(EnvFlowsRepo); repo != "" {
		f := &FlowsSource{Repository: repo, Ref: getenv(EnvFlowsRef), Path: getenv(EnvFlowsPath), Entrypoint: getenv(EnvFlowsEntrypoint)}
		if f.Ref == "" {
			f.Ref = "main"
		}
		if f.Entrypoint == "" {
			f.Entrypoint = DefaultEntrypoint
		}
		for _, env := range Environments {
			if r := getenv(EnvFlowsRefPrefix + strings.ToUpper(env)); r != "" {
				if f.Refs == nil {
					f.Refs = map[string]string{}
				}
				f.Refs[env] = r
			}
		}
		if sec := getenv(EnvFlowsSecret); sec != "" {
			f.Credentials = &store.SourceCredentials{Kind: "token", Secret: sec, Username: getenv(EnvFlowsUsername)}
		}
		cfg.Flows = f
	}
	if key := getenv(EnvWebhookKey); key != "" {
		if err := CheckWebhookKey(key); err != nil {
			return cfg, err
		}
		cfg.WebhookKey = []byte(key)
	}
	return cfg, nil
}

// placeholder matches the values an example file ships instead of a key.
var placeholder = regexp.MustCompile(`(?i)change.?me|placeholder|example|your.?(key|secret)|^x+$`)

// CheckWebhookKey refuses an Infrahub webhook key that an attacker could
// guess: shorter than 20 characters, a placeholder left from
// .env.example, or a single repeated character.
func CheckWebhookKey(key string) error {
	switch {
	case len(key) < 20:
		return fmt.Errorf("%s: shorter than 20 characters; generate one with: openssl rand -base64 32", EnvWebhookKey)
	case placeholder.MatchString(key):
		return fmt.Errorf("%s: a placeholder, not a key; generate one with: openssl rand -base64 32", EnvWebhookKey)
	case strings.Count(key, key[:1]) == len(key):
		return fmt.Errorf("%s: one repeated character; generate one with: openssl rand -base64 32", EnvWebhookKey)
	}
	// And what the runtime refuses of every key (low entropy, other
	// placeholders).
	return store.CheckSecretValue(EnvWebhookKey, key)
}

// Resources of a run's container per environment: production's as the
// original plan had them, smaller elsewhere.
var resources = map[string][4]string{
	// cpu_request, memory_request, cpu_limit, memory_limit
	"production": {"500m", "1Gi", "2000m", "4Gi"},
	"staging":    {"250m", "512Mi", "1000m", "2Gi"},
	"dev":        {"250m", "512Mi", "1000m", "2Gi"},
}

// DeviceLoginBlock is the block holding the device login ([DeviceLogin]).
const DeviceLoginBlock = "netauto-device-login"

// DeviceLogin is the device login runs in containers receive.
type DeviceLogin struct {
	Username string       `json:"username"`
	Password store.Secret `json:"password"`
}

// jobVariables are a deployment's job variables in a Docker pool: its
// environment's configuration block, the device login for flows that
// log in to devices, and the environment's resources.
func jobVariables(env string, devices bool) json.RawMessage {
	r := resources[env]
	vars := map[string]any{
		"env":         envOf(env, devices),
		"cpu_request": r[0], "memory_request": r[1], "cpu_limit": r[2], "memory_limit": r[3],
	}
	out, _ := json.Marshal(vars)
	return out
}

func envOf(env string, devices bool) map[string]string {
	m := map[string]string{
		envconfig.EnvEnvironment: env,
		"NETAUTO_CONFIG":         "{{ blocks." + envconfig.BlockName(env) + " }}",
	}
	if devices {
		m["NETAUTO_DEVICE_USERNAME"] = "{{ blocks." + DeviceLoginBlock + ".username }}"
		m["NETAUTO_DEVICE_PASSWORD"] = "{{ blocks." + DeviceLoginBlock + ".password }}"
	}
	return m
}

// Deployments returns the deployments of every environment: for each row
// of the table "<name>-<environment>", its tags plus the environment,
// parameters {"environment": ...}, on [Pool]; in a Docker pool, the
// environment's job variables; with cfg.Flows, the flow from Git at the
// environment's ref. Production's sync deployments run on their cron;
// staging and dev carry the same schedules, paused when
// cfg.PauseNonProduction is set.
func Deployments(cfg Config) []store.Deployment {
	var out []store.Deployment
	for _, env := range Environments {
		for _, s := range deploymentTable {
			d := store.Deployment{
				Name:        s.base + "-" + env,
				Flow:        s.flow,
				Description: s.desc + " [" + env + "]",
				Tags:        append(append([]string{}, s.tags...), env),
				Parameters:  json.RawMessage(fmt.Sprintf(`{"environment":%q}`, env)),
				Pool:        Pool,
				Retries:     1,
				RetryDelay:  30 * time.Second,
				LatePolicy:  store.LateRunLatest,
			}
			if s.cron != "" {
				d.Schedules = []store.Schedule{{Cron: s.cron, Timezone: "UTC"}}
				d.Paused = env != "production" && cfg.PauseNonProduction
			}
			if cfg.ChangeWindows && changeFlows[s.flow] {
				d.Calendar = &window.Calendar{Block: envconfig.BlockName(env)}
			}
			if s.flow == FlowConfigBackup {
				d.ConcurrencyLimit = 1
			}
			if cfg.Docker {
				d.JobVariables = jobVariables(env, s.devices)
			}
			if f := cfg.Flows; f != nil {
				d.Source = &store.Source{Repository: f.Repository, Ref: f.RefOf(env), Path: f.Path, Entrypoint: f.Entrypoint, Credentials: f.Credentials}
			}
			out = append(out, d)
		}
	}
	return out
}

// Pools returns the work pool: with cfg.Docker, a Docker pool whose job
// template starts runs in cfg.Image on cfg.Network, with production's
// configuration block by default (deployments override it with their
// environment's) and the backups volume; else an in-process pool.
func Pools(cfg Config) []store.Pool {
	if !cfg.Docker {
		return []store.Pool{{Name: Pool, Type: "in-process", Description: "in-process pool: runs execute in the worker"}}
	}
	image := cfg.Image
	if image == "" {
		image = DefaultImage
	}
	policy := cfg.ImagePullPolicy
	if policy == "" {
		policy = string(docker.PullIfNotPresent)
	}
	tmpl := map[string]any{
		"image":             image,
		"image_pull_policy": policy,
		"auto_remove":       true,
		"env":               envOf("production", false),
		"volumes":           []string{"netauto-backups:/var/lib/netauto/backups"},
	}
	// What deployments and runs may change (runtime/docker.Policy): env
	// values and resources up to production's limits; no other image,
	// command, volume or network, never the Docker socket.
	allow := map[string]any{"override": launch.DefaultOverride, "max_cpu": "2000m", "max_memory": "4Gi"}
	switch n := cfg.Network; n {
	case "":
		tmpl["networks"] = []string{"netauto"}
	case "host":
		tmpl["network_mode"] = "host"
		allow["network_modes"] = []string{"host"}
	default:
		tmpl["networks"] = []string{n}
	}
	tmpl["allow"] = allow
	raw, _ := json.Marshal(tmpl)
	return []store.Pool{{Name: Pool, Type: docker.PoolType, Description: "Docker work pool: each run in a container of the base image, its flow built from Git", JobTemplate: raw}}
}

// Triggers is the dispatcher's table: Infrahub event × target kind →
// production deployment, the whole event passed as the flow's "event"
// parameter. A validator's outcome (passed or failed), not its start,
// dispatches the validation flow: one run per validation cycle.
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
		// A validator's cycle sends started, then passed or failed: the
		// outcome alone dispatches, so one cycle makes one validation run
		// (the original dispatched all three: two runs, each opening a
		// session to every device the checks name). A started event is
		// kept in the events inbox as unmatched.
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

// App returns the orchestrator for runtime.Main: the deployments of cfg,
// the pool, the trigger table, the tag limits, the Infrahub source when
// cfg has a webhook key, and flows (the binary's own; none for a binary
// whose deployments all come from Git). A deployment whose flow is
// neither in flows nor from Git is an error saying what to configure.
func App(cfg Config, flows []flow.Definition) (*runtime.App, error) {
	if cfg.Flows == nil {
		var have []string
		for _, f := range flows {
			have = append(have, f.Describe().Name)
		}
		for _, name := range FlowNames() {
			if !slices.Contains(have, name) {
				return nil, fmt.Errorf("flow %s is not in this binary and %s is not set: set it to the Git repository of the flows (see examples/netauto/README.md)", name, EnvFlowsRepo)
			}
		}
	}
	app, err := Base(cfg)
	if err != nil {
		return nil, err
	}
	app.Flows, app.Deployments = flows, Deployments(cfg)
	return app, nil
}

// Base is the orchestrator without flows and deployments: the pool, the
// trigger table, the tag limits and the Infrahub source. It is all a
// server or a worker needs when the deployments were applied by `deploy`
// elsewhere (CI): the base image's binary runs so without
// NETAUTO_FLOWS_REPO.
func Base(cfg Config) (*runtime.App, error) {
	app := &runtime.App{
		Name:      "netauto",
		Pools:     Pools(cfg),
		TagLimits: TagLimits,
		Triggers:  Triggers(),
	}
	if len(cfg.WebhookKey) > 0 {
		src, err := Sources(cfg.WebhookKey)
		if err != nil {
			return nil, err
		}
		app.Sources = src
	}
	return app, nil
}

// FromEnv is [App] with [ConfigFromEnv]'s configuration. Without flows
// and without NETAUTO_FLOWS_REPO it is [Base], except for `deploy`
// (command), which then has nothing to apply and fails saying so.
func FromEnv(command string, flows []flow.Definition) (*runtime.App, error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if cfg.Flows == nil && len(flows) == 0 && command != "deploy" {
		return Base(cfg)
	}
	return App(cfg, flows)
}
