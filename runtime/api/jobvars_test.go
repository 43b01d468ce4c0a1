package api_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
)

// TestJobVariablesCannotTakeOverTheHost reproduces the report: a key
// allowed to create runs sent job variables binding the Docker socket
// and the host's root, joining the host's network, picking the image and
// command, and referencing a secret; each got 201. Now each is refused,
// naming the field, and no run is created.
func TestJobVariablesCannotTakeOverTheHost(t *testing.T) {
	e := rolesEnv(t)
	ctx := context.Background()
	if err := e.st.ApplyPool(ctx, store.Pool{Name: "docker", Type: "docker", JobTemplate: json.RawMessage(`{"image":"netauto-worker:1","memory_limit":"2Gi"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-docker", Flow: "vlan", Pool: "docker"}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/deployments/vlan-docker/runs"
	params := `"parameters":{"device":"a","vlan":1}`
	for _, c := range []struct {
		vars   string
		status int
		field  string
	}{
		{`{"volumes":["/var/run/docker.sock:/var/run/docker.sock"]}`, 400, "job_variables.volumes"},
		{`{"volumes":["/:/host:rw"]}`, 400, "job_variables.volumes"},
		{`{"network_mode":"host"}`, 400, "job_variables.network_mode"},
		{`{"network_mode":"container:0123"}`, 400, "job_variables.network_mode"},
		{`{"image":"attacker/tools"}`, 400, "job_variables.image"},
		{`{"command":["sh","-c","echo $S"]}`, 400, "job_variables.command"},
		{`{"memory_limit":"64Gi"}`, 400, "job_variables.memory_limit"},
		{`{"env":{"S":"{{ secrets.f5-admin }}"}}`, 403, "job_variables.env.S"},
		{`{"env":{"P":"{{ blocks.netauto-config-production.f5_password }}"}}`, 403, "job_variables.env.P"},
	} {
		st, b := e.as(operatorKey).do("POST", path, `{`+params+`,"job_variables":`+c.vars+`}`)
		wantError(t, st, b, c.status, c.field)
	}
	if runs, _, _ := e.st.ListRuns(ctx, store.RunFilter{Deployment: "vlan-docker"}); len(runs) != 0 {
		t.Fatalf("%d runs created by refused requests", len(runs))
	}
	// Env values and resources within the pool's limits are an
	// operator's to set; secret references an admin's.
	if st, b := e.as(operatorKey).do("POST", path, `{`+params+`,"job_variables":{"env":{"LOG":"debug"},"memory_limit":"1Gi"}}`); st != 201 {
		t.Fatalf("operator's env and memory: %d %s", st, b)
	}
	if st, b := e.do("POST", path, `{`+params+`,"job_variables":{"env":{"S":"{{ secrets.f5-admin }}"}}}`); st != 201 {
		t.Fatalf("admin's secret reference: %d %s", st, b)
	}
	// The pool's own template may not open the host either, unless it
	// says so.
	st, b := e.do("PUT", "/api/v1/pools/docker", `{"type":"docker","job_template":{"image":"w","volumes":["/var/run/docker.sock:/var/run/docker.sock"]}}`)
	wantError(t, st, b, 400, "job_template.volumes[0]")
	st, b = e.do("PUT", "/api/v1/pools/docker", `{"type":"docker","job_template":{"image":"w","network_mode":"host"}}`)
	wantError(t, st, b, 400, "job_template.network_mode")
	if st, b := e.do("PUT", "/api/v1/pools/docker", `{"type":"docker","job_template":{"image":"w","network_mode":"host","allow":{"network_modes":["host"]}}}`); st != 200 {
		t.Fatalf("a pool declaring host networking: %d %s", st, b)
	}
}
