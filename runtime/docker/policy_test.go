package docker

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
)

func dockerPool(tmpl string) store.Pool {
	return store.Pool{Name: "p", Type: PoolType, JobTemplate: json.RawMessage(tmpl)}
}

// TestPolicyRefusesHostTakeover reproduces the job variables a holder of
// any API key sent to take over the Docker host, each refused with the
// field named, by a pool that allows nothing special.
func TestPolicyRefusesHostTakeover(t *testing.T) {
	pool := dockerPool(`{"image":"netauto-worker:1","memory_limit":"2Gi","cpu_limit":"2","networks":["netauto"]}`)
	for _, c := range []struct{ vars, field string }{
		{`{"volumes":["/var/run/docker.sock:/var/run/docker.sock"]}`, "volumes"},
		{`{"volumes":["/:/host:rw"]}`, "volumes"},
		{`{"network_mode":"host"}`, "network_mode"},
		{`{"network_mode":"container:0123abcd"}`, "network_mode"},
		{`{"networks":["host"]}`, "networks"},
		{`{"image":"attacker/tools:latest"}`, "image"},
		{`{"command":["sh","-c","echo $S"]}`, "command"},
		{`{"name":"netauto-other-run"}`, "name"},
		{`{"labels":{"x":"y"}}`, "labels"},
		{`{"memory_limit":null}`, "memory_limit"},
		{`{"memory_limit":"64Gi"}`, "memory_limit"},
		{`{"cpu_limit":"16"}`, "cpu_limit"},
		{`{"cpu_request":"8"}`, "cpu_request"},
		{`{"env":{"NETAUTO_API_URL":"http://attacker.example"}}`, "env.NETAUTO_API_URL"},
		{`{"env":{"NETAUTO_RUN_TOKEN":"x"}}`, "env.NETAUTO_RUN_TOKEN"},
		{`{"allow":{"docker_socket":true}}`, "allow"},
	} {
		_, err := ResolveJobTemplate(pool, json.RawMessage(c.vars))
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("run job variables %s: got %v, want refused naming %q", c.vars, err, c.field)
		}
		// A deployment's job variables meet the same policy.
		if _, err := ResolveJobTemplate(pool, json.RawMessage(c.vars), nil); !errors.As(err, &fe) {
			t.Errorf("deployment job variables %s accepted", c.vars)
		}
	}
	// What the default policy lets through: env values, resources
	// within the pool's limits.
	tm, err := ResolveJobTemplate(pool, json.RawMessage(`{"env":{"LOG":"debug"},"memory_limit":"1Gi"}`), json.RawMessage(`{"cpu_limit":"500m","memory_request":"512Mi"}`))
	if err != nil {
		t.Fatal(err)
	}
	if tm.Env["LOG"] != "debug" || tm.CPULimit.String() != "500m" || tm.MemoryLimit.String() != "1Gi" {
		t.Fatalf("template %+v", tm)
	}
}

// TestPolicyAllows: a pool lets through what it declares, and its own
// template meets the host rules too.
func TestPolicyAllows(t *testing.T) {
	pool := dockerPool(`{"image":"w:1","network_mode":"host","allow":{
		"override":["env","volumes","network_mode","image","memory_limit"],
		"volume_sources":["netauto-data","/srv/netauto"],
		"network_modes":["host","container"],
		"max_memory":"8Gi"}}`)
	ok := []string{
		`{"volumes":["netauto-data:/data","/srv/netauto/x:/x:ro"]}`,
		`{"network_mode":"container:abc"}`,
		`{"image":"w:2"}`,
		`{"memory_limit":"8Gi"}`,
	}
	for _, v := range ok {
		if _, err := ResolveJobTemplate(pool, json.RawMessage(v)); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	refused := map[string]string{
		`{"volumes":["/srv/netauto-other:/x"]}`:   "volumes[0]",
		`{"volumes":["/srv/netauto/../etc:/x"]}`:  "volumes[0]",
		`{"volumes":["other-volume:/x"]}`:         "volumes[0]",
		`{"memory_limit":"9Gi"}`:                  "memory_limit",
		`{"command":["x"]}`:                       "command",
		`{"volumes":["/var/run/docker.sock:/s"]}`: "volumes[0]",
	}
	for v, field := range refused {
		_, err := ResolveJobTemplate(pool, json.RawMessage(v))
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v, want refused naming %q", v, err, field)
		}
	}

	// The pool's own template: host networking and the socket only when
	// it says so.
	for tmpl, field := range map[string]string{
		`{"image":"w","network_mode":"host"}`:                                     "network_mode",
		`{"image":"w","volumes":["/var/run:/var/run"]}`:                           "volumes[0]",
		`{"image":"w","allow":{"network_modes":["bridge"]}}`:                      "allow.network_modes[0]",
		`{"image":"w","allow":{"override":["everything"]}}`:                       "allow.override[0]",
		`{"image":"w","allow":{"sockets":true}}`:                                  "allow",
		`{"image":"w","allow":{"volume_sources":["/srv/../etc"]}}`:                "allow.volume_sources[0]",
		`{"image":"w","volumes":["/run/docker.sock:/s"],"allow":{"override":[]}}`: "volumes[0]",
	} {
		err := CheckJobVariables(dockerPool(tmpl))
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("pool %s: got %v, want refused naming %q", tmpl, err, field)
		}
	}
	if err := CheckJobVariables(dockerPool(`{"image":"w","volumes":["/var/run/docker.sock:/var/run/docker.sock"],"allow":{"docker_socket":true}}`)); err != nil {
		t.Errorf("a pool allowing the socket: %v", err)
	}
	// "override": [] lets nothing through, env included.
	if _, err := ResolveJobTemplate(dockerPool(`{"image":"w","allow":{"override":[]}}`), json.RawMessage(`{"env":{"A":"b"}}`)); err == nil {
		t.Error("an empty override list let env through")
	}
}
