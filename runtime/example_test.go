package runtime_test

import (
	"context"
	"encoding/json"
	"os"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
)

// An orchestrator binary declares its flows and deployments in an App;
// its main calls runtime.Main(app). Here the `flows` command runs
// directly.
func ExampleApp_Run() {
	greet := flow.New("greet", func(_ context.Context, p struct {
		Name string `json:"name"`
	}) (string, error) {
		return "hello " + p.Name, nil
	}, flow.WithDescription("says hello"), flow.WithVersion("1.0"))
	app := &runtime.App{
		Name:  "hello",
		Flows: []flow.Definition{greet},
		Deployments: []store.Deployment{{
			Name: "greet-hourly", Flow: "greet",
			Parameters: json.RawMessage(`{"name":"world"}`),
			Schedules:  []store.Schedule{{Cron: "0 * * * *", Timezone: "Europe/Berlin"}},
		}},
	}
	code := app.Run(context.Background(), []string{"flows"}, os.Stdout, os.Stderr)
	_ = code // main would call runtime.Main(app), which exits with it
	// Output:
	// FLOW   VERSION  DEPLOYMENTS   DESCRIPTION
	// greet  1.0      greet-hourly  says hello
}
