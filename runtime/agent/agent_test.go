package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// TestGitAgentDependencies keeps a flow binary small: the agent links no
// store driver, no server, no schema validator.
func TestGitAgentDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/santhosh-tekuri/", "/runtime/store/sqlite", "/runtime/store/postgres", "/runtime/scheduler", "github.com/go-git/"} {
			if strings.Contains(dep, banned) {
				t.Errorf("runtime/agent depends on %s", dep)
			}
		}
		if strings.HasSuffix(dep, "/runtime/api") {
			t.Errorf("runtime/agent depends on the API server")
		}
	}
}

type params struct {
	VLAN int    `json:"vlan"`
	Note string `json:"note,omitempty"`
}

var addVLAN = flow.New("add-vlan", func(ctx context.Context, p params) (int, error) { return p.VLAN, nil },
	flow.WithVersion("1.0"), flow.WithDescription("adds a VLAN"))

func TestGitAgentDescribe(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := agent.Run(context.Background(), []string{"describe"}, &out, &errOut, addVLAN); code != agent.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var d wire.Description
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Protocol != wire.Protocol || d.Library == "" || len(d.Flows) != 1 {
		t.Fatalf("description: %+v", d)
	}
	f := d.Flows[0]
	if f.Name != "add-vlan" || f.Version != "1.0" || f.Description != "adds a VLAN" || !strings.Contains(string(f.Parameters), `"vlan"`) {
		t.Errorf("flow: %+v", f)
	}
	if code := agent.Run(context.Background(), []string{"frobnicate"}, &out, &errOut, addVLAN); code != agent.ExitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	if code := agent.Run(context.Background(), []string{"describe"}, &out, &errOut, addVLAN, addVLAN); code != agent.ExitFailed {
		t.Errorf("a flow given twice: exit %d", code)
	}
}

// TestGitAgentProtocolMismatchRefused: execute asks the server for its
// protocol and refuses an incompatible one (or none) before running.
func TestGitAgentProtocolMismatchRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"other protocol", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/version" {
				json.NewEncoder(w).Encode(wire.Version{Protocol: wire.Protocol + 1, Library: "v9.9.9"})
				return
			}
			t.Errorf("request after the refusal: %s", r.URL.Path)
			http.Error(w, "no", http.StatusTeapot)
		}, "the server speaks protocol 2 (netauto v9.9.9)"},
		{"no version endpoint", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(wire.Error{Error: "no such endpoint"})
		}, "announces no protocol version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			ran := false
			err := agent.Execute(context.Background(), agent.ExecuteConfig{RunID: "r1", APIURL: srv.URL, Token: "t",
				Lookup: func(string) (flow.Definition, bool) { ran = true; return addVLAN, true }})
			var pe *agent.ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a ProtocolError saying %q", err, tc.want)
			}
			if ran {
				t.Error("the flow was looked up despite the refusal")
			}
		})
	}
}

// TestGitAgentServerVersion: the API serves its protocol, and the client
// reads it; the agent accepts it.
func TestGitAgentServerVersion(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := api.New(st, api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := client.New(hs.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Version(ctx)
	if err != nil || v.Protocol != wire.Protocol || v.Library == "" {
		t.Fatalf("version %+v, %v", v, err)
	}
	if err := agent.CheckServer(ctx, c); err != nil {
		t.Fatalf("CheckServer: %v", err)
	}
}

// The secret part of a run's environment comes on standard input when
// the launcher says so, and lands in the process environment; a broken
// hand-over is an error that shows no value.
func TestLoadSecretEnv(t *testing.T) {
	t.Setenv(agent.EnvSecretEnv, "")
	if err := agent.LoadSecretEnv(strings.NewReader("not read")); err != nil {
		t.Fatalf("without %s: %v", agent.EnvSecretEnv, err)
	}
	t.Setenv(agent.EnvSecretEnv, "stdin")
	t.Setenv("NETAUTO_TEST_SECRET", "")
	if err := agent.LoadSecretEnv(strings.NewReader(`{"NETAUTO_TEST_SECRET":"s3cr3t-value","NETAUTO_RUN_TOKEN":"nrt1.x"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("NETAUTO_TEST_SECRET") != "s3cr3t-value" || os.Getenv(agent.EnvRunToken) != "nrt1.x" {
		t.Errorf("environment after the hand-over: %q %q", os.Getenv("NETAUTO_TEST_SECRET"), os.Getenv(agent.EnvRunToken))
	}
	if _, set := os.LookupEnv(agent.EnvSecretEnv); set {
		t.Errorf("%s still set", agent.EnvSecretEnv)
	}
	for _, bad := range []string{`{"NETAUTO_TEST_SECRET":"s3cr3t-val`, `["s3cr3t-value"]`, `{"A=B":"s3cr3t-value"}`, ""} {
		t.Setenv(agent.EnvSecretEnv, "stdin")
		err := agent.LoadSecretEnv(strings.NewReader(bad))
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("input %q: %v, want an error without the value", bad, err)
		}
	}
	t.Setenv(agent.EnvSecretEnv, "file")
	if err := agent.LoadSecretEnv(strings.NewReader("{}")); err == nil {
		t.Error("unknown mode accepted")
	}
}
