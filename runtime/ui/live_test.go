package ui_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/ui"
)

// sseEvents reads the Server-Sent Events of a stream, sending each event's
// name and data.
func sseEvents(t *testing.T, resp *http.Response) <-chan [2]string {
	t.Helper()
	out := make(chan [2]string, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var name string
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if name != "" || len(data) > 0 {
					out <- [2]string{name, strings.Join(data, "\n")}
				}
				name, data = "", nil
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return out
}

func next(t *testing.T, evs <-chan [2]string, name string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("stream closed before a %q event", name)
			}
			if ev[0] == name {
				return ev[1]
			}
		case <-timeout:
			t.Fatalf("no %q event", name)
		}
	}
}

// TestLiveStreams: the run page's state stream sends the re-rendered
// state as it changes and ends with the final state; the log stream (the
// API's, as the signed-in key) sends the run's log lines.
func TestLiveStreams(t *testing.T) {
	e := newEnv(t)
	run := e.createRun(t)
	b := e.browser()
	b.signin(viewerKey)
	open := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp
	}
	state := sseEvents(t, open("/ui/runs/"+run.ID+"/live"))
	if got := next(t, state, "state"); !strings.Contains(got, ">Scheduled<") {
		t.Fatalf("first state event: %s", got)
	}
	logs := sseEvents(t, open("/ui/runs/"+run.ID+"/logs"))
	ctx := context.Background()
	if _, err := e.st.SetRunState(ctx, run.ID, flow.Pending(), nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, state, "state"); !strings.Contains(got, ">Pending<") {
		t.Fatalf("state event after Pending: %s", got)
	}
	if err := e.st.AppendLogs(ctx, []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "hello <b>"}}); err != nil {
		t.Fatal(err)
	}
	if got := next(t, logs, "log"); !strings.Contains(got, `hello \u003cb\u003e`) {
		t.Fatalf("log event: %s", got)
	}
	for _, s := range []flow.State{flow.Running(), flow.Completed()} {
		if _, err := e.st.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := next(t, state, "end"); got != "Completed" {
		t.Fatalf("end event: %q", got)
	}
	if got := next(t, logs, "end"); !strings.Contains(got, "Completed") {
		t.Fatalf("log end event: %q", got)
	}

	// Without a session a stream is refused, not redirected.
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/runs/"+run.ID+"/live", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stream without a session: %d", resp.StatusCode)
	}
}

// TestRetry: the retry button moves a Failed run back to AwaitingRetry and
// wakes the worker.
func TestRetry(t *testing.T) {
	st := openStore(t)
	ks, _, _ := api.ParseKeys("ops:operator:" + operatorKey)
	a, err := api.New(st, api.Options{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan struct{}, 4)
	if _, err := ui.Mount(a, st, ui.Options{Wake: func() { woke <- struct{}{} }}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, api: a, srv: srv}
	ctx := context.Background()
	if err := st.ApplyPool(ctx, store.Pool{Name: "default", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan", Pool: "default"}); err != nil {
		t.Fatal(err)
	}
	run := e.createRun(t)
	for _, s := range []flow.State{flow.Pending(), flow.Running(), flow.Failed("device unreachable")} {
		if _, err := st.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser()
	b.signin(operatorKey)
	b.get("/ui/runs/" + run.ID)
	if code, _, _ := b.post("/ui/runs/"+run.ID+"/retry", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("retry: %d", code)
	}
	got, _ := st.GetRun(ctx, run.ID)
	if got.State.Name != flow.NameAwaitingRetry || got.State.Message != "retried by ops" {
		t.Fatalf("after retry: %+v", got.State)
	}
	select {
	case <-woke:
	default:
		t.Fatal("retry did not wake the worker")
	}
}

// TestKeyless: on a server without keys the sign-in asks for no key (the
// caller is the anonymous admin), and a page addressed by another host
// name (DNS rebinding) is refused.
func TestKeyless(t *testing.T) {
	st := openStore(t)
	a, err := api.New(st, api.Options{Keys: &api.KeySet{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.Mount(a, st, ui.Options{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, api: a, srv: srv}
	b := e.browser()
	_, body := b.get("/ui/signin")
	if strings.Contains(body, `id="key"`) || !strings.Contains(body, "no API keys") {
		t.Fatal("keyless sign-in page asks for a key")
	}
	b.signin("")
	if code, body := b.get("/ui/runs"); code != http.StatusOK || !strings.Contains(body, "anonymous") {
		t.Fatalf("runs page: %d", code)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ui/signin", nil)
	req.Host = "attacker.example"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("rebinding host: %d", resp.StatusCode)
	}
}
