package launch

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
)

func TestQuantities(t *testing.T) {
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

func TestExpand(t *testing.T) {
	run := store.FlowRun{ID: "r1", Flow: "f", Attempt: 2}
	ctx := context.Background()
	got, secret, err := Expand(ctx, "{{run_id}}/{{ attempt }}/{{ secrets.tok }}/{{ region }}/{{ blocks.dev.host }}:{{ blocks.dev.port }}/{{ blocks.dev.password }}", run, fakeResolver{})
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
		got, secret, err := Expand(ctx, ref, run, fakeResolver{})
		if err != nil || got != want || secret {
			t.Errorf("%s = %q, secret %v, %v; want %q, not secret", ref, got, secret, err, want)
		}
	}
	// A secret field reached by its path, and a whole block holding
	// secrets, are secret; the block's secrets are in place.
	if got, secret, err := Expand(ctx, "{{ blocks.dev.notify.key }}", run, fakeResolver{}); got != "nk" || !secret || err != nil {
		t.Errorf("nested secret field = %q, %v, %v", got, secret, err)
	}
	got, secret, err = Expand(ctx, "{{ blocks.dev }}", run, fakeResolver{})
	var doc map[string]any
	if err != nil || !secret || json.Unmarshal([]byte(got), &doc) != nil || doc["password"] != "pw" || doc["notify"].(map[string]any)["key"] != "nk" || doc["port"] != 443.0 {
		t.Errorf("whole block = %s, secret %v, %v", got, secret, err)
	}
	// Missing objects and fields are permanent; a store that fails is not.
	for _, ref := range []string{"{{ secrets.missing }}", "{{ blocks.nope.x }}", "{{ blocks.dev.nofield }}", "{{ blocks.dev.notify.nope }}"} {
		_, _, err := Expand(ctx, ref, run, fakeResolver{})
		if err == nil || IsTransient(err) {
			t.Errorf("%s: %v, want a permanent error", ref, err)
		}
	}
	_, _, err = Expand(ctx, "{{ blocks.down.x }}", run, fakeResolver{})
	if !IsTransient(err) {
		t.Errorf("store down: %v, want a transient error", err)
	}
}

func TestSecretReferences(t *testing.T) {
	got := SecretReferences(json.RawMessage(`{"env":{"S":"{{ secrets.f5-admin }}","B":"x{{blocks.cfg.password}}","V":"{{ variables.v }}","R":"{{ run_id }}","N":null}}`))
	if len(got) != 2 || got[0] != "B" || got[1] != "S" {
		t.Fatalf("SecretReferences = %v, want B and S", got)
	}
}
