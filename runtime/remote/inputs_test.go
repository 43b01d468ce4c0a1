package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/remote"
	"github.com/netauto-dev/netauto/runtime/store"
)

// A flow binary's approval gate through the API with its run token: the
// request is stored, the run waits (answered in the attempt) or is
// suspended, and the token itself cannot answer.
func TestInputsThroughServer(t *testing.T) {
	st, c, run := setup(t, nil)
	ctx := context.Background()
	in := st.(store.Inputs)
	type ticket struct {
		Ticket string `json:"ticket"`
	}
	gated := flow.New("backup", func(ctx context.Context, p params) (string, error) {
		tk, err := flow.WaitForInput[ticket](ctx, flow.Prompt{Text: "back up " + p.Device})
		return tk.Ticket, err
	})
	rec := remote.NewRecorder(c, run.ID, store.RecorderOptions{})
	defer rec.Close()
	eng := &flow.Engine{Recorder: rec, Results: rec, Inputs: &remote.InputBroker{Client: c, Poll: 5 * time.Millisecond}, SuspendAfter: time.Nanosecond}
	_, err := gated.Execute(flow.WithEngine(ctx, eng), flow.Execution{RunID: run.ID, Params: json.RawMessage(`{"device":"sw1"}`), State: run.State})
	var se *flow.SuspendedError
	if !errors.As(err, &se) {
		t.Fatalf("execute: %v, want suspended", err)
	}
	info, err := in.GetInput(ctx, run.ID, "")
	if err != nil || info.Prompt.Text != "back up sw1" || info.State.Name != flow.NameAwaitingInput {
		t.Fatalf("stored request %+v %v", info, err)
	}
	// The run's token may not answer its own gate.
	if _, err := c.Approve(ctx, run.ID, "", json.RawMessage(`{"ticket":"T"}`)); err == nil {
		t.Fatal("a run token approved its own run")
	}
	// Nor record requests of another run.
	if _, _, err := c.RequestInput(ctx, flow.InputRequest{RunID: "other", Key: "k", OnTimeout: flow.TimeoutFail}); err == nil {
		t.Fatal("a run token recorded a request of another run")
	}
	if _, err := in.AnswerInput(ctx, run.ID, info.Key, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"T-1"}`), By: "cab"}); err != nil {
		t.Fatal(err)
	}
	a, err := (&remote.InputBroker{Client: c}).WaitInput(ctx, run.ID, info.Key)
	if err != nil || a == nil || a.By != "cab" {
		t.Fatalf("answer read back with the token: %+v %v", a, err)
	}
	if a, err := c.ExpireInput(ctx, run.ID, info.Key, time.Now()); err != nil || a.TimedOut {
		t.Fatalf("expire after the answer: %+v %v, want the answer to stand", a, err)
	}
}
