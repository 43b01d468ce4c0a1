package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

func TestAuth(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, api.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	runA := e.createRun(`{"device":"a","vlan":1}`)
	runB := e.createRun(`{"device":"b","vlan":2}`)
	st, b := e.do("POST", "/api/v1/runs/"+runA.ID+"/token", `{"ttl":600000000000}`)
	if st != 200 {
		t.Fatalf("mint: %d %s", st, b)
	}
	tokA := decodeAs[wire.RunToken](t, b).Token
	expired, _, err := e.api.MintRunToken(context.Background(), store.Fence{RunID: runA.ID}, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	tampered := tokA[:len(tokA)-2] + "xx"

	tests := []struct {
		name, key, method, path string
		want                    int
	}{
		{"no key", "", "GET", "/api/v1/runs", 401},
		{"wrong key", "na_not-the-key-0123456789abcdef", "GET", "/api/v1/runs", 401},
		{"admin key", adminKey, "GET", "/api/v1/runs", 200},
		{"public health", "", "GET", "/healthz", 200},
		{"token on its run", tokA, "GET", "/api/v1/runs/" + runA.ID + "/state", 200},
		{"token on its results", tokA, "GET", "/api/v1/runs/" + runA.ID + "/results", 200},
		{"token on another run", tokA, "GET", "/api/v1/runs/" + runB.ID + "/state", 403},
		{"token records another run", tokA, "POST", "/api/v1/runs/" + runB.ID + "/record", 403},
		{"token lists runs", tokA, "GET", "/api/v1/runs", 403},
		{"token creates runs", tokA, "POST", "/api/v1/deployments/vlan-prod/runs", 403},
		{"token mints tokens", tokA, "POST", "/api/v1/runs/" + runA.ID + "/token", 403},
		{"expired token", expired, "GET", "/api/v1/runs/" + runA.ID + "/state", 401},
		{"tampered token", tampered, "GET", "/api/v1/runs/" + runA.ID + "/state", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, b := e.as(tt.key).do(tt.method, tt.path, nil)
			if st != tt.want {
				t.Fatalf("%s %s: %d %s, want %d", tt.method, tt.path, st, b, tt.want)
			}
		})
	}
	// A token's batch may not touch another run, even under its own path.
	st, b = e.as(tokA).do("POST", "/api/v1/runs/"+runA.ID+"/record", wire.Record{BatchID: "b1", Ops: []wire.Op{
		{RunID: runB.ID, State: &flow.State{Type: flow.TypePending, Name: flow.NamePending}},
		{RunID: runA.ID, State: &flow.State{Type: flow.TypePending, Name: flow.NamePending}},
	}})
	rec := decodeAs[wire.Recorded](t, b)
	if st != 200 || len(rec.Errors) != 1 || rec.Errors[0].Index != 0 || rec.Errors[0].Kind != wire.OpForbidden {
		t.Fatalf("scoped batch: %d %s: want op 0 forbidden, op 1 applied", st, b)
	}
	if r, _ := e.st.GetRun(context.Background(), runB.ID); r.State.Name != flow.NameScheduled {
		t.Fatalf("run B moved to %s by run A's token", r.State.Name)
	}
	if r, _ := e.st.GetRun(context.Background(), runA.ID); r.State.Name != flow.NamePending {
		t.Fatalf("run A is %s, want Pending", r.State.Name)
	}
	st, b = e.as(tokA).do("POST", "/api/v1/runs/"+runA.ID+"/record", wire.Record{BatchID: "b2", Logs: []flow.LogRecord{{RunID: runB.ID, FlowRunID: runB.ID, Message: "x", Time: time.Now()}}})
	wantError(t, st, b, 403, "logs[0].run_id")
	if strings.Contains(logs.String(), adminKey) || strings.Contains(logs.String(), tokA) {
		t.Fatal("a key or token reached the server log")
	}
}

func TestNoKeysAllowsEverything(t *testing.T) {
	e := newEnv(t, api.Options{Keys: &api.KeySet{}})
	if e.api.AuthEnabled() {
		t.Fatal("AuthEnabled with no keys")
	}
	if st, b := e.as("").do("GET", "/api/v1/runs", nil); st != http.StatusOK {
		t.Fatalf("no-auth server refused: %d %s", st, b)
	}
}

func TestCheckListenAddr(t *testing.T) {
	tests := []struct {
		addr string
		auth bool
		ok   bool
	}{
		{"127.0.0.1:4200", false, true},
		{"[::1]:4200", false, true},
		{"localhost:4200", false, true},
		{":4200", false, false},
		{"0.0.0.0:4200", false, false},
		{"192.0.2.1:4200", false, false},
		{"0.0.0.0:4200", true, true},
		{"nonsense", false, false},
	}
	for _, tt := range tests {
		err := api.CheckListenAddr(tt.addr, tt.auth)
		if (err == nil) != tt.ok {
			t.Errorf("CheckListenAddr(%q, %v) = %v, want ok=%v", tt.addr, tt.auth, err, tt.ok)
		}
	}
}

func TestKeySet(t *testing.T) {
	k, err := api.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ks, err := api.NewKeySet(api.HashKey(k))
	if err != nil {
		t.Fatal(err)
	}
	if !ks.Accepts(k) || ks.Accepts(k+"x") || ks.Accepts("") {
		t.Fatal("KeySet accepts the wrong keys")
	}
	if _, err := api.NewKeySet("md5:abcd"); err == nil {
		t.Fatal("NewKeySet took a malformed hash")
	}
	if _, err := api.KeySetFromKeys("short"); err == nil {
		t.Fatal("KeySetFromKeys took a short key")
	}
	if strings.Contains(ks.String(), api.HashKey(k)[7:]) {
		t.Fatal("KeySet.String shows a hash")
	}
}

func TestHTTPServer(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, api.Options{Keys: &api.KeySet{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, err := e.api.HTTPServer("0.0.0.0:0"); err == nil {
		t.Fatal("HTTPServer without keys took a public address")
	}
	hs, err := e.api.HTTPServer("127.0.0.1:0")
	if err != nil || hs.ReadHeaderTimeout == 0 {
		t.Fatalf("HTTPServer on loopback: %v", err)
	}
	if !strings.Contains(logs.String(), "loopback only") {
		t.Fatalf("no warning logged about running without keys: %q", logs.String())
	}
}
