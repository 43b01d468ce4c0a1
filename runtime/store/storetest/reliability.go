package storetest

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// testPoolTiming: a pool keeps its lease and heartbeat; out-of-range
// ones are refused naming the field.
func testPoolTiming(t *testing.T, o Opener) {
	s := Open(t, o)
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: "p", Type: "process", Lease: 5 * time.Second, Heartbeat: time.Second}))
	p := must(s.GetPool(ctx(t), "p"))
	if p.Lease != 5*time.Second || p.Heartbeat != time.Second {
		t.Fatalf("pool lease %s heartbeat %s, want 5s and 1s", p.Lease, p.Heartbeat)
	}
	if l, hb := (store.Pool{}).Timing(); l != store.DefaultLease || hb != store.DefaultLease/3 {
		t.Fatalf("default timing %s/%s", l, hb)
	}
	for _, tc := range []struct {
		p     store.Pool
		field string
	}{
		{store.Pool{Name: "p", Type: "process", Lease: -time.Second}, "lease"},
		{store.Pool{Name: "p", Type: "process", Lease: time.Millisecond}, "lease"},
		{store.Pool{Name: "p", Type: "process", Lease: 2 * time.Second, Heartbeat: 1500 * time.Millisecond}, "heartbeat"},
		{store.Pool{Name: "p", Type: "process", Heartbeat: -1}, "heartbeat"},
		{store.Pool{Name: "p", Type: "process", ConcurrencyLimit: math.MaxInt32 + 1}, "concurrency_limit"},
	} {
		wantInvalid(t, s.ApplyPool(ctx(t), tc.p), tc.field)
	}
}

// testOwedHooks: a run the runtime ends itself (reaped or crashed with
// no retry left) owes its hooks to a worker of its pool: claimed by one at
// a time, due again when the claim lapses, owed no more once run. A
// crash that is retried owes none.
func testOwedHooks(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "once"})
	deploy(t, s, store.Deployment{Name: "twice", Retries: 1})
	for _, d := range []string{"once", "twice"} {
		must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: d, State: flow.Scheduled(t0)}))
		run, _ := claim(t, s, "w1", t0)
		must(s.SetRunState(ctx(t), run.ID, flow.Running(), nil))
	}
	reaped := must(s.ReapExpiredLeases(ctx(t), t0.Add(time.Hour)))
	if len(reaped) != 2 {
		t.Fatalf("reaped %+v", reaped)
	}
	c := store.Claim{Pool: "default", Worker: "w2", Lease: time.Minute, Now: t0.Add(time.Hour)}
	run, ok := must2(s.ClaimHooks(ctx(t), c))
	if !ok || run.Deployment != "once" || run.State.Name != flow.NameCrashed {
		t.Fatalf("claimed hooks of %+v (%v), want the run of once, Crashed", run, ok)
	}
	if _, ok := must2(s.ClaimHooks(ctx(t), c)); ok {
		t.Fatal("owed hooks claimed twice, or owed for the retried run")
	}
	c.Now = c.Now.Add(2 * time.Minute) // the first claim lapsed: its worker died
	again, ok := must2(s.ClaimHooks(ctx(t), c))
	if !ok || again.ID != run.ID {
		t.Fatalf("lapsed hooks not due again: %+v %v", again, ok)
	}
	check(t, s.HooksRun(ctx(t), run.ID))
	c.Now = c.Now.Add(time.Hour)
	if _, ok := must2(s.ClaimHooks(ctx(t), c)); ok {
		t.Fatal("hooks owed after they ran")
	}
	wantNotFound(t, s.HooksRun(ctx(t), "nope"))
	wantInvalid(t, func() error { _, _, err := s.ClaimHooks(ctx(t), store.Claim{Worker: "w"}); return err }(), "pool")
}

// testUnstorableInput: text and numbers PostgreSQL cannot store are
// refused as the caller's error, naming the field, on every driver; in a
// Record batch, such an op fails alone.
func testUnstorableInput(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	wantInvalid(t, s.SetTagLimit(ctx(t), "x", 9999999999999), "limit")
	wantInvalid(t, s.SetTagLimit(ctx(t), "x\x00", 1), "tag")
	wantInvalid(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "default", Name: "q", Priority: math.MinInt32 - 1}), "priority")
	wantInvalid(t, s.SetVariable(ctx(t), strings.Repeat("v", 2000), json.RawMessage(`1`)), "name")
	wantInvalid(t, s.SetVariable(ctx(t), "v", json.RawMessage("\"\xff\"")), "value")
	_, err := s.ApplyDeployment(ctx(t), store.Deployment{Name: "d", Flow: "f", Retries: math.MaxInt32 + 1})
	wantInvalid(t, err, "retries")
	_, err = s.AcceptEvent(ctx(t), store.Event{ID: "e", Source: "s", Payload: json.RawMessage("{\"a\":\"\xff\"}")}, nil)
	wantInvalid(t, err, "payload")
	_, _, err = s.ListRuns(ctx(t), store.RunFilter{Cursor: "eyJ0IjoxLCJrIjpbIlx1MDAwMCJdfQ"}) // {"t":1,"k":["\u0000"]}
	wantInvalid(t, err, "cursor")

	deploy(t, s, store.Deployment{Name: "d"})
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Pending()}))
	running := flow.Running()
	errs := must(s.Record(ctx(t), []store.Op{
		{RunID: "bad\x00id", State: running},
		{Create: &flow.RunRecord{ID: "t1", Kind: flow.KindTask, Name: "n", FlowRunID: run.ID, TaskKey: strings.Repeat("k", 2000)}},
		{RunID: run.ID, State: running},
		{RunID: run.ID, State: flow.Completed(), Result: &flow.Result{FlowRunID: run.ID, CacheKey: "c\x00", Value: json.RawMessage(`1`)}},
	}, []flow.LogRecord{{RunID: "bad\xff", FlowRunID: run.ID, Message: "nul\x00", Attrs: json.RawMessage("{\"a\":\"\xff\"}")}}))
	wantInvalid(t, errs[0], "run_id")
	wantInvalid(t, errs[1], "task_key")
	if errs[2] != nil {
		t.Fatalf("a good op failed beside bad ones: %v", errs[2])
	}
	wantInvalid(t, errs[3], "result.cache_key")
	if got := must(s.GetRun(ctx(t), run.ID)); got.State.Name != flow.NameRunning {
		t.Fatalf("run is %s, want Running (the good op committed)", got.State)
	}
}

// testRecordReplayed: a batch committed once whose answer was lost (the
// database restarted during COMMIT) is sent again: the states the runs
// already went through count as applied, nothing is refused or written
// twice. A state that was not recorded is still checked.
func testRecordReplayed(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d"})
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Pending()}))
	at := func(st flow.State, d time.Duration) flow.State { st.Timestamp = t0.Add(d); return st }
	batch := []store.Op{
		{RunID: run.ID, State: at(flow.Running(), time.Second)},
		{Create: &flow.RunRecord{ID: "t1", Kind: flow.KindTask, Name: "step", FlowRunID: run.ID, TaskKey: "step/x", Created: t0}},
		{RunID: "t1", State: at(flow.Pending(), 2*time.Second)},
		{RunID: "t1", State: at(flow.Running(), 3*time.Second)},
		{RunID: "t1", State: at(flow.Completed(), 4*time.Second), Result: &flow.Result{FlowRunID: run.ID, TaskKey: "step/x", Value: json.RawMessage(`"ok"`)}},
	}
	for pass := range 2 {
		errs := must(s.Record(ctx(t), batch, nil))
		for i, err := range errs {
			if err != nil {
				t.Fatalf("pass %d, op %d: %v", pass+1, i, err)
			}
		}
	}
	wantHistory(t, s, run.ID, "Pending", "Running")
	trs := must(s.TaskRuns(ctx(t), run.ID))
	if len(trs) != 1 || len(trs[0].History) != 3 || trs[0].State.Name != flow.NameCompleted {
		t.Fatalf("task runs after a replay: %+v", trs)
	}
	if res := must(s.RunResults(ctx(t), run.ID)); string(res["step/x"]) != `"ok"` {
		t.Fatalf("results %v", res)
	}
	// A new state that the run cannot reach is refused as before.
	errs := must(s.Record(ctx(t), []store.Op{{RunID: "t1", State: at(flow.Running(), 5*time.Second)}}, nil))
	var te *flow.TransitionError
	if !errors.As(errs[0], &te) {
		t.Fatalf("a new illegal move = %v, want a *flow.TransitionError", errs[0])
	}
}

// testRecordTaskBatch: a batch of task-run events only (what PostgreSQL
// writes in one or two round trips) keeps every rule of Record: task
// runs created in the batch and task runs read from the store move
// through checked states, each op's own failure (a fence naming no run,
// a stale fence) is reported for that op alone while the others commit,
// fenced log records are stored, and a task run created again (its ID
// stored already) has its record updated, its history kept.
func testRecordTaskBatch(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d"})
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Pending()}))
	good := store.FenceOf(run)
	at := func(st flow.State, d time.Duration) flow.State { st.Timestamp = t0.Add(d); return st }
	errs := must(s.Record(ctx(t), []store.Op{
		{Create: &flow.RunRecord{ID: "t1", Kind: flow.KindTask, Name: "step", FlowRunID: run.ID, TaskKey: "k1", Created: t0}, Fence: &good},
		{RunID: "t1", State: at(flow.Pending(), time.Second), Fence: &good},
	}, nil))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("first batch, op %d: %v", i, err)
		}
	}
	stale := store.Fence{RunID: run.ID, Worker: good.Worker, Attempt: good.Attempt + 1}
	noRun := store.Fence{RunID: "no-such-run", Attempt: 1}
	errs = must(s.Record(ctx(t), []store.Op{
		{Create: &flow.RunRecord{ID: "t2", Kind: flow.KindTask, Name: "step", FlowRunID: run.ID, TaskKey: "k2", Created: t0}, Fence: &good},
		{RunID: "t2", State: at(flow.Pending(), 2*time.Second), Fence: &good},
		{RunID: "t1", State: at(flow.Running(), 3*time.Second), Fence: &good},
		{RunID: "t1", State: at(flow.Completed(), 4*time.Second), Result: &flow.Result{FlowRunID: run.ID, TaskKey: "k1", Value: json.RawMessage(`"one"`)}, Fence: &good},
		{RunID: "t2", State: at(flow.Running(), 5*time.Second), Fence: &noRun},
		{RunID: "t2", State: at(flow.Running(), 6*time.Second), Fence: &stale},
		{Logs: []flow.LogRecord{{RunID: "t1", FlowRunID: run.ID, Time: t0, Message: "fenced log"}}, Fence: &good},
		{RunID: "t2", State: at(flow.Completed(), 7*time.Second), Fence: &good},
	}, []flow.LogRecord{{RunID: "t2", FlowRunID: run.ID, Time: t0.Add(time.Second), Message: "plain log"}}))
	for i, err := range errs {
		switch i {
		case 4:
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("op fenced by a run that does not exist: %v, want ErrNotFound", err)
			}
		case 5:
			if !errors.Is(err, store.ErrFenced) {
				t.Errorf("op of a stale execution: %v, want ErrFenced", err)
			}
		case 7:
			var te *flow.TransitionError
			if !errors.As(err, &te) {
				t.Errorf("Pending → Completed: %v, want a *flow.TransitionError", err)
			}
		default:
			if err != nil {
				t.Errorf("op %d: %v", i, err)
			}
		}
	}
	history := func(id string) []string {
		var out []string
		for _, tr := range must(s.TaskRuns(ctx(t), run.ID)) {
			if tr.ID == id {
				for _, h := range tr.History {
					out = append(out, h.Name)
				}
			}
		}
		return out
	}
	if got := history("t1"); !slices.Equal(got, []string{"Pending", "Running", "Completed"}) {
		t.Errorf("t1 history %v", got)
	}
	if got := history("t2"); !slices.Equal(got, []string{"Pending"}) {
		t.Errorf("t2 history %v, want the refused ops not applied", got)
	}
	if res := must(s.RunResults(ctx(t), run.ID)); string(res["k1"]) != `"one"` {
		t.Errorf("results %v", res)
	}
	logs, _ := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: run.ID}))
	if len(logs) != 2 {
		t.Errorf("logs %+v, want the fenced one and the plain one", logs)
	}
	// Created again, renamed: the record is updated, the history kept.
	errs = must(s.Record(ctx(t), []store.Op{
		{Create: &flow.RunRecord{ID: "t1", Kind: flow.KindTask, Name: "renamed", FlowRunID: run.ID, TaskKey: "k1", Created: t0}, Fence: &good},
		{Create: &flow.RunRecord{ID: "t3", Kind: flow.KindTask, Name: "step", FlowRunID: run.ID, TaskKey: "k3", Created: t0}, Fence: &good},
	}, nil))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("created again, op %d: %v", i, err)
		}
	}
	names := map[string]string{}
	for _, tr := range must(s.TaskRuns(ctx(t), run.ID)) {
		names[tr.ID] = tr.Name
	}
	if names["t1"] != "renamed" || names["t3"] != "step" || len(names) != 3 {
		t.Errorf("task runs after a re-creation: %v", names)
	}
	if got := history("t1"); !slices.Equal(got, []string{"Pending", "Running", "Completed"}) {
		t.Errorf("t1 history after its re-creation %v", got)
	}
}

// testRecordTwoWriters: two stores on one database (two processes) move
// the same task run in turn; each sees the other's writes, whatever it
// remembers of its own.
func testRecordTwoWriters(t *testing.T, o Opener) {
	open := o(t)
	a := openWith(t, open, store.Options{Key: Key(t)})
	b := openWith(t, open, store.Options{Key: Key(t)})
	pool(t, a, "default")
	deploy(t, a, store.Deployment{Name: "d"})
	run, _ := must2(a.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Pending()}))
	at := func(st flow.State, d time.Duration) flow.State { st.Timestamp = t0.Add(d); return st }
	record := func(s store.Store, ops ...store.Op) []error { return must(s.Record(ctx(t), ops, nil)) }
	for i, err := range record(a,
		store.Op{Create: &flow.RunRecord{ID: "t1", Kind: flow.KindTask, Name: "step", FlowRunID: run.ID, TaskKey: "k1", Created: t0}},
		store.Op{RunID: "t1", State: at(flow.Pending(), time.Second)}) {
		if err != nil {
			t.Fatalf("a creates, op %d: %v", i, err)
		}
	}
	if err := record(b, store.Op{RunID: "t1", State: at(flow.Running(), 2*time.Second)})[0]; err != nil {
		t.Fatalf("b moves t1 to Running: %v", err)
	}
	// a last wrote t1 Pending: Completed is legal from Running, where b
	// moved it.
	if err := record(a, store.Op{RunID: "t1", State: at(flow.Completed(), 3*time.Second)})[0]; err != nil {
		t.Fatalf("a completes t1 after b started it: %v", err)
	}
	trs := must(a.TaskRuns(ctx(t), run.ID))
	var got []string
	for _, h := range trs[0].History {
		got = append(got, h.Name)
	}
	if !slices.Equal(got, []string{"Pending", "Running", "Completed"}) {
		t.Fatalf("t1 history %v", got)
	}
	// And the other way: b last read t1 Running; a moved it on.
	var te *flow.TransitionError
	if err := record(b, store.Op{RunID: "t1", State: at(flow.Completed(), 4*time.Second)})[0]; !errors.As(err, &te) {
		t.Fatalf("b completes t1 again: %v, want a *flow.TransitionError (it is Completed)", err)
	}
}
