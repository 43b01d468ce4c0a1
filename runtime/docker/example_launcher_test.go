package docker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/moby/moby/client"

	apiclient "github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// A docker pool's job template, a deployment's job variables and a run's
// are layered: later layers win, env is merged key by key, and quantities
// are parsed.
func ExampleParseJobTemplate() {
	pool := json.RawMessage(`{"image":"netauto-worker:1.4","network_mode":"host","allow":{"network_modes":["host"]},"env":{"LOG_LEVEL":"info"}}`)
	deployment := json.RawMessage(`{"memory_limit":"2Gi","cpu_limit":"500m","env":{"DEVICE_TOKEN":"{{ secrets.device-token }}"}}`)
	run := json.RawMessage(`{"env":{"LOG_LEVEL":"debug"}}`)
	t, err := docker.ParseJobTemplate(pool, deployment, run)
	if err != nil {
		fmt.Println(err)
		return
	}
	mem, _ := t.MemoryLimit.Bytes()
	cpu, _ := t.CPULimit.NanoCPUs()
	fmt.Println(t.Image, t.NetworkMode, mem, cpu)
	fmt.Println(t.Env["LOG_LEVEL"], t.Env["DEVICE_TOKEN"])

	_, err = docker.ParseJobTemplate(pool, json.RawMessage(`{"memory_limit":"lots"}`))
	fmt.Println(err)
	// Output:
	// netauto-worker:1.4 host 2147483648 500000000
	// debug {{ secrets.device-token }}
	// memory_limit: memory quantity "lots": malformed number "lots" (want e.g. 2Gi, 512Mi or 1G)
}

// A worker of a docker pool: the launcher starts a container per run and
// gives it the API URL and a token scoped to the run (mint it with the
// API client's MintRunToken). Recover, at start, removes the containers an
// earlier life of the same worker name left running.
func ExampleLauncher() {
	ctx := context.Background()
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		log.Fatal(err)
	}
	st, err := sqlite.Open(ctx, "netauto.db", store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	api, err := apiclient.New("http://127.0.0.1:4200", apiclient.Options{})
	if err != nil {
		log.Fatal(err)
	}
	l := &docker.Launcher{
		Client: cli, Store: st, Grace: 10 * time.Second,
		Env: func(ctx context.Context, run store.FlowRun) ([]string, error) {
			tok, err := api.MintRunToken(ctx, run.ID, time.Hour)
			if err != nil {
				return nil, err
			}
			return []string{"NETAUTO_API_URL=http://127.0.0.1:4200", "NETAUTO_RUN_TOKEN=" + tok.Token}, nil
		},
	}
	w, err := worker.New(st, worker.Options{Name: "docker-1", Pool: "docker-pool", Launcher: l, LauncherType: docker.PoolType})
	if err != nil {
		log.Fatal(err)
	}
	l.Worker = w.Name()
	if _, err := l.Recover(ctx, "docker-pool", st); err != nil {
		log.Print(err)
	}
	log.Fatal(w.Run(ctx))
}
