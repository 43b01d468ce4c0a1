package runtime_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/window"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// fakeNow is the clock the store, the API and the worker share.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeNow) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// A change run created outside its window waits (AwaitingWindow) with a
// worker polling, and runs once the clock reaches the window; during a
// freeze a run waits until an approver overrides it on the command line,
// and then runs, its history naming who and why.
func TestChangeWindowEndToEnd(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeNow{t: day.Add(12 * time.Hour)}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const opsKey, cabKey = "na_ops-key-0123456789abcdef", "na_cab-key-0123456789abcdef"
	keys, _, err := api.ParseKeys("ops:operator:" + opsKey + ", cab:approver:" + cabKey)
	if err != nil {
		t.Fatal(err)
	}
	var applied atomic.Int32
	change := flow.New("vlan-change", func(ctx context.Context, p vlanChange) (string, error) {
		applied.Add(1)
		return "applied", nil
	})
	if err := st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterFlow(ctx, store.FlowOf(change)); err != nil {
		t.Fatal(err)
	}
	nightly := window.Calendar{Windows: []window.Window{{Name: "nightly", Start: "0 22 * * *", Duration: 2 * time.Hour}}}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan-change", Pool: "default", Calendar: &nightly}); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(st, api.Options{Keys: keys, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	reg, err := worker.NewRegistry(change)
	if err != nil {
		t.Fatal(err)
	}
	l := worker.NewInProcess(st, reg, store.RecorderOptions{Interval: 10 * time.Millisecond}, store.LimiterOptions{})
	defer l.Close()
	w, err := worker.New(st, worker.Options{Pool: "default", Launcher: l, Poll: 10 * time.Millisecond, Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(wctx) }()
	defer func() { stop(); <-done }()
	ops, err := client.New(hs.URL, client.Options{Token: opsKey})
	if err != nil {
		t.Fatal(err)
	}
	final := func(id string) store.FlowRun {
		t.Helper()
		var r store.FlowRun
		waitUntil(t, "run "+id+" to end", func() bool {
			r, err = st.GetRun(ctx, id)
			return err == nil && r.State.Final()
		})
		return r
	}

	// 12:00: outside the window.
	run, _, err := ops.CreateRun(ctx, "vlan-prod", wire.CreateRun{Parameters: []byte(`{"device":"sw1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if run.State.Name != flow.NameAwaitingWindow || !run.ScheduledAt.Equal(day.Add(22*time.Hour)) {
		t.Fatalf("created at 12:00: %s due %s", run.State, run.ScheduledAt)
	}
	// The worker's claims at 12:00 find nothing due (the store's own test
	// checks a claim refuses it); at 22:00 it runs.
	w.Wake()
	clock.Set(day.Add(22 * time.Hour))
	w.Wake()
	if r := final(run.ID); r.State.Name != flow.NameCompleted || applied.Load() != 1 {
		t.Fatalf("in the window: %s, applied %d", r.State, applied.Load())
	}

	// 22:30, a freeze: a new run waits until the approver overrides it.
	clock.Set(day.Add(22*time.Hour + 30*time.Minute))
	frozen := nightly
	frozen.Freezes = []window.Freeze{{Name: "incident", Start: "2026-06-01T22:15", End: "2026-06-02T06:00", Reason: "core outage"}}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan-change", Pool: "default", Calendar: &frozen}); err != nil {
		t.Fatal(err)
	}
	held, _, err := ops.CreateRun(ctx, "vlan-prod", wire.CreateRun{Parameters: []byte(`{"device":"sw2"}`)})
	if err != nil || held.State.Name != flow.NameAwaitingWindow || !strings.Contains(held.State.Message, "frozen by incident") {
		t.Fatalf("created in the freeze: %v %s", err, held.State)
	}
	cli := func(key string, args ...string) (string, int) {
		var out, errOut bytes.Buffer
		app := &runtime.App{Flows: []flow.Definition{change}}
		code := app.Run(ctx, append(args, "--api", hs.URL, "--api-key", key), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	if out, code := cli(opsKey, "windows"); code != runtime.ExitOK || !strings.Contains(out, "frozen by incident: core outage") ||
		!strings.Contains(out, "2026-06-02T22:00:00Z") {
		t.Fatalf("windows (%d):\n%s", code, out)
	}
	if out, code := cli(opsKey, "runs", "override-window", held.ID, "--reason", "I want it"); code == runtime.ExitOK || !strings.Contains(out, "403") {
		t.Fatalf("override by an operator (%d): %s", code, out)
	}
	if out, code := cli(cabKey, "runs", "override-window", held.ID, "--reason", "P1: restore the uplink"); code != runtime.ExitOK {
		t.Fatalf("override (%d): %s", code, out)
	}
	w.Wake()
	if r := final(held.ID); r.State.Name != flow.NameCompleted || applied.Load() != 2 {
		t.Fatalf("overridden run: %s, applied %d", r.State, applied.Load())
	}
	h, err := st.RunHistory(ctx, held.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range h {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "Scheduled,AwaitingWindow,WindowOverridden,Pending,Running,Completed" ||
		h[2].Message != "change window overridden by cab: P1: restore the uplink" {
		t.Fatalf("history %s (%q)", got, h[2].Message)
	}
}
