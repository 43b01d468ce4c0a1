// Command dockerapp is the orchestrator the Docker launcher's tests run
// in containers: a static binary in a FROM scratch image. Its flows print
// to stdout, read their environment, sleep and exit on demand.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Params are the parameters of every flow here.
type Params struct {
	Lines int `json:"lines,omitempty"`
	MS    int `json:"ms,omitempty"`
	Code  int `json:"code,omitempty"`
}

// Env is what the hello flow saw: GREETING as is, TOKEN only hashed.
type Env struct {
	Greeting string `json:"greeting"`
	TokenSHA string `json:"token_sha"`
	Host     string `json:"host"`
}

var hello = flow.New("hello", func(ctx context.Context, p Params) (Env, error) {
	for i := range p.Lines {
		fmt.Printf("hello line %d\n", i+1)
	}
	sum := sha256.Sum256([]byte(os.Getenv("TOKEN")))
	return Env{Greeting: os.Getenv("GREETING"), TokenSHA: hex.EncodeToString(sum[:]), Host: os.Getenv("HOSTNAME")}, nil
})

var sleep = flow.New("sleep", func(ctx context.Context, p Params) (string, error) {
	fmt.Println("sleeping")
	select {
	case <-time.After(time.Duration(p.MS) * time.Millisecond):
		fmt.Println("woke up")
		return "slept", nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
})

// fragile sleeps as sleep does; its OnCrashed hook, which the worker runs
// on the host when the run's container died, leaves a file named after
// the run in $DOCKERAPP_HOOKS.
var fragile = flow.New("fragile", func(ctx context.Context, p Params) (string, error) {
	fmt.Println("sleeping")
	select {
	case <-time.After(time.Duration(p.MS) * time.Millisecond):
		return "slept", nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}, flow.OnCrashed(func(_ context.Context, ev flow.HookEvent) error {
	dir := os.Getenv("DOCKERAPP_HOOKS")
	if dir == "" {
		return fmt.Errorf("DOCKERAPP_HOOKS is not set")
	}
	return os.WriteFile(filepath.Join(dir, ev.Run.ID+"."+ev.State.Name), []byte(ev.State.Message), 0o600)
}))

var exit = flow.New("exit", func(ctx context.Context, p Params) (string, error) {
	fmt.Println("about to exit")
	fmt.Fprintln(os.Stderr, "exiting with", p.Code)
	os.Exit(p.Code)
	return "", nil
})

var app = &runtime.App{
	Name:  "dockerapp",
	Flows: []flow.Definition{hello, sleep, exit, fragile},
	Pools: []store.Pool{{Name: "dockertest", Type: "docker",
		JobTemplate: json.RawMessage(`{"image":"netauto-dockertest:e2e","image_pull_policy":"Never","network_mode":"host",
			"allow":{"network_modes":["host"],"override":["env","cpu_limit","cpu_request","memory_limit","memory_request","labels","auto_remove","image","image_pull_policy","secret_env"]}}`)}},
	Deployments: []store.Deployment{
		{Name: "hello", Flow: "hello", Pool: "dockertest", Parameters: json.RawMessage(`{"lines":3}`),
			JobVariables: json.RawMessage(`{"env":{"GREETING":"hi {{ run_id }}"}}`)},
		{Name: "sleep", Flow: "sleep", Pool: "dockertest", Parameters: json.RawMessage(`{"ms":60000}`), Retries: 1},
		{Name: "exit", Flow: "exit", Pool: "dockertest", Parameters: json.RawMessage(`{"code":3}`)},
		{Name: "fragile", Flow: "fragile", Pool: "dockertest", Parameters: json.RawMessage(`{"ms":60000}`)},
	},
}

func main() { runtime.Main(app) }
