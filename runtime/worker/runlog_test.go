package worker

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A worker logs, at info, one line when it starts a run and one when the
// run is over, with its final state.
func TestWorkerLogsEachRun(t *testing.T) {
	e := newEnv(t)
	hello := flow.New("hello", func(ctx context.Context, _ struct{}) (int, error) { return 1, nil })
	e.deploy(t, store.Deployment{Name: "hello", Flow: "hello"})
	id := e.createRun(t, "hello", "")
	var buf syncBuffer
	w, err := New(e.st, Options{Pool: "default", Launcher: e.inProcess(t, hello), LauncherType: "in-process", Poll: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- w.Run(context.Background()) }()
	e.waitFinal(t, id)
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`msg="run started" worker=` + w.Name() + ` pool=default run_id=` + id + ` attempt=1 flow=hello deployment=hello launcher=in-process`,
		`msg="run finished" worker=` + w.Name() + ` pool=default run_id=` + id + ` attempt=1 state=Completed took=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("worker log lacks %q:\n%s", want, out)
		}
	}
}

// The in-process launcher prints its runs' log lines to its console when
// given one, besides recording them.
func TestInProcessConsole(t *testing.T) {
	e := newEnv(t)
	hello := flow.New("hello", func(ctx context.Context, _ struct{}) (int, error) {
		flow.Logger(ctx).Info("configuring vlan", "vlan", 10)
		return 1, nil
	})
	e.deploy(t, store.Deployment{Name: "hello", Flow: "hello"})
	id := e.createRun(t, "hello", "")
	var buf syncBuffer
	ip := e.inProcess(t, hello)
	ip.SetConsole(&buf)
	_, stop := e.startWorker(t, Options{Launcher: ip})
	e.waitFinal(t, id)
	stop()
	if out := buf.String(); !strings.Contains(out, "INFO  run "+id[len(id)-8:]+" | configuring vlan") || !strings.Contains(out, `"vlan":10`) {
		t.Fatalf("console:\n%s", out)
	}
}

// notifyingStore tells of cancel requests as a process's instrumented
// store does (api.InstrumentStore).
type notifyingStore struct {
	store.Store
	mu  sync.Mutex
	fns []func(string)
}

func (n *notifyingStore) NotifyCancel(fn func(string)) func() {
	n.mu.Lock()
	n.fns = append(n.fns, fn)
	n.mu.Unlock()
	return func() {}
}

func (n *notifyingStore) CancelRun(ctx context.Context, id, reason string) (flow.State, error) {
	st, err := n.Store.CancelRun(ctx, id, reason)
	if err == nil && st.Type == flow.TypeCancelling {
		n.mu.Lock()
		fns := slices.Clone(n.fns)
		n.mu.Unlock()
		for _, fn := range fns {
			fn(id)
		}
	}
	return st, err
}

// A run cancelled through a store that notifies stops at once, not at
// the next lease renewal (here a minute away), and its final state keeps
// the reason given.
func TestCancelNotifiedStopsRunAtOnce(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	hang := flow.New("hang", func(ctx context.Context, _ struct{}) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	e.deploy(t, store.Deployment{Name: "hang", Flow: "hang"})
	id := e.createRun(t, "hang", "")
	ns := &notifyingStore{Store: e.st}
	_, _ = e.startWorkerOn(t, ns, Options{Launcher: e.inProcess(t, hang), Lease: 3 * time.Minute, Heartbeat: time.Minute})
	<-started
	st, err := ns.CancelRun(context.Background(), id, "maintenance window closed")
	if err != nil || st.Type != flow.TypeCancelling {
		t.Fatalf("cancel: %v %v", st, err)
	}
	run := e.waitFinal(t, id) // without the notice: a minute, beyond waitFor's patience
	if run.State.Type != flow.TypeCancelled || !strings.Contains(run.State.Message, "maintenance window closed") {
		t.Fatalf("run ended %s %q, want Cancelled with the reason", run.State.Name, run.State.Message)
	}
}
