// Package wiring connects the example's flows to what they need: where
// their configuration comes from, device logins, the backup directory,
// fan-out limits and the failure notifier. [Flows] returns every flow of
// the example wired to a [Wiring].
//
// Two programs use it: the orchestrator binary (examples/netauto), whose
// in-process runs read configuration blocks from the store, and the flow
// binary a worker builds from Git (examples/netauto/cmd/flows), whose runs
// have nothing but their environment ([FromEnv]): the Docker launcher
// hands them their environment's configuration block as NETAUTO_CONFIG,
// the device login as NETAUTO_DEVICE_USERNAME and NETAUTO_DEVICE_PASSWORD
// (see examples/netauto/orchestrator).
package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/events"
	"github.com/netauto-dev/netauto/examples/netauto/f5flows"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/routing"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
)

// Wiring is what the flows need from the program: configuration, device
// credentials and where backups go.
type Wiring struct {
	// Config loads an environment's NetAutoConfig.
	Config envconfig.Loader
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
	f5 := f5flows.New(f5flows.Deps{Config: w.Config}, hooks...)
	var mu sync.Mutex
	clients := map[string]*infrahub.Client{}
	deps := netsync.Deps{
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
			c, err := envconfig.Infrahub(cfg)
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
		netsync.InventorySync(deps, hooks...),
		netsync.ConfigBackup(deps, hooks...),
		netsync.Validation(deps, hooks...),
	}
}

// Environment variables of a process wired from its environment.
const (
	// EnvConfig holds the environment's NetAutoConfig as JSON, secrets
	// in place: the Docker launcher's {{ blocks.netauto-config-ENV }}.
	EnvConfig = "NETAUTO_CONFIG"
	// EnvDeviceUsername and EnvDevicePassword log in to devices.
	EnvDeviceUsername = "NETAUTO_DEVICE_USERNAME"
	EnvDevicePassword = "NETAUTO_DEVICE_PASSWORD"
	// EnvKnownHosts is a known_hosts file; without it host keys are not
	// checked.
	EnvKnownHosts = "NETAUTO_KNOWN_HOSTS"
	// EnvBackupDir is the backup repository ("{environment}" replaced).
	EnvBackupDir = "NETAUTO_BACKUP_DIR"
)

// DefaultBackupDir is the backup repository when NETAUTO_BACKUP_DIR is
// not set.
const DefaultBackupDir = "/var/lib/netauto/backups/{environment}.git"

// FromEnv is the wiring of a process that has nothing but its environment
// (getenv, os.Getenv in programs): a run in a container, a flow binary.
// Configuration comes from [EnvConfigLoader]; the device login, known
// hosts and backup directory from their variables.
func FromEnv(getenv func(string) string) Wiring {
	backup := getenv(EnvBackupDir)
	if backup == "" {
		backup = DefaultBackupDir
	}
	return Wiring{
		Config:         EnvConfigLoader(getenv),
		Secrets:        device.SecretFunc(func(_ context.Context, name string) (string, error) { return getenv(name), nil }),
		DeviceDefaults: DeviceParams(getenv),
		BackupDir:      backup,
	}
}

// DeviceParams are the device defaults of the environment: the login of
// NETAUTO_DEVICE_USERNAME, its password read from NETAUTO_DEVICE_PASSWORD
// when a device is reached, host keys checked against NETAUTO_KNOWN_HOSTS.
func DeviceParams(getenv func(string) string) device.Params {
	insecure := false
	p := device.Params{Username: getenv(EnvDeviceUsername), PasswordSecret: EnvDevicePassword, KnownHostsFile: getenv(EnvKnownHosts)}
	if p.KnownHostsFile == "" {
		p.InsecureIgnoreHostKey = &insecure
	}
	return p
}

// EnvConfigLoader returns the configuration of the one environment
// NETAUTO_ENVIRONMENT names, from NETAUTO_CONFIG (a configuration block as
// JSON, as the Docker launcher hands it over) when it is set, else from
// NETAUTO_INFRAHUB_URL and its siblings ([envconfig.EnvLoader]). A run of any
// other environment fails: one process never holds the settings of two.
func EnvConfigLoader(getenv func(string) string) envconfig.Loader {
	separate := envconfig.EnvLoader(getenv)
	return func(ctx context.Context, env string) (envconfig.NetAutoConfig, error) {
		// Read at each load, not when the flows are wired: a run's
		// secret environment (NETAUTO_CONFIG among it) arrives on
		// standard input when `execute` starts, after main wired them.
		doc := getenv(EnvConfig)
		if doc == "" {
			return separate(ctx, env)
		}
		if err := envconfig.CheckEnvironment(env); err != nil {
			return envconfig.NetAutoConfig{}, flow.NonRetryable(err)
		}
		switch own := getenv(envconfig.EnvEnvironment); {
		case own == "":
			return envconfig.NetAutoConfig{}, flow.NonRetryable(fmt.Errorf("environment %s: %s is empty: set it to the environment whose block %s holds", env, envconfig.EnvEnvironment, EnvConfig))
		case own != env:
			return envconfig.NetAutoConfig{}, flow.NonRetryable(fmt.Errorf("environment %s: this process holds the settings of %s=%s only", env, envconfig.EnvEnvironment, own))
		}
		var cfg envconfig.NetAutoConfig
		dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, flow.NonRetryable(fmt.Errorf("environment %s: %s is not a NetAutoConfig block: %s", env, EnvConfig, decodeReason(err)))
		}
		cfg.Environment = env
		if err := cfg.Validate(); err != nil {
			return cfg, flow.NonRetryable(fmt.Errorf("environment %s: configuration from %s: %w", env, EnvConfig, err))
		}
		return cfg, nil
	}
}

// decodeReason says why a document did not decode without quoting it (it
// holds secrets): the offset of a syntax error, the field of a type error.
func decodeReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s: want %s, got JSON %s", te.Field, te.Type, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "not a JSON object"
}
