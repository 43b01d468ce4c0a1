package flowext_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
)

// check is a kind of step of its own (package task is the usual one): a
// named check recorded as a task run, run once per flow run, its result
// reused when the flow run is retried.
func check(ctx context.Context, name string, fn func(context.Context) (bool, error)) (bool, error) {
	key := flowext.TaskKey(ctx, "check:"+name, "")
	rec := flow.RunRecord{Kind: flow.KindTask, Name: "check:" + name, RunName: name, TaskKey: key}
	if prior, ok := flowext.PriorResult(ctx, key); ok {
		return flowext.Reuse[bool](ctx, rec, prior) // state Cached
	}
	ctx, run, err := flowext.StartRun(ctx, rec) // state Pending
	if err != nil {
		return false, err
	}
	ok, final, err := flowext.Attempt(ctx, run, flowext.AttemptConfig{Label: "check " + name}, fn)
	var res *flow.Result
	if err == nil {
		v, _ := json.Marshal(ok)
		res = &flow.Result{TaskKey: key, Value: v}
	}
	if ferr := flowext.Finish(ctx, run, final, res); ferr != nil {
		return false, ferr
	}
	return ok, err
}

// A package adds its own kind of step to flows with the engine machinery
// tasks use.
func Example() {
	f := flow.New("audit", func(ctx context.Context, _ struct{}) (bool, error) {
		return check(ctx, "ntp-synced", func(context.Context) (bool, error) { return true, nil })
	})
	store := flow.NewMemoryStore()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: store})
	fmt.Println(f.Run(ctx, struct{}{}))
	for _, r := range store.Runs() {
		fmt.Printf("%s %s:", r.Kind, r.Name)
		for _, s := range store.History(r.ID) {
			fmt.Print(" ", s.Name)
		}
		fmt.Println()
	}
	// Output:
	// true <nil>
	// flow audit: Pending Running Completed
	// task check:ntp-synced: Pending Running Completed
}
