package task_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/task"
)

// A task with retries, exponential backoff with jitter, a timeout per
// attempt and tags.
func ExampleNew() {
	attempts := 0
	fetch := task.New("fetch-facts", func(ctx context.Context, dev string) (string, error) {
		attempts++
		if attempts < 3 {
			return "", errors.New("connection refused")
		}
		return dev + ": IOS-XE 17.9", nil
	},
		task.WithRetries(3),
		task.WithBackoff(retry.Exponential(time.Millisecond, 2, 10*time.Millisecond)),
		task.WithJitter(0.2),
		task.WithTimeout(20*time.Second),
		task.WithTags("ssh"),
	)
	out, err := fetch.Run(context.Background(), "r1")
	fmt.Println(out, err, attempts)
	// Output: r1: IOS-XE 17.9 <nil> 3
}

// Map runs a task over many inputs with a bound on how many run at once;
// Collect gathers outputs in input order.
func ExampleMap() {
	version := task.New("show-version", func(_ context.Context, dev string) (string, error) {
		return strings.ToUpper(dev), nil
	})
	f := flow.New("audit", func(ctx context.Context, devs []string) ([]string, error) {
		return task.Collect(ctx, task.Map(ctx, version, devs, task.Concurrency(8)))
	})
	out, err := f.Run(context.Background(), []string{"r1", "r2", "sw1"})
	fmt.Println(out, err)
	// Output: [R1 R2 SW1] <nil>
}

// Submit starts a run and returns a future; Then chains a dependent task.
func ExampleThen() {
	render := task.New("render", func(_ context.Context, tenant string) (string, error) { return "decl(" + tenant + ")", nil })
	post := task.New("post", func(_ context.Context, decl string) (string, error) { return "posted " + decl, nil })
	f := flow.New("deploy", func(ctx context.Context, tenant string) (string, error) {
		return task.Then(ctx, task.Submit(ctx, render, tenant), post).Wait(ctx)
	})
	fmt.Println(f.Run(context.Background(), "acme"))
	// Output: posted decl(acme) <nil>
}

// WithCache serves repeated inputs from the result store until the entry
// expires; cache hits end in state Cached.
func ExampleWithCache() {
	lookups := 0
	resolve := task.New("resolve-site", func(_ context.Context, dev string) (string, error) {
		lookups++
		return "ams1", nil
	}, task.WithCache(10*time.Minute))
	ctx := flow.WithEngine(context.Background(), &flow.Engine{})
	for range 3 {
		resolve.Run(ctx, "r1")
	}
	fmt.Println("lookups:", lookups)
	// Output: lookups: 1
}

// Compensations undo completed steps, newest first, when the flow fails.
func ExampleWithCompensation() {
	configure := task.New("configure", func(_ context.Context, dev string) (string, error) {
		if dev == "r3" {
			return "", flow.NonRetryable(errors.New("% Invalid input"))
		}
		return "vlan 42 on " + dev, nil
	}, task.WithCompensation(func(_ context.Context, dev string, applied string) error {
		fmt.Println("rollback:", applied)
		return nil
	}))
	change := flow.New("add-vlan", func(ctx context.Context, devs []string) (int, error) {
		for _, d := range devs {
			if _, err := configure.Run(ctx, d); err != nil {
				return 0, err
			}
		}
		return len(devs), nil
	})
	_, err := change.Run(context.Background(), []string{"r1", "r2", "r3"})
	fmt.Println(err)
	// Output:
	// rollback: vlan 42 on r2
	// rollback: vlan 42 on r1
	// % Invalid input
}

// Tag limits: at most one run at a time per device, at most 20 over SSH.
func ExampleNewLimiter() {
	limiter, err := task.NewLimiter(task.Limits{"ssh": 20, "device:*": 1})
	if err != nil {
		panic(err)
	}
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Limiter: limiter})
	push := task.New("push-config", func(_ context.Context, dev string) (string, error) { return "ok " + dev, nil },
		task.WithTags("ssh"),
		task.WithTagsFrom(func(dev string) []string { return []string{"device:" + dev} }))
	fmt.Println(push.Run(ctx, "r1"))
	// Output: ok r1 <nil>
}
