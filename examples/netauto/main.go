// Command netauto is the example orchestrator of the original NetAuto
// plan, ported to Go, end to end: F5 (AS3, LTM, certificates), routing,
// inventory sync, configuration backup and validation flows; deployments for
// production, staging and dev; the Infrahub webhook trigger table; failure
// notifications. One binary runs it all.
//
//	go run ./examples/netauto demo          # the whole system on fakes, live, until Ctrl-C
//	go run ./examples/netauto demo --once   # the same, exits 0 only when every step did what it should
//	go run ./examples/netauto sim           # the fakes alone (Infrahub, BIG-IP, devices) for the other commands
//	go run ./examples/netauto configure     # save the environment's settings as the blocks runs read
//
// Every other command is runtime.Main's (server, worker, deploy, run, runs,
// show, logs, cancel, flows, execute, bench), against real Infrahub,
// BIG-IP and devices by configuration (see orchestrator.ConfigFromEnv and
// README.md):
//
//	NETAUTO_INFRAHUB_WEBHOOK_KEY   shared key of the Infrahub webhook (enables POST /api/v1/events/infrahub)
//	NETAUTO_DEVICE_USERNAME        SSH user for devices; NETAUTO_DEVICE_PASSWORD its password
//	NETAUTO_KNOWN_HOSTS            known_hosts file for device host keys
//	NETAUTO_BACKUP_DIR             backup repository ("{environment}" is replaced)
//	NETAUTO_POOL_TYPE              "docker" (default) or "in-process" for the netauto-docker-pool
//	NETAUTO_IMAGE                  the image runs start in (the base image)
//	NETAUTO_FLOWS_REPO             Git repository of the flows: every deployment builds its
//	                               flow from it (NETAUTO_FLOWS_REF, NETAUTO_FLOWS_REF_<ENV>);
//	                               unset, deployments run the flows compiled into this binary
//
// The base image runs examples/netauto/cmd/netauto instead: the same
// commands, without the flows' code (deployments from Git only).
//
// Per-environment settings (Infrahub URL and token, F5 URL and
// credentials, notification webhook) are NetAutoConfig blocks (package
// common) in the store: "netauto-config-<environment>", falling back to
// "netauto-config-default". A process without NETAUTO_DB but with
// NETAUTO_CONFIG (the block as JSON, as the Docker launcher hands it to a
// run) or NETAUTO_INFRAHUB_URL takes them from its environment instead,
// for the one environment NETAUTO_ENVIRONMENT names (see package wiring).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/orchestrator"
	"github.com/netauto-dev/netauto/examples/netauto/wiring"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/agent"
	"github.com/netauto-dev/netauto/runtime/store"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "demo":
			os.Exit(cmdDemo(os.Args[2:], os.Stdout, os.Stderr))
		case "sim":
			os.Exit(cmdSim(os.Args[2:], os.Stdout, os.Stderr))
		case "configure":
			os.Exit(orchestrator.RunConfigure(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	app, err := productionApp()
	if err != nil {
		fmt.Fprintln(os.Stderr, "netauto:", err)
		os.Exit(1)
	}
	runtime.Main(app)
}

// productionApp is the orchestrator of orchestrator.ConfigFromEnv with
// the flows compiled in, wired to the store's configuration blocks and
// the device settings of the environment.
func productionApp() (*runtime.App, error) {
	cfg, err := orchestrator.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	w := wiring.FromEnv(os.Getenv)
	w.Config = configLoader()
	app, err := orchestrator.App(cfg, wiring.Flows(w))
	if err != nil {
		return nil, err
	}
	// main runs these before the app is built (they need no
	// configuration); declared here, `--help` lists them.
	app.Commands = append(app.Commands, exampleCommands...)
	return app, nil
}

// exampleCommands are the example's own commands.
var exampleCommands = []runtime.Command{
	{Name: "demo", Args: "[--once] [--devices N] [--listen ADDR] [--keep]", Help: "the whole system on fakes (Infrahub, BIG-IP, SSH devices), live until Ctrl-C",
		Run: func(_ context.Context, args []string, stdout, stderr io.Writer) int {
			return cmdDemo(args, stdout, stderr)
		}},
	{Name: "sim", Args: "[flags]", Help: "only the fakes, printing their addresses, for the other commands to be pointed at",
		Run: func(_ context.Context, args []string, stdout, stderr io.Writer) int {
			return cmdSim(args, stdout, stderr)
		}},
	{Name: "configure", Args: "[flags]", Help: "write the orchestrator's configuration blocks and secrets through the API",
		Run: orchestrator.RunConfigure},
}

// configLoader reads NetAutoConfig blocks from the store when the process
// has one (NETAUTO_DB set), and from its environment (NETAUTO_CONFIG or
// NETAUTO_INFRAHUB_URL, ...) otherwise: an `execute` child of the process
// or Docker launcher gets no database.
func configLoader() envconfig.Loader {
	fromEnv, fromStore := wiring.EnvConfigLoader(os.Getenv), storeConfigLoader()
	return func(ctx context.Context, env string) (envconfig.NetAutoConfig, error) {
		// Decided at each load: a run's secret environment (NETAUTO_CONFIG
		// among it) arrives on standard input after main wired the flows.
		if os.Getenv(runtime.EnvDB) == "" && (os.Getenv(wiring.EnvConfig) != "" || os.Getenv(envconfig.EnvInfrahubURL) != "") {
			return fromEnv(ctx, env)
		}
		return fromStore(ctx, env)
	}
}

// storeConfigLoader loads NetAutoConfig blocks from the store named by
// NETAUTO_DB (a runtime.OpenStore URL; opened on first use). A run
// started by a launcher (NETAUTO_RUN_ID set) without NETAUTO_DB has no
// database: it says so rather than opening an empty default one.
func storeConfigLoader() envconfig.Loader {
	var (
		mu sync.Mutex
		st store.Store
	)
	return func(ctx context.Context, env string) (envconfig.NetAutoConfig, error) {
		mu.Lock()
		defer mu.Unlock()
		if st == nil {
			db := os.Getenv(runtime.EnvDB)
			if db == "" && (os.Getenv(agent.EnvRunID) != "" || os.Getenv(runtime.EnvRun) != "") {
				// A run of the process or Docker launcher: the server's
				// database is not here, and a default one would be empty.
				return envconfig.NetAutoConfig{}, flow.NonRetryable(fmt.Errorf(
					"environment %s: this run has no database to read block %s from: give the pool's runs %s (and %s, %s, ..., with NETAUTO_ENVIRONMENT) or %s",
					env, envconfig.BlockName(env), envconfig.EnvInfrahubURL, envconfig.EnvInfrahubToken, envconfig.EnvF5URL, runtime.EnvDB))
			}
			if db == "" {
				db = runtime.DefaultDB
			}
			key, err := store.KeyFromEnv()
			if err != nil {
				return envconfig.NetAutoConfig{}, err
			}
			s, err := runtime.OpenStore(ctx, db, store.Options{Key: key})
			if err != nil {
				return envconfig.NetAutoConfig{}, fmt.Errorf("open store for configuration blocks: %w", err)
			}
			st = s
		}
		cfg, _, err := envconfig.Load(ctx, st, env)
		return cfg, err
	}
}
