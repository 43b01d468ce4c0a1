package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// inputsOf returns s's store.Inputs, failing the test when the driver has
// none.
func inputsOf(t *testing.T, s store.Store) store.Inputs {
	t.Helper()
	in, ok := s.(store.Inputs)
	if !ok {
		t.Fatalf("%T does not implement store.Inputs (approval gates)", s)
	}
	return in
}

// gatedRun creates, claims and pauses a run at an approval gate, as the
// engine does; it returns the claimed run and the request.
func gatedRun(t *testing.T, s store.Store, deadline time.Time) (store.FlowRun, flow.InputRequest) {
	t.Helper()
	in := inputsOf(t, s)
	must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0), Origin: store.Origin{Kind: store.OriginAPI, APIKey: "alice"}}))
	run, ok := claim(t, s, "w1", t0)
	if !ok {
		t.Fatal("nothing claimed")
	}
	fctx := store.WithFence(ctx(t), store.FenceOf(run))
	must(s.SetRunState(fctx, run.ID, flow.Running(), nil))
	req := flow.InputRequest{RunID: run.ID, Key: "input/approval", Prompt: flow.Prompt{Text: "push", Diff: "+ vlan 10", Devices: []string{"r1"}},
		Schema: json.RawMessage(`{"type":"object"}`), Answerers: flow.Answerers{NotCreator: true, Roles: []string{"approver"}},
		OnTimeout: flow.TimeoutCancel, Created: t0, Deadline: deadline}
	got, ans := must2(in.RequestInput(fctx, req))
	if ans != nil || got.Key != req.Key {
		t.Fatalf("first request: %+v, answer %+v", got, ans)
	}
	// The same gate met again (a resumed execution) keeps the first request.
	again := req
	again.Deadline = deadline.Add(time.Hour)
	if got, _ := must2(in.RequestInput(fctx, again)); !got.Deadline.Equal(deadline) {
		t.Fatalf("request met again: deadline %s, want the first one %s", got.Deadline, deadline)
	}
	must(s.SetRunState(fctx, run.ID, flow.State{Type: flow.TypePaused, Name: flow.NameAwaitingInput, Message: "awaiting input"}, nil))
	return run, req
}

// testInputs: a suspended run costs no pool slot, is listed with its
// prompt and creator, resumes (Resuming, then claimable) once answered,
// and an answer is recorded once.
func testInputs(t *testing.T, o Opener) {
	s := Open(t, o)
	in := inputsOf(t, s)
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: "default", Type: "process", ConcurrencyLimit: 1}))
	deploy(t, s, store.Deployment{Name: "d"})
	run, req := gatedRun(t, s, time.Time{})

	// Answered while its execution still holds it: stored, the run stays
	// Paused for the execution to read the answer.
	list := must(in.ListInputs(ctx(t), store.InputFilter{}))
	if len(list) != 1 || list[0].RunID != run.ID || list[0].Creator != "alice" || list[0].Prompt.Diff != "+ vlan 10" ||
		list[0].State.Name != flow.NameAwaitingInput || !list[0].Answerers.NotCreator {
		t.Fatalf("pending inputs %+v", list)
	}
	// Suspended: lease and worker released; another run of the pool
	// (limit 1) may be claimed.
	sus := must(in.SuspendRun(ctx(t), store.FenceOf(run)))
	if sus.State.Name != flow.NameAwaitingInput || !sus.LeaseExpires.IsZero() || sus.Worker != "" {
		t.Fatalf("suspended run: state %s lease %s worker %q", sus.State.Name, sus.LeaseExpires, sus.Worker)
	}
	must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	other, ok := claim(t, s, "w2", t0.Add(time.Second))
	if !ok || other.ID == run.ID {
		t.Fatalf("a suspended run held the pool's only slot (claimed %v %s)", ok, other.ID)
	}
	if _, ok := claim(t, s, "w3", t0.Add(2*time.Second)); ok {
		t.Fatal("a suspended run was claimed before its answer")
	}
	info := must(in.GetInput(ctx(t), run.ID, ""))
	if info.Key != req.Key || info.Answer != nil {
		t.Fatalf("GetInput: %+v", info)
	}
	_, err := in.GetInput(ctx(t), run.ID, "input/other")
	wantNotFound(t, err)

	a := flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"CHG-1"}`), By: "bob", At: t0.Add(time.Minute)}
	got := must(in.AnswerInput(ctx(t), run.ID, req.Key, a))
	if got.Answer == nil || !got.Answer.Approved || got.Answer.By != "bob" || string(got.Answer.Input) != `{"ticket":"CHG-1"}` {
		t.Fatalf("answered: %+v", got.Answer)
	}
	if got.State.Name != flow.NameResuming {
		t.Fatalf("answered suspended run is %s, want Resuming", got.State.Name)
	}
	if _, err := in.AnswerInput(ctx(t), run.ID, req.Key, a); !errors.Is(err, store.ErrAnswered) {
		t.Fatalf("second answer: %v, want ErrAnswered", err)
	}
	if list := must(in.ListInputs(ctx(t), store.InputFilter{})); len(list) != 0 {
		t.Fatalf("answered input still listed: %+v", list)
	}
	// The pool's slot is free once the other run finishes.
	must(s.SetRunState(store.WithFence(ctx(t), store.FenceOf(other)), other.ID, flow.Cancelled("done"), nil))
	res, ok := claim(t, s, "w3", t0.Add(2*time.Minute))
	if !ok || res.ID != run.ID || !store.Resumed(res) || res.Attempt != run.Attempt {
		t.Fatalf("claimed %v %s state %v attempt %d: want the answered run, resumed, same attempt", ok, res.ID, res.State, res.Attempt)
	}
	ans := must(in.InputAnswer(ctx(t), run.ID, req.Key))
	if ans == nil || ans.By != "bob" {
		t.Fatalf("answer read back by the resumed execution: %+v", ans)
	}
	hist := must(s.RunHistory(ctx(t), run.ID))
	found := false
	for _, h := range hist {
		if h.Name == flow.NameResuming && h.Message == "input input/approval approved by bob" {
			found = true
		}
	}
	if !found {
		t.Fatalf("history %+v does not say who answered", hist)
	}
}

// testInputsDeadline: a suspended run whose deadline passes is resumed
// with the timeout recorded; an unanswered run is cancelled at once.
func testInputsDeadline(t *testing.T, o Opener) {
	s := Open(t, o)
	in := inputsOf(t, s)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d"})
	run, req := gatedRun(t, s, t0.Add(time.Hour))
	must(in.SuspendRun(ctx(t), store.FenceOf(run)))
	if ids := must(in.ResumeDueInputs(ctx(t), t0.Add(time.Minute))); len(ids) != 0 {
		t.Fatalf("resumed %v before the deadline", ids)
	}
	if ids := must(in.ResumeDueInputs(ctx(t), t0.Add(2*time.Hour))); len(ids) != 1 || ids[0] != run.ID {
		t.Fatalf("resumed %v, want %s", ids, run.ID)
	}
	a := must(in.InputAnswer(ctx(t), run.ID, req.Key))
	if a == nil || !a.TimedOut {
		t.Fatalf("answer after the deadline: %+v", a)
	}
	if r := must(s.GetRun(ctx(t), run.ID)); r.State.Name != flow.NameResuming {
		t.Fatalf("state %s, want Resuming", r.State.Name)
	}
	// ExpireInput keeps the answer that stands.
	if a2 := must(in.ExpireInput(ctx(t), run.ID, req.Key, t0.Add(3*time.Hour))); !a2.At.Equal(a.At) {
		t.Fatalf("expired twice: %+v then %+v", a, a2)
	}

	must(s.CancelRun(ctx(t), run.ID, "done with it"))
	run2, _ := gatedRun(t, s, time.Time{})
	must(in.SuspendRun(ctx(t), store.FenceOf(run2)))
	st := must(s.CancelRun(ctx(t), run2.ID, "not needed"))
	if st.Name != flow.NameCancelled {
		t.Fatalf("cancelled suspended run is %s, want Cancelled at once (no worker holds it)", st.Name)
	}
	// Pruned with their runs.
	if n := must(s.PruneRuns(ctx(t), time.Now().Add(time.Hour))); n != 2 {
		t.Fatalf("pruned %d runs, want 2", n)
	}
	_, err := in.GetInput(ctx(t), run2.ID, "")
	wantNotFound(t, err)
	// A request of an unknown run, or a bad one, is refused.
	_, _, err = in.RequestInput(ctx(t), flow.InputRequest{RunID: "nope", Key: "k", OnTimeout: flow.TimeoutFail})
	wantNotFound(t, err)
	_, _, err = in.RequestInput(ctx(t), flow.InputRequest{RunID: "nope", Key: "k", OnTimeout: "explode"})
	wantInvalid(t, err, "on_timeout")
}
