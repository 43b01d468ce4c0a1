package api_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// tokenFor returns a run token for run.
func (e *env) tokenFor(run string) string {
	e.t.Helper()
	tok, _, err := e.api.MintRunToken(context.Background(), store.Fence{RunID: run}, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func state(s flow.State) *flow.State {
	s.Timestamp = time.Now()
	return &s
}

func TestRecordScope(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx := context.Background()
	runA := e.createRun(`{"device":"a","vlan":1}`)
	runB := e.createRun(`{"device":"b","vlan":2}`)
	for _, s := range []flow.State{flow.Pending()} {
		if _, err := e.st.SetRunState(ctx, runA.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	tok := e.as(e.tokenFor(runA.ID))
	path := "/api/v1/runs/" + runA.ID + "/record"
	sub, task := flow.NewID(), flow.NewID()
	now := time.Now()
	ops := []wire.Op{
		{RunID: runA.ID, State: state(flow.Running())},
		// A subflow under A and a task of that subflow: in scope.
		{Create: &flow.RunRecord{ID: sub, Kind: flow.KindFlow, Name: "child", FlowRunID: sub, ParentID: runA.ID, Created: now}},
		{RunID: sub, State: state(flow.Pending())},
		{Create: &flow.RunRecord{ID: task, Kind: flow.KindTask, Name: "t", FlowRunID: sub, ParentID: sub, Created: now}},
		{RunID: task, State: state(flow.Pending())},
		// Rewriting run B as a subflow of A, a top-level run, a task of B: refused.
		{Create: &flow.RunRecord{ID: runB.ID, Kind: flow.KindFlow, Name: "vlan", FlowRunID: runB.ID, ParentID: runA.ID, Created: now}},
		{Create: &flow.RunRecord{ID: flow.NewID(), Kind: flow.KindFlow, Name: "x", Created: now}},
		{Create: &flow.RunRecord{ID: flow.NewID(), Kind: flow.KindTask, Name: "t", FlowRunID: runB.ID, ParentID: runB.ID, Created: now}},
		// Illegal: Pending to Completed.
		{RunID: task, State: state(flow.Completed())},
		{},
	}
	st, b := tok.do("POST", path, wire.Record{BatchID: "1", Ops: ops, Logs: []flow.LogRecord{{RunID: task, FlowRunID: sub, Time: now, Message: "in a subflow task"}}})
	if st != 200 {
		t.Fatalf("record: %d %s", st, b)
	}
	got := map[int]string{}
	for _, oe := range decodeAs[wire.Recorded](t, b).Errors {
		got[oe.Index] = oe.Kind
	}
	want := map[int]string{5: wire.OpForbidden, 6: wire.OpForbidden, 7: wire.OpForbidden, 8: wire.OpTransition, 9: wire.OpInvalid}
	if len(got) != len(want) {
		t.Fatalf("op errors %v, want %v", got, want)
	}
	for i, k := range want {
		if got[i] != k {
			t.Errorf("op %d: %q, want %q", i, got[i], k)
		}
	}
	if r, _ := e.st.GetRun(ctx, runB.ID); r.ParentID != "" || r.State.Name != flow.NameScheduled {
		t.Fatalf("run B rewritten through A's token: %+v", r)
	}
	trs, _ := e.st.TaskRuns(ctx, sub)
	if len(trs) != 1 || trs[0].State.Name != flow.NamePending {
		t.Fatalf("subflow task runs %+v", trs)
	}
	// A later batch (the scope rebuilt from the store by a fresh server
	// would do the same) may move the task and read the subflow's results.
	st, b = tok.do("POST", path, wire.Record{BatchID: "2", Ops: []wire.Op{{RunID: task, State: state(flow.Running())}}})
	if st != 200 || len(decodeAs[wire.Recorded](t, b).Errors) != 0 {
		t.Fatalf("second batch: %d %s", st, b)
	}
	if st, b := tok.do("GET", "/api/v1/runs/"+sub+"/results", nil); st != 200 {
		t.Fatalf("subflow results: %d %s", st, b)
	}
	if st, b := tok.do("GET", "/api/v1/runs/"+runB.ID+"/results", nil); st != 403 {
		t.Fatalf("other run's results: %d %s", st, b)
	}
}

func TestRecordScopeRebuiltFromStore(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx := context.Background()
	run := e.createRun(`{"device":"a","vlan":1}`)
	if _, err := e.st.SetRunState(ctx, run.ID, flow.Pending(), nil); err != nil {
		t.Fatal(err)
	}
	// A task of the run and a task of a subflow of a subflow, written by
	// someone else (another server replica, or this one before a restart).
	sub1, sub2, task, deep := flow.NewID(), flow.NewID(), flow.NewID(), flow.NewID()
	now := time.Now()
	if _, err := e.st.Record(ctx, []store.Op{
		{Create: &flow.RunRecord{ID: task, Kind: flow.KindTask, Name: "t", FlowRunID: run.ID, ParentID: run.ID, Created: now}},
		{RunID: task, State: flow.Pending()},
		{Create: &flow.RunRecord{ID: sub1, Kind: flow.KindFlow, Name: "s1", FlowRunID: sub1, ParentID: run.ID, Created: now}},
		{Create: &flow.RunRecord{ID: sub2, Kind: flow.KindFlow, Name: "s2", FlowRunID: sub2, ParentID: sub1, Created: now}},
		{Create: &flow.RunRecord{ID: deep, Kind: flow.KindTask, Name: "t", FlowRunID: sub2, ParentID: sub2, Created: now}},
		{RunID: deep, State: flow.Pending()},
	}, nil); err != nil {
		t.Fatal(err)
	}
	st, b := e.as(e.tokenFor(run.ID)).do("POST", "/api/v1/runs/"+run.ID+"/record", wire.Record{BatchID: "x",
		Ops:  []wire.Op{{RunID: task, State: state(flow.Running())}, {RunID: deep, State: state(flow.Running())}},
		Logs: []flow.LogRecord{{RunID: deep, FlowRunID: sub2, Time: now, Message: "deep"}}})
	if st != 200 || len(decodeAs[wire.Recorded](t, b).Errors) != 0 {
		t.Fatalf("runs stored elsewhere refused: %d %s", st, b)
	}
}

func TestRecordReplay(t *testing.T) {
	e := newEnv(t, api.Options{MaxRecordBytes: 4096})
	ctx := context.Background()
	run := e.createRun(`{"device":"a","vlan":1}`)
	if _, err := e.st.SetRunState(ctx, run.ID, flow.Pending(), nil); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/runs/" + run.ID + "/record"
	batch := wire.Record{BatchID: "same", Ops: []wire.Op{{RunID: run.ID, State: state(flow.Running())}},
		Logs: []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "once"}}}
	for range 2 {
		if st, b := e.do("POST", path, batch); st != 200 || len(decodeAs[wire.Recorded](t, b).Errors) != 0 {
			t.Fatalf("record: %d %s", st, b)
		}
	}
	logs, _, _ := e.st.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	if len(logs) != 1 {
		t.Fatalf("%d log records after a batch sent twice, want 1", len(logs))
	}
	// A batch the server forgot: the state it set counts as applied.
	batch.BatchID, batch.Logs = "forgotten", nil
	if st, b := e.do("POST", path, batch); st != 200 || len(decodeAs[wire.Recorded](t, b).Errors) != 0 {
		t.Fatalf("replayed state: %d %s", st, b)
	}
	hist, _ := e.st.RunHistory(ctx, run.ID)
	if len(hist) != 3 {
		t.Fatalf("history %d states, want Scheduled, Pending, Running", len(hist))
	}
	st, b := e.do("POST", path, wire.Record{BatchID: "big", Logs: []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Message: strings.Repeat("x", 5000)}}})
	wantError(t, st, b, 413, "")
	st, b = e.do("POST", path, wire.Record{})
	wantError(t, st, b, 400, "batch_id")
}

// TestFollowerLeavesNoGoroutine checks that a follower hanging up ends
// the stream's handler and its subscription.
func TestFollowerLeavesNoGoroutine(t *testing.T) {
	e := newEnv(t, api.Options{PollInterval: time.Hour})
	run := e.createRun(`{"device":"a","vlan":1}`)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	ch := e.follow(ctx, run.ID, "")
	if e.api.Followers() != 1 {
		t.Fatalf("%d followed runs, want 1", e.api.Followers())
	}
	cancel()
	for range ch {
	}
	e.srv.CloseClientConnections()
	deadline := time.Now().Add(10 * time.Second)
	for e.api.Followers() != 0 || runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("after the follower left: %d followed runs, %d goroutines (was %d)", e.api.Followers(), runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
