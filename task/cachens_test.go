package task_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/task"
)

// Cache entries belong to the top-level flow that wrote them: another
// flow calling the same task with the same input runs it.
func TestCacheIsPerFlow(t *testing.T) {
	h := flowtest.New(t)
	var calls atomic.Int32
	lookup := task.New("lookup", func(_ context.Context, s string) (string, error) { calls.Add(1); return strings.ToUpper(s), nil },
		task.WithCache(0))
	var key string
	mk := func(name string) *flow.Flow[struct{}, string] {
		return flow.New(name, func(ctx context.Context, _ struct{}) (string, error) {
			key = flowext.CacheKeyPrefix(ctx)
			return lookup.Run(ctx, "x")
		})
	}
	a, b := mk("inventory"), mk("inventory/other")
	for _, f := range []*flow.Flow[struct{}, string]{a, a, b} {
		if _, err := f.Run(h.Context(), struct{}{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("task ran %d times, want 2: once per flow, the second run of the first a cache hit", n)
	}
	if key != "flow/inventory%2Fother/" {
		t.Fatalf("namespace %q: a flow name with a slash must not reach into another's", key)
	}
}
