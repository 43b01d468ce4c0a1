package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

func openTestStore(t *testing.T) store.Store {
	t.Helper()
	st, err := runtime.OpenStore(context.Background(), filepath.Join(t.TempDir(), "db", "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func startTestServer(t *testing.T, app *runtime.App, opts runtime.ServerOptions) *runtime.Server {
	t.Helper()
	if opts.Store == nil {
		opts.Store = openTestStore(t)
	}
	srv, err := runtime.NewServer(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

// Bad options are refused before anything runs, naming the field.
func TestNewServerOptionErrors(t *testing.T) {
	st := openTestStore(t)
	app := &runtime.App{Flows: []flow.Definition{echo}}
	for _, c := range []struct {
		app   *runtime.App
		opts  runtime.ServerOptions
		field string
	}{
		{nil, runtime.ServerOptions{Store: st}, "app"},
		{app, runtime.ServerOptions{}, "store"},
		{app, runtime.ServerOptions{Store: st, Listen: "0.0.0.0:0"}, "listen"},
		{app, runtime.ServerOptions{Store: st, Listen: "nohostport"}, "listen"},
		{app, runtime.ServerOptions{Store: st, Listen: "127.0.0.1:0", TLSCertFile: "c.pem"}, "tls_cert_file"},
		{app, runtime.ServerOptions{Store: st, ReapInterval: -time.Second}, "schedule_interval"},
		{app, runtime.ServerOptions{Store: st, Workers: []runtime.WorkerOptions{{}, {Launcher: "kubernetes"}}}, "workers[1].launcher"},
		{app, runtime.ServerOptions{Store: st, Workers: []runtime.WorkerOptions{{Concurrency: -1}}}, "workers[0].concurrency"},
		{app, runtime.ServerOptions{Store: st, Workers: []runtime.WorkerOptions{{Lease: time.Second, Heartbeat: time.Second}}}, "workers[0].heartbeat"},
		{app, runtime.ServerOptions{Store: st, Workers: []runtime.WorkerOptions{{Pool: "p"}, {Pool: "p"}}}, "workers[1].pool"},
		{app, runtime.ServerOptions{Store: st, Workers: []runtime.WorkerOptions{{Launcher: "process"}}}, "url"},
		{&runtime.App{Deployments: []store.Deployment{{Name: "d", Flow: "missing"}}}, runtime.ServerOptions{Store: st}, "deployments[0].flow"},
	} {
		_, err := runtime.NewServer(c.app, c.opts)
		var ie *store.InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%+v: error %v, want one naming %s", c.opts, err, c.field)
		}
	}
}

// OpenStore takes SQLite paths with or without a scheme and refuses
// other schemes without repeating the URL.
func TestOpenStoreURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, u := range []string{filepath.Join(dir, "a", "plain.db"), "sqlite:" + filepath.Join(dir, "b.db"), "sqlite://" + filepath.Join(dir, "c.db")} {
		st, err := runtime.OpenStore(ctx, u, store.Options{})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		st.Close()
	}
	for _, name := range []string{"a/plain.db", "b.db", "c.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, u := range []string{"", "sqlite:", "mysql://root:hunter2@db/x"} {
		_, err := runtime.OpenStore(ctx, u, store.Options{})
		var ue *runtime.StoreURLError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error %v, want a StoreURLError without the password", u, err)
		}
	}
}

// The server's accessors, its key and its start-up: flows and the
// worker's pool are in the store, the API answers with the key it made,
// an event of a source without triggers is stored and starts nothing
// (the example's copy of the wiring dereferenced a nil matcher there).
func TestServerStartAndShutdown(t *testing.T) {
	keys, err := api.KeySetFromKeys("source-key-0123456789abcdef0123456789")
	if err != nil {
		t.Fatal(err)
	}
	app := &runtime.App{Flows: []flow.Definition{echo}, Sources: map[string]api.Verifier{"ci": &api.BearerVerifier{Keys: keys}}}
	srv := startTestServer(t, app, runtime.ServerOptions{Listen: "127.0.0.1:0", Workers: []runtime.WorkerOptions{{Pool: "embedded"}}})
	select {
	case <-srv.Ready():
	default:
		t.Fatal("Ready not closed after Start")
	}
	if srv.Addr() == nil || srv.URL() != "http://"+srv.Addr().String() || srv.LocalKey() == "" {
		t.Fatalf("addr %v, url %q, local key set %v", srv.Addr(), srv.URL(), srv.LocalKey() != "")
	}
	ctx := context.Background()
	if _, err := srv.Store().GetFlow(ctx, "echo"); err != nil {
		t.Errorf("flow not registered at start: %v", err)
	}
	if p, err := srv.Store().GetPool(ctx, "embedded"); err != nil || p.Type != "in-process" {
		t.Errorf("worker's pool: %+v %v", p, err)
	}
	c, err := client.New(srv.URL(), client.Options{Token: srv.LocalKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Flows(ctx); err != nil {
		t.Errorf("API with the local key: %v", err)
	}
	anon, _ := client.New(srv.URL(), client.Options{})
	if _, err := anon.Flows(ctx); err == nil {
		t.Error("API answered a request without a key")
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/api/v1/events/ci", bytes.NewReader([]byte(`{"id":"e1","type":"push"}`)))
	req.Header.Set("Authorization", "Bearer source-key-0123456789abcdef0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("event without triggers answered %d, want 202", resp.StatusCode)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.Done():
	default:
		t.Error("Done not closed after Shutdown")
	}
	if err := srv.Start(ctx); err == nil {
		t.Error("Start after Shutdown accepted")
	}
}

// A trigger matches deployments applied through the handler mounted in
// the program's own mux (no listener of the server's own).
func TestServerHandlerTriggers(t *testing.T) {
	keys, err := api.KeySetFromKeys("source-key-0123456789abcdef0123456789")
	if err != nil {
		t.Fatal(err)
	}
	app := &runtime.App{Flows: []flow.Definition{echo},
		Triggers: []trigger.Trigger{{Event: "push", Deployment: "echo"}},
		Sources:  map[string]api.Verifier{"ci": &api.BearerVerifier{Keys: keys}}}
	srv := startTestServer(t, app, runtime.ServerOptions{Workers: []runtime.WorkerOptions{{}}})
	if srv.Addr() != nil {
		t.Fatalf("listens on %v without Listen", srv.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", srv.Handler())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	hs := ts.URL
	ctx := context.Background()
	c, _ := client.New(hs, client.Options{Token: srv.LocalKey()})
	if _, err := c.ApplyDeployment(ctx, store.Deployment{Name: "echo", Flow: "echo", Pool: runtime.DefaultPool}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, hs+"/api/v1/events/ci", bytes.NewReader([]byte(`{"id":"e2","type":"push"}`)))
	req.Header.Set("Authorization", "Bearer source-key-0123456789abcdef0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page, err := c.Runs(ctx, store.RunFilter{Deployment: "echo"})
	if err != nil || len(page.Runs) != 1 {
		t.Fatalf("event answered %d; runs of echo %+v %v, want one", resp.StatusCode, page.Runs, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := c.FollowLogs(wctx, page.Runs[0].ID, 0, func(store.LogEntry) error { return nil })
	if err != nil || st.Type != flow.TypeCompleted {
		t.Fatalf("triggered run ended %+v %v", st, err)
	}
}

// OpenStore opens PostgreSQL from a postgres:// URL, and a Server runs on
// it as on SQLite.
func TestOpenStorePostgres(t *testing.T) {
	dsn := postgresSchema(t, storetest.PostgresDSN(t))
	ctx := context.Background()
	st, err := runtime.OpenStore(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := startTestServer(t, &runtime.App{Flows: []flow.Definition{echo}}, runtime.ServerOptions{Store: st, NoScheduler: true})
	if _, err := srv.Store().GetFlow(ctx, "echo"); err != nil {
		t.Errorf("flow not registered in PostgreSQL: %v", err)
	}
	_, err = runtime.OpenStore(ctx, "postgres://netauto:hunter2@127.0.0.1:1/none?connect_timeout=2", store.Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable PostgreSQL: error %v, want one without the password", err)
	}
}

// A start that fails (the address is taken) says why, in a form the
// program can test, and leaves nothing running.
func TestServerStartFailsOnTakenAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv, err := runtime.NewServer(&runtime.App{Flows: []flow.Definition{echo}}, runtime.ServerOptions{
		Store: openTestStore(t), Listen: ln.Addr().String(), Workers: []runtime.WorkerOptions{{}}})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Start(context.Background())
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("start on a taken address: %v, want EADDRINUSE", err)
	}
	select {
	case <-srv.Ready():
		t.Error("Ready closed after a failed start")
	default:
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown after a failed start: %v", err)
	}
}
