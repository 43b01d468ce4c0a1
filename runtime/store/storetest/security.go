package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// testTaskRunOfAnotherFlowRun: creating a task run under one flow run
// with the ID of another flow run's task run is refused, with the states
// of the batch that follow it; the other run's task is untouched.
func testTaskRunOfAnotherFlowRun(t *testing.T, o Opener) {
	s := Open(t, o)
	a, b := "0190a000-0000-7000-8000-00000000000a", "0190a000-0000-7000-8000-00000000000b"
	ts := func(st flow.State) flow.State { st.Timestamp = t0; return st }
	for _, fr := range []string{a, b} {
		_, err := s.Record(ctx(t), []store.Op{{Create: &flow.RunRecord{ID: fr, Kind: flow.KindFlow, Name: "f", FlowRunID: fr, Created: t0}}}, nil)
		check(t, err)
	}
	task := func(id, fr string) *flow.RunRecord {
		return &flow.RunRecord{ID: id, Kind: flow.KindTask, Name: "push", FlowRunID: fr, ParentID: fr, TaskKey: "push/1", Created: t0}
	}
	errs, err := s.Record(ctx(t), []store.Op{
		{Create: task("tb", b)},
		{RunID: "tb", State: ts(flow.Pending())},
		{RunID: "tb", State: ts(flow.Running())},
	}, nil)
	check(t, err)
	for _, e := range errs {
		check(t, e)
	}
	errs, err = s.Record(ctx(t), []store.Op{
		{Create: task("tb", a)},
		{RunID: "tb", State: ts(flow.Pending())},
		{RunID: "tb", State: ts(flow.Running())},
		{RunID: "tb", State: ts(flow.Completed()), Result: &flow.Result{FlowRunID: a, TaskKey: "push/1", Value: []byte(`"forged"`)}},
	}, nil)
	check(t, err)
	for i, e := range errs {
		var ie *store.InvalidError
		if !errors.As(e, &ie) || ie.Field != "id" {
			t.Fatalf("op %d: err = %v, want refused naming id", i, e)
		}
	}
	trs := must(s.TaskRuns(ctx(t), b))
	if len(trs) != 1 || trs[0].State.Name != flow.NameRunning || trs[0].FlowRunID != b {
		t.Fatalf("task run of b = %+v, want Running under b", trs)
	}
	if trs := must(s.TaskRuns(ctx(t), a)); len(trs) != 0 {
		t.Fatalf("a gained task runs %+v", trs)
	}
}

// testPruneEvents: events received before the cut are deleted (and
// their IDs accepted anew), later ones kept.
func testPruneEvents(t *testing.T, o Opener) {
	s := Open(t, o)
	none := func(store.Event) ([]store.RunSpec, error) { return nil, nil }
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(48 * time.Hour)} {
		must(s.AcceptEvent(ctx(t), store.Event{ID: fmt.Sprint("ev", i), Source: "infrahub", Type: "x", Payload: []byte(`{}`), Received: at}, none))
	}
	n := must(s.PruneEvents(ctx(t), t0.Add(24*time.Hour)))
	if n != 2 {
		t.Fatalf("pruned %d events, want 2", n)
	}
	evs, _ := must2(s.ListEvents(ctx(t), store.EventFilter{}))
	if len(evs) != 1 || evs[0].ID != "ev2" {
		t.Fatalf("events left %+v, want ev2", evs)
	}
	if acc := must(s.AcceptEvent(ctx(t), store.Event{ID: "ev0", Source: "infrahub", Payload: []byte(`{}`)}, none)); acc.Duplicate {
		t.Fatal("a pruned event's ID is still a duplicate")
	}
}
