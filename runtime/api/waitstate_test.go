package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
)

// A client waiting for a run's end wakes on changes written straight to
// the store (as the embedded worker writes them, bypassing the API): the
// store announces them. The server's poll is an hour here, so only the
// announcement can wake the waiter.
func TestWaitRunStateWakesOnStoreChanges(t *testing.T) {
	e := newEnv(t, api.Options{PollInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.New(e.srv.URL, client.Options{Token: adminKey})
	if err != nil {
		t.Fatal(err)
	}
	run := e.createRun(`{"device":"sw1","vlan":10}`)
	type result struct {
		st  flow.State
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := c.WaitRunState(ctx, run.ID, flow.State.Final)
		done <- result{st, err}
	}()
	for _, s := range []flow.State{flow.Pending(), flow.Running()} {
		if _, err := e.st.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.SetRunState(ctx, run.ID, flow.Completed(), &flow.Result{FlowRunID: run.ID, Value: json.RawMessage(`1`)}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.st.Type != flow.TypeCompleted {
		t.Fatalf("WaitRunState = %s, %v; want Completed", r.st.Name, r.err)
	}
}

// until=final answers at the run's end only, in one request, not at the
// states on the way (a from= wait answers each); client.WaitRunFinal
// uses it.
func TestRunStateUntilFinal(t *testing.T) {
	e := newEnv(t, api.Options{PollInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := e.createRun(`{"device":"sw1","vlan":10}`)
	base := "/api/v1/runs/" + run.ID + "/state"
	if st, b := e.do("GET", base+"?until=later&wait=1s", nil); st != http.StatusBadRequest || !strings.Contains(string(b), `"until"`) {
		t.Errorf("bad until: %d %s, want 400 naming until", st, b)
	}
	type answer struct {
		status int
		body   []byte
	}
	raw := make(chan answer, 1)
	go func() {
		st, b := e.do("GET", base+"?until=final&wait=30s", nil)
		raw <- answer{st, b}
	}()
	c, err := client.New(e.srv.URL, client.Options{Token: adminKey})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		st  flow.State
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := c.WaitRunFinal(ctx, run.ID)
		done <- result{st, err}
	}()
	for _, s := range []flow.State{flow.Pending(), flow.Running(), flow.Failed("boom")} {
		if _, err := e.st.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if a := <-raw; a.status != http.StatusOK || !strings.Contains(string(a.body), `"`+flow.NameFailed+`"`) {
		t.Errorf("GET ?until=final: %d %s, want 200 and the final state only", a.status, a.body)
	}
	if r := <-done; r.err != nil || r.st.Type != flow.TypeFailed {
		t.Fatalf("WaitRunFinal = %s, %v; want Failed", r.st.Name, r.err)
	}
}

// The state request answers at once without from/wait, and with them
// when the state is already another; a bad wait is refused naming the
// field; an unchanged state is answered when the wait is over.
func TestRunStateWait(t *testing.T) {
	e := newEnv(t, api.Options{})
	run := e.createRun(`{"device":"sw1","vlan":10}`)
	base := "/api/v1/runs/" + run.ID + "/state"
	for _, q := range []string{"", "?from=Pending&wait=30s", "?from=Scheduled&wait=1ns"} {
		st, b := e.do("GET", base+q, nil)
		var ans wire.StateAnswer
		if st != http.StatusOK || json.Unmarshal(b, &ans) != nil || ans.State.Name != flow.NameScheduled {
			t.Errorf("GET %s: %d %s, want 200 Scheduled", q, st, b)
		}
	}
	if st, b := e.do("GET", base+"?from=Scheduled&wait=soon", nil); st != http.StatusBadRequest || !strings.Contains(string(b), `"wait"`) {
		t.Errorf("bad wait: %d %s, want 400 naming wait", st, b)
	}
	if st, _ := e.do("GET", "/api/v1/runs/nope/state?from=Scheduled&wait=1s", nil); st != http.StatusNotFound {
		t.Errorf("unknown run: %d, want 404", st)
	}
}
