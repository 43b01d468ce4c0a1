// Command faultapp is the orchestrator the runtime's process-level fault
// tests kill and restart. Every execution of a task creates its own file
// in $FAULTAPP_DIR (<flow run>.<task>.<pid>-<random>): a side table that
// shows which task ran how often in which process, whatever the store
// says. While a task runs it holds an exclusive lock on
// $FAULTAPP_DIR/locks/<flow run>.<task>: an execution that finds it held
// (the same step running twice at once) leaves a file in
// $FAULTAPP_DIR/conflicts. Its flows:
//
//   - side: two steps that each work sleep_ms;
//   - hold: one step that records its process (and, with spawn, a
//     grandchild's) in $FAULTAPP_DIR/pids and works until
//     $FAULTAPP_DIR/release exists; its OnCrashed hook leaves
//     $FAULTAPP_DIR/hooks/<flow run>.<state>;
//   - serial: one step tagged faultapp:serial, a tag limited to one slot
//     across every worker and process (conflicts go to
//     $FAULTAPP_DIR/conflicts too).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

// Params are the flows' parameters.
type Params struct {
	// SleepMS is how long each step of side works.
	SleepMS int `json:"sleep_ms,omitempty"`
	// Spawn makes hold start a grandchild process (sleep) too.
	Spawn bool `json:"spawn,omitempty"`
}

func dir() (string, error) {
	d := os.Getenv("FAULTAPP_DIR")
	if d == "" {
		return "", flow.NonRetryable(errors.New("FAULTAPP_DIR is not set"))
	}
	return d, nil
}

// touch creates a file of its own under dir/sub.
func touch(sub, name string) error {
	d, err := dir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(d, sub, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// exclusive runs fn holding the lock named key; an execution that finds
// it held records the conflict and waits its turn.
func exclusive(key string, fn func() error) error {
	d, err := dir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(d, "locks"), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(d, "locks", key), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if err := touch("conflicts", fmt.Sprintf("%s.%d-%s", key, os.Getpid(), flow.NewID())); err != nil {
			return err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			return err
		}
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

// record leaves the side table's file of one execution of a task.
func record(ctx context.Context, name string) error {
	run := flowext.FlowRunFrom(ctx).ID()
	return touch(".", fmt.Sprintf("%s.%s.%d-%s", run, name, os.Getpid(), flow.NewID()))
}

func step(name string) *task.Task[int, string] {
	return task.New(name, func(ctx context.Context, sleep int) (string, error) {
		run := flowext.FlowRunFrom(ctx).ID()
		err := exclusive(run+"."+name, func() error {
			select {
			case <-time.After(time.Duration(sleep) * time.Millisecond):
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			return record(ctx, name)
		})
		return name + " done", err
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

// holdStep works until $FAULTAPP_DIR/release exists.
var holdStep = task.New("hold", func(ctx context.Context, spawn bool) (string, error) {
	d, err := dir()
	if err != nil {
		return "", err
	}
	run := flowext.FlowRunFrom(ctx).ID()
	if err := touch("pids", run+"."+strconv.Itoa(os.Getpid())); err != nil {
		return "", err
	}
	if spawn {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			return "", err
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		if err := touch("pids", run+"."+strconv.Itoa(cmd.Process.Pid)); err != nil {
			return "", err
		}
	}
	err = exclusive(run+".hold", func() error {
		for {
			if _, err := os.Stat(filepath.Join(d, "release")); err == nil {
				return record(ctx, "hold")
			}
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	})
	return "held", err
})

var hold = flow.New("hold", func(ctx context.Context, p Params) (string, error) {
	return holdStep.Run(ctx, p.Spawn)
}, flow.OnCrashed(func(_ context.Context, ev flow.HookEvent) error {
	return touch("hooks", ev.Run.ID+"."+ev.State.Name)
}))

// serialStep holds the one slot of tag faultapp:serial for sleep ms.
var serialStep = task.New("serial", func(ctx context.Context, sleep int) (string, error) {
	err := exclusive("serial", func() error {
		select {
		case <-time.After(time.Duration(sleep) * time.Millisecond):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		return record(ctx, "serial")
	})
	return "serial done", err
}, task.WithTags("faultapp:serial"))

var serial = flow.New("serial", func(ctx context.Context, p Params) (string, error) {
	return serialStep.Run(ctx, p.SleepMS)
})

var app = &runtime.App{
	Name:  "faultapp",
	Flows: []flow.Definition{side, hold, serial},
	Deployments: []store.Deployment{
		{Name: "side", Flow: "side", Parameters: json.RawMessage(`{"sleep_ms":20}`), Retries: 3},
		{Name: "tick", Flow: "side", Parameters: json.RawMessage(`{"sleep_ms":1}`), Retries: 3,
			Schedules: []store.Schedule{{Interval: time.Minute}}, LatePolicy: store.LateRunAll},
		{Name: "hold", Flow: "hold", Parameters: json.RawMessage(`{"spawn":true}`), Retries: 1},
		{Name: "fragile", Flow: "hold", Parameters: json.RawMessage(`{}`)},
		{Name: "serial", Flow: "serial", Parameters: json.RawMessage(`{"sleep_ms":50}`)},
	},
	TagLimits: map[string]int{"faultapp:serial": 1},
}

func main() { runtime.Main(app) }
