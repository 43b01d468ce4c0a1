package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// status opens a log stream as key and returns its status, keeping it
// open until ctx ends.
func (e *env) openStream(ctx context.Context, key, run string) int {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/runs/"+run+"/logs/follow", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return resp.StatusCode
	}
	go func() { <-ctx.Done(); resp.Body.Close() }()
	return 200
}

// TestLogStreamsCapped reproduces the report: any caller could open log
// streams without limit, each holding a goroutine and a connection. The
// server now caps them, in all and per key.
func TestLogStreamsCapped(t *testing.T) {
	ks, _, err := api.ParseKeys("root:admin:" + adminKey + ",ro:viewer:" + viewerKey + ",ops:operator:" + operatorKey)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Options{Keys: ks, MaxFollowers: 2, MaxFollowersPerCaller: 1, PollInterval: time.Hour})
	run := e.createRun(`{"device":"a","vlan":1}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if st := e.openStream(ctx, adminKey, run.ID); st != 200 {
		t.Fatalf("first stream: %d", st)
	}
	if st := e.openStream(ctx, adminKey, run.ID); st != http.StatusServiceUnavailable {
		t.Fatalf("second stream of one key: %d, want 503", st)
	}
	vctx, vcancel := context.WithCancel(ctx)
	if st := e.openStream(vctx, viewerKey, run.ID); st != 200 {
		t.Fatalf("another key's stream: %d", st)
	}
	if st := e.openStream(ctx, operatorKey, run.ID); st != http.StatusServiceUnavailable {
		t.Fatalf("stream over the server's cap: %d, want 503", st)
	}
	vcancel()
	deadline := time.Now().Add(10 * time.Second)
	for e.api.OpenStreams() > 1 {
		if time.Now().After(deadline) {
			t.Fatal("a closed stream still holds its place")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := e.openStream(ctx, operatorKey, run.ID); st != 200 {
		t.Fatalf("stream after one closed: %d", st)
	}
	// The cap answers with the error document.
	st, b := e.as(operatorKey).do("GET", "/api/v1/runs/"+run.ID+"/logs/follow", nil)
	if st != 503 || decodeAs[wire.Error](t, b).Field != "follow" {
		t.Fatalf("over the cap: %d %s", st, b)
	}
}

// TestRunDetailPaginatesTaskRuns: GET /runs/{id} answers a page of task
// runs with a cursor, and the client reads them all.
func TestRunDetailPaginatesTaskRuns(t *testing.T) {
	e := newEnv(t, api.Options{})
	run, tok := e.runningRun(`{"device":"a","vlan":1}`)
	var ops []wire.Op
	for range 5 {
		ops = append(ops, completedTask(run.ID, flow.NewID(), "", "", `1`)[:2]...)
	}
	if st, b := tok.do("POST", "/api/v1/runs/"+run.ID+"/record", wire.Record{BatchID: "tasks", Ops: ops}); st != 200 || len(opErrors(t, b)) != 0 {
		t.Fatalf("record: %d %s", st, b)
	}
	var seen []string
	after := ""
	for page := 0; ; page++ {
		q := "?tasks_limit=2"
		if after != "" {
			q += "&tasks_after=" + after
		}
		st, b := e.do("GET", "/api/v1/runs/"+run.ID+q, nil)
		d := decodeAs[wire.RunDetail](t, b)
		if st != 200 || len(d.TaskRuns) > 2 || d.TaskCount != 5 {
			t.Fatalf("page %d: %d %s", page, st, b)
		}
		for _, tr := range d.TaskRuns {
			seen = append(seen, tr.ID)
		}
		if after = d.TasksNext; after == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("pages held %d task runs, want 5", len(seen))
	}
	st, b := e.do("GET", "/api/v1/runs/"+run.ID+"?tasks_limit=5000", nil)
	wantError(t, st, b, 400, "tasks_limit")
}
