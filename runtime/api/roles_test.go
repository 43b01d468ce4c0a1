package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

const (
	viewerKey   = "na_viewer-key-0123456789abcdef"
	operatorKey = "na_operator-key-0123456789abcdef"
	approverKey = "na_approver-key-0123456789abcdef"
	workerKey   = "na_worker-key-0123456789abcdef"
	poolWorker  = "na_pool-worker-key-0123456789abcdef"
)

// rolesEnv is a server with one key per role, the worker key of pool
// "other" restricted to it.
func rolesEnv(t *testing.T) *env {
	t.Helper()
	ks, dep, err := api.ParseKeys("root:admin:" + adminKey + ", ro:viewer:" + viewerKey + ", ops:operator:" + operatorKey +
		", cab:approver:" + approverKey + ", w1:worker:" + workerKey + ", w2:worker@other:" + poolWorker)
	if err != nil || len(dep) != 0 {
		t.Fatalf("ParseKeys: %v %v", err, dep)
	}
	e := newEnv(t, api.Options{Keys: ks})
	if err := e.st.ApplyPool(context.Background(), store.Pool{Name: "other", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRoles checks what each role may do, and that each refusal is a
// 403 naming the key and its role, never the key.
func TestRoles(t *testing.T) {
	e := rolesEnv(t)
	run := e.createRun(`{"device":"a","vlan":1}`)
	create := `{"parameters":{"device":"a","vlan":2}}`
	type req struct{ method, path, body string }
	var (
		listRuns   = req{"GET", "/api/v1/runs", ""}
		getRun     = req{"GET", "/api/v1/runs/" + run.ID, ""}
		logs       = req{"GET", "/api/v1/runs/" + run.ID + "/logs", ""}
		createRun  = req{"POST", "/api/v1/deployments/vlan-prod/runs", create}
		pause      = req{"POST", "/api/v1/deployments/vlan-prod/pause", ""}
		applyDep   = req{"PUT", "/api/v1/deployments/vlan-prod", `{"flow":"vlan","pool":"default"}`}
		applyPool  = req{"PUT", "/api/v1/pools/default", `{"type":"process"}`}
		saveBlock  = req{"PUT", "/api/v1/blocks/b", `{"type":"t","data":{}}`}
		setVar     = req{"PUT", "/api/v1/variables/v", `{"value":1}`}
		setState   = req{"POST", "/api/v1/runs/" + run.ID + "/state", `{"state":{"type":"PENDING","name":"Pending"}}`}
		claim      = req{"POST", "/api/v1/pools/default/claim", `{"worker":"w","lease":1000000000}`}
		heartbeat  = req{"PUT", "/api/v1/workers/w", `{"pool":"default"}`}
		results    = req{"GET", "/api/v1/runs/" + run.ID + "/results", ""}
		metricsReq = req{"GET", "/metrics", ""}
	)
	tests := []struct {
		key  string
		r    req
		want int
	}{
		{viewerKey, listRuns, 200}, {viewerKey, getRun, 200}, {viewerKey, logs, 200}, {viewerKey, metricsReq, 200},
		{viewerKey, createRun, 403}, {viewerKey, pause, 403}, {viewerKey, applyDep, 403}, {viewerKey, saveBlock, 403},
		{viewerKey, claim, 403}, {viewerKey, results, 403},

		{operatorKey, listRuns, 200}, {operatorKey, createRun, 201}, {operatorKey, pause, 200},
		{operatorKey, applyDep, 403}, {operatorKey, applyPool, 403}, {operatorKey, saveBlock, 403}, {operatorKey, setVar, 403},
		{operatorKey, setState, 403}, {operatorKey, claim, 403}, {operatorKey, heartbeat, 403}, {operatorKey, results, 403},

		{approverKey, listRuns, 200}, {approverKey, createRun, 403}, {approverKey, pause, 403}, {approverKey, applyDep, 403},

		{workerKey, listRuns, 200}, {workerKey, heartbeat, 200}, {workerKey, createRun, 403}, {workerKey, applyDep, 403},
		{workerKey, saveBlock, 403}, {workerKey, setState, 403}, {workerKey, results, 403},
		{poolWorker, heartbeat, 403}, {poolWorker, claim, 403},

		{adminKey, applyDep, 200}, {adminKey, saveBlock, 200}, {adminKey, setState, 200}, {adminKey, results, 200},
	}
	for _, tt := range tests {
		name := tt.r.method + " " + tt.r.path + " as " + tt.key[3:strings.Index(tt.key[3:], "-")+3]
		t.Run(name, func(t *testing.T) {
			st, b := e.as(tt.key).do(tt.r.method, tt.r.path, tt.r.body)
			if st != tt.want {
				t.Fatalf("status %d, want %d: %s", st, tt.want, b)
			}
			if st == http.StatusForbidden {
				msg := decodeAs[wire.Error](t, b).Error
				if strings.Contains(string(b), tt.key) || !strings.Contains(msg, "role") && !strings.Contains(msg, "pool") {
					t.Fatalf("refusal %s: want the key's name and role, never the key", b)
				}
			}
		})
	}
}

// TestWorkerKeyOfItsPools: a worker key claims, renews and mints tokens
// for runs of its pools only, and only for the worker holding the run.
func TestWorkerKeyOfItsPools(t *testing.T) {
	e := rolesEnv(t)
	ctx := context.Background()
	run := e.createRun(`{"device":"a","vlan":1}`) // pool default
	claimed, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w-default", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || claimed.ID != run.ID {
		t.Fatalf("claim: %v %v", ok, err)
	}
	mint := `{"worker":"w-default","attempt":1}`
	if st, b := e.as(poolWorker).do("POST", "/api/v1/runs/"+run.ID+"/token", mint); st != 403 {
		t.Fatalf("worker key of pool other minted a token for a run of pool default: %d %s", st, b)
	}
	if st, b := e.as(poolWorker).do("POST", "/api/v1/runs/"+run.ID+"/lease", `{"worker":"w-default","lease":1000000000}`); st != 403 {
		t.Fatalf("worker key of pool other renewed a lease in pool default: %d %s", st, b)
	}
	if st, b := e.as(workerKey).do("POST", "/api/v1/runs/"+run.ID+"/token", `{}`); st != 400 {
		t.Fatalf("worker key minted without naming the worker: %d %s", st, b)
	}
	if st, b := e.as(workerKey).do("POST", "/api/v1/runs/"+run.ID+"/token", `{"worker":"someone-else"}`); st != 409 {
		t.Fatalf("worker key minted for a worker not holding the run: %d %s", st, b)
	}
	if st, b := e.as(workerKey).do("POST", "/api/v1/runs/"+run.ID+"/token", mint); st != 200 {
		t.Fatalf("worker key of every pool could not mint: %d %s", st, b)
	}
	if st, b := e.as(poolWorker).do("POST", "/api/v1/pools/other/claim", `{"worker":"w2","lease":1000000000}`); st != 200 {
		t.Fatalf("worker key could not claim in its pool: %d %s", st, b)
	}
}

// TestKeyNameRecorded: who cancels a run is recorded in its state and
// shown by the API; whoami says who the server takes the caller for.
func TestKeyNameRecorded(t *testing.T) {
	e := rolesEnv(t)
	run := e.createRun(`{"device":"a","vlan":1}`)
	st, b := e.as(operatorKey).do("POST", "/api/v1/runs/"+run.ID+"/cancel", `{"reason":"wrong vlan"}`)
	if st != 200 {
		t.Fatalf("cancel: %d %s", st, b)
	}
	_, b = e.as(viewerKey).do("GET", "/api/v1/runs/"+run.ID, nil)
	d := decodeAs[wire.RunDetail](t, b)
	if got := d.Run.State.Message; got != "wrong vlan (cancelled by ops)" {
		t.Fatalf("cancelled state message %q, want the reason and the key's name", got)
	}
	_, b = e.as(poolWorker).do("GET", "/api/v1/whoami", nil)
	if p := decodeAs[wire.Principal](t, b); p.Name != "w2" || p.Role != "worker" || len(p.Pools) != 1 || p.Pools[0] != "other" {
		t.Fatalf("whoami: %s", b)
	}
	_, b = e.as(operatorKey).do("POST", "/api/v1/deployments/vlan-prod/pause", nil)
	if p := decodeAs[wire.Paused](t, b); !p.Paused || p.By != "ops" {
		t.Fatalf("pause: %s", b)
	}
	if d, _ := e.st.GetDeployment(context.Background(), "vlan-prod"); !d.Paused {
		t.Fatal("deployment not paused")
	}
}

func TestParseKeys(t *testing.T) {
	k := "na_0123456789abcdefghijklmnop"
	ks, dep, err := api.ParseKeys(" ci:operator:" + k + " , w:worker@a+b:" + api.HashKey(k+"2") + "," + k + "3")
	if err != nil {
		t.Fatal(err)
	}
	if len(dep) != 1 || !strings.Contains(dep[0], ":admin:") || strings.Contains(dep[0], k) {
		t.Fatalf("deprecation notice %q: want what to write, without the key", dep)
	}
	if info, ok := ks.Lookup(k); !ok || info.Name != "ci" || info.Role != api.RoleOperator {
		t.Fatalf("lookup ci: %+v %v", info, ok)
	}
	if info, ok := ks.Lookup(k + "2"); !ok || info.Role != api.RoleWorker || strings.Join(info.Pools, ",") != "a,b" {
		t.Fatalf("lookup w: %+v %v", info, ok)
	}
	if info, ok := ks.Lookup(k + "3"); !ok || info.Role != api.RoleAdmin || !strings.HasPrefix(info.Name, "key-") {
		t.Fatalf("legacy key: %+v %v", info, ok)
	}
	for _, bad := range []string{
		"ci:root:" + k,      // unknown role
		"ci:operator:short", // short key
		"ci:operator:" + k + ",ci:viewer:" + k + "x", // duplicate name
		"a:viewer:" + k + ",b:viewer:" + k,           // same key twice
		"ci:operator@p:" + k,                         // pools on a non-worker key
		"ci:viewer:sha256:abc",                       // bad hash
		"bad name:viewer:" + k,
		"ci:viewer",
		"shortlegacy",
	} {
		if _, _, err := api.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys accepted %q", bad)
		} else if strings.Contains(err.Error(), k) {
			t.Errorf("error %q shows the key", err)
		}
	}
}

func TestReadKeysFile(t *testing.T) {
	k, _ := api.GenerateKey()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	content := "# netauto keys\n\n" + api.KeyLine(api.KeyInfo{Name: "w1", Role: api.RoleWorker, Pools: []string{"p1"}}, k) + "\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := api.ReadKeysFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := ks.Lookup(k); !ok || info.Name != "w1" || info.Pools[0] != "p1" {
		t.Fatalf("lookup: %+v %v", info, ok)
	}
	if strings.Contains(content, k) {
		t.Fatal("a keys file line holds the key")
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ReadKeysFile(path); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("a world-writable keys file was read: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("w1 admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ReadKeysFile(path); err == nil || !strings.Contains(err.Error(), ":1") {
		t.Fatalf("a malformed line: %v, want its line number", err)
	}
}
