package store_test

import (
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// The hooks the runtime runs for a run it ended (crashed, lost its
// worker) are told which execution of the run it was.
func TestHookEventSaysWhichExecution(t *testing.T) {
	run := store.FlowRun{ID: "r1", Flow: "f", Attempt: 3, State: flow.State{Type: flow.TypeCrashed, Name: flow.NameCrashed, Message: "worker lost"}}
	ev := run.HookEvent()
	if ev.Execution != 3 || ev.Attempt != 0 || ev.Err == nil || ev.Run.ID != "r1" {
		t.Fatalf("HookEvent = %+v, want execution 3, attempt unknown (0), the crash as error", ev)
	}
}
