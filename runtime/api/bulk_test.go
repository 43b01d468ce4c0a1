package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// TestBulkCancelByFilter cancels the runs a filter selects and leaves the
// others, keeping every run's history.
func TestBulkCancelByFilter(t *testing.T) {
	e := rolesEnv(t)
	var ids []string
	for range 3 {
		ids = append(ids, e.createRun(`{"device":"a","vlan":1}`).ID)
	}
	other := e.createRun(`{"device":"b","vlan":2}`)
	if _, err := e.st.CancelRun(context.Background(), other.ID, "before"); err != nil {
		t.Fatal(err)
	}
	st, b := e.as(operatorKey).do("POST", "/api/v1/runs/bulk", wire.Bulk{Action: "cancel", Reason: "change freeze",
		Filter: &wire.BulkFilter{States: []string{"scheduled"}, Deployment: "vlan-prod"}})
	if st != http.StatusOK {
		t.Fatalf("bulk: %d %s", st, b)
	}
	res := decodeAs[wire.BulkResult](t, b)
	if len(res.Done) != 3 || len(res.Failed) != 0 {
		t.Fatalf("bulk result %+v, want the 3 scheduled runs", res)
	}
	for _, id := range ids {
		run, err := e.st.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.State.Type != flow.TypeCancelled || !strings.Contains(run.State.Message, "change freeze (cancelled by ops)") {
			t.Fatalf("run %s: %+v", id, run.State)
		}
		hist, _ := e.st.RunHistory(context.Background(), id)
		if len(hist) != 2 {
			t.Fatalf("history of %s: %+v, want Scheduled then Cancelled", id, hist)
		}
	}
}

// TestBulkPermissions: each action needs its own permission, checked
// before any run moves; a run that cannot move fails alone.
func TestBulkPermissions(t *testing.T) {
	e := rolesEnv(t)
	run := e.createRun(`{"device":"a","vlan":1}`)
	ids := []string{run.ID}
	st, b := e.as(viewerKey).do("POST", "/api/v1/runs/bulk", wire.Bulk{Action: "cancel", IDs: ids})
	wantError(t, st, b, http.StatusForbidden, "action")
	st, b = e.as(operatorKey).do("POST", "/api/v1/runs/bulk", wire.Bulk{Action: "set-state", State: "Failed", IDs: ids})
	wantError(t, st, b, http.StatusForbidden, "action")
	if got, _ := e.st.GetRun(context.Background(), run.ID); got.State.Type != flow.TypeScheduled {
		t.Fatalf("a refused bulk request moved the run: %+v", got.State)
	}
	st, b = e.do("POST", "/api/v1/runs/bulk", wire.Bulk{Action: "set-state", State: "Bogus", IDs: ids})
	wantError(t, st, b, http.StatusBadRequest, "state")
	st, b = e.do("POST", "/api/v1/runs/bulk", wire.Bulk{Action: "delete", IDs: ids})
	wantError(t, st, b, http.StatusBadRequest, "action")
	st, b = e.do("POST", "/api/v1/runs/bulk", wire.Bulk{Action: "cancel"})
	wantError(t, st, b, http.StatusBadRequest, "ids")

	// Admin sets a state with a reason; an unknown run fails alone.
	st, b = e.do("POST", "/api/v1/runs/bulk", wire.Bulk{Action: "set-state", State: "Crashed", Reason: "host lost", IDs: []string{run.ID, "nope"}})
	if st != http.StatusOK {
		t.Fatalf("bulk: %d %s", st, b)
	}
	res := decodeAs[wire.BulkResult](t, b)
	if len(res.Done) != 1 || res.Done[0].State.Name != "Crashed" || res.Done[0].State.Message != "host lost (set by root)" {
		t.Fatalf("done %+v", res.Done)
	}
	if len(res.Failed) != 1 || res.Failed[0].ID != "nope" {
		t.Fatalf("failed %+v", res.Failed)
	}
}

// TestRetryRun moves a Failed run back to AwaitingRetry; a run that did
// not fail is refused with 409.
func TestRetryRun(t *testing.T) {
	e := rolesEnv(t)
	run := e.createRun(`{"device":"a","vlan":1}`)
	st, b := e.as(operatorKey).do("POST", "/api/v1/runs/"+run.ID+"/retry", nil)
	wantError(t, st, b, http.StatusConflict, "state")
	ctx := context.Background()
	for _, s := range []flow.State{flow.Pending(), flow.Running(), flow.Failed("boom")} {
		if _, err := e.st.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	st, b = e.as(viewerKey).do("POST", "/api/v1/runs/"+run.ID+"/retry", nil)
	wantError(t, st, b, http.StatusForbidden, "Authorization")
	st, b = e.as(operatorKey).do("POST", "/api/v1/runs/"+run.ID+"/retry", `{"reason":"device back"}`)
	if st != http.StatusOK {
		t.Fatalf("retry: %d %s", st, b)
	}
	got := decodeAs[wire.StateAnswer](t, b).State
	if got.Name != flow.NameAwaitingRetry || got.Message != "device back (retried by ops)" {
		t.Fatalf("state after retry %+v", got)
	}
}

// TestServeAs: a request served in-process as a principal is authorised
// by that principal's role, whatever bearer header it carries.
func TestServeAs(t *testing.T) {
	e := rolesEnv(t)
	run := e.createRun(`{"device":"a","vlan":1}`)
	viewer, err := e.api.Authenticate(viewerKey)
	if err != nil || viewer.Role != api.RoleViewer || viewer.Name != "ro" {
		t.Fatalf("Authenticate: %+v %v", viewer, err)
	}
	if _, err := e.api.Authenticate("na_wrong"); err == nil || strings.Contains(err.Error(), "na_wrong") {
		t.Fatalf("unknown key: %v", err)
	}
	req := httptest.NewRequest("POST", "/api/v1/runs/"+run.ID+"/cancel", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	rec := httptest.NewRecorder()
	e.api.ServeAs(rec, req, viewer)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("viewer cancel served as: %d %s", rec.Code, rec.Body)
	}
	ops, _ := e.api.Authenticate(operatorKey)
	rec = httptest.NewRecorder()
	e.api.ServeAs(rec, httptest.NewRequest("POST", "/api/v1/runs/"+run.ID+"/cancel", strings.NewReader(`{"reason":"ui"}`)), ops)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ui (cancelled by ops)") {
		t.Fatalf("operator cancel served as: %d %s", rec.Code, rec.Body)
	}
}
