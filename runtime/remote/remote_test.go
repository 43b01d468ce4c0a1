package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/remote"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/task"
)

const adminKey = "na_remote-test-admin-key-0123456789"

type params struct {
	Device string `json:"device"`
}

// setup starts an API server on a fresh SQLite store, wrapped by wrap
// (nil: none), with a claimed run of a deployment, and returns a client
// holding that run's token.
func setup(t testing.TB, wrap func(http.Handler) http.Handler, opts ...api.Options) (store.Store, *client.Client, store.FlowRun) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ks, _ := api.KeySetFromKeys(adminKey)
	var o api.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Keys = ks
	srv, err := api.New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)

	if err := st.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterFlow(ctx, store.Flow{Name: "backup", Parameters: flow.SchemaFor[params]()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "backup-prod", Flow: "backup", Pool: "p", Retries: 1}); err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(ts.URL, client.Options{Token: adminKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin.CreateRun(ctx, "backup-prod", wire.CreateRun{Parameters: json.RawMessage(`{"device":"sw1"}`)}); err != nil {
		t.Fatal(err)
	}
	run, ok, err := st.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w1", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	tok, err := admin.MintRunToken(ctx, run.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(ts.URL, client.Options{Token: tok.Token, Retry: &retry.Policy{Retries: 3, Backoff: retry.Fixed(time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	return st, c, run
}

func TestExecuteThroughServer(t *testing.T) {
	st, c, run := setup(t, nil)
	ctx := context.Background()
	fetch := task.New("fetch", func(ctx context.Context, dev string) (string, error) {
		flow.Logger(ctx).Info("fetching", "device", dev)
		return "config of " + dev, nil
	})
	commit := task.New("commit", func(ctx context.Context, cfg string) (int, error) { return len(cfg), nil })
	backup := flow.New("backup", func(ctx context.Context, p params) (int, error) {
		cfg, err := fetch.Run(ctx, p.Device)
		if err != nil {
			return 0, err
		}
		return commit.Run(ctx, cfg)
	})
	rec := remote.NewRecorder(c, run.ID, store.RecorderOptions{})
	ectx := flow.WithEngine(ctx, &flow.Engine{Recorder: rec, Results: rec})
	out, err := backup.Execute(ectx, flow.Execution{RunID: run.ID, Params: run.Parameters, State: run.State, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(len("config of sw1")); string(out) != want {
		t.Fatalf("result %s, want the length of the fetched config", out)
	}
	got, err := st.GetRun(ctx, run.ID)
	if err != nil || got.State.Name != flow.NameCompleted {
		t.Fatalf("stored run %s %v, want Completed", got.State.Name, err)
	}
	hist, _ := st.RunHistory(ctx, run.ID)
	var names []string
	for _, s := range hist {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "Scheduled,Pending,Running,Completed" {
		t.Fatalf("history %v", names)
	}
	trs, err := st.TaskRuns(ctx, run.ID)
	if err != nil || len(trs) != 2 || trs[0].Name != "fetch" || trs[1].State.Name != flow.NameCompleted {
		t.Fatalf("task runs %+v %v", trs, err)
	}
	res, ok, err := st.RunResult(ctx, run.ID)
	if err != nil || !ok || string(res) != string(out) {
		t.Fatalf("stored result %s %v %v", res, ok, err)
	}
	prior, err := rec.RunResults(ctx, run.ID)
	if err != nil || string(prior[trs[0].TaskKey]) != `"config of sw1"` {
		t.Fatalf("results through the API: %v %v", prior, err)
	}
	logs, _, err := st.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	found := false
	for _, l := range logs {
		found = found || l.Message == "fetching"
	}
	if err != nil || !found {
		t.Fatalf("logs %+v %v: want the task's line", logs, err)
	}
}

// countRecords counts record POSTs reaching the server; gate, when set,
// holds the first one until it is closed.
type countRecords struct {
	n    atomic.Int64
	gate chan struct{}
}

func (c *countRecords) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/record") {
			if c.n.Add(1) == 1 && c.gate != nil {
				<-c.gate
			}
		}
		h.ServeHTTP(w, r)
	})
}

func TestGroupCommit(t *testing.T) {
	cr := &countRecords{gate: make(chan struct{})}
	st, c, run := setup(t, cr.wrap)
	ctx := context.Background()
	rec := remote.NewRecorder(c, run.ID, store.RecorderOptions{Interval: time.Hour})
	defer rec.Close()
	const n = 32
	// The first flush holds the only commit in flight at the server...
	rec.Log(ctx, flow.LogRecord{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "0"})
	first := make(chan error, 1)
	go func() { first <- rec.Flush(ctx) }()
	for cr.n.Load() == 0 { // bounded: the flush above sends at once
		time.Sleep(time.Millisecond)
	}
	// ...while n more writers record and flush concurrently.
	var wg sync.WaitGroup
	recorded := make(chan struct{}, n)
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.Log(ctx, flow.LogRecord{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "x"})
			recorded <- struct{}{}
			errs <- rec.Flush(ctx)
		}()
	}
	for range n {
		<-recorded
	}
	close(cr.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := cr.n.Load(); got > 2 {
		t.Fatalf("%d flushes sent %d requests, want them to share at most 2", n+1, got)
	}
	logs, _, _ := st.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	if len(logs) != n+1 {
		t.Fatalf("%d log records stored, want %d", len(logs), n+1)
	}
}

// TestRetryAppliesOnce loses the answer of a committed batch: the client
// retries the same batch ID and the server applies it once.
func TestRetryAppliesOnce(t *testing.T) {
	var lost atomic.Bool
	st, c, run := setup(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/record") && lost.CompareAndSwap(false, true) {
				h.ServeHTTP(httptest.NewRecorder(), r) // committed, answer lost
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	rs := remote.NewRecordStore(c, run.ID)
	errs, err := rs.Record(ctx, []store.Op{{RunID: run.ID, State: flow.State{Type: flow.TypeRunning, Name: flow.NameRunning, Timestamp: time.Now()}}},
		[]flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "once"}})
	if err != nil || errs[0] != nil || !lost.Load() {
		t.Fatalf("record: %v %v (answer lost: %v)", errs, err, lost.Load())
	}
	logs, _, _ := st.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	hist, _ := st.RunHistory(ctx, run.ID)
	if len(logs) != 1 || len(hist) != 3 {
		t.Fatalf("%d logs, %d states after a retried batch; want 1 and 3", len(logs), len(hist))
	}
}

func TestOpErrorsSurface(t *testing.T) {
	_, c, run := setup(t, nil)
	ctx := context.Background()
	rs := remote.NewRecordStore(c, run.ID)
	errs, err := rs.Record(ctx, []store.Op{
		{RunID: run.ID, State: flow.Completed()},
		{RunID: "01900000-0000-7000-8000-000000000000", State: flow.Running()},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{wire.OpTransition, wire.OpForbidden}
	for i, e := range errs {
		oe, ok := e.(*remote.OpError)
		if !ok || oe.Kind != want[i] {
			t.Errorf("op %d: %v, want a %s OpError", i, e, want[i])
		}
	}
}

// TestSplitsOversizedBatches sends a batch far over the server's body
// limit: it is split until it fits, and only the op too large on its own
// fails.
func TestSplitsOversizedBatches(t *testing.T) {
	st, c, run := setup(t, nil, api.Options{MaxRecordBytes: 8 << 10})
	ctx := context.Background()
	task := flow.NewID()
	now := time.Now()
	ops := []store.Op{
		{RunID: run.ID, State: flow.State{Type: flow.TypeRunning, Name: flow.NameRunning, Timestamp: now}},
		{Create: &flow.RunRecord{ID: task, Kind: flow.KindTask, Name: "t", FlowRunID: run.ID, ParentID: run.ID, TaskKey: "k", Created: now}},
		{RunID: task, State: flow.State{Type: flow.TypePending, Name: flow.NamePending, Timestamp: now}},
		{RunID: task, State: flow.State{Type: flow.TypeRunning, Name: flow.NameRunning, Timestamp: now}},
		{RunID: task, State: flow.State{Type: flow.TypeCompleted, Name: flow.NameCompleted, Timestamp: now},
			Result: &flow.Result{FlowRunID: run.ID, TaskKey: "k", Value: json.RawMessage(`"` + strings.Repeat("x", 10<<10) + `"`)}},
	}
	var logs []flow.LogRecord
	for i := range 100 {
		logs = append(logs, flow.LogRecord{RunID: run.ID, FlowRunID: run.ID, Time: now, Message: strconv.Itoa(i) + strings.Repeat(".", 200)})
	}
	errs, err := remote.NewRecordStore(c, run.ID).Record(ctx, ops, logs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if (e != nil) != (i == 4) {
			t.Errorf("op %d: %v", i, e)
		}
	}
	stored, _, _ := st.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	if len(stored) != 100 || !strings.HasPrefix(stored[99].Message, "99.") {
		t.Fatalf("%d log records stored, want 100 in order", len(stored))
	}
	trs, _ := st.TaskRuns(ctx, run.ID)
	if len(trs) != 1 || trs[0].State.Name != flow.NameRunning {
		t.Fatalf("task runs %+v: want the task Running (its oversized completion refused)", trs)
	}
}

func TestWatchCancel(t *testing.T) {
	st, c, run := setup(t, nil)
	ctx := context.Background()
	if _, err := c.RunState(ctx, run.ID); err != nil { // open the connection the watch reuses
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	watched, stop := remote.WatchCancel(ctx, c, run.ID, 5*time.Millisecond)
	defer stop()
	if _, err := st.SetRunState(ctx, run.ID, flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CancelRun(ctx, run.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-watched.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("context not cancelled within 10s of the cancel")
	}
	if cause := context.Cause(watched); !errors.Is(cause, remote.ErrCancelled) {
		t.Fatalf("cause %v, want ErrCancelled", cause)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after the watch ended, %d before", n, before)
	}
}

// TestRecordWaitsForServer answers 503 to the first record POSTs (a
// server restarting) beyond the client's own retries: the batch still
// goes through, once.
func TestRecordWaitsForServer(t *testing.T) {
	var refused atomic.Int64
	st, c, run := setup(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/record") && refused.Add(1) <= 6 {
				http.Error(w, `{"error":"restarting"}`, http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := remote.NewRecordStore(c, run.ID).Record(ctx, nil, []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	logs, _, _ := st.Logs(ctx, store.LogQuery{FlowRunID: run.ID})
	if len(logs) != 1 || refused.Load() != 7 {
		t.Fatalf("%d logs after %d attempts, want 1 after 7", len(logs), refused.Load())
	}
}
