package api_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

type sseEvent struct{ id, event, data string }

// follow opens the log stream of run and returns its events.
func (e *env) follow(ctx context.Context, run, lastID string) <-chan sseEvent {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/runs/"+run+"/logs/follow", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		e.t.Fatalf("follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch
}

func (e *env) appendLog(run, msg string) {
	e.t.Helper()
	st, b := e.do("POST", "/api/v1/runs/"+run+"/record", wire.Record{BatchID: "log-" + msg, Logs: []flow.LogRecord{{RunID: run, FlowRunID: run, Time: time.Now(), Message: msg}}})
	if st != 200 {
		e.t.Fatalf("append log: %d %s", st, b)
	}
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream closed early")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return sseEvent{}
}

func TestFollowLogs(t *testing.T) {
	// A poll interval of an hour: only the notifier can deliver in time.
	e := newEnv(t, api.Options{PollInterval: time.Hour})
	run := e.createRun(`{"device":"sw1","vlan":10}`)
	ctx := context.Background()
	for _, s := range []flow.State{flow.Pending(), flow.Running()} {
		if _, err := e.st.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.appendLog(run.ID, "before")

	ctx1, stop1 := context.WithCancel(ctx)
	ch := e.follow(ctx1, run.ID, "")
	var got []string
	var lastID string
	ev := next(t, ch)
	got, lastID = append(got, ev.data), ev.id
	e.appendLog(run.ID, "first")
	ev = next(t, ch)
	got, lastID = append(got, ev.data), ev.id
	stop1()
	for range ch {
	}

	e.appendLog(run.ID, "while away")
	ch = e.follow(ctx, run.ID, lastID)
	ev = next(t, ch)
	got = append(got, ev.data)
	st, b := e.do("POST", "/api/v1/runs/"+run.ID+"/record", wire.Record{BatchID: "final",
		Ops:  []wire.Op{{RunID: run.ID, State: &flow.State{Type: flow.TypeCompleted, Name: flow.NameCompleted, Timestamp: time.Now()}}},
		Logs: []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "last"}}})
	if st != 200 || len(decodeAs[wire.Recorded](t, b).Errors) != 0 {
		t.Fatalf("final batch: %d %s", st, b)
	}
	ev = next(t, ch)
	got = append(got, ev.data)
	end := next(t, ch)
	if end.event != "end" || !strings.Contains(end.data, flow.NameCompleted) {
		t.Fatalf("last event %+v, want end with Completed", end)
	}
	if _, open := <-ch; open {
		t.Fatal("stream still open after end")
	}
	var msgs []string
	for _, d := range got {
		msgs = append(msgs, decodeAs[store.LogEntry](t, []byte(d)).Message)
	}
	if strings.Join(msgs, ",") != "before,first,while away,last" {
		t.Fatalf("followed %v: want every record once, in order", msgs)
	}
	st, b = e.do("GET", "/api/v1/runs/"+run.ID+"/logs?limit=2", nil)
	page := decodeAs[wire.LogPage](t, b)
	if st != 200 || len(page.Logs) != 2 || page.Logs[0].Message != "before" {
		t.Fatalf("log page: %d %s", st, b)
	}
	st, b = e.do("GET", "/api/v1/runs/"+run.ID+"/logs/follow", nil, "Last-Event-ID", "x")
	wantError(t, st, b, 400, "Last-Event-ID")
}

// TestFollowOutlivesServerTimeouts follows a run past the timeouts of
// the http.Server that HTTPServer configures (shortened here).
func TestFollowOutlivesServerTimeouts(t *testing.T) {
	e := newEnv(t, api.Options{PollInterval: time.Hour})
	// The run is created before the timeouts shrink: on a loaded machine
	// a request can take longer than them, which is not what this tests.
	run := e.createRun(`{"device":"sw1","vlan":10}`)
	hs, err := e.api.HTTPServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs.ReadTimeout, hs.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	e.srv.Close()
	e.srv = httptest.NewUnstartedServer(hs.Handler)
	e.srv.Config = hs
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := e.follow(ctx, run.ID, "")
	// Wait past both timeouts on a timer the test owns, then write.
	<-time.After(300 * time.Millisecond)
	e.appendLog(run.ID, "late")
	if ev := next(t, ch); !strings.Contains(ev.data, "late") {
		t.Fatalf("event %+v", ev)
	}
}
