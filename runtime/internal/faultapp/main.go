// Command faultapp is the orchestrator the runtime's process-level fault
// tests kill and restart. Its flow "side" runs two tasks; every execution
// of a task creates its own file in $FAULTAPP_DIR
// (<flow run>.<task>.<pid>-<random>), a side table that shows which task
// ran how often in which process, whatever the store says.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

// Params are the side flow's parameters.
type Params struct {
	// SleepMS is how long each task works.
	SleepMS int `json:"sleep_ms"`
}

func step(name string) *task.Task[int, string] {
	return task.New(name, func(ctx context.Context, sleep int) (string, error) {
		dir := os.Getenv("FAULTAPP_DIR")
		if dir == "" {
			return "", flow.NonRetryable(fmt.Errorf("FAULTAPP_DIR is not set"))
		}
		select {
		case <-time.After(time.Duration(sleep) * time.Millisecond):
		case <-ctx.Done():
			return "", context.Cause(ctx)
		}
		run := flow.FlowRunFrom(ctx).ID()
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%s.%s.%d-%s", run, name, os.Getpid(), flow.NewID())), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
		return name + " done", nil
	})
}

var (
	step1 = step("step1")
	step2 = step("step2")
)

var side = flow.New("side", func(ctx context.Context, p Params) ([]string, error) {
	a, err := step1.Run(ctx, p.SleepMS)
	if err != nil {
		return nil, err
	}
	b, err := step2.Run(ctx, p.SleepMS)
	if err != nil {
		return nil, err
	}
	return []string{a, b}, nil
})

var app = &runtime.App{
	Name:  "faultapp",
	Flows: []flow.Definition{side},
	Deployments: []store.Deployment{
		{Name: "side", Flow: "side", Parameters: json.RawMessage(`{"sleep_ms":20}`), Retries: 3},
		{Name: "tick", Flow: "side", Parameters: json.RawMessage(`{"sleep_ms":1}`), Retries: 3,
			Schedules: []store.Schedule{{Interval: time.Minute}}, LatePolicy: store.LateRunAll},
	},
}

func main() { runtime.Main(app) }
