package worker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

type ticket struct {
	Ticket string `json:"ticket"`
}

// gated is a flow with a task before an approval gate and a count of the
// changes applied after it.
type gated struct {
	prepared, applied atomic.Int32
	def               *flow.Flow[greet, string]
}

func newGated(opts ...flow.InputOption) *gated {
	g := &gated{}
	prep := task.New("prepare", func(_ context.Context, s string) (string, error) {
		g.prepared.Add(1)
		return "+ vlan 10 on " + s, nil
	})
	g.def = flow.New("gated", func(ctx context.Context, p greet) (string, error) {
		diff, err := prep.Run(ctx, p.Name)
		if err != nil {
			return "", err
		}
		t, err := flow.WaitForInput[ticket](ctx, flow.Prompt{Text: "apply the change?", Diff: diff, Devices: []string{p.Name}}, opts...)
		if err != nil {
			return "", err
		}
		g.applied.Add(1)
		return "applied " + t.Ticket, nil
	})
	return g
}

func (e *env) inputs(t testing.TB) store.Inputs {
	in, ok := e.st.(store.Inputs)
	if !ok {
		t.Fatalf("%T has no approval gates", e.st)
	}
	return in
}

// createAs creates a run of dep as the API key named key.
func (e *env) createAs(t testing.TB, dep, params, key string) string {
	t.Helper()
	run, _, err := e.st.CreateRun(context.Background(), store.RunSpec{Deployment: dep, Parameters: json.RawMessage(params),
		Origin: store.Origin{Kind: store.OriginAPI, APIKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	return run.ID
}

// waitRequest waits until run id waits for input and returns the request.
func (e *env) waitRequest(t testing.TB, id string) store.InputInfo {
	t.Helper()
	var info store.InputInfo
	waitFor(t, "run "+id+" to wait for input", func() bool {
		var err error
		info, err = e.inputs(t).GetInput(context.Background(), id, "")
		return err == nil && info.Answer == nil && info.State.Name == flow.NameAwaitingInput
	})
	return info
}

// answer checks who may answer as the API does, then answers.
func (e *env) answer(t testing.TB, info store.InputInfo, who flow.Responder, a flow.Answer) error {
	t.Helper()
	if err := store.CheckAnswer(info, who, a); err != nil {
		return err
	}
	a.By, a.At = who.Key, time.Now()
	_, err := e.inputs(t).AnswerInput(context.Background(), info.RunID, info.Key, a)
	return err
}

func historyNames(t testing.TB, st store.Store, id string) string {
	t.Helper()
	hist, err := st.RunHistory(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range hist {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// A short wait keeps the attempt: the answer reaches the waiting
// execution, which applies; four-eyes refuses the run's creator.
func TestApprovalInAttempt(t *testing.T) {
	e := newEnv(t)
	g := newGated(flow.FourEyes())
	e.deploy(t, store.Deployment{Name: "gated", Flow: "gated"})
	l := e.inProcess(t, g.def)
	l.SuspendAfter, l.InputPoll = time.Hour, 5*time.Millisecond
	w, _ := e.startWorker(t, Options{Launcher: l, Name: "w1"})
	id := e.createAs(t, "gated", `{"name":"r1"}`, "alice")
	w.Wake()
	info := e.waitRequest(t, id)
	if info.Prompt.Diff != "+ vlan 10 on r1" || info.Creator != "alice" || !strings.Contains(string(info.Schema), "ticket") {
		t.Fatalf("request %+v", info)
	}
	var ae *flow.AnswererError
	if err := e.answer(t, info, flow.Responder{Key: "alice"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"C1"}`)}); !errors.As(err, &ae) {
		t.Fatalf("answer by the run's creator: %v, want an AnswererError (four-eyes)", err)
	}
	if err := e.answer(t, info, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"C1"}`)}); err != nil {
		t.Fatal(err)
	}
	run := e.waitFinal(t, id)
	if run.State.Name != flow.NameCompleted || g.applied.Load() != 1 {
		t.Fatalf("run %s, applied %d", run.State, g.applied.Load())
	}
	if h := historyNames(t, e.st, id); h != "Scheduled,Pending,Running,AwaitingInput,Running,Completed" {
		t.Fatalf("history %s: want the attempt kept through the wait", h)
	}
}

// A long wait suspends the run: its worker slot is free (a worker of
// concurrency 1 runs another run meanwhile), the worker restarts, and the
// answer resumes the run on the new worker, reusing the task before the
// gate.
func TestApprovalSuspendedAcrossRestart(t *testing.T) {
	e := newEnv(t)
	g := newGated()
	hello := flow.New("hello", func(_ context.Context, p greet) (string, error) { return "hello " + p.Name, nil })
	e.deploy(t, store.Deployment{Name: "gated", Flow: "gated"})
	e.deploy(t, store.Deployment{Name: "hello", Flow: "hello"})
	l := e.inProcess(t, g.def, hello)
	l.SuspendAfter = time.Nanosecond
	w, stop := e.startWorker(t, Options{Launcher: l, Name: "w1", Concurrency: 1})
	id := e.createAs(t, "gated", `{"name":"r1"}`, "alice")
	w.Wake()
	var run store.FlowRun
	waitFor(t, "the run to be suspended", func() bool {
		var err error
		run, err = e.st.GetRun(context.Background(), id)
		return err == nil && run.State.Name == flow.NameAwaitingInput && run.LeaseExpires.IsZero() && run.Worker == ""
	})
	other := e.createRun(t, "hello", `{"name":"x"}`)
	w.Wake()
	if r := e.waitFinal(t, other); r.State.Name != flow.NameCompleted {
		t.Fatalf("another run while one is suspended: %s", r.State)
	}
	stop()

	info := e.waitRequest(t, id)
	if err := e.answer(t, info, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"C2"}`)}); err != nil {
		t.Fatal(err)
	}
	l2 := e.inProcess(t, g.def, hello)
	w2, _ := e.startWorker(t, Options{Launcher: l2, Name: "w2"})
	w2.Wake()
	run = e.waitFinal(t, id)
	if run.State.Name != flow.NameCompleted || run.Worker != "w2" || run.Attempt != 1 {
		t.Fatalf("run %s on %s attempt %d, want Completed on w2 in attempt 1", run.State, run.Worker, run.Attempt)
	}
	if g.prepared.Load() != 1 || g.applied.Load() != 1 {
		t.Fatalf("prepared %d times, applied %d: want the task before the gate reused", g.prepared.Load(), g.applied.Load())
	}
	res, _, _ := e.st.RunResult(context.Background(), id)
	if string(res) != `"applied C2"` {
		t.Fatalf("result %s", res)
	}
	if h := historyNames(t, e.st, id); !strings.Contains(h, "AwaitingInput,Resuming,Pending,Running,Completed") {
		t.Fatalf("history %s", h)
	}
}

// Rejected: Cancelled with the reason and who; nothing applied. A
// suspended run whose deadline passes resumes to end as its gate says.
func TestApprovalRejectedAndTimedOut(t *testing.T) {
	e := newEnv(t)
	g := newGated(flow.InputTimeout(time.Hour, flow.TimeoutFail))
	e.deploy(t, store.Deployment{Name: "gated", Flow: "gated"})
	l := e.inProcess(t, g.def)
	l.SuspendAfter = time.Nanosecond
	w, _ := e.startWorker(t, Options{Launcher: l, Name: "w1"})
	rejected := e.createAs(t, "gated", `{"name":"r1"}`, "alice")
	late := e.createAs(t, "gated", `{"name":"r2"}`, "alice")
	w.Wake()
	info := e.waitRequest(t, rejected)
	if err := e.answer(t, info, flow.Responder{Key: "bob"}, flow.Answer{}); err == nil {
		t.Fatal("a rejection without a reason was accepted")
	}
	if err := e.answer(t, info, flow.Responder{Key: "bob"}, flow.Answer{Reason: "freeze week"}); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	run := e.waitFinal(t, rejected)
	if run.State.Name != flow.NameCancelled || !strings.Contains(run.State.Message, "bob") || !strings.Contains(run.State.Message, "freeze week") {
		t.Fatalf("rejected run %s", run.State)
	}

	e.waitRequest(t, late)
	waitFor(t, "the late run to be suspended", func() bool {
		r, err := e.st.GetRun(context.Background(), late)
		return err == nil && r.LeaseExpires.IsZero()
	})
	ids, err := e.inputs(t).ResumeDueInputs(context.Background(), time.Now().Add(2*time.Hour))
	if err != nil || len(ids) != 1 || ids[0] != late {
		t.Fatalf("resumed %v %v", ids, err)
	}
	w.Wake()
	run = e.waitFinal(t, late)
	if run.State.Name != flow.NameFailed || !strings.Contains(run.State.Message, "nobody answered") {
		t.Fatalf("timed-out run %s", run.State)
	}
	if g.applied.Load() != 0 {
		t.Fatalf("applied %d changes, want none", g.applied.Load())
	}
}
