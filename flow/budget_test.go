package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netauto-dev/netauto/flow"
)

// TestRetryBudgetsApart: the runtime's retries of a crashed run (its
// execution number) and the flow's own retry policy are two budgets. A
// run in its second execution of four still gets the flow's retry after
// a failure, and each state message says which budget a retry is from;
// before, the execution number was compared with the flow's retries
// ("attempt 2 of 2", then no retry: "attempt 2 of 1" for a flow without
// retries).
func TestRetryBudgetsApart(t *testing.T) {
	m := flow.NewMemoryStore()
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: m})
	var calls atomic.Int32
	f := flow.New("push", func(ctx context.Context, _ struct{}) (int, error) {
		if calls.Add(1) == 1 {
			return 0, errors.New("device busy")
		}
		return 1, nil
	}, flow.WithRetries(1))
	if _, err := f.Execute(ctx, flow.Execution{RunID: "r", State: flow.Pending(), Attempt: 2, Attempts: 4, Resume: true}); err != nil {
		t.Fatalf("Execute = %v, want the flow's retry to pass", err)
	}
	var got []string
	for _, s := range m.History("r") {
		got = append(got, s.Name+": "+s.Message)
	}
	want := []string{
		"Retrying: run attempt 2 of 4 after a crash (run retries)",
		"AwaitingRetry: device busy",
		"Retrying: attempt 2 of 2 (flow retries)",
		"Completed: ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A flow without retries in its second execution: one attempt, and no
	// "attempt 2 of 1".
	calls.Store(0)
	g := flow.New("once", func(ctx context.Context, _ struct{}) (int, error) { return 0, errors.New("refused") })
	if _, err := g.Execute(ctx, flow.Execution{RunID: "s", State: flow.Pending(), Attempt: 2, Attempts: 2, Resume: true}); err == nil {
		t.Fatal("Execute passed")
	}
	for _, s := range m.History("s") {
		if strings.Contains(s.Message, "of 1") {
			t.Errorf("state %s %q compares the run's attempt with the flow's retries", s.Name, s.Message)
		}
	}
}

// TestRunStateHooks: the runtime runs the hooks of a run it ended itself
// (its process died) through RunStateHooks: the hooks of that state, in
// order, with the run's record; a failing or panicking hook is reported,
// the others still run.
func TestRunStateHooks(t *testing.T) {
	var seen []string
	hook := func(name string, err error) flow.Hook {
		return func(_ context.Context, ev flow.HookEvent) error {
			seen = append(seen, name+":"+ev.Run.ID+":"+ev.State.Name)
			return err
		}
	}
	panicky := func(context.Context, flow.HookEvent) error { panic("hook bug") }
	f := flow.New("change", func(ctx context.Context, _ struct{}) (int, error) { return 0, nil },
		flow.OnCrashed(hook("crashed-1", nil), panicky, hook("crashed-2", errors.New("pager down"))),
		flow.OnFailure(hook("failed", nil)))
	var def flow.Definition = f
	sh, ok := def.(flow.StateHooker)
	if !ok {
		t.Fatal("*Flow is not a StateHooker")
	}
	ev := flow.HookEvent{Run: flow.RunRecord{ID: "r1", Kind: flow.KindFlow, Name: "change", Parameters: json.RawMessage(`{}`)},
		State: flow.Crashed("process killed by signal killed", ""), Err: errors.New("process killed by signal killed")}
	err := sh.RunStateHooks(context.Background(), ev)
	if strings.Join(seen, ",") != "crashed-1:r1:Crashed,crashed-2:r1:Crashed" {
		t.Fatalf("hooks called: %v", seen)
	}
	if err == nil || !strings.Contains(err.Error(), "OnCrashed[1]") || !strings.Contains(err.Error(), "hook bug") || !strings.Contains(err.Error(), "pager down") {
		t.Fatalf("error %v, want both failures named", err)
	}
	seen = nil
	if err := sh.RunStateHooks(context.Background(), flow.HookEvent{Run: ev.Run, State: flow.Cancelled("stop")}); err != nil || len(seen) != 0 {
		t.Fatalf("Cancelled ran %v (%v); the flow has no OnCancellation hooks", seen, err)
	}
}
