package routing_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/routing"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
)

// resultMarks remembers, by task key, whether each result recorded was
// marked sensitive.
type resultMarks struct {
	flow.Recorder
	mu    sync.Mutex
	marks map[string]bool
}

func (r *resultMarks) SetState(ctx context.Context, id string, s flow.State, res *flow.Result) error {
	if res != nil && res.TaskKey != "" {
		r.mu.Lock()
		r.marks[res.TaskKey] = res.Sensitive
		r.mu.Unlock()
	}
	return r.Recorder.SetState(ctx, id, s, res)
}

// The routing diff's plan keeps the device's lines (neighbour passwords
// included, masked) to roll back: it is also sealed at rest.
func TestDiffIsSensitive(t *testing.T) {
	// One neighbour to add: the run diffs, pushes and checks.
	l := newLab(t, "cisco_iosxe", nil, nil)
	l.addNeighbor(t, "10.9.0.9", 65909, "", true)
	h := flowtest.New(t)
	marks := &resultMarks{Recorder: h.Engine.Recorder, marks: map[string]bool{}}
	h.Engine.Recorder = marks
	_, _ = l.flow(h.Context(), routing.Params{Environment: "production", RoutingConfigID: l.rcID})
	found := false
	for k, sensitive := range marks.marks {
		if strings.HasPrefix(k, "diff/") {
			found = true
			if !sensitive {
				t.Errorf("result %s (the running section) is not marked sensitive", k)
			}
		}
	}
	if !found {
		t.Fatalf("no diff result recorded: %v", marks.marks)
	}
}
