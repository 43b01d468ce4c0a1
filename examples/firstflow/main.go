// Command firstflow runs a small network change as a netauto flow on the
// embedded defaults (an in-memory store, no services): it adds a VLAN to
// a few simulated switches, retrying a flaky one, then runs the same
// change against a switch that refuses it and shows the rollback. It
// prints every run's state history.
//
//	go run ./examples/firstflow
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/task"
)

// Change is the flow's parameters.
type Change struct {
	VLAN     int      `json:"vlan" doc:"VLAN ID to add"`
	Name     string   `json:"name"`
	Switches []string `json:"switches"`
}

// lab stands in for the switches: their VLANs, and a switch that drops
// its first connection.
type lab struct {
	mu       sync.Mutex
	vlans    map[string][]int
	attempts map[string]int
}

func (l *lab) addVLAN(sw string, vlan int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts[sw]++
	switch {
	case sw == "sw3" && l.attempts[sw] == 1:
		return errors.New("ssh: connection reset by peer")
	case strings.HasPrefix(sw, "legacy"):
		return flow.NonRetryable(fmt.Errorf("%s: %% Invalid input detected at '^' marker", sw))
	}
	l.vlans[sw] = append(l.vlans[sw], vlan)
	return nil
}

func (l *lab) removeVLAN(sw string, vlan int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var kept []int
	for _, v := range l.vlans[sw] {
		if v != vlan {
			kept = append(kept, v)
		}
	}
	l.vlans[sw] = kept
}

type vlanOnSwitch struct {
	Switch string `json:"switch"`
	VLAN   int    `json:"vlan"`
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "firstflow:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	l := &lab{vlans: map[string][]int{}, attempts: map[string]int{}}

	addVLAN := task.New("add-vlan", func(ctx context.Context, in vlanOnSwitch) (string, error) {
		if err := l.addVLAN(in.Switch, in.VLAN); err != nil {
			return "", err
		}
		flow.Logger(ctx).Info("vlan added", "switch", in.Switch, "vlan", in.VLAN)
		return fmt.Sprintf("vlan %d on %s", in.VLAN, in.Switch), nil
	},
		task.WithRetries(2),
		task.WithBackoff(retry.Exponential(50*time.Millisecond, 2, time.Second)),
		task.WithJitter(0.2),
		task.WithTimeout(10*time.Second),
		task.WithRunName("add-vlan-{{.VLAN}}-{{.Switch}}"),
		task.WithTagsFrom(func(in vlanOnSwitch) []string { return []string{"device:" + in.Switch} }),
		task.WithCompensation(func(ctx context.Context, in vlanOnSwitch, _ string) error {
			l.removeVLAN(in.Switch, in.VLAN)
			flow.Logger(ctx).Warn("vlan removed", "switch", in.Switch, "vlan", in.VLAN)
			return nil
		}),
	)

	notify := func(_ context.Context, ev flow.HookEvent) error {
		fmt.Printf("  notification: %s ended %s\n", ev.Run.RunName, ev.State)
		return nil
	}

	change := flow.New("add-vlan-everywhere", func(ctx context.Context, c Change) ([]string, error) {
		var ins []vlanOnSwitch
		for _, sw := range c.Switches {
			ins = append(ins, vlanOnSwitch{Switch: sw, VLAN: c.VLAN})
		}
		// One switch at a time per device tag, up to four switches at once.
		return task.Collect(ctx, task.Map(ctx, addVLAN, ins, task.Concurrency(4)))
	}, flow.WithRunName("vlan-{{.VLAN}}-{{.Name}}"), flow.OnFailure(notify), flow.OnCompletion(notify))

	limiter, err := task.NewLimiter(task.Limits{"device:*": 1})
	if err != nil {
		return err
	}
	store := flow.NewMemoryStore()
	ctx = flow.WithEngine(ctx, &flow.Engine{
		Recorder: store,
		Limiter:  limiter,
		Logs:     slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelWarn}),
	})

	fmt.Println("1. add VLAN 42 to sw1..sw4 (sw3 drops its first connection):")
	out, err := change.Run(ctx, Change{VLAN: 42, Name: "users", Switches: []string{"sw1", "sw2", "sw3", "sw4"}})
	fmt.Printf("  result: %q, error: %v\n", out, err)
	if err != nil {
		return fmt.Errorf("the first change should complete: %w", err)
	}

	fmt.Println("\n2. add VLAN 43 to sw1, sw2 and legacy1 (which refuses the command):")
	_, err = change.Run(ctx, Change{VLAN: 43, Name: "voice", Switches: []string{"sw1", "sw2", "legacy1"}})
	fmt.Printf("  error: %v\n", err)
	if err == nil {
		return errors.New("the second change should fail")
	}

	fmt.Println("\nstate histories:")
	for _, r := range store.Runs() {
		var names []string
		for _, s := range store.History(r.ID) {
			names = append(names, s.Name)
		}
		indent := "  "
		if r.Kind == flow.KindTask {
			indent = "    "
		}
		fmt.Printf("%s%-4s %-26s %s\n", indent, r.Kind, r.RunName, strings.Join(names, " → "))
	}
	fmt.Println("\nVLANs on the switches now:", l.vlans)
	if len(l.vlans["sw1"]) != 1 || l.vlans["sw1"][0] != 42 {
		return fmt.Errorf("sw1 should have VLAN 42 only after the rollback, has %v", l.vlans["sw1"])
	}
	return nil
}
