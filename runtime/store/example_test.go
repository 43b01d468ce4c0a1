package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/task"
)

// exampleStore opens a store in a temporary directory.
func exampleStore(key *store.Key) (store.Store, func()) {
	dir, err := os.MkdirTemp("", "netauto-example")
	if err != nil {
		log.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "netauto.db"), store.Options{Key: key})
	if err != nil {
		log.Fatal(err)
	}
	return s, func() { s.Close(); os.RemoveAll(dir) }
}

// A deployment, a scheduled run, a worker claiming it, its lease lost and
// the run retried.
func Example() {
	s, done := exampleStore(nil)
	defer done()
	ctx := context.Background()
	if err := s.ApplyPool(ctx, store.Pool{Name: "default", Type: "process"}); err != nil {
		log.Fatal(err)
	}
	change, err := s.ApplyDeployment(ctx, store.Deployment{
		Name: "config-backup", Flow: "backup", Pool: "default",
		Schedules: []store.Schedule{{Cron: "0 2 * * *", Timezone: "Europe/Berlin"}},
		Retries:   1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deployment created:", change.Created)

	at := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	spec := store.RunSpec{Deployment: "config-backup", State: flow.Scheduled(at)}
	for range 2 { // a second scheduler pass (or replica) creates nothing
		ids, err := s.CreateScheduledRuns(ctx, []store.RunSpec{spec})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("runs created:", len(ids))
	}

	run, ok, err := s.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w1", Lease: 30 * time.Second, Now: at})
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	fmt.Println("claimed:", run.State.Name, "by", run.Worker, "attempt", run.Attempt)

	// w1 dies: nobody renews the lease.
	reaped, err := s.ReapExpiredLeases(ctx, at.Add(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reaped:", reaped[0].State.Name, "attempt", reaped[0].Attempt)
	// Output:
	// deployment created: true
	// runs created: 1
	// runs created: 0
	// claimed: Pending by w1 attempt 1
	// reaped: AwaitingRetry attempt 2
}

// A flow's task runs, states, results and logs persisted through a
// Recorder.
func ExampleRecorder() {
	s, done := exampleStore(nil)
	defer done()
	rec := store.NewRecorder(s, store.RecorderOptions{})
	defer rec.Close()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec, Limiter: store.NewLimiter(s, store.LimiterOptions{})})

	ping := task.New("ping", func(ctx context.Context, host string) (bool, error) {
		flow.Logger(ctx).Info("ping", "host", host)
		return true, nil
	})
	var runID string
	check := flow.New("reachability", func(ctx context.Context, hosts []string) (int, error) {
		runID = flow.RunFrom(ctx).ID()
		ok, err := task.Collect(ctx, task.Map(ctx, ping, hosts))
		return len(ok), err
	})
	if err := s.RegisterFlow(ctx, store.FlowOf(check)); err != nil {
		log.Fatal(err)
	}
	if _, err := check.Run(ctx, []string{"r1", "r2"}); err != nil {
		log.Fatal(err)
	}
	// Run returned: everything it recorded is committed.
	run, _ := s.GetRun(ctx, runID)
	tasks, _ := s.TaskRuns(ctx, runID)
	logs, _, _ := s.Logs(ctx, store.LogQuery{FlowRunID: runID})
	registered, _ := s.GetFlow(ctx, "reachability")
	fmt.Println(run.Flow, run.State.Name, len(tasks), "task runs,", len(logs), "log records")
	fmt.Println("parameter schema:", string(registered.Parameters))
	// Output:
	// reachability Completed 2 task runs, 2 log records
	// parameter schema: {"$schema":"https://json-schema.org/draft/2020-12/schema","items":{"type":"string"},"type":["array","null"]}
}

// NetAutoConfig is a typed config block with a secret field.
type NetAutoConfig struct {
	InfrahubURL   string       `json:"infrahub_url"`
	InfrahubToken store.Secret `json:"infrahub_token"`
}

// Typed config blocks: saved with their secrets encrypted, loaded by name
// with a fallback to a default block when the named one does not exist.
func ExampleLoadConfig() {
	key, err := store.NewKey([]byte("an example key of 32 bytes long!"))
	if err != nil {
		log.Fatal(err)
	}
	s, done := exampleStore(key)
	defer done()
	ctx := context.Background()
	err = store.SaveConfig(ctx, s, "netauto-config-default", NetAutoConfig{
		InfrahubURL: "https://infrahub.lab", InfrahubToken: store.NewSecret("lab-token"),
	})
	if err != nil {
		log.Fatal(err)
	}
	cfg, from, err := store.LoadConfig[NetAutoConfig](ctx, s, "netauto-config-production", "netauto-config-default")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(from, cfg.InfrahubURL, cfg.InfrahubToken, len(cfg.InfrahubToken.Reveal()))
	// Output: netauto-config-default https://infrahub.lab ****** 9
}

// An event stored and turned into runs in one transaction; its retry by
// the sender is recognised.
func ExampleEvents_AcceptEvent() {
	s, done := exampleStore(nil)
	defer done()
	ctx := context.Background()
	if _, err := s.ApplyDeployment(ctx, store.Deployment{Name: "sync-node", Flow: "sync", Pool: "default"}); err != nil {
		log.Fatal(err)
	}
	match := func(ev store.Event) ([]store.RunSpec, error) {
		if ev.Type != "infrahub.node.updated" {
			return nil, nil // kept, listed as unmatched
		}
		return []store.RunSpec{{Deployment: "sync-node", Parameters: ev.Payload}}, nil
	}
	ev := store.Event{ID: "evt-1", Source: "infrahub", Type: "infrahub.node.updated", Payload: []byte(`{"node":"r1"}`)}
	for range 2 {
		acc, err := s.AcceptEvent(ctx, ev, match)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("runs:", len(acc.RunIDs), "duplicate:", acc.Duplicate)
	}
	// Output:
	// runs: 1 duplicate: false
	// runs: 1 duplicate: true
}
