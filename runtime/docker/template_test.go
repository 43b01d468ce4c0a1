package docker

import (
	"slices"

	"context"
	"encoding/json"
	"errors"
	"github.com/netauto-dev/netauto/runtime/agent"
	"testing"

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
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: got %v, want an error naming %q", c.doc, err, c.field)
		}
	}
	if _, err := ParseJobTemplate(json.RawMessage(`[1]`)); err == nil {
		t.Error("a non-object template was accepted")
	}
}

func TestDockerQuantities(t *testing.T) {
	for in, want := range map[string]int64{"1": 1e9, "1.5": 1.5e9, "500m": 5e8, "0.25": 2.5e8, "2000m": 2e9} {
		if got, err := ParseQuantity(in).NanoCPUs(); err != nil || got != want {
			t.Errorf("cpu %q = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]int64{"2Gi": 2 << 30, "1.5Gi": 3 << 29, "500Mi": 500 << 20, "1G": 1e9, "100k": 1e5, "4096": 4096, "1Ki": 1024} {
		if got, err := ParseQuantity(in).Bytes(); err != nil || got != want {
			t.Errorf("memory %q = %d, %v; want %d", in, got, err, want)
		}
	}
	var q Quantity
	if err := json.Unmarshal([]byte(`1.5`), &q); err != nil || q.String() != "1.5" {
		t.Errorf("number quantity: %v %q", err, q)
	}
}

type fakeResolver struct{}

func (fakeResolver) GetSecret(_ context.Context, name string) (store.Secret, error) {
	if name == "tok" {
		return store.NewSecret("s3cr3t"), nil
	}
	return store.Secret{}, store.ErrNotFound
}

func (fakeResolver) GetBlock(_ context.Context, name string) (store.Block, error) {
	switch name {
	case "dev":
		return store.Block{Name: name, Data: json.RawMessage(`{"host":"10.0.0.1","port":443,"notify":{"url":"https://chat.example.net","channel":"#ops"}}`),
			Secrets: map[string]store.Secret{"password": store.NewSecret("pw"), "notify.key": store.NewSecret("nk")}}, nil
	case "plain":
		return store.Block{Name: name, Data: json.RawMessage(`{"host":"10.0.0.2"}`)}, nil
	case "down":
		return store.Block{}, errors.New("connection refused")
	}
	return store.Block{}, store.ErrNotFound
}

func (fakeResolver) GetVariable(_ context.Context, name string) (json.RawMessage, error) {
	if name == "region" {
		return json.RawMessage(`"eu"`), nil
	}
	return nil, store.ErrNotFound
}

func TestDockerEnvExpansion(t *testing.T) {
	run := store.FlowRun{ID: "r1", Flow: "f", Attempt: 2}
	ctx := context.Background()
	got, secret, err := expand(ctx, "{{run_id}}/{{ attempt }}/{{ secrets.tok }}/{{ region }}/{{ blocks.dev.host }}:{{ blocks.dev.port }}/{{ blocks.dev.password }}", run, fakeResolver{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "r1/2/s3cr3t/eu/10.0.0.1:443/pw"; got != want || !secret {
		t.Errorf("got %q (secret %v), want %q, secret", got, secret, want)
	}
	// What resolves no secret is not one; a dotted path reads nested data.
	for ref, want := range map[string]string{
		"{{ blocks.dev.host }}":       "10.0.0.1",
		"{{ blocks.dev.notify.url }}": "https://chat.example.net",
		"{{ blocks.dev.notify }}":     `{"channel":"#ops","url":"https://chat.example.net"}`,
		"{{ region }}-{{ run_id }}":   "eu-r1",
		"{{ blocks.plain }}":          `{"host":"10.0.0.2"}`,
	} {
		got, secret, err := expand(ctx, ref, run, fakeResolver{})
		if err != nil || got != want || secret {
			t.Errorf("%s = %q, secret %v, %v; want %q, not secret", ref, got, secret, err, want)
		}
	}
	// A secret field reached by its path, and a whole block holding
	// secrets, are secret; the block's secrets are in place.
	if got, secret, err := expand(ctx, "{{ blocks.dev.notify.key }}", run, fakeResolver{}); got != "nk" || !secret || err != nil {
		t.Errorf("nested secret field = %q, %v, %v", got, secret, err)
	}
	got, secret, err = expand(ctx, "{{ blocks.dev }}", run, fakeResolver{})
	var doc map[string]any
	if err != nil || !secret || json.Unmarshal([]byte(got), &doc) != nil || doc["password"] != "pw" || doc["notify"].(map[string]any)["key"] != "nk" || doc["port"] != 443.0 {
		t.Errorf("whole block = %s, secret %v, %v", got, secret, err)
	}
	// Missing objects and fields are permanent; a store that fails is not.
	for _, ref := range []string{"{{ secrets.missing }}", "{{ blocks.nope.x }}", "{{ blocks.dev.nofield }}", "{{ blocks.dev.notify.nope }}"} {
		_, _, err := expand(ctx, ref, run, fakeResolver{})
		var te *transientError
		if err == nil || errors.As(err, &te) {
			t.Errorf("%s: %v, want a permanent error", ref, err)
		}
	}
	_, _, err = expand(ctx, "{{ blocks.down.x }}", run, fakeResolver{})
	if te := (*transientError)(nil); !errors.As(err, &te) {
		t.Errorf("store down: %v, want a transient error", err)
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
	var fe *FieldError
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
