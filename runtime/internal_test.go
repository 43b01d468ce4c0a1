package runtime

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
)

func TestParamFlags(t *testing.T) {
	tests := []struct{ in, key, want string }{
		{"name=netauto", "name", `"netauto"`},
		{"vlan=100", "vlan", `100`},
		{"dry=true", "dry", `true`},
		{`id="100"`, "id", `"100"`},
		{"list=[1,2]", "list", `[1,2]`},
		{"empty=", "empty", `""`},
		{"eq=a=b", "eq", `"a=b"`},
	}
	for _, tt := range tests {
		p := paramFlags{}
		if err := p.Set(tt.in); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := string(p[tt.key]); got != tt.want {
			t.Errorf("%s: %s = %s, want %s", tt.in, tt.key, got, tt.want)
		}
	}
	for _, bad := range []string{"noequals", "=v", " =v"} {
		if err := (paramFlags{}).Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The child of the process launcher gets its run token and the run, and
// none of the worker's credentials.
func TestChildEnvCarriesNoAdminKey(t *testing.T) {
	t.Setenv(EnvAPIKey, "admin-key")
	env, err := childEnv("http://127.0.0.1:1", func(_ context.Context, f store.Fence) (string, error) { return "tok-" + f.RunID, nil })(context.Background(), store.FlowRun{ID: "r1", Flow: "f"})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v // exec keeps the last value of a duplicated variable
	}
	for k, want := range map[string]string{EnvRunToken: "tok-r1", EnvAPIURL: "http://127.0.0.1:1", EnvAPIKey: "", EnvAPIKeys: "", EnvDB: "", store.EnvSecretKey: "", EnvTokenSecret: ""} {
		if got, ok := last[k]; !ok || got != want {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, want)
		}
	}
	var run store.FlowRun
	if err := json.Unmarshal([]byte(last[EnvRun]), &run); err != nil || run.ID != "r1" || run.Flow != "f" {
		t.Errorf("%s = %q: %v", EnvRun, last[EnvRun], err)
	}
}

// FuzzParamFlag: a --param value is accepted as name=value with a valid
// JSON value under name, or refused; never a panic.
func FuzzParamFlag(f *testing.F) {
	for _, s := range []string{"name=netauto", "vlan=100", `x={"a":[1,2]}`, "=", "a==", "k=\xff", "k= 1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := paramFlags{}
		if err := p.Set(s); err != nil {
			return
		}
		k, _, _ := strings.Cut(s, "=")
		v, ok := p[k]
		if !ok || !json.Valid(v) {
			t.Fatalf("%q: stored %q under %q", s, v, k)
		}
	})
}
