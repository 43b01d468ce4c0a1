package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestGitSourcedRuns: a deployment with a Git source whose flow is not
// registered yet accepts runs (the worker validates against the commit's
// schema); once the worker registered a version, runs are validated
// against the latest one.
func TestGitSourcedRuns(t *testing.T) {
	e := newEnv(t, api.Options{})
	dep := store.Deployment{Name: "from-git", Flow: "git-flow", Pool: "default",
		Source: &store.Source{Repository: "https://git.example/flows.git", Ref: "main", Entrypoint: "cmd/flows"}}
	if status, body := e.do(http.MethodPut, "/api/v1/deployments/from-git", dep); status != http.StatusCreated {
		t.Fatalf("apply: %d %s", status, body)
	}
	if status, body := e.do(http.MethodPost, "/api/v1/deployments/from-git/runs", wire.CreateRun{Parameters: []byte(`{"vlan":"anything"}`)}); status != http.StatusCreated {
		t.Fatalf("create run of an unregistered sourced flow: %d %s", status, body)
	}
	type p struct {
		VLAN int `json:"vlan"`
	}
	if err := e.st.RegisterFlow(context.Background(), store.Flow{Name: "git-flow", Version: "abc123", Parameters: flow.SchemaFor[p]()}); err != nil {
		t.Fatal(err)
	}
	status, body := e.do(http.MethodPost, "/api/v1/deployments/from-git/runs", wire.CreateRun{Parameters: []byte(`{"vlan":"ten"}`)})
	wantError(t, status, body, http.StatusUnprocessableEntity, "parameters.vlan")

	// The version endpoint is public.
	status, body = e.as("").do(http.MethodGet, "/api/v1/version", nil)
	if v := decodeAs[wire.Version](t, body); status != http.StatusOK || v.Protocol != wire.Protocol {
		t.Fatalf("version: %d %s", status, body)
	}
}
