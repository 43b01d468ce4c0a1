package device

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
)

func namedInventory(t *testing.T, n int) *Inventory {
	t.Helper()
	var hosts []Host
	for i := range n {
		hosts = append(hosts, Host{Name: fmt.Sprintf("h%02d", i), Address: "192.0.2.1"})
	}
	inv, err := NewInventory(hosts, nil, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestFanOutFailureThreshold(t *testing.T) {
	inv := namedInventory(t, 10)
	var started atomic.Int32
	res := Run(context.Background(), inv, FanOut{Concurrency: 1, MaxFailurePercent: 20}, func(ctx context.Context, h Host) (int, error) {
		started.Add(1)
		if h.Name <= "h02" {
			return 0, errors.New("boom")
		}
		return 1, nil
	})
	// After h00..h02 failed, 3 of 10 (30%) > 20%: nothing else starts.
	if got := res.Summary(); got[Failed] != 3 || got[Skipped] != 7 || started.Load() != 3 {
		t.Errorf("summary %v, started %d", got, started.Load())
	}
	if !errors.Is(res[9].Err, ErrThresholdExceeded) {
		t.Errorf("skipped host error: %v", res[9].Err)
	}
}

func TestFanOutConcurrencyBound(t *testing.T) {
	const bound = 4
	inv := namedInventory(t, 12)
	var cur, peak atomic.Int32
	var mu sync.Mutex
	arrived := 0
	full := make(chan struct{})
	res := Run(context.Background(), inv, FanOut{Concurrency: bound}, func(ctx context.Context, h Host) (bool, error) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		arrived++
		if arrived == bound {
			close(full)
		}
		mu.Unlock()
		<-full // the first wave only finishes once `bound` hosts run together
		return true, nil
	})
	if peak.Load() != bound || res.Count(Unchanged) != 12 {
		t.Errorf("peak concurrency %d (want %d), summary %v", peak.Load(), bound, res.Summary())
	}
}

func TestFanOutPanicDeadlineAndLocks(t *testing.T) {
	inv := namedInventory(t, 6)
	locks := &KeyLocks{}
	var inUse sync.Map
	var overlap atomic.Bool
	task := func(ctx context.Context, h Host) (string, error) {
		if _, busy := inUse.LoadOrStore(h.Name, true); busy {
			overlap.Store(true)
		}
		defer inUse.Delete(h.Name)
		switch h.Name {
		case "h01":
			panic("task bug")
		case "h02":
			<-ctx.Done()
			return "", ctx.Err()
		}
		return h.Name, nil
	}
	f := FanOut{Concurrency: 6, HostTimeout: 100 * time.Millisecond, Limiter: locks}
	var wg sync.WaitGroup
	all := make([]Results[string], 3)
	for i := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			all[i] = Run(context.Background(), inv, f, task)
		}()
	}
	wg.Wait()
	if overlap.Load() {
		t.Error("two tasks ran on one device at once despite the limiter")
	}
	for _, res := range all {
		if res[1].Class != Failed || !strings.Contains(res[1].Err.Error(), "panic: task bug") {
			t.Errorf("panicking host: %s %v", res[1].Class, res[1].Err)
		}
		if res[2].Class != TimedOut {
			t.Errorf("host past its deadline: %s %v", res[2].Class, res[2].Err)
		}
		if res[0].Class != Unchanged || res[0].Value != "h00" {
			t.Errorf("healthy host: %+v", res[0])
		}
	}
}

func TestFanOutSessionsResultClasses(t *testing.T) {
	gen := func(name string, faults ...devicetest.Fault) devicetest.Spec {
		s := devicetest.GeneratedSpec(name)
		s.Faults = faults
		return s
	}
	lab := startLab(t,
		gen("a-ok"), gen("b-ok"),
		gen("c-auth", devicetest.Fault{Kind: devicetest.FaultRejectAuth}),
		gen("d-hang", devicetest.Fault{Kind: devicetest.FaultHang, Command: "show version"}),
	)
	var hosts []Host
	for _, d := range lab.Devices() {
		h := hostFor(t, lab, d.Name())
		if d.Name() == "d-hang" {
			h.OperationTimeout = time.Second
		}
		hosts = append(hosts, h)
	}
	hosts = append(hosts, Host{Name: "e-down", Address: "127.0.0.1", Params: Params{Platform: "cisco_iosxe", Port: closedPort(t), Username: "admin", PasswordSecret: "pw", KnownHostsFile: hosts[0].KnownHostsFile}})
	inv, err := NewInventory(hosts, nil, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	res := SendAll(context.Background(), inv, testSecrets, FanOut{Concurrency: 5}, "show version")
	want := []Class{Unchanged, Unchanged, AuthFailed, TimedOut, Unreachable}
	for i, r := range res {
		if r.Class != want[i] {
			t.Errorf("%s: class %s, want %s (%v)", r.Host, r.Class, want[i], r.Err)
		}
	}
	if !strings.Contains(res[0].Value[0].Output, "a-ok uptime") {
		t.Errorf("output: %+v", res[0].Value)
	}

	changes := ConfigureAll(context.Background(), inv.Filter(FieldEquals("name", "a-ok")), testSecrets, FanOut{}, func(h Host) []string {
		return []string{"hostname " + h.Name + "-new"}
	})
	if changes[0].Class != Changed || !strings.Contains(changes[0].Diff, "+hostname a-ok-new") {
		t.Errorf("configure: %s %v\n%s", changes[0].Class, changes[0].Err, changes[0].Diff)
	}
}

func TestConfigureAllReportsPartialChange(t *testing.T) {
	lab := startLab(t, devicetest.GeneratedSpec("p1"))
	inv, err := NewInventory([]Host{hostFor(t, lab, "p1")}, nil, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	res := ConfigureAll(context.Background(), inv, testSecrets, FanOut{}, func(Host) []string {
		return []string{"hostname p1-new", "frobnicate", "hostname never"}
	})
	var cerr *CommandError
	if res[0].Class != CommandFailed || !errors.As(res[0].Err, &cerr) || cerr.Command != "frobnicate" {
		t.Fatalf("class %s err %v", res[0].Class, res[0].Err)
	}
	if !strings.Contains(res[0].Diff, "+hostname p1-new") || strings.Contains(res[0].Diff, "never") {
		t.Errorf("partial change diff:\n%s", res[0].Diff)
	}
}
