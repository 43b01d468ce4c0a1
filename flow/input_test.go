package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
)

// gate is a flow with one step before an approval gate and one after: the
// step before registers a compensation, the step after counts applies.
type gate struct {
	before, applied, undone atomic.Int32
	got                     atomic.Value // the input delivered
}

type change struct {
	Ticket string `json:"ticket"`
	Force  bool   `json:"force,omitempty"`
}

func (g *gate) flow(opts ...flow.InputOption) *flow.Flow[string, string] {
	return flow.New("gated", func(ctx context.Context, dev string) (string, error) {
		prior, ok := flowext.PriorResult(ctx, flowext.TaskKey(ctx, "prepare", dev))
		if !ok {
			g.before.Add(1)
			prior = json.RawMessage(`"prepared"`)
			// A step before the gate that the engine keeps for reuse, as
			// the task package does.
			_, tr, err := flowext.StartRun(ctx, flow.RunRecord{Kind: flow.KindTask, Name: "prepare", RunName: "prepare", TaskKey: "prepare/" + dev})
			if err != nil {
				return "", err
			}
			_ = flowext.SetState(ctx, tr, flow.Running())
			if err := flowext.Finish(ctx, tr, flow.Completed(), &flow.Result{TaskKey: "prepare/" + dev, Value: prior}); err != nil {
				return "", err
			}
			flowext.AddCompensation(ctx, flowext.Compensation{Key: "prepare", Name: "undo-prepare", RunName: "undo", Fn: func(context.Context) error {
				g.undone.Add(1)
				return nil
			}})
		}
		in, err := flow.WaitForInput[change](ctx, flow.Prompt{Text: "push to " + dev, Diff: "+ vlan 10", Devices: []string{dev}}, opts...)
		if err != nil {
			return "", err
		}
		g.got.Store(in)
		g.applied.Add(1)
		return "applied " + in.Ticket, nil
	})
}

// setup returns an engine context with memory stores and a channel of
// new input requests.
func setup(t *testing.T, suspendAfter int) (context.Context, *flow.MemoryStore, *flow.MemoryInputs, chan flow.InputRequest) {
	t.Helper()
	m := flow.NewMemoryStore()
	in := flow.NewMemoryInputs()
	reqs := make(chan flow.InputRequest, 8)
	in.OnRequest = func(r flow.InputRequest) { reqs <- r }
	eng := &flow.Engine{Recorder: m, Inputs: in}
	if suspendAfter > 0 {
		eng.SuspendAfter = 1 // suspend at once
	}
	return flow.WithEngine(context.Background(), eng), m, in, reqs
}

func names(h []flow.State) string {
	var out []string
	for _, s := range h {
		out = append(out, s.Name)
	}
	return strings.Join(out, ",")
}

func TestWaitForInputApproved(t *testing.T) {
	ctx, m, in, reqs := setup(t, 0)
	g := &gate{}
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = g.flow().Run(ctx, "r1")
		done <- err
	}()
	req := <-reqs
	if req.Key != "input/approval" || req.Prompt.Diff != "+ vlan 10" || !strings.Contains(string(req.Schema), `"ticket"`) {
		t.Fatalf("request %+v: want key input/approval, the diff and the input's schema", req)
	}
	if err := in.Answer(ctx, req.RunID, req.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"CHG-1"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out != "applied CHG-1" || g.applied.Load() != 1 || g.undone.Load() != 0 {
		t.Fatalf("out %q applied %d undone %d", out, g.applied.Load(), g.undone.Load())
	}
	h := m.History(req.RunID)
	if got := names(h); got != "Pending,Running,AwaitingInput,Running,Completed" {
		t.Fatalf("history %s", got)
	}
	if h[3].Message != "input input/approval approved by bob" {
		t.Fatalf("resume message %q: want who answered", h[3].Message)
	}
}

func TestWaitForInputRejected(t *testing.T) {
	ctx, m, in, reqs := setup(t, 0)
	g := &gate{}
	done := make(chan error, 1)
	go func() { _, err := g.flow().Run(ctx, "r1"); done <- err }()
	req := <-reqs
	if err := in.Answer(ctx, req.RunID, req.Key, flow.Responder{Key: "carol"}, flow.Answer{Reason: "not in the change window"}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var re *flow.RejectedError
	if !errors.As(err, &re) || re.By != "carol" || re.Reason != "not in the change window" {
		t.Fatalf("error %v: want a RejectedError by carol with the reason", err)
	}
	h := m.History(req.RunID)
	last := h[len(h)-1]
	if last.Name != flow.NameCancelled || !strings.Contains(last.Message, "carol") || !strings.Contains(last.Message, "change window") {
		t.Fatalf("final state %v: want Cancelled naming who and why", last)
	}
	if g.applied.Load() != 0 {
		t.Fatal("a rejected change was applied")
	}
	if g.undone.Load() != 1 {
		t.Fatalf("compensation of the step before the gate ran %d times, want 1", g.undone.Load())
	}
}

func TestWaitForInputTimeout(t *testing.T) {
	for _, then := range []flow.OnTimeout{flow.TimeoutFail, flow.TimeoutCancel} {
		t.Run(string(then), func(t *testing.T) {
			ctx, m, _, reqs := setup(t, 0)
			g := &gate{}
			_, err := g.flow(flow.InputTimeout(1, then)).Run(ctx, "r1")
			var te *flow.InputTimeoutError
			if !errors.As(err, &te) {
				t.Fatalf("error %v: want an InputTimeoutError", err)
			}
			req := <-reqs
			h := m.History(req.RunID)
			want := flow.NameFailed
			if then == flow.TimeoutCancel {
				want = flow.NameCancelled
			}
			if last := h[len(h)-1]; last.Name != want {
				t.Fatalf("history %s: want %s", names(h), want)
			}
			if strings.Contains(names(h), "Retrying") || g.applied.Load() != 0 {
				t.Fatalf("history %s applied %d: a timed-out approval is not retried nor applied", names(h), g.applied.Load())
			}
		})
	}
}

func TestWaitForInputAnswerers(t *testing.T) {
	ctx, _, in, reqs := setup(t, 0)
	in.Creator = func(string) string { return "alice" }
	g := &gate{}
	done := make(chan error, 1)
	go func() {
		_, err := g.flow(flow.FourEyes(), flow.AnsweredBy("approver"), flow.AnsweredByKeys("alice", "bob", "dave")).Run(ctx, "r1")
		done <- err
	}()
	req := <-reqs
	ok := flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"CHG-2"}`)}
	for _, c := range []struct {
		who  flow.Responder
		want string
	}{
		{flow.Responder{Key: "alice", Roles: []string{"approver"}}, "four-eyes"},
		{flow.Responder{Key: "eve", Roles: []string{"approver"}}, "not one of the keys"},
		{flow.Responder{Key: "dave", Roles: []string{"operator"}}, "none of the roles"},
	} {
		err := in.Answer(ctx, req.RunID, req.Key, c.who, ok)
		var ae *flow.AnswererError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("answer by %+v: %v, want an AnswererError saying %q", c.who, err, c.want)
		}
	}
	if err := in.Answer(ctx, req.RunID, req.Key, flow.Responder{Key: "bob", Roles: []string{"approver"}}, ok); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || g.applied.Load() != 1 {
		t.Fatalf("run: %v, applied %d", err, g.applied.Load())
	}
	if err := in.Answer(ctx, req.RunID, req.Key, flow.Responder{Key: "bob", Roles: []string{"approver"}}, ok); !errors.Is(err, flow.ErrAnswered) {
		t.Fatalf("second answer: %v, want ErrAnswered", err)
	}
}

func TestWaitForInputBadInput(t *testing.T) {
	ctx, m, in, reqs := setup(t, 0)
	g := &gate{}
	done := make(chan error, 1)
	go func() { _, err := g.flow().Run(ctx, "r1"); done <- err }()
	req := <-reqs
	if err := in.Answer(ctx, req.RunID, req.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":7}`)}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var ie *flow.InputError
	if !errors.As(err, &ie) || ie.Field != "ticket" {
		t.Fatalf("error %v: want an InputError naming the field ticket", err)
	}
	if h := m.History(req.RunID); h[len(h)-1].Name != flow.NameFailed || g.applied.Load() != 0 {
		t.Fatalf("history %s applied %d", names(h), g.applied.Load())
	}
}

// A run suspended in WaitForInput ends its attempt Paused; executed again
// (as the runtime resumes it) it reuses the step before the gate and gets
// the answer given meanwhile.
func TestWaitForInputSuspendResume(t *testing.T) {
	ctx, m, in, reqs := setup(t, 1)
	g := &gate{}
	f := g.flow()
	const id = "run-suspended"
	_, err := f.Execute(ctx, flow.Execution{RunID: id, Params: json.RawMessage(`"r1"`)})
	var se *flow.SuspendedError
	if !errors.As(err, &se) || se.RunID != id {
		t.Fatalf("first execution: %v, want a SuspendedError", err)
	}
	h := m.History(id)
	if last := h[len(h)-1]; last.Name != flow.NameAwaitingInput || last.Type != flow.TypePaused {
		t.Fatalf("history %s: want the run left Paused (AwaitingInput)", names(h))
	}
	if g.undone.Load() != 0 {
		t.Fatal("a suspended run was compensated")
	}
	req := <-reqs
	if err := in.Answer(ctx, id, req.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"CHG-3"}`)}); err != nil {
		t.Fatal(err)
	}
	// What the runtime does: Resuming, claimed (Pending), executed again.
	for _, s := range []flow.State{{Type: flow.TypeScheduled, Name: flow.NameResuming}, flow.Pending()} {
		if err := flow.CheckTransition(m.History(id)[len(m.History(id))-1], s); err != nil {
			t.Fatal(err)
		}
		if err := m.SetState(ctx, id, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.Execute(ctx, flow.Execution{RunID: id, Params: json.RawMessage(`"r1"`), State: flow.Pending(), Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `"applied CHG-3"` || g.before.Load() != 1 || g.applied.Load() != 1 {
		t.Fatalf("out %s, step before the gate ran %d times, applied %d", out, g.before.Load(), g.applied.Load())
	}
	if len(in.Pending()) != 0 {
		t.Fatal("a request is still pending")
	}
}

func TestWaitForInputOutsideFlow(t *testing.T) {
	_, err := flow.WaitForInput[struct{}](context.Background(), flow.Prompt{Text: "x"})
	if err == nil || !flow.IsNonRetryable(err) {
		t.Fatalf("outside a flow run: %v", err)
	}
	if _, err := flow.WaitForInput[struct{}](context.Background(), flow.Prompt{}, flow.InputTimeout(0, flow.TimeoutFail)); err == nil {
		t.Fatal("a zero timeout was accepted")
	}
}

// OnAwaitingInput hooks hear of a new request once, with its prompt; a
// resumed execution meeting it again does not notify again.
func TestWaitForInputNotifies(t *testing.T) {
	ctx, m, in, reqs := setup(t, 1)
	var heard []flow.HookEvent
	f := flow.New("notified", func(ctx context.Context, _ struct{}) (string, error) {
		_, err := flow.WaitForInput[struct{}](ctx, flow.Prompt{Text: "go?", Devices: []string{"r1"}})
		return "done", err
	}, flow.OnAwaitingInput(func(_ context.Context, ev flow.HookEvent) error {
		heard = append(heard, ev)
		return nil
	}))
	if _, err := f.Execute(ctx, flow.Execution{RunID: "n1"}); err == nil {
		t.Fatal("want a SuspendedError")
	}
	req := <-reqs
	if len(heard) != 1 || heard[0].Input == nil || heard[0].Input.Prompt.Text != "go?" || heard[0].State.Name != flow.NameAwaitingInput || heard[0].Run.ID != "n1" {
		t.Fatalf("heard %+v", heard)
	}
	for _, s := range []flow.State{{Type: flow.TypeScheduled, Name: flow.NameResuming}, flow.Pending()} {
		if err := m.SetState(ctx, "n1", s, nil); err != nil {
			t.Fatal(err)
		}
	}
	var se *flow.SuspendedError
	if _, err := f.Execute(ctx, flow.Execution{RunID: "n1", State: flow.Pending(), Resume: true}); !errors.As(err, &se) {
		t.Fatalf("resumed before the answer: %v, want a SuspendedError again", err)
	}
	if len(heard) != 1 {
		t.Fatalf("notified %d times, want once", len(heard))
	}
	if err := in.Answer(ctx, "n1", req.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
}
