package flow_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/task"
)

// A flow is a typed function; its runs are recorded with their states.
func Example() {
	type Params struct {
		Tenant string `json:"tenant"`
	}
	render := task.New("render", func(_ context.Context, tenant string) (string, error) {
		return "declaration for " + tenant, nil
	})
	deploy := flow.New("deploy", func(ctx context.Context, p Params) (string, error) {
		return render.Run(ctx, p.Tenant)
	}, flow.WithRunName("deploy-{{.Tenant}}"))

	store := flow.NewMemoryStore()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
	out, err := deploy.Run(ctx, Params{Tenant: "acme"})
	fmt.Println(out, err)
	for _, r := range store.Runs() {
		fmt.Printf("%s %s:", r.Kind, r.RunName)
		for _, s := range store.History(r.ID) {
			fmt.Print(" ", s.Name)
		}
		fmt.Println()
	}
	// Output:
	// declaration for acme <nil>
	// flow deploy-acme: Pending Running Completed
	// task render: Pending Running Completed
}

// Flow retries re-run the flow function; tasks that completed in an
// earlier attempt return their result without running again.
func ExampleWithRetries() {
	calls := map[string]int{}
	backup := task.New("backup", func(_ context.Context, dev string) (string, error) {
		calls[dev]++
		if dev == "r2" && calls[dev] == 1 {
			return "", errors.New("ssh: connection reset")
		}
		return "config of " + dev, nil
	})
	f := flow.New("backup-all", func(ctx context.Context, devs []string) (int, error) {
		for _, d := range devs {
			if _, err := backup.Run(ctx, d); err != nil {
				return 0, err
			}
		}
		return len(devs), nil
	}, flow.WithRetries(2), flow.WithBackoff(retry.Fixed(time.Millisecond)))

	n, err := f.Run(context.Background(), []string{"r1", "r2"})
	fmt.Println(n, err, calls)
	// Output: 2 <nil> map[r1:1 r2:2]
}

// One hook notifies about every flow that fails; it gets the run's record
// and final state.
func ExampleOnFailure() {
	notify := func(_ context.Context, ev flow.HookEvent) error {
		fmt.Printf("notify: %s ended %s: %v\n", ev.Run.Name, ev.State.Name, ev.Err)
		return nil
	}
	f := flow.New("sync-inventory", func(context.Context, struct{}) (int, error) {
		return 0, errors.New("infrahub: 503")
	}, flow.OnFailure(notify))
	_, err := f.Run(context.Background(), struct{}{})
	fmt.Println(err)
	// Output:
	// notify: sync-inventory ended Failed: infrahub: 503
	// infrahub: 503
}

// A flow called from another flow is a subflow: a child run with its
// parent recorded.
func ExampleFlow_Run_subflow() {
	child := flow.New("check-device", func(_ context.Context, dev string) (bool, error) { return dev != "", nil })
	parent := flow.New("check-site", func(ctx context.Context, devs []string) (int, error) {
		ok := 0
		for _, d := range devs {
			if up, err := child.Run(ctx, d); err == nil && up {
				ok++
			}
		}
		return ok, nil
	})
	store := flow.NewMemoryStore()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
	n, _ := parent.Run(ctx, []string{"r1", "r2"})
	runs := store.Runs()
	fmt.Println(n, len(runs), runs[1].ParentID == runs[0].ID)
	// Output: 2 3 true
}

// Execute is how the runtime runs a flow: JSON parameters in, JSON result
// out, with errors that name the offending field.
func ExampleFlow_Execute() {
	type Params struct {
		Device string `json:"device"`
	}
	f := flow.New("ping", func(_ context.Context, p Params) (string, error) { return "pong from " + p.Device, nil })
	out, err := f.Execute(context.Background(), flow.Execution{RunID: flow.NewID(), Params: []byte(`{"device":"r1"}`)})
	fmt.Println(string(out), err)
	_, err = f.Execute(context.Background(), flow.Execution{RunID: flow.NewID(), Params: []byte(`{"device":1}`)})
	fmt.Println(err)
	// Output:
	// "pong from r1" <nil>
	// flow "ping": parameter "device": got JSON number, want a string
}

// SchemaFor derives a flow's parameter schema from its Go type.
func ExampleSchemaFor() {
	type Params struct {
		Environment string `json:"environment" enum:"production,staging,dev" doc:"target environment"`
		DryRun      bool   `json:"dry_run,omitempty"`
	}
	fmt.Println(string(flow.SchemaFor[Params]()))
	// Output: {"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,"properties":{"dry_run":{"type":"boolean"},"environment":{"description":"target environment","enum":["production","staging","dev"],"type":"string"}},"required":["environment"],"type":"object"}
}
