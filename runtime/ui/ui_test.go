package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestSignin: a key is exchanged for a session cookie that is HttpOnly,
// SameSite=Strict and carries no trace of the key; a wrong key, a missing
// sign-in token and a signed-out session get nothing.
func TestSignin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if st, loc, _ := b.post("/ui/runs/bulk", url.Values{"action": {"cancel"}}); st != http.StatusUnauthorized || loc != "" {
		t.Fatalf("bulk without a session: %d %s", st, loc)
	}
	resp, err := b.c.Get(e.srv.URL + "/ui/runs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/signin?next=") {
		t.Fatalf("page without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	b.get("/ui/signin")
	if st, _, body := b.post("/ui/signin", url.Values{"key": {"na_wrong-key"}}); st != http.StatusUnauthorized || !strings.Contains(body, "Unknown API key") || strings.Contains(body, "na_wrong-key") {
		t.Fatalf("wrong key: %d %s", st, body)
	}
	b.get("/ui/signin")
	if st, _, _ := b.post("/ui/signin", url.Values{"key": {adminKey}, "_csrf": {"forged"}}); st != http.StatusForbidden {
		t.Fatalf("sign-in without its token: %d", st)
	}

	b.get("/ui/signin")
	form := url.Values{"key": {operatorKey}, "_csrf": {b.csrf}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/ui/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "netauto_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/ui" || sess.Secure {
		t.Fatalf("session cookie %+v", sess)
	}
	if strings.Contains(sess.Value, operatorKey) || strings.Contains(sess.Value, strings.TrimPrefix(operatorKey, "na_")) {
		t.Fatal("the session cookie carries the key")
	}
	st, body := b.get("/ui/runs")
	if st != http.StatusOK || !strings.Contains(body, "ops") || strings.Contains(body, operatorKey) {
		t.Fatalf("runs page after sign-in: %d", st)
	}
	if st, _, _ := b.post("/ui/signout", nil); st != http.StatusSeeOther {
		t.Fatalf("sign out: %d", st)
	}
	resp, err = b.c.Get(e.srv.URL + "/ui/runs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("page after sign-out: %d", resp.StatusCode)
	}
}

// TestCSRF: a form posted without the session's token, or from another
// origin, changes nothing.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	run := e.createRun(t)
	b := e.browser()
	b.signin(adminKey)
	b.get("/ui/runs/" + run.ID)
	if st, _, _ := b.post("/ui/runs/"+run.ID+"/cancel", url.Values{"_csrf": {"stale"}}); st != http.StatusForbidden {
		t.Fatalf("cancel with a wrong token: %d", st)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/ui/runs/"+run.ID+"/cancel", strings.NewReader(url.Values{"_csrf": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin cancel: %d", resp.StatusCode)
	}
	got, _ := e.st.GetRun(context.Background(), run.ID)
	if got.State.Type != flow.TypeScheduled {
		t.Fatalf("a refused form moved the run: %+v", got.State)
	}
	if st, loc, _ := b.post("/ui/runs/"+run.ID+"/cancel", url.Values{"reason": {"freeze"}}); st != http.StatusSeeOther || loc != "/ui/runs/"+run.ID {
		t.Fatalf("cancel: %d %s", st, loc)
	}
	got, _ = e.st.GetRun(context.Background(), run.ID)
	if got.State.Type != flow.TypeCancelled || got.State.Message != "freeze (cancelled by root)" {
		t.Fatalf("after cancel: %+v", got.State)
	}
}

// TestRoles: a viewer sees no action buttons and the API refuses the
// actions it posts anyway; an operator gets cancel and run-now.
func TestRoles(t *testing.T) {
	e := newEnv(t)
	run := e.createRun(t)
	viewer := e.browser()
	viewer.signin(viewerKey)
	_, body := viewer.get("/ui/runs/" + run.ID)
	if strings.Contains(body, `id="cancel"`) {
		t.Fatal("a viewer is offered cancel")
	}
	_, body = viewer.get("/ui/deployments/vlan-prod")
	if strings.Contains(body, `id="run-now"`) || strings.Contains(body, `id="pause"`) {
		t.Fatal("a viewer is offered run-now or pause")
	}
	_, body = viewer.get("/ui/runs")
	if strings.Contains(body, `id="bulk-apply"`) {
		t.Fatal("a viewer is offered bulk actions")
	}
	_, loc, _ := viewer.post("/ui/runs/"+run.ID+"/cancel", nil)
	_, body = viewer.get(loc)
	if !strings.Contains(body, "cancel refused") || !strings.Contains(body, "role viewer") {
		t.Fatalf("viewer cancel: flash missing in %s", body)
	}
	if got, _ := e.st.GetRun(context.Background(), run.ID); got.State.Type != flow.TypeScheduled {
		t.Fatalf("a viewer cancelled: %+v", got.State)
	}

	ops := e.browser()
	ops.signin(operatorKey)
	_, body = ops.get("/ui/runs/" + run.ID)
	if !strings.Contains(body, `id="cancel"`) {
		t.Fatal("an operator is not offered cancel")
	}
	_, body = ops.get("/ui/runs")
	if !strings.Contains(body, `value="cancel"`) || strings.Contains(body, `value="set-state"`) {
		t.Fatal("an operator's bulk actions: want cancel, not set-state")
	}
}

// TestRunNow: the form made from the flow's schema creates a run, and a
// bad parameter is shown beside its field.
func TestRunNow(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signin(operatorKey)
	_, body := b.get("/ui/deployments/vlan-prod")
	for _, want := range []string{`name="p.device"`, `name="p.vlan"`, `value="prod"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("run-now form lacks %s", want)
		}
	}
	st, _, body := b.post("/ui/deployments/vlan-prod/run", url.Values{"p.device": {"sw1"}, "p.vlan": {"ten"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-vlan"`) || !strings.Contains(body, "want a whole number") {
		t.Fatalf("bad vlan: %d", st)
	}
	st, _, body = b.post("/ui/deployments/vlan-prod/run", url.Values{"p.vlan": {"10"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-device"`) || !strings.Contains(body, "required parameter missing") {
		t.Fatalf("missing device: %d %s", st, body)
	}
	st, loc, _ := b.post("/ui/deployments/vlan-prod/run", url.Values{"p.device": {"sw1"}, "p.vlan": {"10"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/runs/") {
		t.Fatalf("run now: %d %s", st, loc)
	}
	run, err := e.st.GetRun(context.Background(), strings.TrimPrefix(loc, "/ui/runs/"))
	if err != nil {
		t.Fatal(err)
	}
	if string(run.Parameters) != `{"device":"sw1","name":"prod","vlan":10}` || run.Origin.APIKey != "ops" {
		t.Fatalf("run made: %s %+v", run.Parameters, run.Origin)
	}

	// Rerun with edited parameters: the form starts from the run's.
	_, body = b.get("/ui/runs/" + run.ID)
	if !strings.Contains(body, `id="rerun"`) {
		t.Fatal("run page offers no rerun")
	}
	_, body = b.get("/ui/deployments/vlan-prod?from=" + run.ID)
	if !strings.Contains(body, `id="rerun-from"`) || !strings.Contains(body, `value="sw1"`) {
		t.Fatal("rerun form does not start from the run's parameters")
	}
}

// TestBulkAndFilters: the runs list filters by state and pages; a bulk
// cancel over the filter moves the runs it selects only.
func TestBulkAndFilters(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 5 {
		ids = append(ids, e.createRun(t).ID)
	}
	ctx := context.Background()
	if _, err := e.st.CancelRun(ctx, ids[0], "early"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signin(operatorKey)
	_, body := b.get("/ui/runs?state=CANCELLED")
	if strings.Count(body, `name="id"`) != 1 {
		t.Fatalf("state filter: want 1 run")
	}
	_, body = b.get("/ui/runs?after=not-a-time")
	if !strings.Contains(body, "want a date and time") {
		t.Fatal("bad time filter: no field error")
	}
	st, loc, _ := b.post("/ui/runs/bulk", url.Values{"scope": {"filter"}, "state": {"SCHEDULED"}, "action": {"cancel"}, "reason": {"maintenance"}})
	if st != http.StatusSeeOther {
		t.Fatalf("bulk: %d", st)
	}
	_, body = b.get(loc)
	if !strings.Contains(body, "bulk cancel: 4 runs moved, 0 not") {
		t.Fatalf("bulk flash missing")
	}
	for _, id := range ids[1:] {
		got, _ := e.st.GetRun(ctx, id)
		if got.State.Type != flow.TypeCancelled || !strings.HasPrefix(got.State.Message, "maintenance") {
			t.Fatalf("run %s after bulk: %+v", id, got.State)
		}
	}
	st, _, _ = b.post("/ui/runs/bulk", url.Values{"id": {ids[1]}, "action": {"set-state"}, "to": {"Failed"}})
	if st != http.StatusSeeOther {
		t.Fatalf("bulk set-state: %d", st)
	}
	_, body = b.get("/ui/runs")
	if !strings.Contains(body, "bulk set-state refused") {
		t.Fatal("an operator's set-state was not refused")
	}
}

// TestPages renders every page for an admin with a run, a block with a
// secret field and a secret, and checks secret values never appear.
func TestPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	run := e.createRun(t)
	for _, s := range []flow.State{flow.Pending(), flow.Running(), flow.Failed("boom")} {
		if _, err := e.st.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	const secret = "s3cr3t-device-password"
	if err := e.st.SaveBlock(ctx, store.Block{Name: "sw-creds", Type: "device", Data: json.RawMessage(`{"user":"netops"}`),
		Secrets: map[string]store.Secret{"password": store.NewSecret(secret)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutSecret(ctx, "f5-token", store.NewSecret(secret)); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signin(adminKey)
	_, body := b.get("/ui/config")
	if strings.Contains(body, secret) || !strings.Contains(body, "sw-creds") || !strings.Contains(body, "f5-token") || !strings.Contains(body, "password") {
		t.Fatalf("config page: secret shown or names missing")
	}
	for _, p := range []string{"/ui/", "/ui/runs", "/ui/runs/" + run.ID, "/ui/deployments", "/ui/deployments/vlan-prod", "/ui/flows", "/ui/pools", "/ui/events", "/ui/config"} {
		st, body := b.get(p)
		if st != http.StatusOK {
			t.Fatalf("%s: %d %s", p, st, body)
		}
	}
	_, body = b.get("/ui/runs/" + run.ID)
	if !strings.Contains(body, `id="retry"`) || !strings.Contains(body, "boom") {
		t.Fatal("failed run page lacks retry or its message")
	}
	st, _ := b.get("/ui/runs/nope")
	if st != http.StatusNotFound {
		t.Fatalf("unknown run: %d", st)
	}
	resp, err := b.c.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestPauseResume: an operator pauses and resumes a deployment from its
// page; the deployments list says it is paused.
func TestPauseResume(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signin(operatorKey)
	b.get("/ui/deployments/vlan-prod")
	if st, loc, _ := b.post("/ui/deployments/vlan-prod/pause", nil); st != http.StatusSeeOther || loc != "/ui/deployments/vlan-prod" {
		t.Fatalf("pause: %d %s", st, loc)
	}
	d, _ := e.st.GetDeployment(context.Background(), "vlan-prod")
	if !d.Paused {
		t.Fatal("not paused")
	}
	_, body := b.get("/ui/deployments")
	if !strings.Contains(body, ">paused<") {
		t.Fatal("deployments list does not say paused")
	}
	_, body = b.get("/ui/deployments/vlan-prod")
	if !strings.Contains(body, `id="resume"`) {
		t.Fatal("paused deployment offers no resume")
	}
	b.post("/ui/deployments/vlan-prod/resume", nil)
	if d, _ = e.st.GetDeployment(context.Background(), "vlan-prod"); d.Paused {
		t.Fatal("not resumed")
	}
}

// TestPoolsPage shows workers with their health and tag slots in use.
func TestPoolsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.st.Heartbeat(ctx, store.Worker{Name: "w-live", Pool: "default"}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Heartbeat(ctx, store.Worker{Name: "w-gone", Pool: "default", LastSeen: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetTagLimit(ctx, "sw1", 2); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.st.AcquireSlots(ctx, "h1", []string{"sw1"}, time.Now().Add(time.Minute)); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	b := e.browser()
	b.signin(viewerKey)
	_, body := b.get("/ui/pools")
	for _, want := range []string{"w-live", `class="health-ok"`, "w-gone", `class="health-dead"`, "<code>sw1</code></td><td>1</td><td>2</td>"} {
		if !strings.Contains(body, want) {
			t.Fatalf("pools page lacks %s", want)
		}
	}
	_, body = b.get("/ui/")
	if !strings.Contains(body, "w-live") || !strings.Contains(body, "health-dead") {
		t.Fatal("dashboard lacks the workers' health")
	}
}

// TestEventsInboxShowsRefusedDeliveries: a delivery the intake refused is
// listed on the events page with why, its source escaped.
func TestEventsInboxShowsRefusedDeliveries(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Post(e.srv.URL+"/api/v1/events/%3Cscript%3Ex", "application/json", strings.NewReader(`{"id":"ev-9"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("delivery to an unknown source: %d, want 404", resp.StatusCode)
	}
	b := e.browser()
	b.signin(adminKey)
	_, body := b.get("/ui/events")
	if !strings.Contains(body, "unknown_source") || !strings.Contains(body, "&lt;script&gt;x") || strings.Contains(body, "<script>x") {
		t.Fatalf("events page lacks the refused delivery, or shows its source unescaped:\n%s", body)
	}
}
