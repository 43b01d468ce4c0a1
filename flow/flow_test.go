package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/task"
)

type params struct {
	Tenant string `json:"tenant"`
	Count  int    `json:"count,omitempty"`
}

func TestFlowRunStates(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		fn     func(context.Context, params) (string, error)
		opts   []flow.Option
		ctx    func(context.Context) (context.Context, context.CancelFunc)
		states []string
		errIs  error
	}{
		{
			name:   "completes",
			fn:     func(context.Context, params) (string, error) { return "ok", nil },
			states: []string{"Pending", "Running", "Completed"},
		},
		{
			name:   "fails",
			fn:     func(context.Context, params) (string, error) { return "", boom },
			states: []string{"Pending", "Running", "Failed"},
			errIs:  boom,
		},
		{
			name:   "retries then fails",
			fn:     func(context.Context, params) (string, error) { return "", boom },
			opts:   []flow.Option{flow.WithRetries(2)},
			states: []string{"Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Failed"},
			errIs:  boom,
		},
		{
			name:   "non-retryable is not retried",
			fn:     func(context.Context, params) (string, error) { return "", flow.NonRetryable(boom) },
			opts:   []flow.Option{flow.WithRetries(2)},
			states: []string{"Pending", "Running", "Failed"},
			errIs:  boom,
		},
		{
			name:   "retry condition declines",
			fn:     func(context.Context, params) (string, error) { return "", boom },
			opts:   []flow.Option{flow.WithRetries(2), flow.WithRetryIf(func(err error) bool { return !errors.Is(err, boom) })},
			states: []string{"Pending", "Running", "Failed"},
			errIs:  boom,
		},
		{
			name: "times out",
			fn: func(ctx context.Context, _ params) (string, error) {
				// A minute of the engine's (fake) clock: past the timeout.
				flow.EngineFrom(ctx).Clock.Sleep(ctx, time.Minute)
				<-ctx.Done()
				return "", ctx.Err()
			},
			opts:   []flow.Option{flow.WithTimeout(time.Second)},
			states: []string{"Pending", "Running", "TimedOut"},
			errIs:  context.DeadlineExceeded,
		},
		{
			name: "cancelled",
			fn: func(ctx context.Context, _ params) (string, error) {
				<-ctx.Done()
				return "", ctx.Err()
			},
			opts: []flow.Option{flow.WithRetries(3)},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx, cancel
			},
			states: []string{"Pending", "Running", "Cancelled"},
			errIs:  context.Canceled,
		},
		{
			name:   "panics",
			fn:     func(context.Context, params) (string, error) { panic("nil map") },
			opts:   []flow.Option{flow.WithRetries(3)},
			states: []string{"Pending", "Running", "Crashed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := flowtest.New(t)
			ctx := h.Context()
			if tt.ctx != nil {
				var cancel context.CancelFunc
				ctx, cancel = tt.ctx(ctx)
				defer cancel()
			}
			f := flow.New("f", tt.fn, tt.opts...)
			out, err := f.Run(ctx, params{Tenant: "t1"})
			run := h.Only(t, "f")
			h.AssertStates(t, run.ID, tt.states...)
			final := h.Final(run.ID)
			switch {
			case final.Type == flow.TypeCompleted:
				if err != nil || out != "ok" {
					t.Fatalf("Run = %q, %v", out, err)
				}
			case tt.errIs != nil && !errors.Is(err, tt.errIs):
				t.Fatalf("Run error %v does not match %v", err, tt.errIs)
			case err == nil:
				t.Fatal("Run returned no error for a run that did not complete")
			}
		})
	}
}

func TestFlowPanicRecordsStack(t *testing.T) {
	h := flowtest.New(t)
	f := flow.New("f", func(context.Context, struct{}) (int, error) {
		var m map[string]int
		m["x"] = 1
		return 0, nil
	})
	_, err := f.Run(h.Context(), struct{}{})
	var pe *flow.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *PanicError", err)
	}
	final := h.Final(h.Only(t, "f").ID)
	if final.Type != flow.TypeCrashed || !strings.Contains(final.Message, "nil map") || !strings.Contains(final.Stack, "flow_test.go") {
		t.Fatalf("final state %+v lacks the panic and its stack", final)
	}
}

func TestFlowRetryDelays(t *testing.T) {
	h := flowtest.New(t)
	f := flow.New("f", func(context.Context, struct{}) (int, error) { return 0, errors.New("x") },
		flow.WithRetries(4), flow.WithBackoff(retry.Exponential(time.Second, 2, 5*time.Second)))
	if _, err := f.Run(h.Context(), struct{}{}); err == nil {
		t.Fatal("want an error")
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	got := h.Clock.Sleeps()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("slept %v, want %v", got, want)
	}
	// Each AwaitingRetry state says when the retry is due.
	var due []time.Duration
	for _, s := range h.Store.History(h.Only(t, "f").ID) {
		if s.Name == flow.NameAwaitingRetry {
			due = append(due, s.ScheduledAt.Sub(s.Timestamp))
		}
	}
	if fmt.Sprint(due) != fmt.Sprint(want) {
		t.Fatalf("AwaitingRetry due after %v, want %v", due, want)
	}
}

func TestFlowRetryReusesCompletedTasks(t *testing.T) {
	h := flowtest.New(t)
	var pushes, checks atomic.Int32
	push := task.New("push", func(_ context.Context, dev string) (string, error) {
		pushes.Add(1)
		return "pushed " + dev, nil
	})
	check := task.New("check", func(_ context.Context, dev string) (bool, error) {
		if checks.Add(1) == 1 {
			return false, errors.New("bgp not up yet")
		}
		return true, nil
	})
	f := flow.New("change", func(ctx context.Context, devs []string) (int, error) {
		for _, d := range devs {
			if _, err := push.Run(ctx, d); err != nil {
				return 0, err
			}
		}
		if _, err := check.Run(ctx, devs[0]); err != nil {
			return 0, err
		}
		return len(devs), nil
	}, flow.WithRetries(1))
	n, err := f.Run(h.Context(), []string{"r1", "r2"})
	if err != nil || n != 2 {
		t.Fatalf("Run = %d, %v", n, err)
	}
	if pushes.Load() != 2 {
		t.Fatalf("push ran %d times, want 2 (reused on retry)", pushes.Load())
	}
	runs := h.Runs("push")
	if len(runs) != 4 {
		t.Fatalf("%d push runs recorded, want 4\n%s", len(runs), h.Dump())
	}
	for _, r := range runs[2:] {
		h.AssertStates(t, r.ID, "Pending", "Cached")
	}
	if runs[0].TaskKey != runs[2].TaskKey || runs[1].TaskKey != runs[3].TaskKey || runs[0].TaskKey == runs[1].TaskKey {
		t.Fatalf("task keys not stable across attempts: %q %q %q %q", runs[0].TaskKey, runs[1].TaskKey, runs[2].TaskKey, runs[3].TaskKey)
	}
}

func TestHooks(t *testing.T) {
	type call struct{ hook, state string }
	var calls []call
	hook := func(name string) flow.Hook {
		return func(_ context.Context, ev flow.HookEvent) error {
			calls = append(calls, call{name, ev.State.Name})
			return nil
		}
	}
	failingHook := func(context.Context, flow.HookEvent) error { return errors.New("webhook down") }
	panickingHook := func(context.Context, flow.HookEvent) error { panic("hook bug") }
	opts := []flow.Option{
		flow.OnRunning(hook("running")),
		flow.OnCompletion(failingHook, hook("completion")),
		flow.OnFailure(panickingHook, hook("failure")),
		flow.OnCancellation(hook("cancellation")),
		flow.OnCrashed(hook("crashed")),
	}
	tests := []struct {
		name string
		fn   func(context.Context, struct{}) (int, error)
		want []call
	}{
		{"completion", func(context.Context, struct{}) (int, error) { return 1, nil },
			[]call{{"running", "Running"}, {"completion", "Completed"}}},
		{"failure", func(context.Context, struct{}) (int, error) { return 0, errors.New("x") },
			[]call{{"running", "Running"}, {"failure", "Failed"}}},
		{"crash", func(context.Context, struct{}) (int, error) { panic("x") },
			[]call{{"running", "Running"}, {"crashed", "Crashed"}}},
		{"cancel", func(ctx context.Context, _ struct{}) (int, error) {
			return 0, context.Canceled
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			h := flowtest.New(t)
			ctx := h.Context()
			if tt.name == "cancel" {
				c, cancel := context.WithCancel(ctx)
				ctx = c
				tt.want = []call{{"running", "Running"}, {"cancellation", "Cancelled"}}
				tt.fn = func(context.Context, struct{}) (int, error) { cancel(); return 0, context.Canceled }
			}
			f := flow.New("f", tt.fn, opts...)
			f.Run(ctx, struct{}{})
			if fmt.Sprint(calls) != fmt.Sprint(tt.want) {
				t.Fatalf("hooks called %v, want %v", calls, tt.want)
			}
			run := h.Only(t, "f")
			final := h.Final(run.ID)
			if want := tt.want[len(tt.want)-1].state; final.Name != want {
				t.Fatalf("final state %s, want %s: a hook changed it", final.Name, want)
			}
			if tt.name == "completion" || tt.name == "failure" {
				logs := strings.Join(h.Logs(run.ID), "\n")
				if !strings.Contains(logs, "state hook failed") {
					t.Fatalf("the failing hook was not logged on the run; logs:\n%s", logs)
				}
			}
		})
	}
}

func TestSubflow(t *testing.T) {
	h := flowtest.New(t)
	var doubled atomic.Int32
	double := task.New("double", func(_ context.Context, n int) (int, error) {
		doubled.Add(1)
		return n * 2, nil
	})
	child := flow.New("child", func(ctx context.Context, n int) (int, error) { return double.Run(ctx, n) })
	var attempts atomic.Int32
	parent := flow.New("parent", func(ctx context.Context, n int) (int, error) {
		v, err := child.Run(ctx, n)
		if err != nil {
			return 0, err
		}
		if attempts.Add(1) == 1 {
			return 0, errors.New("transient")
		}
		return v + 1, nil
	}, flow.WithRetries(1))
	got, err := parent.Run(h.Context(), 20)
	if err != nil || got != 41 {
		t.Fatalf("Run = %d, %v", got, err)
	}
	if doubled.Load() != 1 {
		t.Fatalf("the subflow's task ran %d times, want 1 (reused on the parent's retry)", doubled.Load())
	}
	p := h.Only(t, "parent")
	kids := h.Runs("child")
	if len(kids) != 2 {
		t.Fatalf("%d child runs, want 2 (one per parent attempt)\n%s", len(kids), h.Dump())
	}
	for _, k := range kids {
		if k.ParentID != p.ID || k.Kind != flow.KindFlow || k.FlowRunID != k.ID || k.TaskKey != kids[0].TaskKey {
			t.Fatalf("child run %+v not linked to parent %s with a stable key", k, p.ID)
		}
		h.AssertStates(t, k.ID, "Pending", "Running", "Completed")
	}
	tasks := h.Runs("double")
	if len(tasks) != 2 || tasks[0].FlowRunID != kids[0].ID || tasks[1].FlowRunID != kids[1].ID {
		t.Fatalf("task runs %+v", tasks)
	}
	h.AssertStates(t, tasks[1].ID, "Pending", "Cached")
	if !strings.HasPrefix(tasks[0].TaskKey, kids[0].TaskKey+">") {
		t.Fatalf("task key %q not under its subflow's key %q", tasks[0].TaskKey, kids[0].TaskKey)
	}
}

func TestRunName(t *testing.T) {
	h := flowtest.New(t)
	f := flow.New("deploy", func(context.Context, params) (int, error) { return 0, nil },
		flow.WithRunName("deploy-{{.Tenant}}"))
	if _, err := f.Run(h.Context(), params{Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	if got := h.Only(t, "deploy").RunName; got != "deploy-acme" {
		t.Fatalf("run name %q", got)
	}
	bad := flow.New("bad", func(context.Context, params) (int, error) { return 0, nil }, flow.WithRunName("{{.Nope"))
	if _, err := bad.Run(h.Context(), params{}); err == nil || bad.Err() == nil {
		t.Fatal("a malformed run name template was accepted")
	}
	missing := flow.New("missing", func(context.Context, params) (int, error) { return 0, nil }, flow.WithRunName("x-{{.Nope}}"))
	if _, err := missing.Run(h.Context(), params{}); err != nil {
		t.Fatalf("a template failing on some parameters must not fail the run: %v", err)
	}
	if got := h.Only(t, "missing").RunName; !strings.HasPrefix(got, "missing-") {
		t.Fatalf("fallback run name %q", got)
	}
}

func TestRunLogsCarryIDs(t *testing.T) {
	h := flowtest.New(t)
	tk := task.New("t", func(ctx context.Context, _ int) (int, error) {
		flow.Logger(ctx).Info("in task", "device", "r1")
		return 0, nil
	})
	f := flow.New("f", func(ctx context.Context, _ int) (int, error) {
		flow.Logger(ctx).With("site", "ams").WithGroup("bgp").Info("in flow", "peers", 4)
		return tk.Run(ctx, 1)
	})
	if _, err := f.Run(h.Context(), 0); err != nil {
		t.Fatal(err)
	}
	fr, tr := h.Only(t, "f"), h.Only(t, "t")
	fl, tl := h.Store.Logs(fr.ID), h.Store.Logs(tr.ID)
	if len(fl) != 1 || len(tl) != 1 {
		t.Fatalf("flow logs %v, task logs %v", fl, tl)
	}
	if tl[0].FlowRunID != fr.ID || tl[0].Message != "in task" || string(tl[0].Attrs) != `{"device":"r1"}` {
		t.Fatalf("task log %+v", tl[0])
	}
	if string(fl[0].Attrs) != `{"bgp.peers":4,"site":"ams"}` {
		t.Fatalf("flow log attrs %s", fl[0].Attrs)
	}
}

func TestExecute(t *testing.T) {
	f := flow.New("deploy", func(_ context.Context, p params) (string, error) { return "deployed " + p.Tenant, nil })
	t.Run("runs with the given id and state", func(t *testing.T) {
		h := flowtest.New(t)
		out, err := f.Execute(h.Context(), flow.Execution{RunID: "run-1", Params: json.RawMessage(`{"tenant":"acme"}`), State: flow.Pending()})
		if err != nil || string(out) != `"deployed acme"` {
			t.Fatalf("Execute = %s, %v", out, err)
		}
		h.AssertStates(t, "run-1", "Running", "Completed")
	})
	bad := []struct{ params, field string }{
		{`{"tenant":5}`, "tenant"},
		{`{"tenant":"a","colour":"red"}`, "colour"},
		{`{"tenant":"a","count":"many"}`, "count"},
		{`[1,2]`, ""},
		{`{"tenant":"a"} {}`, ""},
	}
	for _, b := range bad {
		t.Run("rejects "+b.params, func(t *testing.T) {
			h := flowtest.New(t)
			_, err := f.Execute(h.Context(), flow.Execution{RunID: "run-2", Params: json.RawMessage(b.params)})
			var pe *flow.ParamsError
			if !errors.As(err, &pe) || pe.Field != b.field {
				t.Fatalf("error %v (%T), want a ParamsError naming %q", err, err, b.field)
			}
			if len(h.Store.Runs()) != 0 {
				t.Fatal("a run was recorded for parameters that do not decode")
			}
		})
	}
}

type failingRecorder struct {
	*flow.MemoryStore
	failState string
	failFlush bool
}

func (r *failingRecorder) SetState(ctx context.Context, id string, s flow.State, res *flow.Result) error {
	if s.Name == r.failState {
		return errors.New("disk full")
	}
	return r.MemoryStore.SetState(ctx, id, s, res)
}

func (r *failingRecorder) Flush(context.Context) error {
	if r.failFlush {
		return errors.New("fsync failed")
	}
	return nil
}

func TestRecorderErrorsReachTheCaller(t *testing.T) {
	for _, rec := range []*failingRecorder{
		{MemoryStore: flow.NewMemoryStore(), failState: flow.NameCompleted},
		{MemoryStore: flow.NewMemoryStore(), failFlush: true},
		{MemoryStore: flow.NewMemoryStore(), failState: flow.NamePending},
	} {
		ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: rec})
		f := flow.New("f", func(context.Context, int) (int, error) { return 1, nil })
		if _, err := f.Run(ctx, 0); err == nil {
			t.Errorf("recorder failing (state %q, flush %v): Run returned no error", rec.failState, rec.failFlush)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	fn := func(context.Context, int) (int, error) { return 0, nil }
	for _, tt := range []struct {
		f     *flow.Flow[int, int]
		field string // the ConfigError's Field
		want  string // what its message says besides
	}{
		{flow.New("", fn), "name", "empty"},
		{flow.New[int, int]("x", nil), "function", "nil"},
		{flow.New("x", fn, flow.WithRetries(-1)), "WithRetries", "Retries: -1 is negative"},
		{flow.New("x", fn, flow.WithJitter(2)), "WithJitter", "Jitter: 2 is outside"},
		{flow.New("x", fn, flow.WithTimeout(-time.Second)), "WithTimeout", "-1s is negative"},
		{flow.New("x", fn, flow.WithBackoff(retry.Exponential(0, 2, 0))), "WithBackoff", "Backoff"},
		{flow.New("x", fn, flow.WithBackoff(retry.Exponential(time.Second, 0.5, 0))), "WithBackoff", "coefficient 0.5"},
		{flow.New("x", fn, flow.WithBackoff(retry.Fixed(-time.Second))), "WithBackoff", "Backoff"},
		{flow.New("x", fn, flow.WithRunName("{{")), "WithRunName", "template"},
		{flow.New("x", fn, flow.OnFailure(nil)), "OnFailure", "hook 0 is nil"},
		// The first bad option counts.
		{flow.New("x", fn, flow.WithTimeout(-1), flow.WithRetries(-1)), "WithTimeout", "negative"},
	} {
		f := tt.f
		var ce *flow.ConfigError
		if !errors.As(f.Err(), &ce) || ce.Kind != flow.KindFlow || ce.Name != f.Name() || ce.Field != tt.field ||
			!strings.Contains(ce.Error(), tt.want) {
			t.Errorf("flow %q: configuration error %#v (%v), want a ConfigError of field %s saying %q", f.Name(), f.Err(), f.Err(), tt.field, tt.want)
			continue
		}
		if _, err := f.Run(context.Background(), 0); !errors.As(err, &ce) {
			t.Errorf("flow %q: Run ignored the configuration error %v: %v", f.Name(), f.Err(), err)
		}
	}
}

func TestDescribe(t *testing.T) {
	f := flow.New("deploy", func(context.Context, params) (string, error) { return "", nil },
		flow.WithVersion("1.2.0"), flow.WithDescription("deploy a tenant"), flow.WithTags("f5"))
	d := f.Describe()
	if d.Name != "deploy" || d.Version != "1.2.0" || d.Description != "deploy a tenant" || d.Tags[0] != "f5" {
		t.Fatalf("description %+v", d)
	}
	var schema struct {
		Type       string         `json:"type"`
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
	}
	if err := json.Unmarshal(d.Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Type != "object" || len(schema.Properties) != 2 || fmt.Sprint(schema.Required) != "[tenant]" {
		t.Fatalf("parameter schema %s", d.Parameters)
	}
}

func isParamsError(err error, target **flow.ParamsError) bool { return errors.As(err, target) }
