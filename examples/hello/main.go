// Command hello is a minimal netauto orchestrator: one flow of two tasks
// and one deployment running it every hour, compiled into one binary whose
// command line is [runtime.Main]'s.
//
//	go run ./examples/hello server &
//	go run ./examples/hello deploy
//	go run ./examples/hello run hello --param name=netauto --watch
//
// See README.md.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

// Params are the hello flow's parameters.
type Params struct {
	Name string `json:"name" doc:"who to greet"`
}

var greet = task.New("greet", func(ctx context.Context, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", flow.NonRetryable(fmt.Errorf("name: empty"))
	}
	flow.Logger(ctx).Info("composing a greeting", "name", name)
	return "Hello, " + name, nil
}, task.WithRetries(2))

var shout = task.New("shout", func(ctx context.Context, s string) (string, error) {
	out := strings.ToUpper(s) + "!"
	flow.Logger(ctx).Info(out)
	return out, nil
})

var hello = flow.New("hello", func(ctx context.Context, p Params) (string, error) {
	g, err := greet.Run(ctx, p.Name)
	if err != nil {
		return "", err
	}
	return shout.Run(ctx, g)
}, flow.WithDescription("greets someone, loudly"), flow.WithRunName("hello-{{.Name}}"))

// app is the orchestrator: the flow and its deployment.
var app = &runtime.App{
	Name:  "hello",
	Flows: []flow.Definition{hello},
	Deployments: []store.Deployment{{
		Name:        "hello",
		Flow:        "hello",
		Description: "greets the world every hour",
		Parameters:  json.RawMessage(`{"name":"world"}`),
		Schedules:   []store.Schedule{{Cron: "0 * * * *", Timezone: "UTC"}},
		Retries:     1,
	}},
}

func main() { runtime.Main(app) }
