package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// A run token is bound to the attempt it was minted for: once the run was
// reaped and claimed again, what the old child reports is refused with
// 409 naming the fence, and nothing of it is stored; the new attempt's
// token reports.
func TestRunTokenFencedByAttempt(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx := context.Background()
	if _, err := e.st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan", Pool: "default", Retries: 1, Parameters: []byte(`{"name":"prod"}`)}); err != nil {
		t.Fatal(err)
	}
	run := e.createRun(`{"device":"a","vlan":1}`)
	claimed, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w1", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || claimed.ID != run.ID {
		t.Fatalf("claim %+v %v %v", claimed, ok, err)
	}
	// Minting for the claimed execution over HTTP.
	st, b := e.do("POST", "/api/v1/runs/"+run.ID+"/token", wire.MintToken{Attempt: 1, Worker: "w1"})
	if st != http.StatusOK {
		t.Fatalf("mint: %d %s", st, b)
	}
	old := e.as(decodeAs[wire.RunToken](t, b).Token)
	path := "/api/v1/runs/" + run.ID + "/record"
	if st, b := old.do("POST", path, wire.Record{BatchID: "1", Ops: []wire.Op{{RunID: run.ID, State: state(flow.Running())}}}); st != http.StatusOK {
		t.Fatalf("record of the current attempt: %d %s", st, b)
	}

	if _, err := e.st.ReapExpiredLeases(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w2", Lease: time.Minute, Now: time.Now().Add(2 * time.Hour)}); err != nil || !ok {
		t.Fatalf("reclaim %v %v", ok, err)
	}
	st, b = old.do("POST", path, wire.Record{BatchID: "2", Ops: []wire.Op{{RunID: run.ID, State: state(flow.Running())}},
		Logs: []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "late"}}})
	if st != http.StatusConflict || !strings.Contains(string(b), `"field":"fence"`) {
		t.Fatalf("stale record: %d %s, want 409 naming the fence", st, b)
	}
	if logs, _, _ := e.st.Logs(ctx, store.LogQuery{FlowRunID: run.ID}); len(logs) != 0 {
		t.Fatalf("stale logs stored: %+v", logs)
	}
	if r, _ := e.st.GetRun(ctx, run.ID); r.State.Name != flow.NamePending || r.Attempt != 2 {
		t.Fatalf("run %s attempt %d, want Pending at attempt 2", r.State, r.Attempt)
	}
	// Minting for the stale execution is refused too.
	if st, b := e.do("POST", "/api/v1/runs/"+run.ID+"/token", wire.MintToken{Attempt: 1, Worker: "w1"}); st != http.StatusConflict {
		t.Fatalf("mint for a stale attempt: %d %s, want 409", st, b)
	}
	tok, _, err := e.api.MintRunToken(ctx, store.Fence{RunID: run.ID, Worker: "w2", Attempt: 2}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st, b := e.as(tok).do("POST", path, wire.Record{BatchID: "3", Ops: []wire.Op{{RunID: run.ID, State: state(flow.Running())}}}); st != http.StatusOK {
		t.Fatalf("record of attempt 2: %d %s", st, b)
	}
}

// A run token reads its own run, and no other.
func TestRunTokenReadsOwnRun(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.createRun(`{"device":"a","vlan":1}`)
	b := e.createRun(`{"device":"b","vlan":2}`)
	tok := e.as(e.tokenFor(a.ID))
	st, body := tok.do("GET", "/api/v1/runs/"+a.ID, nil)
	if st != http.StatusOK || decodeAs[wire.RunDetail](t, body).Run.ID != a.ID {
		t.Fatalf("own run: %d %s", st, body)
	}
	for _, path := range []string{"/api/v1/runs/" + b.ID, "/api/v1/runs", "/api/v1/deployments"} {
		if st, body := tok.do("GET", path, nil); st != http.StatusForbidden {
			t.Errorf("GET %s with a run token: %d %s, want 403", path, st, body)
		}
	}
}
