package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// adminKey is the API key of test servers with auth.
const adminKey = "na_test-admin-key-0123456789abcdef"

// vlanParams are the parameters of the test flow.
type vlanParams struct {
	Device string `json:"device"`
	VLAN   int    `json:"vlan"`
	Name   string `json:"name,omitempty"`
}

// env is a server on a fresh SQLite store.
type env struct {
	t   testing.TB
	st  store.Store
	api *api.Server
	srv *httptest.Server
	key string // sent as bearer unless a request says otherwise
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	k, err := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "netauto.db"), store.Options{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEnv starts a server with an admin key (auth on) unless opts sets
// Keys, and a flow "vlan" with deployment "vlan-prod".
func newEnv(t testing.TB, opts api.Options) *env {
	t.Helper()
	return newEnvOn(t, openStore(t), opts)
}

// newEnvOn is newEnv on the store st.
func newEnvOn(t testing.TB, st store.Store, opts api.Options) *env {
	t.Helper()
	if opts.Keys == nil {
		ks, err := api.KeySetFromKeys(adminKey)
		if err != nil {
			t.Fatal(err)
		}
		opts.Keys = ks
	}
	if opts.Launchers == nil {
		// As the runtime registers them: job templates of docker pools
		// are checked through the Docker launcher.
		opts.Launchers = launch.Registry{launch.TypeInProcess: launch.InProcess(), launch.TypeProcess: launch.Process(), launch.TypeDocker: docker.Factory{}}
	}
	a, err := api.New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, api: a, srv: srv, key: adminKey}
	ctx := context.Background()
	if err := st.ApplyPool(ctx, store.Pool{Name: "default", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterFlow(ctx, store.Flow{Name: "vlan", Version: "1", Parameters: flow.SchemaFor[vlanParams]()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan", Pool: "default", Parameters: json.RawMessage(`{"name":"prod"}`)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request with the env's key and returns status and body.
func (e *env) do(method, path string, body any, hdr ...string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	if rd != nil {
		// As every client of the API sends it (a keyless server refuses
		// state-changing requests without it); hdr may override it.
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// as returns a copy of e sending key instead.
func (e *env) as(key string) *env {
	c := *e
	c.key = key
	return &c
}

func decodeAs[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, b, err)
	}
	return v
}

// wantError checks an error answer's status and field.
func wantError(t testing.TB, status int, body []byte, wantStatus int, wantField string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d (body %s)", status, wantStatus, body)
	}
	e := decodeAs[wire.Error](t, body)
	if e.Error == "" || e.Field != wantField {
		t.Fatalf("error %+v, want field %q", e, wantField)
	}
}

// createRun creates a run of vlan-prod and returns it.
func (e *env) createRun(params string) store.FlowRun {
	e.t.Helper()
	st, b := e.do("POST", "/api/v1/deployments/vlan-prod/runs", `{"parameters":`+params+`}`)
	if st != http.StatusCreated {
		e.t.Fatalf("create run: %d %s", st, b)
	}
	return decodeAs[wire.RunCreated](e.t, b).Run
}
