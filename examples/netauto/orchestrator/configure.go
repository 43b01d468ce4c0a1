package orchestrator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Environment variables [Configure] reads besides common's
// (NETAUTO_INFRAHUB_URL, ...).
const (
	// EnvNotifyChannel is the notifications' channel label.
	EnvNotifyChannel = "NETAUTO_NOTIFY_CHANNEL"
	// EnvDeviceUsername and EnvDevicePassword are the device login.
	EnvDeviceUsername = "NETAUTO_DEVICE_USERNAME"
	EnvDevicePassword = "NETAUTO_DEVICE_PASSWORD"
)

// apiConfigs saves blocks through the API: what store.SaveConfig needs.
type apiConfigs struct {
	store.Configs // nil: only SaveBlock is called
	c             *client.Client
}

func (a apiConfigs) SaveBlock(ctx context.Context, b store.Block) error { return a.c.SaveBlock(ctx, b) }

// Configure saves, through the API c, the settings the process's
// environment (getenv) holds for the runs in containers, and prints what
// it saved (names, never values):
//
//   - the configuration block of NETAUTO_ENVIRONMENT (default production),
//     netauto-config-<environment>, from NETAUTO_INFRAHUB_URL,
//     NETAUTO_INFRAHUB_TOKEN, NETAUTO_F5_URL, NETAUTO_F5_USERNAME,
//     NETAUTO_F5_PASSWORD, NETAUTO_NOTIFY_URL, NETAUTO_NOTIFY_KEY and
//     NETAUTO_NOTIFY_CHANNEL, and its approval gate from NETAUTO_APPROVAL_*
//     (required by default for production: envconfig.ApprovalFromEnv),
//     when NETAUTO_INFRAHUB_URL is set (asDefault: as
//     netauto-config-default instead);
//   - the device login block netauto-device-login from
//     NETAUTO_DEVICE_USERNAME and NETAUTO_DEVICE_PASSWORD, when the
//     username is set.
//
// Secret fields are encrypted by the server. It is an error when neither
// is set: there is nothing to configure.
func Configure(ctx context.Context, c *client.Client, getenv func(string) string, asDefault bool, out io.Writer) error {
	did := false
	if getenv(envconfig.EnvInfrahubURL) != "" {
		env := getenv(envconfig.EnvEnvironment)
		if env == "" {
			env = "production"
		}
		if err := envconfig.CheckEnvironment(env); err != nil {
			return fmt.Errorf("%s: %w", envconfig.EnvEnvironment, err)
		}
		appr, err := envconfig.ApprovalFromEnv(env, getenv)
		if err != nil {
			return err
		}
		cfg := envconfig.NetAutoConfig{
			Environment: env, InfrahubURL: getenv(envconfig.EnvInfrahubURL), InfrahubToken: store.NewSecret(getenv(envconfig.EnvInfrahubToken)),
			F5URL: getenv(envconfig.EnvF5URL), F5Username: getenv(envconfig.EnvF5Username), F5Password: store.NewSecret(getenv(envconfig.EnvF5Password)),
			Notify: envconfig.Notification{WebhookURL: getenv(envconfig.EnvNotifyURL), SigningKey: store.NewSecret(getenv(envconfig.EnvNotifyKey)),
				Channel: getenv(EnvNotifyChannel)},
			Approval: appr,
		}
		if err := envconfig.Save(ctx, apiConfigs{c: c}, cfg, asDefault); err != nil {
			return fmt.Errorf("save the configuration of %s from %s and its siblings: %w", env, envconfig.EnvInfrahubURL, err)
		}
		name := envconfig.BlockName(env)
		if asDefault {
			name = envconfig.DefaultBlock
		}
		var set []string
		for _, v := range []string{envconfig.EnvInfrahubURL, envconfig.EnvInfrahubToken, envconfig.EnvF5URL, envconfig.EnvF5Username, envconfig.EnvF5Password,
			envconfig.EnvNotifyURL, envconfig.EnvNotifyKey, EnvNotifyChannel, envconfig.EnvApprovalRequired, envconfig.EnvApprovalRoles,
			envconfig.EnvApprovalKeys, envconfig.EnvApprovalFourEyes, envconfig.EnvApprovalTimeout} {
			if getenv(v) != "" {
				set = append(set, v)
			}
		}
		fmt.Fprintf(out, "block %s: saved from %s (approval required: %t)\n", name, strings.Join(set, ", "), appr.Required)
		did = true
	}
	if u := getenv(EnvDeviceUsername); u != "" {
		login := DeviceLogin{Username: u, Password: store.NewSecret(getenv(EnvDevicePassword))}
		if err := store.SaveConfig(ctx, apiConfigs{c: c}, DeviceLoginBlock, login); err != nil {
			return fmt.Errorf("save the device login from %s: %w", EnvDeviceUsername, err)
		}
		what := EnvDeviceUsername
		if getenv(EnvDevicePassword) != "" {
			what += ", " + EnvDevicePassword
		}
		fmt.Fprintf(out, "block %s: saved from %s\n", DeviceLoginBlock, what)
		did = true
	}
	if !did {
		return fmt.Errorf("nothing to configure: set %s (and %s, ...) or %s", envconfig.EnvInfrahubURL, envconfig.EnvInfrahubToken, EnvDeviceUsername)
	}
	return nil
}

// RunConfigure is the `configure` command of the example's binaries:
//
//	netauto configure [--default] [--api URL]
//
// It calls [Configure] with the process's environment and the API of
// NETAUTO_API_URL and NETAUTO_API_KEY, and returns the exit status.
func RunConfigure(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("configure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asDefault := fs.Bool("default", false, "save the configuration as netauto-config-default, the fallback of every environment")
	apiURL := fs.String("api", os.Getenv(runtime.EnvAPIURL), "API base URL (env "+runtime.EnvAPIURL+")")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: netauto configure [--default] [--api URL]: save the settings of the environment (NETAUTO_INFRAHUB_URL, ..., NETAUTO_DEVICE_USERNAME) as configuration blocks")
		return runtime.ExitUsage
	}
	if *apiURL == "" {
		*apiURL = "http://127.0.0.1:4200"
	}
	c, err := client.New(*apiURL, client.Options{Token: os.Getenv(runtime.EnvAPIKey)})
	if err == nil {
		err = Configure(ctx, c, os.Getenv, *asDefault, stdout)
	}
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == 401 {
			err = fmt.Errorf("%w (set %s to one of the server's keys)", err, runtime.EnvAPIKey)
		}
		fmt.Fprintln(stderr, "configure:", err)
		return runtime.ExitFailed
	}
	return runtime.ExitOK
}
