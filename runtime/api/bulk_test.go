package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// TestBulkRuns cancels and retries runs selected by a filter: each role
// gets what its permissions allow, nothing is deleted (the history
// keeps every state with the reason and who asked), and runs the action
// does not apply to are reported as skipped.
func TestBulkRuns(t *testing.T) {
	e := rolesEnv(t)
	ctx := context.Background()
	var ids []string
	for range 3 {
		ids = append(ids, e.createRun(`{"device":"a","vlan":1}`).ID)
	}
	// One run fails: retry applies to it only.
	if _, err := e.st.SetRunState(ctx, ids[0], flow.Pending(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetRunState(ctx, ids[0], flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetRunState(ctx, ids[0], flow.Failed("boom"), nil); err != nil {
		t.Fatal(err)
	}

	cancel := wire.BulkRuns{Action: wire.BulkCancel, Filter: wire.BulkFilter{States: []flow.StateType{flow.TypeScheduled}, Deployment: "vlan-prod"}, Reason: "change freeze"}
	for _, k := range []string{viewerKey, approverKey, workerKey} {
		st, b := e.as(k).do("POST", "/api/v1/runs/bulk", cancel)
		wantError(t, st, b, http.StatusForbidden, "action")
	}
	st, b := e.as(operatorKey).do("POST", "/api/v1/runs/bulk", wire.BulkRuns{Action: wire.BulkCancel, Filter: cancel.Filter, DryRun: true})
	if st != http.StatusOK {
		t.Fatalf("dry run: %d %s", st, b)
	}
	if res := decodeAs[wire.BulkResult](t, b); res.Matched != 2 || len(res.Changed) != 2 {
		t.Fatalf("dry run: %+v, want 2 matched", res)
	}
	if run, _ := e.st.GetRun(ctx, ids[1]); run.State.Type != flow.TypeScheduled {
		t.Fatalf("dry run changed run: %s", run.State)
	}
	st, b = e.as(operatorKey).do("POST", "/api/v1/runs/bulk", cancel)
	if st != http.StatusOK {
		t.Fatalf("bulk cancel: %d %s", st, b)
	}
	res := decodeAs[wire.BulkResult](t, b)
	if res.Matched != 2 || len(res.Changed) != 2 || len(res.Skipped) != 0 {
		t.Fatalf("bulk cancel: %+v", res)
	}
	for _, id := range ids[1:] {
		hist, err := e.st.RunHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		last := hist[len(hist)-1]
		if last.Type != flow.TypeCancelled || !strings.Contains(last.Message, "change freeze") || !strings.Contains(last.Message, "ops") || len(hist) < 2 {
			t.Fatalf("run %s history %v: want Scheduled then Cancelled with the reason and who", id, hist)
		}
	}

	// Retry over every run of the deployment: the failed one is
	// scheduled again, the cancelled ones are skipped with why.
	retry := wire.BulkRuns{Action: wire.BulkRetry, Filter: wire.BulkFilter{Deployment: "vlan-prod"}}
	st, b = e.as(viewerKey).do("POST", "/api/v1/runs/bulk", retry)
	wantError(t, st, b, http.StatusForbidden, "action")
	st, b = e.as(operatorKey).do("POST", "/api/v1/runs/bulk", retry)
	if st != http.StatusOK {
		t.Fatalf("bulk retry: %d %s", st, b)
	}
	res = decodeAs[wire.BulkResult](t, b)
	if len(res.Changed) != 1 || res.Changed[0].ID != ids[0] || res.Changed[0].State.Name != flow.NameAwaitingRetry || len(res.Skipped) != 2 {
		t.Fatalf("bulk retry: %+v", res)
	}
	if !strings.Contains(res.Skipped[0].Error, "only Failed and Crashed") {
		t.Fatalf("skip reason %q", res.Skipped[0].Error)
	}

	// By IDs, limited, set-state for admins only.
	set := wire.BulkRuns{Action: wire.BulkSetState, IDs: []string{ids[0]}, State: &flow.State{Type: flow.TypeCancelled, Name: flow.NameCancelled}}
	st, b = e.as(operatorKey).do("POST", "/api/v1/runs/bulk", set)
	wantError(t, st, b, http.StatusForbidden, "action")
	st, b = e.do("POST", "/api/v1/runs/bulk", set)
	if res := decodeAs[wire.BulkResult](t, b); st != http.StatusOK || len(res.Changed) != 1 {
		t.Fatalf("set-state: %d %s", st, b)
	}

	for _, bad := range []struct {
		body  string
		field string
	}{
		{`{"action":"cancel"}`, "filter"},
		{`{"action":"delete","filter":{"deployment":"x"}}`, "action"},
		{`{"action":"cancel","filter":{"states":["NOPE"]}}`, "filter.states"},
		{`{"action":"cancel","filter":{"deployment":"x"},"ids":["a"]}`, "ids"},
		{`{"action":"cancel","filter":{"deployment":"x"},"limit":5000}`, "limit"},
		{`{"action":"set-state","ids":["a"]}`, "state"},
		{`{"action":"cancel","filter":{"deployment":"x"},"state":{"type":"FAILED","name":"Failed"}}`, "state"},
	} {
		st, b := e.do("POST", "/api/v1/runs/bulk", bad.body)
		wantError(t, st, b, http.StatusBadRequest, bad.field)
	}
}

// TestBulkRunsLimit acts on at most limit runs and says that more
// matched.
func TestBulkRunsLimit(t *testing.T) {
	e := newEnv(t, api.Options{})
	for range 3 {
		e.createRun(`{"device":"a","vlan":1}`)
	}
	st, b := e.do("POST", "/api/v1/runs/bulk", wire.BulkRuns{Action: wire.BulkCancel, Filter: wire.BulkFilter{Deployment: "vlan-prod"}, Limit: 2})
	res := decodeAs[wire.BulkResult](t, b)
	if st != http.StatusOK || res.Matched != 2 || !res.Truncated || len(res.Changed) != 2 {
		t.Fatalf("limited bulk: %d %s", st, b)
	}
}
