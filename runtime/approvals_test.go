package runtime_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
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
	"github.com/netauto-dev/netauto/runtime/worker"
)

type vlanChange struct {
	Device string `json:"device"`
}

type approval struct {
	Ticket string `json:"ticket"`
}

// A change waits for approval on the command line: `approvals` shows it
// with its diff, the run's creator may not approve it (four-eyes), a
// second key approves it and it applies; another is rejected and nothing
// is applied.
func TestApprovalsCommandLine(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const opsKey, cabKey = "na_ops-key-0123456789abcdef", "na_cab-key-0123456789abcdef"
	keys, _, err := api.ParseKeys("ops:admin:" + opsKey + ", cab:approver:" + cabKey)
	if err != nil {
		t.Fatal(err)
	}
	var applied atomic.Int32
	change := flow.New("vlan-change", func(ctx context.Context, p vlanChange) (string, error) {
		a, err := flow.WaitForInput[approval](ctx, flow.Prompt{Text: "add vlan 10 on " + p.Device, Diff: "+ vlan 10\n+  name users",
			Devices: []string{p.Device}}, flow.FourEyes())
		if err != nil {
			return "", err
		}
		applied.Add(1)
		return "applied under " + a.Ticket, nil
	})
	if err := st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterFlow(ctx, store.FlowOf(change)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan-change", Pool: "default"}); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(st, api.Options{Keys: keys})
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
	l.SuspendAfter = time.Nanosecond // every wait suspends
	w, err := worker.New(st, worker.Options{Pool: "default", Launcher: l, Poll: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
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
	cli := func(key string, args ...string) (string, int) {
		var out, errOut bytes.Buffer
		args = append(args, "--api", hs.URL, "--api-key", key)
		app := &runtime.App{Flows: []flow.Definition{change}}
		code := app.Run(ctx, args, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	waiting := func(id string) {
		t.Helper()
		waitUntil(t, "run "+id+" to wait for approval", func() bool {
			r, err := st.GetRun(ctx, id)
			return err == nil && r.State.Name == flow.NameAwaitingInput && r.LeaseExpires.IsZero()
		})
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

	good, _, err := ops.CreateRun(ctx, "vlan-prod", wire.CreateRun{Parameters: []byte(`{"device":"sw1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	w.Wake()
	waiting(good.ID)
	out, code := cli(cabKey, "approvals")
	if code != runtime.ExitOK || !strings.Contains(out, good.ID) || !strings.Contains(out, "+ vlan 10") || !strings.Contains(out, "not the creator") ||
		!strings.Contains(out, "devices: sw1") {
		t.Fatalf("approvals (%d):\n%s", code, out)
	}
	if out, code := cli(opsKey, "approve", good.ID, "--param", "ticket=CHG-1"); code == runtime.ExitOK || !strings.Contains(out, "four-eyes") {
		t.Fatalf("approve by the creator (%d): %s", code, out)
	}
	if out, code := cli(cabKey, "approve", good.ID, "--param", "ticket=7"); code == runtime.ExitOK || !strings.Contains(out, "input.ticket") {
		t.Fatalf("approve with a bad input (%d): %s", code, out)
	}
	if out, code := cli(cabKey, "approve", good.ID, "--param", "ticket=CHG-1"); code != runtime.ExitOK || !strings.Contains(out, "approved by cab") {
		t.Fatalf("approve (%d): %s", code, out)
	}
	w.Wake()
	if r := final(good.ID); r.State.Name != flow.NameCompleted || applied.Load() != 1 {
		t.Fatalf("approved run %s, applied %d", r.State, applied.Load())
	}

	bad, _, err := ops.CreateRun(ctx, "vlan-prod", wire.CreateRun{Parameters: []byte(`{"device":"sw2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	w.Wake()
	waiting(bad.ID)
	if out, code := cli(cabKey, "reject", bad.ID); code == runtime.ExitOK {
		t.Fatalf("reject without a reason (%d): %s", code, out)
	}
	if out, code := cli(cabKey, "reject", bad.ID, "--reason", "change freeze"); code != runtime.ExitOK || !strings.Contains(out, "rejected by cab") {
		t.Fatalf("reject (%d): %s", code, out)
	}
	w.Wake()
	r := final(bad.ID)
	if r.State.Name != flow.NameCancelled || !strings.Contains(r.State.Message, "change freeze") || applied.Load() != 1 {
		t.Fatalf("rejected run %s, applied %d", r.State, applied.Load())
	}
	if out, _ := cli(cabKey, "approvals"); !strings.Contains(out, "no run waits for approval") {
		t.Fatalf("approvals at the end:\n%s", out)
	}
}

// waitUntil polls a store read until cond holds, for at most 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
