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
