package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

func TestCreateRunParameters(t *testing.T) {
	e := newEnv(t, api.Options{})
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"merged with defaults", `{"parameters":{"device":"sw1","vlan":10}}`, 201, ""},
		{"wrong type", `{"parameters":{"device":"sw1","vlan":"ten"}}`, 422, "parameters.vlan"},
		{"missing required", `{"parameters":{"vlan":10}}`, 422, "parameters.device"},
		{"unknown parameter", `{"parameters":{"device":"sw1","vlan":1,"colour":"red"}}`, 422, "parameters"},
		{"parameters not an object", `{"parameters":[1]}`, 400, "parameters"},
		{"unknown request field", `{"params":{}}`, 400, "params"},
		{"wrong request type", `{"tags":"x"}`, 400, "tags"},
		{"malformed", `{"parameters":`, 400, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, b := e.do("POST", "/api/v1/deployments/vlan-prod/runs", tt.body)
			if tt.status != 201 {
				wantError(t, st, b, tt.status, tt.field)
				return
			}
			if st != 201 {
				t.Fatalf("status %d: %s", st, b)
			}
			run := decodeAs[wire.RunCreated](t, b).Run
			var p map[string]any
			if err := json.Unmarshal(run.Parameters, &p); err != nil {
				t.Fatal(err)
			}
			if p["name"] != "prod" || p["device"] != "sw1" || p["vlan"] != float64(10) {
				t.Fatalf("parameters %s: want defaults merged under the request's", run.Parameters)
			}
		})
	}
	runs, _, err := e.st.ListRuns(context.Background(), store.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%d runs stored (%v), want only the valid one", len(runs), err)
	}
}

func TestCreateRunIdempotency(t *testing.T) {
	e := newEnv(t, api.Options{})
	body := `{"parameters":{"device":"sw1","vlan":10}}`
	st1, b1 := e.do("POST", "/api/v1/deployments/vlan-prod/runs", body, "Idempotency-Key", "change-42")
	st2, b2 := e.do("POST", "/api/v1/deployments/vlan-prod/runs", body, "Idempotency-Key", "change-42")
	if st1 != 201 || st2 != 200 {
		t.Fatalf("statuses %d, %d; want 201 then 200", st1, st2)
	}
	r1, r2 := decodeAs[wire.RunCreated](t, b1), decodeAs[wire.RunCreated](t, b2)
	if r1.Run.ID != r2.Run.ID || !r1.Created || r2.Created {
		t.Fatalf("runs %+v and %+v: want the same run, created once", r1, r2)
	}
	st, b := e.do("POST", "/api/v1/deployments/vlan-prod/runs", `{"idempotency_key":"a","parameters":{"device":"x","vlan":1}}`, "Idempotency-Key", "b")
	wantError(t, st, b, 400, "idempotency_key")
}

func TestNotFoundAndLimits(t *testing.T) {
	e := newEnv(t, api.Options{MaxBodyBytes: 64})
	st, b := e.do("POST", "/api/v1/deployments/nope/runs", `{}`)
	wantError(t, st, b, 404, "deployment")
	st, b = e.do("GET", "/api/v1/runs/0000", nil)
	wantError(t, st, b, 404, "run")
	st, b = e.do("POST", "/api/v1/deployments/vlan-prod/runs", `{"parameters":{"device":"`+strings.Repeat("x", 100)+`","vlan":1}}`)
	wantError(t, st, b, 413, "")
	st, b = e.do("GET", "/api/v1/nothing", nil)
	wantError(t, st, b, 404, "")
	st, b = e.do("GET", "/api/v1/runs?state=BOGUS", nil)
	wantError(t, st, b, 400, "state")
	st, b = e.do("GET", "/api/v1/runs?created_after=yesterday", nil)
	wantError(t, st, b, 400, "created_after")
}

func TestSetStateTransitions(t *testing.T) {
	e := newEnv(t, api.Options{})
	run := e.createRun(`{"device":"sw1","vlan":10}`)
	path := "/api/v1/runs/" + run.ID + "/state"
	st, b := e.do("POST", path, wire.SetState{State: flow.Running()})
	wantError(t, st, b, 409, "state")
	if !strings.Contains(string(b), "illegal state transition") {
		t.Fatalf("409 body %s: want the transition error", b)
	}
	st, b = e.do("POST", path, `{"state":{"type":"RUNNING","name":"Nope"}}`)
	wantError(t, st, b, 400, "state.name")
	st, b = e.do("POST", path, wire.SetState{State: flow.Pending()})
	if st != 200 || decodeAs[store.FlowRun](t, b).State.Name != flow.NamePending {
		t.Fatalf("set Pending: %d %s", st, b)
	}
	st, b = e.do("GET", "/api/v1/runs/"+run.ID, nil)
	d := decodeAs[wire.RunDetail](t, b)
	if st != 200 || len(d.History) != 2 || d.History[0].Name != flow.NameScheduled || d.History[1].Name != flow.NamePending {
		t.Fatalf("detail %d %+v: want history Scheduled, Pending", st, d.History)
	}
	st, b = e.do("POST", "/api/v1/runs/"+run.ID+"/cancel", `{"reason":"operator"}`)
	if st != 200 || decodeAs[wire.StateAnswer](t, b).State.Type != flow.TypeCancelled {
		t.Fatalf("cancel: %d %s", st, b)
	}
}

func TestListRunsFilterAndPaginate(t *testing.T) {
	e := newEnv(t, api.Options{})
	var ids []string
	for i := range 5 {
		ids = append(ids, e.createRun(`{"device":"sw1","vlan":`+string(rune('1'+i))+`}`).ID)
	}
	if _, err := e.st.CancelRun(context.Background(), ids[0], "x"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		st, b := e.do("GET", "/api/v1/runs?state=SCHEDULED&deployment=vlan-prod&limit=2&cursor="+cursor, nil)
		if st != 200 {
			t.Fatalf("list: %d %s", st, b)
		}
		p := decodeAs[wire.RunPage](t, b)
		for _, r := range p.Runs {
			if seen[r.ID] || r.State.Type != flow.TypeScheduled {
				t.Fatalf("run %s (%s) repeated or in the wrong state", r.ID, r.State.Name)
			}
			seen[r.ID] = true
		}
		if cursor = p.Next; cursor == "" || pages > 5 {
			break
		}
	}
	if len(seen) != 4 || seen[ids[0]] {
		t.Fatalf("listed %d scheduled runs, want the 4 not cancelled", len(seen))
	}
}

func TestResources(t *testing.T) {
	e := newEnv(t, api.Options{})
	st, b := e.do("PUT", "/api/v1/blocks/netauto-config-production", `{"type":"netauto-config","data":{"url":"https://x"},"secrets":{"token":"s3cr3t-value"}}`)
	if st != 200 || strings.Contains(string(b), "s3cr3t") {
		t.Fatalf("save block: %d %s", st, b)
	}
	for _, p := range []string{"/api/v1/blocks/netauto-config-production", "/api/v1/blocks"} {
		st, b = e.do("GET", p, nil)
		if st != 200 || strings.Contains(string(b), "s3cr3t") || !strings.Contains(string(b), `"token"`) {
			t.Fatalf("GET %s: %d %s: want the secret field named and masked", p, st, b)
		}
	}
	blk, err := e.st.GetBlock(context.Background(), "netauto-config-production")
	if err != nil || blk.Secrets["token"].Reveal() != "s3cr3t-value" {
		t.Fatalf("stored block secret not kept: %v", err)
	}
	st, b = e.do("PUT", "/api/v1/variables/site", `{"value":{"dc":"fra1"}}`)
	if st != 200 {
		t.Fatalf("set variable: %d %s", st, b)
	}
	st, b = e.do("GET", "/api/v1/variables/site", nil)
	if st != 200 || !strings.Contains(string(b), "fra1") {
		t.Fatalf("get variable: %d %s", st, b)
	}
	st, b = e.do("PUT", "/api/v1/deployments/vlan-prod", `{"flow":"vlan","pool":"default","parameters":{"name":"prod"},"tags":["net"]}`)
	ap := decodeAs[wire.DeploymentApplied](t, b)
	if st != 200 || ap.Change.Created || len(ap.Change.Changed) != 1 || ap.Change.Changed[0] != "tags" {
		t.Fatalf("apply: %d %s: want tags changed", st, b)
	}
	st, b = e.do("PUT", "/api/v1/deployments/vlan-new", `{"flow":"vlan","pool":"default","parameters":{"vlan":"x"}}`)
	wantError(t, st, b, 422, "parameters.vlan")
	for _, tt := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"flow":"vlan","pool":"default","schedules":[{"cron":"0 2 * * *","timezone":"Europe/Berln"}]}`, 400, "schedules[0].timezone"},
		{`{"flow":"vlan","pool":"default","schedules":[{"cron":"61 * * * *"}]}`, 400, "schedules[0].cron"},
		{`{"flow":"vlan","pool":"default","schedules":[{"interval":1000000000}]}`, 400, "schedules[0].interval"},
		{`{"flow":"vlan","pool":"default","schedules":[{"cron":"@daily","parameters":{"vlan":"x"}}]}`, 422, "schedules[0].parameters.vlan"},
		{`{"flow":"vlan","pool":"default","collision":"maybe"}`, 400, "collision"},
	} {
		st, b = e.do("PUT", "/api/v1/deployments/vlan-new", tt.body)
		wantError(t, st, b, tt.status, tt.field)
	}
	if _, err := e.st.GetDeployment(context.Background(), "vlan-new"); err == nil {
		t.Fatal("a refused deployment was stored")
	}
	st, b = e.do("PUT", "/api/v1/deployments/vlan-new", `{"flow":"vlan","pool":"default","schedules":[{"cron":"0 2 * * *","timezone":"Europe/Berlin"}]}`)
	if st != 201 {
		t.Fatalf("apply new: %d %s", st, b)
	}
	for _, p := range []string{"/api/v1/flows", "/api/v1/pools", "/api/v1/workers", "/api/v1/deployments", "/api/v1/events", "/healthz", "/readyz"} {
		if st, b := e.do("GET", p, nil); st != 200 {
			t.Errorf("GET %s: %d %s", p, st, b)
		}
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.createRun(`{"device":"sw1","vlan":10}`)
	e.do("GET", "/api/v1/runs/missing", nil)
	st, b := e.do("GET", "/metrics", nil)
	if st != 200 {
		t.Fatalf("metrics: %d", st)
	}
	for _, want := range []string{
		`netauto_runs{state="SCHEDULED"} 1`,
		`netauto_http_requests_total{route="/api/v1/runs/{id}",method="GET",code="404"} 1`,
		`netauto_http_request_duration_seconds_count{route="/api/v1/deployments/{name}/runs"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s:\n%s", want, b)
		}
	}
	if st, _ := e.as("").do("GET", "/metrics", nil); st != http.StatusUnauthorized {
		t.Errorf("metrics without key: %d, want 401", st)
	}
}

func TestReadyz(t *testing.T) {
	e := newEnv(t, api.Options{})
	if st, b := e.as("").do("GET", "/readyz", nil); st != 200 {
		t.Fatalf("readyz: %d %s", st, b)
	}
	e.st.Close()
	st, b := e.as("").do("GET", "/readyz", nil)
	wantError(t, st, b, 503, "")
	if st, _ := e.as("").do("GET", "/healthz", nil); st != 200 {
		t.Fatalf("healthz with the store down: %d, want 200 (the process is alive)", st)
	}
}
