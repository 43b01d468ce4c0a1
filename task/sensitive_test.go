package task_test

import (
	"context"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/task"
)

// resultRecorder is a memory store remembering the results it was given.
type resultRecorder struct {
	*flow.MemoryStore
	mu      sync.Mutex
	results []flow.Result
}

func (r *resultRecorder) SetState(ctx context.Context, id string, s flow.State, res *flow.Result) error {
	if res != nil {
		r.mu.Lock()
		r.results = append(r.results, *res)
		r.mu.Unlock()
	}
	return r.MemoryStore.SetState(ctx, id, s, res)
}

// A task marked WithSensitiveResult hands its results (and its cache
// entries) to the recorder marked sensitive; other tasks do not.
func TestSensitiveResult(t *testing.T) {
	snapshot := task.New("read-tenants", func(_ context.Context, env string) (string, error) { return "tenants of " + env, nil },
		task.WithSensitiveResult(), task.WithCache(0))
	count := task.New("count", func(_ context.Context, s string) (int, error) { return len(s), nil })
	f := flow.New("as3", func(ctx context.Context, env string) (int, error) {
		s, err := snapshot.Run(ctx, env)
		if err != nil {
			return 0, err
		}
		return count.Run(ctx, s)
	})
	rec := &resultRecorder{MemoryStore: flow.NewMemoryStore()}
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec, Results: rec.MemoryStore})
	if _, err := f.Run(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	seen := map[bool]int{}
	for _, r := range rec.results {
		if r.TaskKey == "" {
			continue // the flow's own result
		}
		seen[r.Sensitive]++
		if r.Sensitive != (r.CacheKey != "") {
			t.Errorf("result %+v: only the snapshot (the cached one) is sensitive", r)
		}
	}
	if seen[true] != 1 || seen[false] != 1 {
		t.Fatalf("sensitive results %v, want one of each", seen)
	}
}
