package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

// TestChangeWindowPages: the deployment page shows its change calendar
// (closed, why, the next opening, the freeze); a run waiting for its
// window says so, a viewer or operator gets no override, and the
// override form needs a reason before the run is let through.
func TestChangeWindowPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	cal := &window.Calendar{Freezes: []window.Freeze{{Name: "cab", Reason: "quarterly freeze",
		Start: now.Add(-time.Hour).Format(time.RFC3339), End: now.Add(time.Hour).Format(time.RFC3339)}}}
	if _, err := e.st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan", Pool: "default", Calendar: cal}); err != nil {
		t.Fatal(err)
	}
	run := e.createRun(t)
	if run.State.Name != flow.NameAwaitingWindow {
		t.Fatalf("run: %s", run.State)
	}
	for _, key := range []string{viewerKey, operatorKey} {
		b := e.browser()
		b.signin(key)
		_, body := b.get("/ui/deployments/vlan-prod")
		if !strings.Contains(body, `id="change-window"`) || !strings.Contains(body, "Closed: frozen by cab: quarterly freeze") {
			t.Fatalf("deployment page without its calendar:\n%s", body)
		}
		_, body = b.get("/ui/runs/" + run.ID)
		if !strings.Contains(body, `id="awaiting-window"`) || strings.Contains(body, `id="override-window"`) {
			t.Fatalf("run page for %s: waiting shown %v, override offered %v", key, strings.Contains(body, `id="awaiting-window"`), strings.Contains(body, `id="override-window"`))
		}
	}
	b := e.browser()
	b.signin(adminKey)
	if _, body := b.get("/ui/runs/" + run.ID); !strings.Contains(body, `id="override-window"`) {
		t.Fatal("an admin is not offered the override")
	}
	if st, _, _ := b.post("/ui/runs/"+run.ID+"/override-window", url.Values{"reason": {" "}}); st != http.StatusSeeOther {
		t.Fatalf("override without a reason: %d", st)
	}
	if _, body := b.get("/ui/runs/" + run.ID); !strings.Contains(body, "override-window refused") || !strings.Contains(body, "reason") {
		t.Fatalf("no refusal shown:\n%s", body)
	}
	if got, _ := e.st.GetRun(ctx, run.ID); got.State.Name != flow.NameAwaitingWindow {
		t.Fatalf("a refused override moved the run: %s", got.State)
	}
	b.post("/ui/runs/"+run.ID+"/override-window", url.Values{"reason": {"emergency fix"}})
	if got, _ := e.st.GetRun(ctx, run.ID); got.State.Name != flow.NameWindowOverridden || got.State.Message != "change window overridden by root: emergency fix" {
		t.Fatalf("after the override: %s", got.State)
	}
}
