package proctest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// DockerEngine returns a client of the local Docker engine (DOCKER_HOST or
// the default socket), closed when the test ends. Without a reachable
// engine the test skips with a message, or fails when NETAUTO_CI=1: in CI
// a skip would hide a broken setup.
func DockerEngine(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	}
	if err != nil {
		if cli != nil {
			cli.Close()
		}
		if os.Getenv("NETAUTO_CI") == "1" {
			t.Fatalf("NETAUTO_CI=1 and no Docker engine: %v", err)
		}
		t.Skipf("no Docker engine reachable (set DOCKER_HOST, or start dockerd), skipping: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
