package device_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/task"
)

// The engine's limiter satisfies device.Limiter.
var _ device.Limiter = (*task.Limiter)(nil)

// A fan-out inside a flow takes the engine's "device:*" tag limit without
// being told: two flows fanning out over the same devices never touch one
// device at once, and a task tagged with a device waits for the fan-out.
func TestFanOutUsesTheEngineLimiter(t *testing.T) {
	h := flowtest.New(t, flowtest.WithLimits(task.Limits{"device:*": 1}))
	var hosts []device.Host
	for i := range 4 {
		hosts = append(hosts, device.Host{Name: fmt.Sprintf("r%d", i), Address: "127.0.0.1"})
	}
	inv, err := device.NewInventory(hosts, nil, device.Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	lim := h.Engine.Limiter.(*task.Limiter)
	var busy sync.Map
	var overlap, sawSlotHeld atomic.Bool
	work := func(ctx context.Context, host device.Host) (string, error) {
		if _, dup := busy.LoadOrStore(host.Name, true); dup {
			overlap.Store(true)
		}
		defer busy.Delete(host.Name)
		if lim.InUse(device.DeviceTag(host.Name)) == 1 {
			sawSlotHeld.Store(true)
		}
		return host.Name, nil
	}
	f := flow.New("audit", func(ctx context.Context, _ int) (int, error) {
		res := device.Run(ctx, inv, device.FanOut{Concurrency: 4}, work)
		return len(res), nil
	})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if _, err := f.Run(h.Context(), i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if overlap.Load() || !sawSlotHeld.Load() {
		t.Fatalf("overlap on a device: %v; the engine's device slot was held during the work: %v", overlap.Load(), sawSlotHeld.Load())
	}
}
