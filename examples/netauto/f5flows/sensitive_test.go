package f5flows_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/f5flows"
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

// The AS3 flow keeps the tenants it read (private keys of certificates
// included) to roll back after a resume: that snapshot is stored
// encrypted (sensitive); the declaration's outcome is not.
func TestAS3SnapshotIsSensitive(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	marks := &resultMarks{Recorder: h.Engine.Recorder, marks: map[string]bool{}}
	h.Engine.Recorder = marks
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID}); err != nil {
		t.Fatal(err)
	}
	var snapshot, declare bool
	for k, sensitive := range marks.marks {
		switch {
		case strings.HasPrefix(k, "read-tenants/"):
			snapshot = true
			if !sensitive {
				t.Errorf("result %s (the tenant snapshot) is not marked sensitive", k)
			}
		case strings.HasPrefix(k, "declare/"):
			declare = true
			if sensitive {
				t.Errorf("result %s is marked sensitive", k)
			}
		}
	}
	if !snapshot || !declare {
		t.Fatalf("results recorded: %v", marks.marks)
	}
}
