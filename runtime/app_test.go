package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

var echo = flow.New("echo", func(_ context.Context, p struct {
	Msg string `json:"msg"`
}) (string, error) {
	return p.Msg, nil
}, flow.WithDescription("returns its message"))

func TestInvalidApp(t *testing.T) {
	tests := []struct {
		name string
		app  runtime.App
		want string
	}{
		{"flow twice", runtime.App{Flows: []flow.Definition{echo, echo}}, "flows[1]"},
		{"unknown flow", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "nope"}}}, "deployments[0].flow"},
		{"no name", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Flow: "echo"}}}, "deployments[0].name"},
		{"deployment twice", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "echo"}, {Name: "d", Flow: "echo"}}}, "deployments[1].name"},
		{"parameters not an object", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "echo", Parameters: json.RawMessage(`[1]`)}}}, "deployments[0].parameters"},
		{"pool twice", runtime.App{Pools: []store.Pool{{Name: "p"}, {Name: "p"}}}, "pools[1].name"},
		{"negative tag limit", runtime.App{TagLimits: map[string]int{"device:*": -1}}, "tag_limits[device:*]"},
		{"bad trigger", runtime.App{Triggers: []trigger.Trigger{{Event: "x"}}}, "triggers[0]"},
		{"bad time zone", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "echo",
			Schedules: []store.Schedule{{Cron: "0 * * * *"}, {Cron: "0 2 * * *", Timezone: "Europe/Atlantis"}}}}}, "deployments[0].schedules[1].timezone"},
		{"parameter of the wrong type", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "echo",
			Parameters: json.RawMessage(`{"msg":3}`)}}}, "deployments[0].parameters.msg"},
		{"schedule parameter of the wrong type", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "echo",
			Schedules: []store.Schedule{{Cron: "0 * * * *", Parameters: json.RawMessage(`{"msg":[1]}`)}}}}}, "deployments[0].schedules[0].parameters.msg"},
		{"bad cron", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "echo",
			Schedules: []store.Schedule{{Cron: "61 * * * *"}}}}}, "deployments[0].schedules[0].cron"},
		{"trigger of an unknown deployment", runtime.App{Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "d", Flow: "echo"}},
			Triggers: []trigger.Trigger{{Event: "infrahub.branch.merged", Deployment: "nope"}}}, "triggers[0].deployment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := tt.app.Run(context.Background(), []string{"flows"}, &out, &errOut)
			if code != runtime.ExitFailed || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %s", code, errOut.String(), runtime.ExitFailed, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout written: %q", out.String())
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	app := &runtime.App{Name: "t", Flows: []flow.Definition{echo}}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, runtime.ExitUsage, "usage: t COMMAND"},
		{[]string{"help"}, runtime.ExitOK, "commands:"},
		{[]string{"frob"}, runtime.ExitUsage, `unknown command "frob"`},
		{[]string{"run"}, runtime.ExitUsage, "want DEPLOYMENT"},
		{[]string{"run", "a", "b"}, runtime.ExitUsage, "want DEPLOYMENT"},
		{[]string{"run", "d", "--param", "novalue"}, runtime.ExitUsage, "want name=value"},
		{[]string{"run", "d", "--param-json", "[1]"}, runtime.ExitUsage, "--param-json"},
		{[]string{"runs", "--state", "Bogus"}, runtime.ExitUsage, `--state "Bogus"`},
		{[]string{"logs"}, runtime.ExitUsage, "want RUN"},
		{[]string{"flows", "extra"}, runtime.ExitUsage, `unexpected argument "extra"`},
		{[]string{"execute"}, runtime.ExitUsage, "--run-id is required"},
		{[]string{"worker", "--launcher", "kubernetes"}, runtime.ExitUsage, `--launcher "kubernetes"`},
		{[]string{"server", "--listen", "0.0.0.0:0"}, runtime.ExitFailed, "loopback"},
		{[]string{"runs", "--api", "ftp://x"}, runtime.ExitFailed, "want http(s)://"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Setenv(runtime.EnvAPIKeys, "")
			var out, errOut bytes.Buffer
			code := app.Run(context.Background(), tt.args, &out, &errOut)
			if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Errorf("exit %d, output %q; want exit %d with %q", code, out.String()+errOut.String(), tt.code, tt.want)
			}
		})
	}
}
