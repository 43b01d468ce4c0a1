package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

func wantFenced(t testing.TB, err error, what string) {
	t.Helper()
	var fe *store.FencedError
	if !errors.Is(err, store.ErrFenced) || !errors.As(err, &fe) {
		t.Fatalf("%s: err = %v, want a *store.FencedError", what, err)
	}
}

// testFencing: once the reaper crashed attempt 1 and attempt 2 was
// claimed, every write of attempt 1 is refused and writes nothing, while
// attempt 2's are stored.
func testFencing(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d", Retries: 1})
	created, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	run1, ok := claim(t, s, "w1", t0)
	if !ok || run1.ID != created.ID || run1.Attempt != 1 || run1.Worker != "w1" {
		t.Fatalf("claim = %+v %v", run1, ok)
	}
	old := store.FenceOf(run1)
	octx := store.WithFence(ctx(t), old)
	must(s.SetRunState(octx, run1.ID, flow.Running(), nil))
	task := &flow.RunRecord{ID: "t-old", Kind: flow.KindTask, Name: "render", FlowRunID: run1.ID, ParentID: run1.ID, TaskKey: "render/1", Created: t0}
	errs := must(s.Record(octx, []store.Op{{Create: task}, {RunID: "t-old", State: flow.Pending()}}, nil))
	for i, e := range errs {
		check(t, e)
		_ = i
	}

	// Reaped and retried by w2.
	reaped := must(s.ReapExpiredLeases(ctx(t), t0.Add(time.Hour)))
	if len(reaped) != 1 || reaped[0].Attempt != 2 {
		t.Fatalf("reaped = %+v", reaped)
	}
	run2, ok := claim(t, s, "w2", t0.Add(time.Hour))
	if !ok || run2.Attempt != 2 {
		t.Fatalf("retry claim = %+v %v", run2, ok)
	}
	cur := store.FenceOf(run2)
	cctx := store.WithFence(ctx(t), cur)

	// The stale execution: a whole batch, logs, states, info, all refused.
	task2 := &flow.RunRecord{ID: "t-late", Kind: flow.KindTask, Name: "render", FlowRunID: run1.ID, ParentID: run1.ID, TaskKey: "render/2", Created: t0}
	log := flow.LogRecord{RunID: run1.ID, FlowRunID: run1.ID, Time: t0, Level: 0, Message: "late"}
	_, err := s.Record(octx, []store.Op{{Create: task2}, {RunID: "t-old", State: flow.Running()}}, []flow.LogRecord{log})
	wantFenced(t, err, "stale Record")
	wantFenced(t, s.AppendLogs(octx, []flow.LogRecord{log}), "stale AppendLogs")
	_, err = s.SetRunState(octx, run1.ID, flow.Running(), nil)
	wantFenced(t, err, "stale SetRunState")
	wantFenced(t, s.UpdateRunInfo(octx, run1.ID, store.RunInfo{InfrastructureID: "pid-1"}), "stale UpdateRunInfo")
	// Per-op fences: the stale op fails alone, the current one lands.
	errs = must(s.Record(ctx(t), []store.Op{
		{RunID: "t-old", State: flow.Running(), Fence: &old},
		{RunID: run2.ID, State: flow.Running(), Fence: &cur},
	}, nil))
	wantFenced(t, errs[0], "stale op")
	check(t, errs[1])
	// Log ops: the stale execution's records are refused, the current's
	// stored.
	errs = must(s.Record(ctx(t), []store.Op{
		{Logs: []flow.LogRecord{{RunID: run1.ID, FlowRunID: run1.ID, Time: t0, Message: "stale op log"}}, Fence: &old},
		{Logs: []flow.LogRecord{{RunID: run1.ID, FlowRunID: run1.ID, Time: t0, Message: "current op log"}}, Fence: &cur},
	}, nil))
	wantFenced(t, errs[0], "stale log op")
	check(t, errs[1])
	// A fence naming another worker at the right attempt is stale too.
	wrong := store.Fence{RunID: run2.ID, Worker: "w1", Attempt: 2}
	_, err = s.SetRunState(store.WithFence(ctx(t), wrong), run2.ID, flow.Completed(), nil)
	wantFenced(t, err, "another worker's fence")

	trs := must(s.TaskRuns(ctx(t), run1.ID))
	if len(trs) != 1 || trs[0].ID != "t-old" || trs[0].State.Name != flow.NamePending {
		t.Fatalf("task runs = %+v, want t-old still Pending and no t-late", trs)
	}
	logs, _ := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: run1.ID}))
	if len(logs) != 1 || logs[0].Message != "current op log" {
		t.Fatalf("logs = %+v, want only the current log op's", logs)
	}
	if got := must(s.GetRun(ctx(t), run1.ID)); got.InfrastructureID != "" {
		t.Fatalf("stale info stored: %+v", got)
	}

	// The current execution writes.
	check(t, s.UpdateRunInfo(cctx, run2.ID, store.RunInfo{InfrastructureID: "pid-2"}))
	errs = must(s.Record(cctx, []store.Op{{RunID: "t-old", State: flow.Running()}}, []flow.LogRecord{log}))
	check(t, errs[0])
	check(t, s.AppendLogs(cctx, []flow.LogRecord{log}))
	must(s.SetRunState(cctx, run2.ID, flow.Completed(), &flow.Result{FlowRunID: run2.ID, Value: json.RawMessage(`1`)}))
	wantHistory(t, s, run2.ID, "Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry", "Pending", "Running", "Completed")
	if logs, _ := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: run1.ID})); len(logs) != 3 || logs[0].Message != "current op log" {
		t.Fatalf("current logs = %+v, want the current log op's and 2 more", logs)
	}
	// A run reaped without a retry left is final, and its lost execution
	// is fenced off too: nothing of it lands.
	reaped = must(s.ReapExpiredLeases(ctx(t), t0.Add(3*time.Hour)))
	if len(reaped) != 0 {
		t.Fatalf("reaped a completed run: %+v", reaped)
	}
	lone, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", State: flow.Scheduled(t0)}))
	lr, _ := claim(t, s, "w3", t0)
	if lr.ID != lone.ID {
		t.Fatalf("claimed %s, want %s", lr.ID, lone.ID)
	}
	reaped = must(s.ReapExpiredLeases(ctx(t), t0.Add(4*time.Hour)))
	if len(reaped) != 1 || reaped[0].State.Name != flow.NameCrashed || reaped[0].Worker != "w3" {
		t.Fatalf("reaped = %+v, want Crashed, naming w3", reaped)
	}
	err = s.AppendLogs(store.WithFence(ctx(t), store.FenceOf(lr)), []flow.LogRecord{{RunID: lr.ID, FlowRunID: lr.ID, Time: t0, Message: "late"}})
	wantFenced(t, err, "write of a crashed run's lost execution")

	// A fence of an unknown run.
	_, err = s.SetRunState(store.WithFence(ctx(t), store.Fence{RunID: "nope", Attempt: 1}), "nope", flow.Running(), nil)
	wantNotFound(t, err)
}

// testCrashRun: a run whose child ended without a final state is Crashed
// and retried as the reaper would; a stale execution cannot crash a newer
// attempt.
func testCrashRun(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d", Retries: 1, RetryDelay: 30 * time.Second})
	created, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	run1, _ := claim(t, s, "w1", t0)
	must(s.SetRunState(ctx(t), run1.ID, flow.Running(), nil))
	before := time.Now()
	after := must(s.CrashRun(ctx(t), store.FenceOf(run1), "child exited with status 2"))
	if after.State.Name != flow.NameAwaitingRetry || after.Attempt != 2 || after.Worker != "" || !after.LeaseExpires.IsZero() {
		t.Fatalf("crashed run = %+v, want AwaitingRetry at attempt 2 without a worker", after)
	}
	if after.ScheduledAt.Before(before.Add(30*time.Second-time.Second)) || after.State.Message != "run retry 1 of 1 after a crash (run retries): child exited with status 2" {
		t.Fatalf("retry due %s (%q), want after the 30s retry delay", after.ScheduledAt, after.State.Message)
	}
	wantHistory(t, s, created.ID, "Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry")
	// Crashing the same execution again is stale.
	_, err := s.CrashRun(ctx(t), store.FenceOf(run1), "again")
	wantFenced(t, err, "second CrashRun of attempt 1")

	run2, ok := claim(t, s, "w2", after.ScheduledAt)
	if !ok || run2.Attempt != 2 {
		t.Fatalf("retry claim = %+v %v", run2, ok)
	}
	_, err = s.CrashRun(ctx(t), store.FenceOf(run1), "late")
	wantFenced(t, err, "attempt 1 crashing attempt 2")
	if got := must(s.GetRun(ctx(t), run2.ID)); got.State.Name != flow.NamePending {
		t.Fatalf("attempt 2 is %s, want Pending", got.State.Name)
	}
	// No retries left: Crashed, final, keeps its worker for the record.
	final := must(s.CrashRun(ctx(t), store.FenceOf(run2), "again"))
	if final.State.Name != flow.NameCrashed || final.Attempt != 2 || final.Worker != "w2" || !final.LeaseExpires.IsZero() {
		t.Fatalf("second crash = %+v, want Crashed", final)
	}
	// A run already final is returned unchanged.
	same := must(s.CrashRun(ctx(t), store.FenceOf(run2), "once more"))
	if same.State.Name != flow.NameCrashed || same.State.Message != "again" {
		t.Fatalf("crash of a final run = %+v", same.State)
	}
	// Cancelling ends Cancelled, not retried.
	c, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", Retries: 3, State: flow.Scheduled(t0)}))
	rc, _ := claim(t, s, "w3", t0)
	if rc.ID != c.ID {
		t.Fatalf("claimed %s, want %s", rc.ID, c.ID)
	}
	must(s.CancelRun(ctx(t), c.ID, "stop"))
	if got := must(s.CrashRun(ctx(t), store.FenceOf(rc), "killed")); got.State.Name != flow.NameCancelled || got.Attempt != 1 {
		t.Fatalf("crash of a cancelling run = %+v, want Cancelled", got)
	}
	_, err = s.CrashRun(ctx(t), store.Fence{RunID: "nope", Attempt: 1}, "x")
	wantNotFound(t, err)
	_, err = s.CrashRun(ctx(t), store.Fence{}, "x")
	wantInvalid(t, err, "run_id")
}

// testRenewLeaseFenced: a worker that claimed a run again after its first
// execution was reaped must not keep that stale execution alive: renewing
// the lease with the stale execution's fence reports the lease lost, so
// that the worker stops it instead of running the flow twice at once.
func testRenewLeaseFenced(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d", Retries: 1})
	must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	run1, ok := claim(t, s, "w1", t0)
	if !ok {
		t.Fatal("nothing claimed")
	}
	if reaped := must(s.ReapExpiredLeases(ctx(t), t0.Add(time.Hour))); len(reaped) != 1 {
		t.Fatalf("reaped = %+v", reaped)
	}
	// The same worker (a stalled process that woke up) claims the retry.
	run2, ok := claim(t, s, "w1", t0.Add(time.Hour))
	if !ok || run2.ID != run1.ID || run2.Attempt != 2 {
		t.Fatalf("retry claim = %+v %v", run2, ok)
	}
	octx := store.WithFence(ctx(t), store.FenceOf(run1))
	_, err := s.RenewLease(octx, run1.ID, "w1", t0.Add(2*time.Hour))
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale execution renewed the lease: err = %v, want lease lost", err)
	}
	if got := must(s.GetRun(ctx(t), run1.ID)); !got.LeaseExpires.Equal(t0.Add(time.Hour + time.Minute)) {
		t.Fatalf("lease = %v, want the retry's %v untouched", got.LeaseExpires, t0.Add(time.Hour+time.Minute))
	}
	// The current execution renews.
	must(s.RenewLease(store.WithFence(ctx(t), store.FenceOf(run2)), run2.ID, "w1", t0.Add(2*time.Hour)))
}

// testClaimHeldRetry: a flow retrying in its execution (the engine's own
// retries) waits in AwaitingRetry while its worker keeps the lease. Such
// a run is not free: another worker must not claim it when its retry time
// comes, or the flow would run twice; when the worker dies the reaper
// crashes it as any other.
func testClaimHeldRetry(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d"})
	must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	run, ok := claim(t, s, "w1", t0)
	if !ok {
		t.Fatal("nothing claimed")
	}
	fctx := store.WithFence(ctx(t), store.FenceOf(run))
	must(s.SetRunState(fctx, run.ID, flow.Running(), nil))
	must(s.SetRunState(fctx, run.ID, flow.AwaitingRetry(t0.Add(time.Minute), "flow failed, retrying"), nil))
	must(s.RenewLease(fctx, run.ID, "w1", t0.Add(10*time.Minute)))
	if r, ok := claim(t, s, "w2", t0.Add(2*time.Minute)); ok {
		t.Fatalf("w2 claimed %s (attempt %d) while w1 holds it retrying", r.ID, r.Attempt)
	}
	must(s.SetRunState(fctx, run.ID, flow.Retrying("attempt 2 of 2"), nil))
	must(s.SetRunState(fctx, run.ID, flow.AwaitingRetry(t0.Add(3*time.Minute), "failed again"), nil))
	// w1 dies: the reaper takes the run back.
	reaped := must(s.ReapExpiredLeases(ctx(t), t0.Add(11*time.Minute)))
	if len(reaped) != 1 || reaped[0].RunID != run.ID {
		t.Fatalf("reaped = %+v, want the retrying run", reaped)
	}
}

// testCancelHeldRetry: cancelling a run that waits in AwaitingRetry inside
// its execution asks its worker to stop it (Cancelling, seen when it
// renews the lease) rather than marking it Cancelled behind the worker's
// back, which left the execution asleep until its retry time.
func testCancelHeldRetry(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d"})
	must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	run, ok := claim(t, s, "w1", t0)
	if !ok {
		t.Fatal("nothing claimed")
	}
	fctx := store.WithFence(ctx(t), store.FenceOf(run))
	must(s.SetRunState(fctx, run.ID, flow.Running(), nil))
	must(s.SetRunState(fctx, run.ID, flow.AwaitingRetry(t0.Add(time.Hour), "flow failed, retrying"), nil))
	if st := must(s.CancelRun(ctx(t), run.ID, "operator")); st.Name != flow.NameCancelling {
		t.Fatalf("cancel of a held retry = %s, want Cancelling", st.Name)
	}
	if st := must(s.RenewLease(fctx, run.ID, "w1", t0.Add(2*time.Minute))); st.Name != flow.NameCancelling {
		t.Fatalf("worker sees %s, want Cancelling", st.Name)
	}
	// A retry the reaper scheduled (no lease) is cancelled at once.
	must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", Retries: 1, State: flow.Scheduled(t0)}))
	r2, _ := claim(t, s, "w2", t0)
	if reaped := must(s.ReapExpiredLeases(ctx(t), t0.Add(90*time.Second))); len(reaped) != 1 || reaped[0].RunID != r2.ID {
		t.Fatalf("reaped = %+v", reaped)
	}
	if st := must(s.CancelRun(ctx(t), r2.ID, "operator")); st.Name != flow.NameCancelled {
		t.Fatalf("cancel of a free retry = %s, want Cancelled", st.Name)
	}
}

// testLimitHeldRetry: a run waiting in AwaitingRetry inside its execution
// still occupies its deployment's concurrency: when it wakes it runs, so a
// second run started meanwhile would exceed the limit.
func testLimitHeldRetry(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d", ConcurrencyLimit: 1})
	must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0.Add(time.Second))}))
	run, ok := claim(t, s, "w1", t0.Add(time.Second))
	if !ok {
		t.Fatal("nothing claimed")
	}
	fctx := store.WithFence(ctx(t), store.FenceOf(run))
	must(s.SetRunState(fctx, run.ID, flow.Running(), nil))
	must(s.SetRunState(fctx, run.ID, flow.AwaitingRetry(t0.Add(time.Minute), "flow failed, retrying"), nil))
	if r, ok := claim(t, s, "w2", t0.Add(2*time.Second)); ok {
		t.Fatalf("claimed %s while the deployment's only slot is held by a retrying run", r.ID)
	}
}
