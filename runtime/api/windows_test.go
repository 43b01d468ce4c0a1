package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

// TestChangeWindows: a run created while its deployment is frozen waits
// (AwaitingWindow); GET /api/v1/windows shows why and until when to any
// reader; only an approver (or admin) may let it start, with a reason,
// which the run's history records with the key's name.
func TestChangeWindows(t *testing.T) {
	e := rolesEnv(t)
	now := time.Now().UTC()
	freeze := window.Freeze{Name: "cab", Reason: "quarterly freeze",
		Start: now.Add(-time.Hour).Format(time.RFC3339), End: now.Add(time.Hour).Format(time.RFC3339)}
	if _, err := e.st.ApplyDeployment(context.Background(), store.Deployment{Name: "vlan-prod", Flow: "vlan", Pool: "default",
		Calendar: &window.Calendar{Freezes: []window.Freeze{freeze}}}); err != nil {
		t.Fatal(err)
	}
	// A bad calendar is refused at apply, naming the field.
	st, b := e.do("PUT", "/api/v1/deployments/vlan-prod", `{"flow":"vlan","pool":"default","calendar":{"windows":[{"start":"0 22 * * *","duration":"0s"}]}}`)
	wantError(t, st, b, http.StatusBadRequest, "calendar.windows[0].duration")
	st, b = e.do("PUT", "/api/v1/deployments/vlan-prod", `{"flow":"vlan","pool":"default","calendar":{"windows":[{"start":"0 22 * *","duration":"1h"}]}}`)
	wantError(t, st, b, http.StatusBadRequest, "calendar.windows[0].start")
	run := e.as(operatorKey).createRun(`{"device":"a","vlan":1}`)
	if run.State.Name != flow.NameAwaitingWindow || !strings.Contains(run.State.Message, "frozen by cab") {
		t.Fatalf("run created in a freeze: %s", run.State)
	}

	st, b = e.as(viewerKey).do("GET", "/api/v1/windows", nil)
	ws := decodeAs[wire.Windows](t, b)
	if st != http.StatusOK || len(ws.Items) != 1 || ws.Items[0].Deployment != "vlan-prod" || ws.Items[0].Status.Reason != window.Frozen ||
		len(ws.Items[0].Next) != 1 || len(ws.Items[0].Freezes) != 1 || !ws.Items[0].Freezes[0].Active {
		t.Fatalf("windows %d %s", st, b)
	}
	st, b = e.as(viewerKey).do("GET", "/api/v1/windows?count=99", nil)
	wantError(t, st, b, http.StatusBadRequest, "count")

	path := "/api/v1/runs/" + run.ID + "/override-window"
	body := wire.OverrideWindow{Reason: "P1: restore the uplink"}
	for _, k := range []string{viewerKey, operatorKey, workerKey} {
		if st, b := e.as(k).do("POST", path, body); st != http.StatusForbidden {
			t.Fatalf("override as %s: %d %s", k, st, b)
		}
	}
	st, b = e.as(approverKey).do("POST", path, wire.OverrideWindow{Reason: " "})
	wantError(t, st, b, http.StatusBadRequest, "reason")
	st, b = e.as(approverKey).do("POST", path, body)
	got := decodeAs[store.FlowRun](t, b)
	if st != http.StatusOK || got.State.Name != flow.NameWindowOverridden || got.State.Message != "change window overridden by cab: P1: restore the uplink" {
		t.Fatalf("override %d %s", st, b)
	}
	// Once let through, it is claimed at once, in the freeze.
	claimed, ok, err := e.st.ClaimRun(context.Background(), store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || claimed.ID != run.ID {
		t.Fatalf("claim after override: %v %v", ok, err)
	}
	// Again: the run no longer waits.
	st, b = e.as(approverKey).do("POST", path, body)
	wantError(t, st, b, http.StatusConflict, "state")
}
