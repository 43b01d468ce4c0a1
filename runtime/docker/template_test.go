package docker

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/netauto-dev/netauto/runtime/agent"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
)

func TestDockerTemplateLayering(t *testing.T) {
	pool := json.RawMessage(`{"image":"base:1","image_pull_policy":"Never","env":{"A":"pool","B":"pool"},"cpu_limit":"2","labels":{"team":"net"}}`)
	dep := json.RawMessage(`{"env":{"B":"dep","C":"{{ secrets.tok }}"},"memory_limit":"2Gi","cpu_limit":"500m"}`)
	run := json.RawMessage(`{"env":{"A":null},"image":"base:2","memory_request":"512Mi"}`)
	tm, err := ParseJobTemplate(pool, dep, run)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Image != "base:2" || tm.ImagePullPolicy != PullNever {
		t.Errorf("image %q policy %q", tm.Image, tm.ImagePullPolicy)
	}
	if _, ok := tm.Env["A"]; ok || tm.Env["B"] != "dep" || tm.Env["C"] != "{{ secrets.tok }}" {
		t.Errorf("env %v", tm.Env)
	}
	if n, _ := tm.CPULimit.NanoCPUs(); n != 500_000_000 {
		t.Errorf("cpu_limit %d", n)
	}
	if b, _ := tm.MemoryLimit.Bytes(); b != 2<<30 {
		t.Errorf("memory_limit %d", b)
	}
	if b, _ := tm.MemoryRequest.Bytes(); b != 512<<20 {
		t.Errorf("memory_request %d", b)
	}
	if tm.Labels["team"] != "net" {
		t.Errorf("labels %v", tm.Labels)
	}
}

func TestDockerTemplateErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ doc, field string }{
		{`{"imgae":"x"}`, "imgae"},
		{`{"cpu_limit":"fast"}`, "cpu_limit"},
		{`{"cpu_limit":"-1"}`, "cpu_limit"},
		{`{"cpu_limit":"0"}`, "cpu_limit"},
		{`{"memory_limit":"2Gb"}`, "memory_limit"},
		{`{"memory_limit":"512m"}`, "memory_limit"},
		{`{"memory_request":"1e9"}`, "memory_request"},
		{`{"memory_limit":"1Gi","memory_request":"2Gi"}`, "memory_request"},
		{`{"cpu_limit":"1","cpu_request":"2"}`, "cpu_request"},
		{`{"image_pull_policy":"Sometimes"}`, "image_pull_policy"},
		{`{"env":{"1BAD":"x"}}`, "env.1BAD"},
		{`{"env":{"OK":"{{ secrets.a.b }}"}}`, "env.OK"},
		{`{"env":{"OK":"{{ nope"}}`, "env.OK"},
		{`{"env":["x"]}`, "env"},
		{`{"volumes":["/only"]}`, "volumes[0]"},
		{`{"volumes":["a:rel"]}`, "volumes[0]"},
		{`{"labels":{"netauto.run":"x"}}`, "labels.netauto.run"},
		{`{"auto_remove":"yes"}`, "auto_remove"},
		{`{"command":[""]}`, "command[0]"},
		{`{"networks":[""]}`, "networks[0]"},
	} {
		_, err := ParseJobTemplate(json.RawMessage(c.doc))
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: got %v, want an error naming %q", c.doc, err, c.field)
		}
	}
	if _, err := ParseJobTemplate(json.RawMessage(`[1]`)); err == nil {
		t.Error("a non-object template was accepted")
	}
}

func FuzzDockerParseJobTemplate(f *testing.F) {
	f.Add([]byte(`{"image":"a","cpu_limit":"500m","memory_limit":"2Gi","env":{"X":"{{ secrets.y }}"}}`), []byte(`{"env":{"X":null}}`))
	f.Add([]byte(`{"volumes":["a:/b:ro"],"networks":["n"],"labels":{"k":"v"}}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		tm, err := ParseJobTemplate(a, b)
		if err != nil {
			if tm.Image != "" {
				t.Fatalf("template returned with error %v", err)
			}
			return
		}
		if err := tm.Validate(); err != nil {
			t.Fatalf("parsed template fails Validate: %v", err)
		}
		doc, err := json.Marshal(tm)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseJobTemplate(doc); err != nil {
			t.Fatalf("re-parse of %s: %v", doc, err)
		}
	})
}

func TestDockerCheckJobVariables(t *testing.T) {
	pool := store.Pool{Name: "p", Type: PoolType, JobTemplate: json.RawMessage(`{"image":"x"}`)}
	if err := CheckJobVariables(pool, json.RawMessage(`{"cpu_limit":"1"}`), json.RawMessage(`{"env":{"A":"b"}}`)); err != nil {
		t.Fatal(err)
	}
	var fe *fielderr.Error
	if err := CheckJobVariables(pool, json.RawMessage(`{"cpu_limt":"1"}`)); !errors.As(err, &fe) || fe.Field != "cpu_limt" {
		t.Errorf("unknown field: %v", err)
	}
	other := store.Pool{Name: "q", Type: "process"}
	if err := CheckJobVariables(other, json.RawMessage(`{"anything":1}`)); err != nil {
		t.Errorf("a non-docker pool was checked: %v", err)
	}
}

// The launcher hands over as secrets the variables runtime/agent reads
// them from.
func TestSecretEnvNamesAreAgents(t *testing.T) {
	want := []string{agent.EnvRunToken, agent.EnvAPIKey, agent.EnvRun}
	if !slices.Equal(secretEnvNames, want) || SecretEnvStdin != agent.EnvSecretEnv {
		t.Errorf("secret names %v and %s, want runtime/agent's %v and %s", secretEnvNames, SecretEnvStdin, want, agent.EnvSecretEnv)
	}
}
