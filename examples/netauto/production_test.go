package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/orchestrator"

	"github.com/netauto-dev/netauto/runtime/docker"
)

// The production declaration (docker pool with its job template, every
// deployment and trigger) must pass the runtime's checks: a job template
// field the Docker launcher does not know makes every command of the
// binary refuse to start.
func TestProductionAppIsValid(t *testing.T) {
	t.Setenv("NETAUTO_POOL_TYPE", "")
	app, err := productionApp()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := app.Run(context.Background(), []string{"flows"}, &out, &errOut); code != 0 {
		t.Fatalf("flows exited %d: %s", code, errOut.String())
	}
	for _, f := range []string{"f5-as3", "config-backup", "inventory-sync", "validation-processor"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("flows output lacks %s:\n%s", f, out.String())
		}
	}
	pools := Pools(true)
	if len(pools) != 1 || pools[0].Type != docker.PoolType {
		t.Fatalf("production pools %+v, want one docker pool", pools)
	}
	if _, err := docker.ParseJobTemplate(pools[0].JobTemplate); err != nil {
		t.Fatalf("job template of %s: %v", pools[0].Name, err)
	}
}

// Only production's sync deployments run on their cron in the production
// wiring (as in the original plan): staging and dev carry the schedules
// paused. Live, they would run every 6 hours and nightly against whatever
// their configuration falls back to, the default block.
func TestProductionSchedulesOnlyProduction(t *testing.T) {
	t.Setenv("NETAUTO_POOL_TYPE", "")
	app, err := productionApp()
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, d := range app.Deployments {
		if len(d.Schedules) == 0 {
			continue
		}
		if !strings.HasSuffix(d.Name, "-production") && !d.Paused {
			t.Errorf("%s runs on %s in production", d.Name, d.Schedules[0].Cron)
		}
		if strings.HasSuffix(d.Name, "-production") && !d.Paused {
			live++
		}
	}
	if live != 2 {
		t.Errorf("%d live production schedules, want 2 (inventory-sync, config-backup)", live)
	}
}

// The orchestrator names the flows without linking them: the names must
// be the flows' own.
func TestOrchestratorFlowNames(t *testing.T) {
	var compiled []string
	for _, f := range Flows(Wiring{}) {
		compiled = append(compiled, f.Describe().Name)
	}
	if got := orchestrator.FlowNames(); !slices.Equal(got, compiled) {
		t.Errorf("orchestrator's flow names %v, the flows' %v", got, compiled)
	}
}

// With NETAUTO_FLOWS_REPO, the binary with compiled flows still takes
// every deployment's flow from Git; without it, its own flows.
func TestProductionAppSources(t *testing.T) {
	t.Setenv("NETAUTO_POOL_TYPE", "")
	t.Setenv("NETAUTO_FLOWS_REPO", "")
	app, err := productionApp()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range app.Deployments {
		if d.Source != nil {
			t.Fatalf("%s has a source without NETAUTO_FLOWS_REPO", d.Name)
		}
	}
	t.Setenv("NETAUTO_FLOWS_REPO", "https://git.example.net/netops/netauto.git")
	t.Setenv("NETAUTO_FLOWS_REF", "v1.4.0")
	if app, err = productionApp(); err != nil {
		t.Fatal(err)
	}
	for _, d := range app.Deployments {
		if d.Source == nil || d.Source.Ref != "v1.4.0" || d.Source.Entrypoint != "./examples/netauto/cmd/flows" {
			t.Fatalf("%s: source %+v", d.Name, d.Source)
		}
	}
	var out, errOut bytes.Buffer
	if code := app.Run(context.Background(), []string{"flows"}, &out, &errOut); code != 0 {
		t.Fatalf("flows exited %d: %s", code, errOut.String())
	}
}
