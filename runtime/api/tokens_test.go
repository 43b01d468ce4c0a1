package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// runningRun creates a run of vlan-prod, claimed by worker w1 and
// Running, and returns it with a token of its execution.
func (e *env) runningRun(params string) (store.FlowRun, *env) {
	e.t.Helper()
	ctx := context.Background()
	run := e.createRun(params)
	claimed, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w1", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || claimed.ID != run.ID {
		e.t.Fatalf("claim: %v %v", ok, err)
	}
	tok, _, err := e.api.MintRunToken(ctx, store.FenceOf(claimed), time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	tk := e.as(tok)
	st, b := tk.do("POST", "/api/v1/runs/"+run.ID+"/record", wire.Record{BatchID: "start-" + run.ID, Ops: []wire.Op{
		{Create: &flow.RunRecord{ID: run.ID, Kind: flow.KindFlow, Name: "vlan", FlowRunID: run.ID, Created: time.Now()}},
		{RunID: run.ID, State: state(flow.Running())},
	}})
	if st != 200 || len(decodeAs[wire.Recorded](e.t, b).Errors) != 0 {
		e.t.Fatalf("start run: %d %s", st, b)
	}
	return claimed, tk
}

// completedTask records a completed task run of flow run fr with a
// result, cached under cacheKey when set.
func completedTask(fr, id, key, cacheKey, value string) []wire.Op {
	return []wire.Op{
		{Create: &flow.RunRecord{ID: id, Kind: flow.KindTask, Name: "t", FlowRunID: fr, ParentID: fr, TaskKey: key, Created: time.Now()}},
		{RunID: id, State: state(flow.Pending())},
		{RunID: id, State: state(flow.Running())},
		{RunID: id, State: state(flow.Completed()), Result: &wire.Result{FlowRunID: fr, TaskKey: key, CacheKey: cacheKey, Value: json.RawMessage(value)}},
	}
}

func opErrors(t *testing.T, b []byte) map[int]wire.OpError {
	t.Helper()
	out := map[int]wire.OpError{}
	for _, oe := range decodeAs[wire.Recorded](t, b).Errors {
		out[oe.Index] = oe
	}
	return out
}

// TestTokenCacheIsPerFlow reproduces the cache attack: a token of one
// flow wrote another flow's cache entries (and read any), and ?now= in
// the past read expired entries.
func TestTokenCacheIsPerFlow(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx := context.Background()
	run, tok := e.runningRun(`{"device":"a","vlan":1}`)
	own := flowext.CacheNamespace("vlan") + "task:t/abc"
	other := flowext.CacheNamespace("f5-as3") + "task:read-tenants/abc"
	legacy := "task:read-tenants/abc"
	ops := append(completedTask(run.ID, flow.NewID(), "t/1", own, `"mine"`), completedTask(run.ID, flow.NewID(), "t/2", other, `"poison"`)...)
	ops = append(ops, completedTask(run.ID, flow.NewID(), "t/3", legacy, `"poison"`)...)
	st, b := tok.do("POST", "/api/v1/runs/"+run.ID+"/record", wire.Record{BatchID: "cache", Ops: ops})
	if st != 200 {
		t.Fatalf("record: %d %s", st, b)
	}
	errs := opErrors(t, b)
	if len(errs) != 2 || errs[7].Field != "result.cache_key" || errs[11].Field != "result.cache_key" {
		t.Fatalf("op errors %v: want the two foreign cache keys refused", errs)
	}
	for _, k := range []string{other, legacy} {
		if _, ok, _ := e.st.CachedResult(ctx, k, time.Now()); ok {
			t.Fatalf("cache entry %q written through a token of flow vlan", k)
		}
	}
	if _, ok, _ := e.st.CachedResult(ctx, own, time.Now()); !ok {
		t.Fatal("the flow's own cache entry is missing")
	}
	// Reads: its own namespace only.
	if st, b := tok.do("GET", "/api/v1/cache/"+url.PathEscape(own), nil); st != 200 {
		t.Fatalf("own cache key: %d %s", st, b)
	}
	if st, b := tok.do("GET", "/api/v1/cache/"+url.PathEscape(other), nil); st != 403 {
		t.Fatalf("another flow's cache key: %d %s", st, b)
	}
	// An entry that expired is not read with a now= in the past.
	expired := flowext.CacheNamespace("vlan") + "task:t/old"
	past := time.Now().Add(-time.Hour)
	if _, err := e.st.Record(ctx, []store.Op{{Create: &flow.RunRecord{ID: "x1", Kind: flow.KindTask, Name: "t", FlowRunID: run.ID, Created: past}},
		{RunID: "x1", State: flow.Pending()}, {RunID: "x1", State: flow.Running()},
		{RunID: "x1", State: flow.Completed(), Result: &flow.Result{CacheKey: expired, CacheExpires: past.Add(time.Minute), Value: json.RawMessage(`1`)}}}, nil); err != nil {
		t.Fatal(err)
	}
	q := "?now=" + url.QueryEscape(past.Format(time.RFC3339Nano))
	if st, b := tok.do("GET", "/api/v1/cache/"+url.PathEscape(expired)+q, nil); st != 404 {
		t.Fatalf("expired entry read with now= in the past: %d %s", st, b)
	}
}

// TestTokenCannotAdoptAnotherTaskRun reproduces the attack: a token
// created a task run with the ID of another run's task run, which put it
// in its scope, then moved it to Completed.
func TestTokenCannotAdoptAnotherTaskRun(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx := context.Background()
	run, tok := e.runningRun(`{"device":"a","vlan":1}`)
	victim := e.createRun(`{"device":"b","vlan":2}`)
	if _, err := e.st.Record(ctx, []store.Op{
		{Create: &flow.RunRecord{ID: "victim-task", Kind: flow.KindTask, Name: "push", FlowRunID: victim.ID, ParentID: victim.ID, TaskKey: "push/1", Created: time.Now()}},
		{RunID: "victim-task", State: flow.Pending()}, {RunID: "victim-task", State: flow.Running()},
	}, nil); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/runs/" + run.ID + "/record"
	st, b := tok.do("POST", path, wire.Record{BatchID: "adopt", Ops: []wire.Op{
		{Create: &flow.RunRecord{ID: "victim-task", Kind: flow.KindTask, Name: "push", FlowRunID: run.ID, ParentID: run.ID, TaskKey: "push/1", Created: time.Now()}},
	}})
	if st != 200 || opErrors(t, b)[0].Field != "id" {
		t.Fatalf("adopting another run's task run: %d %s, want op 0 refused naming id", st, b)
	}
	st, b = tok.do("POST", path, wire.Record{BatchID: "move", Ops: []wire.Op{{RunID: "victim-task", State: state(flow.Completed())}}})
	if st != 200 || opErrors(t, b)[0].Kind != wire.OpForbidden {
		t.Fatalf("moving another run's task run: %d %s, want forbidden", st, b)
	}
	trs, _ := e.st.TaskRuns(ctx, victim.ID)
	if len(trs) != 1 || trs[0].State.Name != flow.NameRunning {
		t.Fatalf("victim's task run: %+v, want still Running", trs)
	}
	// Nor may the token make its run another flow's (whose cache it
	// would then read).
	st, b = tok.do("POST", path, wire.Record{BatchID: "rename", Ops: []wire.Op{
		{Create: &flow.RunRecord{ID: run.ID, Kind: flow.KindFlow, Name: "f5-as3", FlowRunID: run.ID, Created: time.Now()}},
	}})
	if st != 200 || opErrors(t, b)[0].Field != "create.name" {
		t.Fatalf("renaming the run's flow: %d %s", st, b)
	}
}

// TestTokenRefusedOnceFinal: after its run is final, a token may add log
// lines but not change states or results (it could otherwise rewrite the
// snapshot a rollback restores from). A replayed final batch passes.
func TestTokenRefusedOnceFinal(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx := context.Background()
	run, tok := e.runningRun(`{"device":"a","vlan":1}`)
	path := "/api/v1/runs/" + run.ID + "/record"
	task := flow.NewID()
	done := state(flow.Completed())
	final := wire.Record{BatchID: "final", Ops: append(completedTask(run.ID, task, "snap/1", "", `"snapshot"`),
		wire.Op{RunID: run.ID, State: done, Result: &wire.Result{FlowRunID: run.ID, Value: json.RawMessage(`1`)}})}
	if st, b := tok.do("POST", path, final); st != 200 || len(opErrors(t, b)) != 0 {
		t.Fatalf("final batch: %d %s", st, b)
	}
	late := wire.Record{BatchID: "late", Ops: []wire.Op{
		{RunID: task, State: state(flow.Completed()), Result: &wire.Result{FlowRunID: run.ID, TaskKey: "snap/1", Value: json.RawMessage(`"forged"`)}},
	}, Logs: []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "hook ran"}}}
	late.Ops = append(late.Ops, completedTask(run.ID, flow.NewID(), "snap/2", "", `"forged"`)...)
	st, b := tok.do("POST", path, late)
	if errs := opErrors(t, b); st != 200 || len(errs) != len(late.Ops) || errs[0].Kind != wire.OpForbidden {
		t.Fatalf("writes after the final state: %d %s, want every op forbidden", st, b)
	}
	res, _ := e.st.RunResults(ctx, run.ID)
	if string(res["snap/1"]) != `"snapshot"` || res["snap/2"] != nil {
		t.Fatalf("results rewritten after the run ended: %v", res)
	}
	logs, _, _ := e.st.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	if len(logs) != 1 || logs[0].Message != "hook ran" {
		t.Fatalf("log lines after the final state: %+v, want the hook's line", logs)
	}
	// The flow's compensations run after its final state: they are
	// recorded (without results); a result on them is refused.
	comp := flow.NewID()
	compOps := []wire.Op{
		{Create: &flow.RunRecord{ID: comp, Kind: flow.KindTask, Name: "declare.compensate", FlowRunID: run.ID, ParentID: run.ID, Tags: []string{"compensation"}, Created: time.Now()}},
		{RunID: comp, State: state(flow.Pending())},
		{RunID: comp, State: state(flow.Running())},
		{RunID: comp, State: state(flow.Completed()), Result: &wire.Result{FlowRunID: run.ID, TaskKey: "x", Value: json.RawMessage(`1`)}},
		{RunID: comp, State: state(flow.Completed())},
	}
	st, b = tok.do("POST", path, wire.Record{BatchID: "compensate", Ops: compOps})
	if errs := opErrors(t, b); st != 200 || len(errs) != 1 || errs[3].Kind != wire.OpForbidden {
		t.Fatalf("compensation after the final state: %d %s, want only the result refused", st, b)
	}
	if trs, _ := e.st.TaskRuns(ctx, run.ID); len(trs) != 2 || trs[1].State.Name != flow.NameCompleted {
		t.Fatalf("task runs %+v, want the compensation Completed", trs)
	}
	// The final batch again (its answer lost, the server restarted and
	// forgot it): every op is a replay, nothing is refused.
	final.BatchID = "final-again"
	if st, b := tok.do("POST", path, final); st != 200 || len(opErrors(t, b)) != 0 {
		t.Fatalf("replayed final batch: %d %s", st, b)
	}
}

// TestTokenRenewal: a token is renewed while its run's lease is live and
// the run not final; a renewed token is of the same execution.
func TestTokenRenewal(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := newEnv(t, api.Options{Now: clock, TokenTTL: 10 * time.Minute})
	run, tok := e.runningRun(`{"device":"a","vlan":1}`)
	renew := "/api/v1/runs/" + run.ID + "/token/renew"
	st, b := tok.do("POST", renew, nil)
	if st != 200 {
		t.Fatalf("renew: %d %s", st, b)
	}
	fresh := decodeAs[wire.RunToken](t, b)
	if !fresh.Expires.Equal(now.Add(10*time.Minute).Truncate(time.Second)) || fresh.Token == tok.key {
		t.Fatalf("renewed token %+v", fresh)
	}
	other := e.createRun(`{"device":"b","vlan":2}`)
	if st, _ := tok.do("POST", "/api/v1/runs/"+other.ID+"/token/renew", nil); st != 403 {
		t.Fatalf("renewing for another run: %d", st)
	}
	if st, _ := e.do("POST", renew, nil); st != 400 {
		t.Fatalf("renew with a key: %d", st)
	}
	// The lease lapses (the worker died): no renewal, and the token dies
	// at its expiry.
	now = now.Add(2 * time.Minute)
	if st, b := e.as(fresh.Token).do("POST", renew, nil); st != 409 {
		t.Fatalf("renew after the lease lapsed: %d %s", st, b)
	}
	now = now.Add(9 * time.Minute)
	if st, _ := e.as(fresh.Token).do("GET", "/api/v1/runs/"+run.ID+"/state", nil); st != 401 {
		t.Fatalf("expired token answered %d", st)
	}
}

// TestRunTokenExpiry: a token's holder reads when it expires from the
// token itself (to schedule its renewals), as minted; anything else is
// not a token.
func TestRunTokenExpiry(t *testing.T) {
	e := newEnv(t, api.Options{})
	run := e.createRun(`{"device":"a","vlan":1}`)
	claimed, ok, err := e.st.ClaimRun(context.Background(), store.Claim{Pool: "default", Worker: "w1", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || claimed.ID != run.ID {
		t.Fatalf("claim: %v %v", ok, err)
	}
	tok, exp, err := e.api.MintRunToken(context.Background(), store.FenceOf(claimed), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := wire.RunTokenExpiry(tok); !ok || !got.Equal(exp) {
		t.Fatalf("RunTokenExpiry = %v %v, want %v", got, ok, exp)
	}
	for _, bad := range []string{"", "na_key", "nrt1.", "nrt1.!!.sig", "nrt1.e30.sig"} {
		if _, ok := wire.RunTokenExpiry(bad); ok {
			t.Errorf("RunTokenExpiry(%q) ok", bad)
		}
	}
}
