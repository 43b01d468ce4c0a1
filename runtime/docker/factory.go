package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// Factory registers the Docker launcher for pools of type [PoolType]
// (runtime.App.Launchers has it by default): it makes a worker's
// [Launcher], removes what the worker's earlier life left running
// ([Launcher.Recover]) and checks job templates against the pool's
// [Policy] ([ResolveJobTemplate]).
type Factory struct {
	// Client returns the Engine API client; default one configured from
	// the environment (DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH,
	// DOCKER_TLS_VERIFY), negotiating the API version.
	Client func() (*client.Client, error)
}

var _ launch.Factory = Factory{}

// New returns the worker's Docker launcher; the function it returns
// closes the Engine API client.
func (f Factory) New(ctx context.Context, cfg launch.Config) (worker.Launcher, func() error, error) {
	newClient := f.Client
	if newClient == nil {
		newClient = func() (*client.Client, error) {
			return client.New(client.FromEnv, client.WithAPIVersionNegotiation())
		}
	}
	cli, err := newClient()
	if err != nil {
		return nil, nil, fmt.Errorf("docker launcher: %w", err)
	}
	l := &Launcher{Client: cli, Store: cfg.Store, Worker: cfg.Worker, Env: cfg.ChildEnv, Grace: cfg.Grace, Logger: cfg.Logger}
	if cfg.Pool != "" && cfg.Store != nil {
		if _, err := l.Recover(ctx, cfg.Pool, cfg.Store); err != nil {
			l.logger().Warn("docker launcher: recover containers", slog.String("error", err.Error()))
		}
	}
	return l, cli.Close, nil
}

// CheckJobTemplate checks pool's job template layered with job variables
// against its [Policy] (see [ResolveJobTemplate]).
func (Factory) CheckJobTemplate(pool store.Pool, vars ...json.RawMessage) error {
	_, err := ResolveJobTemplate(pool, vars...)
	return err
}

// Remote is true: runs execute in containers, reporting over the API.
func (Factory) Remote() bool { return true }
